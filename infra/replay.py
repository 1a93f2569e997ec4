"""Replay dead letters once their cause is fixed (README, "Dead letters").

    python -m infra.replay timers  --stage dev [--dry-run] [--max N]
    python -m infra.replay events  --stage dev [--dry-run] [--max N]
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


def replay_timers(sqs, dead_letter_url: str, queue_url: str, *, dry_run: bool = False,
                  limit: int = 1000) -> Report:
    report = Report()
    kept = []
    for message in _drain(sqs, dead_letter_url, limit):
        report.replayed += 1
        if dry_run:
            kept.append(message)
            continue
        sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"])
        sqs.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
    for message in kept:
        _keep(sqs, dead_letter_url, message)
    return report


def replay_events(sqs, sns, dead_letter_url: str, *, dry_run: bool = False,
                  limit: int = 1000) -> Report:
    report = Report()
    kept = []
    for message in _drain(sqs, dead_letter_url, limit):
        notification = _sns_notification(message["Body"])
        if notification is None:
            report.skipped.append(f"{message['MessageId']}: not an SNS event (a scheduled run "
                                  "needs no replay; delete it when done)")
            kept.append(message)
            continue
        report.replayed += 1
        if dry_run:
            kept.append(message)
            continue
        original = (notification.get("MessageAttributes") or {}).get(REPLAY_OF, {}).get("Value") \
            or notification["MessageId"]
        request: dict[str, Any] = {
            "TopicArn": notification["TopicArn"], "Message": notification["Message"],
            "MessageAttributes": {REPLAY_OF: {"DataType": "String", "StringValue": original}}}
        if notification.get("Subject"):
            request["Subject"] = notification["Subject"]
        sns.publish(**request)
        sqs.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
    for message in kept:  # only now: within the run each message is seen once
        _keep(sqs, dead_letter_url, message)
    return report


def _sns_notification(body: str) -> dict[str, Any] | None:
    try:
        event = json.loads(body)
        sns = event["Records"][0]["Sns"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    if not all(isinstance(sns.get(k), str) for k in ("TopicArn", "Message", "MessageId")):
        return None
    return sns


def main(argv: list[str] | None = None) -> int:
    import boto3

    parser = argparse.ArgumentParser(prog="python -m infra.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("timers", "events"))
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

    if args.what == "timers":
        report = replay_timers(sqs, url("timers-dlq"), url("timers"), dry_run=args.dry_run,
                               limit=args.max)
    else:
        report = replay_events(sqs, boto3.client("sns", **session_args), url("events-dlq"),
                               dry_run=args.dry_run, limit=args.max)
    print(report.line(f"{args.what} dead letters of setu-{stage}", args.dry_run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
