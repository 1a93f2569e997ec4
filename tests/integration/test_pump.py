"""The local stack's pump delivers like Lambda's event source mappings: partial batch failures
on SQS, in-order retry on DynamoDB streams, redelivery of SNS notifications whose handler raised.
The handlers here are recording stand-ins for the app; the queues, topics and streams are the
emulator's, from the deployed template."""
from __future__ import annotations

import json
import time
import types

import boto3
import pytest

from local import pump as pump_module
from local.pump import Pump


class Recorder:
    """A stand-in app module: one handler per pump source, recording what it was given."""

    def __init__(self):
        self.calls: dict[str, list[dict]] = {name: [] for name in pump_module.SOURCES}
        self.fail: dict[str, object] = {}
        self.app = types.SimpleNamespace(
            event_sources=[types.SimpleNamespace(name=name) for name in pump_module.SOURCES])
        for name in pump_module.SOURCES:
            setattr(self, name, self._handler(name))

    def _handler(self, name):
        def handle(event, context):
            assert context.function_name == name and context.get_remaining_time_in_millis() > 0
            self.calls[name].append(event)
            rule = self.fail.get(name)
            return rule(event) if callable(rule) else None
        return handle


@pytest.fixture
def recorder(stack):
    recorder = Recorder()
    return recorder, Pump(recorder, stack.outputs, stack.endpoint, stack.stage + "r")


def test_mapping_matches_the_app():
    import app

    pump_module.check_mapping(app)
    wrong = types.SimpleNamespace(app=types.SimpleNamespace(event_sources=[]))
    with pytest.raises(AssertionError):
        pump_module.check_mapping(wrong)


def test_sqs_batch_item_failures_stay_on_the_queue(stack, recorder):
    rec, pump = recorder
    sqs = boto3.client("sqs")
    url = stack.outputs["TimerQueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))
    rec.fail["timer_fired"] = lambda event: {"batchItemFailures": [
        {"itemIdentifier": r["messageId"]} for r in event["Records"] if json.loads(r["body"])["n"] == 1]}
    pump.drain(timeout=5)

    records = [r for event in rec.calls["timer_fired"] for r in event["Records"]]
    assert sorted(json.loads(r["body"])["n"] for r in records) == [0, 1, 2]
    assert {r["eventSource"] for r in records} == {"aws:sqs"}
    assert records[0]["eventSourceARN"] == stack.outputs["TimerQueueArn"]
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "1"  # only n=1, waiting to retry


def test_stream_retries_from_the_failed_record_then_moves_on(stack, recorder, monkeypatch):
    rec, pump = recorder
    monkeypatch.setattr(pump_module, "MAX_STREAM_ATTEMPTS", 3)
    table = boto3.resource("dynamodb").Table(stack.outputs["TicketsTable"])
    for n in range(3):
        table.put_item(Item={"id": f"t_pump{n}", "n": n})

    def fail_second(event):
        for r in event["Records"]:
            if r["dynamodb"]["Keys"]["id"]["S"] == "t_pump1":
                return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]}]}
        return None

    rec.fail["ticket_changed"] = fail_second
    pump.drain(timeout=5)
    seen = [[r["dynamodb"]["Keys"]["id"]["S"] for r in e["Records"]] for e in rec.calls["ticket_changed"]]
    pump_ids = [[k for k in batch if k.startswith("t_pump")] for batch in seen]
    assert pump_ids[0] == ["t_pump0", "t_pump1", "t_pump2"]
    # retried from the failing record on (never t_pump0 again), 3 attempts, then t_pump2 alone
    assert pump_ids[1:] == [["t_pump1", "t_pump2"], ["t_pump1", "t_pump2"], ["t_pump2"]]
    record = rec.calls["ticket_changed"][0]["Records"][0]
    assert record["eventSource"] == "aws:dynamodb" and record["eventName"] == "INSERT"
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)


def test_a_stream_is_read_once_for_every_function_reading_it(stack, recorder, monkeypatch):
    """ticket_changed and report_events both read the tickets stream: one GetRecords serves
    both, each gets its own copy of the records, and one retrying holds back no other."""
    rec, pump = recorder
    monkeypatch.setattr(pump_module, "MAX_STREAM_ATTEMPTS", 3)
    table = boto3.resource("dynamodb").Table(stack.outputs["TicketsTable"])
    for n in range(3):
        table.put_item(Item={"id": f"t_once{n}", "n": n})
    pages = []
    pump.streams.meta.events.register(
        "after-call.dynamodbstreams.GetRecords",
        lambda parsed, **_: pages.append(len(parsed.get("Records", []))))

    changed = []

    def mangle_and_fail_second(event):
        keys = [r["dynamodb"]["Keys"]["id"] for r in event["Records"]]
        changed.append([k["S"] for k in keys if k["S"].startswith("t_once")])
        failed = [r for r in event["Records"] if r["dynamodb"]["Keys"]["id"]["S"] == "t_once1"]
        for key in keys:
            key["S"] += "-mangled"  # in this invocation's copy only
        return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
                                      for r in failed]}

    rec.fail["ticket_changed"] = mangle_and_fail_second
    pump.drain(timeout=5)

    reported = [[r["dynamodb"]["Keys"]["id"]["S"] for r in e["Records"]
                 if "t_once" in r["dynamodb"]["Keys"]["id"]["S"]] for e in rec.calls["report_events"]]
    assert [batch for batch in reported if batch] == [["t_once0", "t_once1", "t_once2"]]
    # retried from the failing record, 3 attempts, then on; report_events was not held back
    assert changed == [["t_once0", "t_once1", "t_once2"], ["t_once1", "t_once2"],
                       ["t_once1", "t_once2"], ["t_once2"]]
    stream_ids = {r["eventSourceARN"] for e in rec.calls["report_events"] for r in e["Records"]}
    assert stream_ids == {stack.outputs["TicketsStreamArn"]}
    # the three records came in one page, read once for both functions
    assert sum(1 for n in pages if n) == 1, pages


def test_stream_records_arrive_as_lambda_sends_them(stack, recorder):
    """Binary values base64 and times in whole epoch seconds, as in a Lambda event (the pump
    keeps GetRecords' JSON as sent); a GetRecords error still raises as botocore's."""
    import base64

    from botocore.exceptions import ClientError

    rec, pump = recorder
    table = boto3.resource("dynamodb").Table(stack.outputs["TicketsTable"])
    table.put_item(Item={"id": "t_wire", "blob": b"\x00\xffraw", "n": 7})
    pump.drain(timeout=5)
    record = next(r for e in rec.calls["ticket_changed"] for r in e["Records"]
                  if r["dynamodb"]["Keys"]["id"]["S"] == "t_wire")
    image = record["dynamodb"]["NewImage"]
    assert image["blob"] == {"B": base64.b64encode(b"\x00\xffraw").decode()}
    assert image["n"] == {"N": "7"}
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    with pytest.raises(ClientError):
        pump.streams.get_records(ShardIterator="not-an-iterator")


def test_sns_notification_redelivered_after_a_raise(stack, recorder):
    rec, pump = recorder
    attempts = []

    def flaky(event):
        attempts.append(event["Records"][0]["Sns"]["MessageId"])
        if len(attempts) == 1:
            raise RuntimeError("first delivery fails")

    rec.fail["inbound_sms"] = flaky
    published = boto3.client("sns").publish(TopicArn=stack.outputs["InboundSmsTopicArn"],
                                            Message=json.dumps({"messageBody": "hi"}))
    deadline = time.monotonic() + pump_module.SNS_RETRY_SECONDS + 8
    while len(attempts) < 2 and time.monotonic() < deadline:
        pump.poll_once()
        time.sleep(0.2)
    assert attempts == [published["MessageId"]] * 2
    record = rec.calls["inbound_sms"][0]["Records"][0]
    assert record["EventSource"] == "aws:sns"
    assert record["Sns"]["TopicArn"] == stack.outputs["InboundSmsTopicArn"]
    assert json.loads(record["Sns"]["Message"]) == {"messageBody": "hi"}
    pump.drain(timeout=1)
    assert len(attempts) == 2  # deleted after the successful delivery
