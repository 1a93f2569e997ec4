"""Dead letters and their replay (infra/replay.py), with faults injected into the handlers on
the emulated stack: nothing is lost, a replay applies once."""
from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest

from chalicelib.db.models import Key
from chalicelib.services.inbound import sms as sms_in
from chalicelib.services.sla import timers
from infra import replay
from tests.integration.helpers import Api, new_ticket


def _sms(stack, body, sender, message_id):
    boto3.client("sns").publish(TopicArn=stack.outputs["InboundSmsTopicArn"], Message=json.dumps({
        "originationNumber": sender, "destinationNumber": "+8809610000000", "messageBody": body,
        "inboundMessageId": message_id}))


def _messages(queue_url):
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url,
                                          AttributeNames=["ApproximateNumberOfMessages",
                                                          "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(v) for v in attributes["Attributes"].values())


def _pump_until(stack, predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.pump.drain(timeout=3)
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError("condition not reached")


def test_a_failing_handler_dead_letters_the_event_and_the_replay_applies_it_once(stack, monkeypatch):
    dead_letters = stack.outputs["EventDeadLetterQueueUrl"]
    message_id = str(uuid.uuid4())

    def broken(_message):
        raise RuntimeError("injected: the database is down")

    with monkeypatch.context() as patched:
        patched.setattr(sms_in, "receive", broken)
        _sms(stack, "আমার লাইন কাটা", "01711000050", message_id)
        _pump_until(stack, lambda: _messages(dead_letters) == 1)  # after Lambda's three tries
        with pytest.raises(Key.DoesNotExist):
            Key.get(f"inbound#sms#{message_id}", "_")  # nothing half-written
    # the cause is fixed
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    # the dead letter is copied: replaying the same event twice must still apply it once
    [letter] = sqs.receive_message(QueueUrl=dead_letters, MessageAttributeNames=["All"],
                                   VisibilityTimeout=0)["Messages"]
    sqs.send_message(QueueUrl=dead_letters, MessageBody=letter["Body"])
    assert replay.replay_events(sqs, sns, dead_letters, dry_run=True).replayed == 2
    assert _messages(dead_letters) == 2  # a dry run sends and deletes nothing
    report = replay.replay_events(sqs, sns, dead_letters)
    assert report.replayed == 2 and not report.skipped
    stack.pump.drain()
    assert _messages(dead_letters) == 0
    assert Key.get(f"inbound#sms#{message_id}", "_").data.as_dict()["outcome"] == "created"
    status, page = Api(stack.client).get("/api/tickets?q=01711000050")
    assert status == 200 and len(page["items"]) == 1
    assert replay.replay_events(sqs, sns, dead_letters).replayed == 0


def test_replayed_timers_go_back_to_the_timer_queue_and_junk_events_stay(stack):
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    timers_dlq = stack.outputs["TimerDeadLetterQueueUrl"]
    body = json.dumps({"ticket_id": "t_gone", "ref": "1", "kind": "first_response",
                       "generation": 1, "due_at": "2026-01-01T00:00:00.000Z"})
    sqs.send_message(QueueUrl=timers_dlq, MessageBody=body)
    report = replay.replay_timers(sqs, timers_dlq, stack.outputs["TimerQueueUrl"])
    assert report.replayed == 1 and _messages(timers_dlq) == 0
    [moved] = sqs.receive_message(QueueUrl=stack.outputs["TimerQueueUrl"], VisibilityTimeout=0,
                                  MaxNumberOfMessages=10)["Messages"]
    assert moved["Body"] == body
    stack.pump.drain()  # the handler finds no such ticket and drops it
    assert _messages(stack.outputs["TimerQueueUrl"]) == 0

    events_dlq = stack.outputs["EventDeadLetterQueueUrl"]
    sqs.send_message(QueueUrl=events_dlq, MessageBody=json.dumps({"detail-type": "Scheduled Event"}))
    report = replay.replay_events(sqs, sns, events_dlq)
    assert report.replayed == 0 and "not an SNS event" in report.skipped[0]
    assert _messages(events_dlq) == 1  # left for a person to look at


def test_a_stream_record_given_up_on_is_recorded_and_its_replay_starts_the_timers_once(
        stack, monkeypatch):
    """The timer function fails on a new ticket past its retries: the OnFailure record says
    where it was in the stream; once the cause is fixed the replay reads it back and the
    ticket gets its SLA timers, once however often it is replayed."""
    import app
    from local import pump as pump_module
    from local.pump import Context
    from tests.integration.test_timers import executions

    failures = stack.outputs["StreamFailureQueueUrl"]
    monkeypatch.setattr(pump_module, "MAX_STREAM_ATTEMPTS", 2)
    with monkeypatch.context() as patched:
        def broken(_actions):
            raise RuntimeError("injected: Step Functions throttles")

        patched.setattr(timers, "apply", broken)
        created = new_ticket(Api(stack.client))
        stack.pump.drain()
    ours = lambda: [n for n in executions(stack) if n.startswith(f"T-{created['ref']}-")]  # noqa: E731
    assert ours() == []  # no timer: the record was given up on ...
    assert _messages(failures) == 1  # ... and recorded, not only logged

    sqs, streams = boto3.client("sqs"), boto3.client("dynamodbstreams")
    [letter] = sqs.receive_message(QueueUrl=failures, VisibilityTimeout=0)["Messages"]
    info = json.loads(letter["Body"])
    assert info["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["requestContext"]["functionArn"].endswith(f"function:setu-{stack.stage}-ticket_changed")
    sqs.send_message(QueueUrl=failures, MessageBody=letter["Body"])  # delivered twice
    sqs.send_message(QueueUrl=failures, MessageBody="{not json")
    elsewhere = json.loads(letter["Body"])
    elsewhere["requestContext"]["functionArn"] = "arn:aws:lambda:us-east-1:1:function:billing-export"
    sqs.send_message(QueueUrl=failures, MessageBody=json.dumps(elsewhere))

    def invoke(function, event):
        name = function.rsplit("-", 1)[-1] if "-" in function else function
        return getattr(app, name)(event, Context(function))

    assert replay.replay_streams(sqs, streams, failures, invoke, stack.stage, dry_run=True).replayed == 2
    with monkeypatch.context() as patched:  # replayed before the cause is fixed: kept
        patched.setattr(timers, "apply", lambda _actions: 1 / 0)
        report = replay.replay_streams(sqs, streams, failures, invoke, stack.stage)
    assert report.replayed == 0 and sum("failed again" in why for why in report.skipped) == 2
    assert _messages(failures) == 4 and ours() == []
    report = replay.replay_streams(sqs, streams, failures, invoke, stack.stage)
    assert report.replayed == 2 and sorted(why.split(": ", 1)[1][:5] for why in report.skipped) == [
        "names", "not a"]
    assert "not a stream consumer" in " ".join(report.skipped)
    started = ours()
    assert sorted(n.split("-g")[0] for n in started) == [
        f"T-{created['ref']}-first-response", f"T-{created['ref']}-resolution"]
    assert _messages(failures) == 2  # only the junk is left, for a person to look at
