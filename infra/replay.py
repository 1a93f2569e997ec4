"""Replay dead letters once their cause is fixed (README, "Dead letters").

    python -m infra.replay timers  --stage dev [--dry-run] [--max N]
    python -m infra.replay events  --stage dev [--dry-run] [--max N]
    python -m infra.replay streams --stage dev [--dry-run] [--max N]
    python -m infra.replay events  --local      # the running local stack (.setu/local.json)

- `timers`: messages on `setu-<stage>-timers-dlq` (timer firings that failed five times) go
  back to the timer queue unchanged. The timer handler acts only on the generation still armed,
  so a replay of a stale or already-handled timer does nothing.
- `events`: each message on `setu-<stage>-events-dlq` is a Lambda event that failed every
  retry (Lambda writes the event as the body). An SNS notification is published again to its
  topic with the attribute `setu-replay-of` = its original message id, so the handler's
  exactly-once markers (keyed by that id, or by the provider's own id inside the message)
  still hold: replaying twice, or replaying something that was half applied, never duplicates.
  A scheduled run (the daily briefing) is not replayed: the next tick does its work.
- `streams`: each message on `setu-<stage>-stream-failures` says where in a table's stream a
  function gave up on records after its retries (Lambda's OnFailure record, which holds no
  records). The records are read back from the stream and the function is invoked again with
  them (on AWS through Lambda's Invoke; `--local` (through local/replay.py) calls the app's handler in this process). The
  consumers act on a record at most once (timers by generation, dispatch by the item's status,
  counters by the record's sequence number), so a replay of something half applied does not
  double it. A stream keeps records 24 hours: an older failure is left with its reason.

A message is deleted from the dead-letter queue only after it was sent on. Credentials and
region come from the usual AWS environment; `--local` points at the local stack's emulator.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPLAY_OF = "setu-replay-of"  # chalicelib/events/inbound.py reads it
# the functions with a stream event source (infra/lambda.yaml); a replay invokes nothing else
STREAM_CONSUMERS = ("ticket_changed", "timeline_appended", "report_events", "report_timeline")
# while a run works, the messages it received stay invisible; --max keeps a run shorter
VISIBILITY = 900
LOCAL_STATE = Path(".setu/local.json")


@dataclass
class Report:
    replayed: int = 0
    skipped: list[str] = field(default_factory=list)

    def line(self, what: str, dry_run: bool) -> str:
        verb = "would replay" if dry_run else "replayed"
        return f"{what}: {verb} {self.replayed}; left {len(self.skipped)}" + (
            "".join(f"\n  - {why}" for why in self.skipped))


def _drain(sqs, queue_url: str, limit: int):
    """Messages of the dead-letter queue, up to `limit` (each received once per run)."""
    seen = 0
    while seen < limit:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=min(10, limit - seen),
                                    WaitTimeSeconds=0, VisibilityTimeout=VISIBILITY,
                                    MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            return
        for message in batch:
            seen += 1
            yield message


def _keep(sqs, queue_url: str, message: dict[str, Any]) -> None:
    """Leave a message on the dead-letter queue, visible again at once (not in this run)."""
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"],
                                  VisibilityTimeout=0)


def _replay(sqs, queue_url: str, replay_one, *, dry_run: bool, limit: int) -> Report:
    """`replay_one(message, dry_run)` sends one message on (or, in a dry run, checks that it
    could) and returns None, or says why the message stays. A message is deleted only after it
    was sent on; the ones that stay become visible again only after the run, so a run sees each
    message once."""
    report, kept = Report(), []
    for message in _drain(sqs, queue_url, limit):
        why = replay_one(message, dry_run)
        if why is None:
            report.replayed += 1
        else:
            report.skipped.append(f"{message['MessageId']}: {why}")
        if why is None and not dry_run:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        else:
            kept.append(message)
    for message in kept:
        _keep(sqs, queue_url, message)
    return report


def replay_timers(sqs, dead_letter_url: str, queue_url: str, *, dry_run: bool = False,
                  limit: int = 1000) -> Report:
    def replay_one(message: dict[str, Any], dry_run: bool) -> str | None:
        if not dry_run:
            sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"])
        return None

    return _replay(sqs, dead_letter_url, replay_one, dry_run=dry_run, limit=limit)


def replay_events(sqs, sns, dead_letter_url: str, *, dry_run: bool = False,
                  limit: int = 1000) -> Report:
    def replay_one(message: dict[str, Any], dry_run: bool) -> str | None:
        notification = _sns_notification(message["Body"])
        if notification is None:
            return "not an SNS event (a scheduled run needs no replay; delete it when done)"
        if dry_run:
            return None
        original = (notification.get("MessageAttributes") or {}).get(REPLAY_OF, {}).get("Value") \
            or notification["MessageId"]
        request: dict[str, Any] = {
            "TopicArn": notification["TopicArn"], "Message": notification["Message"],
            "MessageAttributes": {REPLAY_OF: {"DataType": "String", "StringValue": original}}}
        if notification.get("Subject"):
            request["Subject"] = notification["Subject"]
        sns.publish(**request)
        return None

    return _replay(sqs, dead_letter_url, replay_one, dry_run=dry_run, limit=limit)


def replay_streams(sqs, streams, failures_url: str, invoke, stage: str, *,
                   dry_run: bool = False, limit: int = 1000) -> Report:
    """`invoke(function_name, event)` runs the function and returns its response. Only the
    stage's stream consumers are invoked, whatever function a message names."""
    consumers = {f"setu-{stage}-{name}" for name in STREAM_CONSUMERS}

    def replay_one(message: dict[str, Any], dry_run: bool) -> str | None:
        batch = _stream_batch(message["Body"])
        if batch is None:
            return "not a stream OnFailure record"
        if batch["function"] not in consumers:
            return f"names {batch['function'][:100]!r}, not a stream consumer of setu-{stage}"
        try:
            records = _read_stream(streams, batch)
        except streams.exceptions.TrimmedDataAccessException:
            records = []
        if not records:
            return (f"{batch['function']}'s records {batch['start']}..{batch['end']} are no "
                    "longer in the stream (kept 24 hours)")
        if dry_run:
            return None
        try:
            response = invoke(batch["function"], {"Records": records}) or {}
        except Exception as error:  # noqa: BLE001 - reported; the message stays for next time
            response = {"error": repr(error)[:200]}
        if response.get("batchItemFailures") or response.get("error"):
            return f"{batch['function']} failed again: {response}"
        return None

    return _replay(sqs, failures_url, replay_one, dry_run=dry_run, limit=limit)


def _stream_batch(body: str) -> dict[str, Any] | None:
    try:
        record = json.loads(body)
        info, function_arn = record["DDBStreamBatchInfo"], record["requestContext"]["functionArn"]
        batch = {"function": function_arn.rsplit(":", 1)[-1], "stream": info["streamArn"],
                 "shard": info["shardId"], "start": int(info["startSequenceNumber"]),
                 "end": int(info["endSequenceNumber"])}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if not all(isinstance(batch[k], str) and batch[k] for k in ("function", "stream", "shard")):
        return None
    return batch if batch["start"] <= batch["end"] else None


def _read_stream(streams, batch: dict[str, Any]) -> list[dict[str, Any]]:
    """The records startSequenceNumber..endSequenceNumber, in Lambda's event shape."""
    iterator = streams.get_shard_iterator(
        StreamArn=batch["stream"], ShardId=batch["shard"], ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=str(batch["start"]))["ShardIterator"]
    records: list[dict[str, Any]] = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=100)
        fresh = [r for r in page.get("Records", [])
                 if int(r["dynamodb"]["SequenceNumber"]) <= batch["end"]]
        records += [lambda_stream_record(r, batch["stream"]) for r in fresh]
        if len(fresh) < len(page.get("Records", [])) or not page.get("Records"):
            return records
        iterator = page.get("NextShardIterator")
    return records


def lambda_stream_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A DynamoDB Streams GetRecords record as Lambda hands it to a function."""
    from datetime import datetime

    data = dict(record["dynamodb"])
    created = data.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        data["ApproximateCreationDateTime"] = int(created.timestamp())
    elif isinstance(created, (int, float)):  # as sent: epoch seconds; Lambda's are whole
        data["ApproximateCreationDateTime"] = int(created)
    out = {key: value for key, value in record.items() if key != "dynamodb"}
    out.update({"dynamodb": data, "eventSourceARN": stream_arn,
                "eventSource": "aws:dynamodb", "eventVersion": record.get("eventVersion", "1.1")})
    return out


def _sns_notification(body: str) -> dict[str, Any] | None:
    try:
        event = json.loads(body)
        sns = event["Records"][0]["Sns"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    if not all(isinstance(sns.get(k), str) for k in ("TopicArn", "Message", "MessageId")):
        return None
    return sns


def main(argv: list[str] | None = None, local_invoke=None) -> int:
    """`local_invoke(info)`: how `streams --local` runs a function (local/replay.py passes
    it; this module imports nothing of the local stack)."""
    import boto3

    parser = argparse.ArgumentParser(prog="python -m infra.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("timers", "events", "streams"))
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stage", help="the deployed stage, e.g. dev")
    where.add_argument("--local", action="store_true", help="the running local stack")
    parser.add_argument("--dry-run", action="store_true", help="count, send nothing")
    parser.add_argument("--max", type=int, default=1000, help="at most this many messages")
    args = parser.parse_args(argv)

    session_args: dict[str, Any] = {}
    if args.local:
        if not LOCAL_STATE.exists():
            parser.error("no local stack is running (.setu/local.json is missing)")
        info = json.loads(LOCAL_STATE.read_text())
        session_args = {"endpoint_url": info["aws_endpoint_url"], "region_name": info["region"],
                        "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        stage = info["stage"]
    else:
        stage = args.stage
    sqs = boto3.client("sqs", **session_args)

    def url(name: str) -> str:
        return sqs.get_queue_url(QueueName=f"setu-{stage}-{name}")["QueueUrl"]

    if args.what == "streams":
        if args.local and local_invoke is None:
            parser.error("streams --local runs the app's handlers here: use `python -m local.replay "
                         "streams` or `setu replay streams --local`")
        invoke = local_invoke(info) if args.local else _lambda_invoke(boto3.client("lambda"))
        report = replay_streams(sqs, boto3.client("dynamodbstreams", **session_args),
                                url("stream-failures"), invoke, stage, dry_run=args.dry_run,
                                limit=args.max)
    elif args.what == "timers":
        report = replay_timers(sqs, url("timers-dlq"), url("timers"), dry_run=args.dry_run,
                               limit=args.max)
    else:
        report = replay_events(sqs, boto3.client("sns", **session_args), url("events-dlq"),
                               dry_run=args.dry_run, limit=args.max)
    print(report.line(f"{args.what} dead letters of setu-{stage}", args.dry_run))
    return 0


def _lambda_invoke(client):
    def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
        payload = json.dumps(event, default=_binary).encode()
        response = client.invoke(FunctionName=function, Payload=payload)
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            return {"error": payload}
        return payload or {}
    return invoke


def _binary(value: Any) -> str:
    """Binary attribute values travel base64-encoded in Lambda's JSON event."""
    import base64

    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


if __name__ == "__main__":
    sys.exit(main())
