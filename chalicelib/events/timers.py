"""SQS adapter for the timer queue: parse each record, let services/timers decide.

Returns Lambda's partial-batch response: only records whose handling raised are retried.
A malformed record is logged and dropped (retrying cannot fix it; the DLQ is for failures
that a retry or a fix can resolve).
"""
from __future__ import annotations

import logging

from chalicelib import observability, untrusted_json
from chalicelib.services.sla import timers

log = logging.getLogger("setu.timers")


def handle(event) -> dict:
    failures = []
    for record in event:
        message_id = record.to_dict().get("messageId", "")
        try:
            payload = timers.parse_payload(untrusted_json.loads(record.body))
        except (ValueError, timers.InvalidTimer) as exc:
            log.error("dropping malformed timer message %s: %s", message_id, exc)
            observability.count("EventsRejected", source="timer")
            continue
        try:
            outcome = timers.fire(payload)
            log.info("timer %s/%s g%s: %s", payload["ticket_id"], payload["kind"],
                     payload["generation"], outcome)
        except Exception:  # noqa: BLE001 - reported back to SQS for this record only
            log.exception("timer message %s failed; it will be retried", message_id)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
