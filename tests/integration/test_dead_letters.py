"""Dead letters and their replay (infra/replay.py), with faults injected into the handlers on
the emulated stack: nothing is lost, a replay applies once."""
from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest

from chalicelib.db.models import Key
from chalicelib.services import sms_in
from infra import replay
from tests.integration.helpers import Api


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
