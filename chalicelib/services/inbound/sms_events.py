"""SMS delivery events (AWS End User Messaging SMS, configuration-set event destination → SNS).

The event is the documented SMS event JSON (`eventType`, `messageId`, `isFinal`,
`messageStatus`, ...), either bare or inside an EventBridge envelope (`detail`). Matched to the
outbound message by `messageId` (the id `SendTextMessage` returned, kept by dispatch):

  TEXT_DELIVERED, TEXT_SUCCESSFUL    the message becomes `delivered`; `message.delivered` on the
                                     timeline with carrier, parts and price
  TEXT_INVALID, TEXT_BLOCKED, ...    `failed` with the reason; an automatic notice falls back to
                                     the customer's email (services/messaging/fallback.py). An invalid or
                                     blocked number is also suppressed for SMS.
  TEXT_PENDING, TEXT_QUEUED, ...     not final: recorded, nothing changes

Each (messageId, eventType) is applied once: its marker is written in the same transaction as
its effect. Events can arrive in any order; a final state is never overwritten (the write is
conditional on the message still being `sending` or `sent`). An event for an unknown
`messageId` less than 15 minutes old raises, so Lambda retries it (our record of the send may
not be written yet); an older one is recorded as `unmatched`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib import clock, observability
from chalicelib.db import timeline
from chalicelib.db.connection import Cancelled, Transaction, transaction
from chalicelib.db.models import TimelineItem
from chalicelib.services.inbound import held, once
from chalicelib.services.messaging import dispatch, suppression

log = logging.getLogger("setu.sms")

DELIVERED = frozenset({"TEXT_DELIVERED", "TEXT_SUCCESSFUL"})
FAILED = frozenset({"TEXT_INVALID", "TEXT_INVALID_MESSAGE", "TEXT_UNREACHABLE",
                    "TEXT_CARRIER_UNREACHABLE", "TEXT_BLOCKED", "TEXT_CARRIER_BLOCKED", "TEXT_SPAM",
                    "TEXT_UNKNOWN", "TEXT_TTL_EXPIRED", "TEXT_PROTECT_BLOCKED"})
# the number itself is the problem: do not text it again until it writes to us (START)
PERMANENT = frozenset({"TEXT_INVALID", "TEXT_BLOCKED"})
# states a delivery event may move a message out of (never out of delivered/failed/bounced)
OPEN_STATES = ("sending", "sent")


@dataclass(frozen=True)
class SmsEvent:
    """One SMS delivery event, as events/provider.py reads it."""

    kind: str  # eventType, TEXT_...
    message_id: str
    final: bool | None = None  # isFinal, when the event says
    status: str = ""
    description: str = ""
    carrier: str = ""
    parts: float | None = None
    price_usd: float | None = None
    carrier_fee_usd: float | None = None
    timestamp_ms: float | None = None


def reject(notification_id: str, reason: str) -> str:
    """An event that is not one: kept under its notification id, once."""
    return record(notification_id, "rejected", reason, None)


def handle(event: SmsEvent) -> str:
    kind, message_id = event.kind, event.message_id
    marker = f"{message_id}#{kind}"
    item = dispatch.by_provider_id(message_id)
    if item is None and _recent(event):
        # the send may not be recorded yet (the provider answers before our write): raise,
        # so Lambda tries again a minute later (then the dead-letter queue keeps it)
        raise NotYetKnown(f"SMS {message_id}: no message with that id yet")
    if item is None or item.channel != "sms":
        return record(marker, "unmatched", kind, None)
    final = kind in FAILED or (kind in DELIVERED and event.final is not False)
    if not final:
        return record(marker, "noted", kind, item)
    if item.status not in OPEN_STATES:
        return record(marker, "ignored", f"{kind} after {item.status}", item)
    outcome = "delivered" if kind in DELIVERED else "failed"
    detail = f"{kind}: {event.description[:200]}".rstrip(": ")

    def extras(tx: Transaction) -> None:
        once.mark(tx, "sms-event", marker, outcome, **_marker_data(kind, item))
        if kind in PERMANENT and item.recipient:
            suppression.add_to(tx, item.recipient, "undeliverable", detail, channel="sms")

    try:
        if outcome == "delivered":
            with transaction() as tx:
                _delivered(tx, item, event)
                extras(tx)
        else:  # marks the message failed and reroutes an automatic notice to email
            dispatch.record_failure(item, status="failed", detail=detail, extra_writes=extras,
                                    only_from=OPEN_STATES)
    except Cancelled as exc:
        if "extra" in exc.labels:
            return "duplicate"
        if "state" in exc.labels:  # another final report won the race
            return record(marker, "ignored", f"{kind} after a concurrent final state", item)
        raise
    log.info("SMS %s: %s", marker, outcome)
    return outcome


def _delivered(tx: Transaction, item: TimelineItem, event: SmsEvent) -> None:
    tx.update(item, actions=[TimelineItem.status.set("delivered")],
              condition=TimelineItem.status.is_in(*OPEN_STATES), label="state")
    tx.save(timeline.event(item.ticket_id, clock.now(), "message.delivered", data={
        "message": item.message_uid, "channel": "sms", "kind": item.kind,
        "provider_status": event.status[:40], "carrier": event.carrier[:80],
        "parts": event.parts, "price_usd": event.price_usd,
        "carrier_fee_usd": event.carrier_fee_usd}))


class NotYetKnown(RuntimeError):
    """A delivery event for a message id we have not recorded yet: retried by Lambda."""


RETRY_UNMATCHED = timedelta(minutes=15)


def _recent(event: SmsEvent) -> bool:
    stamp = event.timestamp_ms
    if stamp is None:
        return False
    return clock.now() - datetime.fromtimestamp(stamp / 1000, timezone.utc) < RETRY_UNMATCHED


def record(marker: str, outcome: str, reason: str, item: TimelineItem | None) -> str:
    """Only the marker: the event changes nothing, but it is kept and applied once."""
    if outcome == "rejected":
        log.warning("SMS event %s rejected: %s", marker, observability.scrub(reason))
        return held.record("sms-event", marker, outcome, held.Held(
            kind="event", reason="unreadable_event", detail=f"SMS delivery event: {reason}"),
            **_marker_data(reason, item))
    return once.record("sms-event", marker, outcome, **_marker_data(reason, item))


def _marker_data(reason: str, item: TimelineItem | None) -> dict[str, Any]:
    return {"ticket_id": item.ticket_id if item is not None else None, "reason": reason[:200],
            "at": clock.iso(clock.now())}
