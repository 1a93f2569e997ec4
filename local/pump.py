"""Delivers emulated AWS events to the Chalice handlers, in the shapes Lambda uses.

- SQS (timer queue): Lambda's SQS event, batches of up to 10; only the messages a handler does
  not report in `batchItemFailures` are deleted, the rest become visible again (and reach the
  dead-letter queue after the queue's maxReceiveCount).
- DynamoDB streams: GetRecords per shard from TRIM_HORIZON; a failed record is retried (from
  that record on, preserving order) up to MAX_STREAM_ATTEMPTS, then skipped, and where it was
  in the stream goes to the stream-failures queue, as Lambda's OnFailure destination records it
  (`python -m infra.replay streams` reads it back and delivers it again).
- SNS: Lambda's SNS subscription is emulated by an SQS queue per topic (created here, not in the
  template) subscribed to the topic; each envelope becomes one Lambda SNS record. A handler
  that raises gets it again SNS_RETRY_SECONDS later, up to MAX_SNS_ATTEMPTS tries in all, as
  Lambda retries an asynchronous event twice; then the event goes to the events dead-letter
  queue, as the functions' DeadLetterQueue takes it (`python -m infra.replay events`).
- `run()` (the live stack) polls every source on its own thread, as Lambda runs each
  function's event source beside the others; `poll_once()`/`drain()` (tests) poll them one
  after another.
- Schedules (EventBridge rules): with `schedule_every` set (the local stack: every
  SETU_SCHEDULE_SECONDS, default 60), each scheduled handler gets EventBridge's "Scheduled
  Event" that often, the first at once; `tick()` runs them now. Off by default, so tests that
  drive the pump never get a briefing they did not ask for.
"""
from __future__ import annotations

import copy
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import ModuleType
from typing import Any, Callable

from infra.replay import lambda_stream_record
from local import iam, stack

log = logging.getLogger("setu.pump")
MAX_STREAM_ATTEMPTS = 5
MAX_SNS_ATTEMPTS = 3  # Lambda's asynchronous invocation: the first try and two retries
SNS_RETRY_SECONDS = 2
ACCOUNT_ID = "123456789012"  # the emulator's default account

# handler name -> (kind, stack output naming its source)
SOURCES = {
    "timer_fired": ("sqs", "TimerQueueUrl"),
    "ticket_changed": ("stream", "TicketsStreamArn"),
    "timeline_appended": ("stream", "TimelineStreamArn"),
    "report_events": ("stream", "TicketsStreamArn"),
    "report_timeline": ("stream", "TimelineStreamArn"),
    "daily_briefing": ("schedule", ""),
    "inbound_email": ("sns", "InboundEmailTopicArn"),
    "inbound_sms": ("sns", "InboundSmsTopicArn"),
    "ses_events": ("sns", "SesEventsTopicArn"),
    "sms_events": ("sns", "SmsEventsTopicArn"),
}


def check_mapping(app_module: ModuleType) -> None:
    """Every event source the Chalice app declares has a source here, and nothing else."""
    declared = {source.name for source in app_module.app.event_sources}
    if declared != set(SOURCES):
        raise AssertionError(f"pump sources {sorted(SOURCES)} != app handlers {sorted(declared)}")


class Context:
    """The parts of Lambda's context object handlers use."""

    def __init__(self, name: str, timeout_ms: int = 60_000):
        self.function_name = name
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = 256
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class _Shard:
    """One function's batch in one shard: what it was handed and has not yet got past."""
    shard_id: str
    pending: list[dict] = field(default_factory=list)
    attempts: int = 0


class _Stream:
    """One DynamoDB stream read once for every function that consumes it. Each shard is read
    with one iterator; each function takes its batches from what was read, at its own position
    (as each Lambda event source mapping has its own), so one function retrying a batch holds
    back no other. Records every function has taken are forgotten."""

    def __init__(self, client, arn: str, consumers: list[str]):
        self.client, self.arn, self.consumers = client, arn, consumers
        self.lock = threading.Lock()
        self.shards: dict[str, _Feed] = {}

    def shard_ids(self) -> list[str]:
        """The shards, listed again only while one is unknown or has closed."""
        with self.lock:
            if not self.shards or not all(feed.iterator for feed in self.shards.values()):
                listed = self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]
                for shard in listed.get("Shards", []):
                    if shard["ShardId"] not in self.shards:
                        iterator = self.client.get_shard_iterator(
                            StreamArn=self.arn, ShardId=shard["ShardId"],
                            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                        self.shards[shard["ShardId"]] = _Feed(iterator, self.consumers)
            return list(self.shards)

    def take(self, shard_id: str, consumer: str, limit: int = 100) -> list[dict]:
        """Up to `limit` records after `consumer`'s position, reading the shard when it has
        taken all that was read."""
        with self.lock:
            feed = self.shards[shard_id]
            start = feed.positions[consumer] - feed.base
            if start >= len(feed.records) and feed.iterator:
                page = self.client.get_records(ShardIterator=feed.iterator, Limit=limit)
                feed.iterator = page.get("NextShardIterator")
                feed.records += [lambda_stream_record(r, self.arn) for r in page.get("Records", [])]
            batch = feed.records[start:start + limit]
            feed.positions[consumer] += len(batch)
            done = min(feed.positions.values()) - feed.base
            if done > 0:
                del feed.records[:done]
                feed.base += done
        return batch


@dataclass
class _Feed:
    iterator: str | None
    consumers: list[str]
    records: list[dict] = field(default_factory=list)  # read, from position `base` on
    base: int = 0
    positions: dict[str, int] = field(init=False)  # consumer -> records taken

    def __post_init__(self):
        self.positions = dict.fromkeys(self.consumers, 0)


class Pump:
    def __init__(self, app_module: ModuleType, outputs: dict[str, str], endpoint: str,
                 stage: str, region: str = stack.REGION, schedule_every: float | None = None):
        check_mapping(app_module)
        self.app = app_module
        self.stage = stage
        self.schedule_every = schedule_every
        self._next_tick = 0.0
        self.outputs = outputs
        self.region = region
        self.sqs = stack.client("sqs", endpoint, region)
        self.streams = stack.client("dynamodbstreams", endpoint, region)
        self.streams.meta.events.register("before-parse.dynamodb-streams.GetRecords",
                                          _records_as_sent)
        self._sns_queues: dict[str, tuple[str, str]] = {}
        self._delivering = [name for name, (kind, _) in SOURCES.items() if kind != "schedule"]
        self._streams = {arn: _Stream(self.streams, arn, [
            name for name, (kind, output) in SOURCES.items()
            if kind == "stream" and outputs[output] == arn])
            for arn in {outputs[output] for kind, output in SOURCES.values() if kind == "stream"}}
        self._shards: dict[str, dict[str, _Shard]] = {name: {} for name in self._delivering}
        self._locks = {name: threading.Lock() for name in self._delivering}
        sns = stack.client("sns", endpoint, region)
        for name, (kind, output) in SOURCES.items():
            if kind == "sns":
                self._sns_queues[name] = self._subscribe(sns, outputs[output], f"setu-{stage}-pump-{name}")

    def _subscribe(self, sns, topic_arn: str, queue_name: str) -> tuple[str, str]:
        # a failed delivery is retried after SNS_RETRY_SECONDS (Lambda's async retries wait longer)
        url = self.sqs.create_queue(QueueName=queue_name, Attributes={
            "VisibilityTimeout": str(SNS_RETRY_SECONDS)})["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        subscription = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn,
                                     ReturnSubscriptionArn=True)["SubscriptionArn"]
        return url, subscription

    # ---- delivery -----------------------------------------------------------------------

    def poll_once(self) -> int:
        """Deliver whatever is waiting, once, synchronously, source after source; returns the
        records delivered. Tests drive the pump this way, so deliveries come in a fixed order."""
        delivered = sum(self._poll_source(name) for name in self._delivering)
        if self.schedule_every and time.monotonic() >= self._next_tick:
            self._next_tick = time.monotonic() + self.schedule_every
            self.tick()
        return delivered  # ticks are not counted: drain() must still come to rest

    def _poll_source(self, name: str, wait: int = 0) -> int:
        """`wait`: seconds a queue poll may wait for a message (SQS long polling)."""
        kind, output = SOURCES[name]
        with self._locks[name]:  # one delivery at a time per source, as per shard and queue
            if kind == "sqs":
                return self._poll_sqs(name, self.outputs[output], wait)
            if kind == "stream":
                return self._poll_stream(name, self.outputs[output])
            return self._poll_sns(name, wait)  # SNS pushes: its stand-in queue is not Lambda's

    def tick(self) -> dict[str, Any]:
        """Invoke every scheduled handler now, as an EventBridge rule does; name -> result.
        A handler that raises is logged; the next tick is its retry."""
        results: dict[str, Any] = {}
        for name, (kind, _) in SOURCES.items():
            if kind != "schedule":
                continue
            try:
                results[name] = self._invoke(name, _scheduled_event(name, self.stage, self.region))
            except Exception:  # noqa: BLE001 - like a failed async invocation: logged, dropped
                log.exception("scheduled %s raised", name)
                results[name] = None
        return results

    def drain(self, timeout: float = 15.0) -> int:
        """poll_once until two polls in a row find nothing (or the timeout passes)."""
        total, idle = 0, 0
        deadline = time.monotonic() + timeout
        while idle < 2 and time.monotonic() < deadline:
            count = self.poll_once()
            total += count
            idle = 0 if count else idle + 1
            if not count:
                time.sleep(0.05)
        return total

    def run(self, stop: threading.Event, interval: float = 0.2) -> None:
        """The live stack: every event source on its own thread, as each Lambda function's event
        source runs beside the others. One long stream batch (a hundred new tickets starting
        their timers) must not hold up the mail and SMS waiting on the inbound topics."""
        workers = [threading.Thread(target=self._run_source, args=(name, stop, interval),
                                    name=f"pump-{name}", daemon=True) for name in self._delivering]
        for worker in workers:
            worker.start()
        while self.schedule_every and not stop.is_set():
            if time.monotonic() >= self._next_tick:
                self._next_tick = time.monotonic() + self.schedule_every
                self.tick()
            stop.wait(min(interval, max(0.0, self._next_tick - time.monotonic())))
        for worker in workers:
            worker.join()

    def _run_source(self, name: str, stop: threading.Event, interval: float) -> None:
        # queues are long-polled (the emulator answers when a message arrives, at most a second
        # later); an idle stream is asked again after `interval`, as Lambda polls a shard
        queue = SOURCES[name][0] != "stream"
        while not stop.is_set():
            try:
                if not self._poll_source(name, wait=1 if queue else 0) and not queue:
                    stop.wait(interval)
            except Exception:  # noqa: BLE001 - the pump must outlive any one bad delivery
                log.exception("pump: polling %s failed", name)
                stop.wait(1.0)

    def _invoke(self, name: str, event: dict) -> Any:
        handler: Callable[[dict, Context], Any] = getattr(self.app, name)
        with iam.as_function(name):  # its AWS calls run under its own policy (local/iam.py)
            return handler(event, Context(name))

    def _poll_sqs(self, name: str, queue_url: str, wait: int = 0) -> int:
        # Lambda's event source mapping polls and deletes with the function's role
        with iam.as_event_source(name):
            received = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                                WaitTimeSeconds=wait, AttributeNames=["All"],
                                                MessageAttributeNames=["All"]).get("Messages", [])
        if not received:
            return 0
        arn = self._queue_arn(queue_url)
        records = [_sqs_record(message, arn, self.region) for message in received]
        try:
            result = self._invoke(name, {"Records": records})
        except Exception:  # noqa: BLE001 - like Lambda: the whole batch becomes visible again
            log.exception("%s raised; %d messages will be redelivered", name, len(records))
            return len(records)
        failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        done = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                for n, m in enumerate(received) if m["MessageId"] not in failed]
        if done:
            with iam.as_event_source(name):
                self.sqs.delete_message_batch(QueueUrl=queue_url, Entries=done)
        return len(records)

    def _queue_arn(self, queue_url: str) -> str:
        return self.outputs.get("TimerQueueArn") if queue_url == self.outputs.get("TimerQueueUrl") \
            else self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def _poll_sns(self, name: str, wait: int = 0) -> int:
        queue_url, subscription = self._sns_queues[name]
        received = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                            WaitTimeSeconds=wait,
                                            AttributeNames=["ApproximateReceiveCount"]).get("Messages", [])
        for message in received:
            event = {"Records": [_sns_record(json.loads(message["Body"]), subscription)]}
            try:
                self._invoke(name, event)
            except Exception:  # noqa: BLE001 - left on the queue: delivered again later
                attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1))
                if attempt < MAX_SNS_ATTEMPTS:
                    log.exception("%s raised (attempt %d); it will be redelivered", name, attempt)
                    continue
                log.exception("%s raised %d times; notification %s goes to the events "
                              "dead-letter queue, as Lambda's DeadLetterQueue takes a failed "
                              "async event", name, attempt, message["MessageId"])
                self._dead_letter(event, name)
            self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(received)

    def _dead_letter(self, event: dict, name: str) -> None:
        """What Lambda writes to a function's DeadLetterQueue: the event as the body, the
        error in message attributes."""
        queue_url = self.outputs.get("EventDeadLetterQueueUrl")
        if queue_url:
            with iam.as_event_source(name):  # Lambda writes it with the function's role
                self._send_dead_letter(queue_url, event, name)

    def _send_dead_letter(self, queue_url: str, event: dict, name: str) -> None:
        self.sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(event), MessageAttributes={
            "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": f"{name} raised"}})

    def _poll_stream(self, name: str, stream_arn: str) -> int:
        stream, shards = self._streams[stream_arn], self._shards[name]
        delivered = 0
        with iam.as_event_source(name):  # the event source mapping reads with the function's role
            shard_ids = stream.shard_ids()
        for shard_id in shard_ids:
            state = shards.setdefault(shard_id, _Shard(shard_id))
            if not state.pending:
                with iam.as_event_source(name):
                    state.pending = stream.take(shard_id, name)
            if state.pending:
                delivered += len(state.pending)
                self._deliver_stream(name, state, stream_arn)
        return delivered

    def _deliver_stream(self, name: str, state: _Shard, stream_arn: str) -> None:
        try:
            # each invocation gets its own event, as from Lambda: what a handler changes in its
            # records reaches neither its retry nor the other functions reading the stream
            result = self._invoke(name, {"Records": copy.deepcopy(state.pending)})
            failed = [f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])]
        except Exception:  # noqa: BLE001
            log.exception("%s raised on a stream batch", name)
            failed = [state.pending[0]["dynamodb"]["SequenceNumber"]]
        if not failed:
            state.pending, state.attempts = [], 0
            return
        sequences = [r["dynamodb"]["SequenceNumber"] for r in state.pending]
        first = min(sequences.index(s) for s in failed if s in sequences) if set(failed) & set(sequences) else 0
        state.pending = state.pending[first:]
        state.attempts += 1
        if state.attempts >= MAX_STREAM_ATTEMPTS:
            log.error("%s: giving up on stream record %s after %d attempts", name,
                      state.pending[0]["dynamodb"]["SequenceNumber"], state.attempts)
            with iam.as_event_source(name):  # the OnFailure destination, with the function's role
                self._record_stream_failure(name, state, stream_arn)
            state.pending, state.attempts = state.pending[1:], 0

    def _record_stream_failure(self, name: str, state: _Shard, stream_arn: str) -> None:
        """What Lambda sends to a stream event source's OnFailure destination: where the
        records were, not the records (docs.aws.amazon.com/lambda/latest/dg/
        services-dynamodb-errors.html)."""
        queue_url = self.outputs.get("StreamFailureQueueUrl")
        if not queue_url:
            return
        record = state.pending[0]
        sequence = record["dynamodb"]["SequenceNumber"]
        arrived = datetime.fromtimestamp(record["dynamodb"].get("ApproximateCreationDateTime", 0),
                                         timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({
            "requestContext": {
                "requestId": str(uuid.uuid4()), "condition": "RetryAttemptsExhausted",
                "functionArn": f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:"
                               f"setu-{self.stage}-{name}",
                "approximateInvokeCount": state.attempts},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "DDBStreamBatchInfo": {
                "shardId": state.shard_id, "startSequenceNumber": sequence,
                "endSequenceNumber": sequence, "approximateArrivalOfFirstRecord": arrived,
                "approximateArrivalOfLastRecord": arrived, "batchSize": 1,
                "streamArn": stream_arn}}))


def _records_as_sent(response_dict: dict, customized_response_dict: dict, **_: Any) -> None:
    """GetRecords answers in the JSON Lambda hands a function (attribute values as DynamoDB
    JSON, binaries base64, times as epoch seconds). botocore's parser would walk its model
    for every attribute value of a hundred images, and decode binaries and times Lambda
    leaves as they are, so the pump keeps the answer as it was sent: botocore parses an empty
    body and takes the members from here. Errors are parsed by botocore as usual."""
    if response_dict.get("status_code") != 200:
        return
    customized_response_dict.update(json.loads(response_dict["body"]))
    response_dict["body"] = b"{}"


def _sqs_record(message: dict, queue_arn: str, region: str) -> dict:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            key: {"stringValue": value.get("StringValue"), "binaryValue": value.get("BinaryValue"),
                  "stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
            for key, value in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _sns_record(envelope: dict, subscription_arn: str) -> dict:
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": envelope.get("Type", "Notification"),
            "MessageId": envelope["MessageId"],
            "TopicArn": envelope["TopicArn"],
            "Subject": envelope.get("Subject"),
            "Message": envelope["Message"],
            "Timestamp": envelope.get("Timestamp"),
            "SignatureVersion": envelope.get("SignatureVersion", "1"),
            "Signature": envelope.get("Signature", ""),
            "SigningCertUrl": envelope.get("SigningCertURL", ""),
            "UnsubscribeUrl": envelope.get("UnsubscribeURL", ""),
            "MessageAttributes": envelope.get("MessageAttributes", {}),
        },
    }


def _scheduled_event(name: str, stage: str, region: str) -> dict:
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
        "source": "aws.events", "account": ACCOUNT_ID,
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/setu-{stage}-{name}"],
        "detail": {},
    }
