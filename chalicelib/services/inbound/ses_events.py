"""SES bounce, complaint and delivery notifications (SNS) about mail we sent.

A permanent bounce or a complaint suppresses the address (services/messaging/suppression.py) and marks
the message; a delivery marks it `delivered`. Each notification is applied once: its SNS
message id is a marker written in the same transaction.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from chalicelib import clock, observability
from chalicelib.db import timeline
from chalicelib.db.connection import Cancelled, Transaction, transaction
from chalicelib.db.models import TimelineItem
from chalicelib.services.inbound import held, once
from chalicelib.services.messaging import dispatch, suppression

log = logging.getLogger("setu.ses")


@dataclass(frozen=True)
class SesNotification:
    """What a Bounce, Complaint or Delivery notification says (events/provider.py reads it)."""

    kind: str  # Bounce | Complaint | Delivery
    ses_id: str  # the SES message id of the mail we sent ("" when absent)
    addresses: list[str]  # bounced or complaining recipients
    permanent: bool = False  # a permanent bounce
    detail: str = ""


def apply(notification_id: str, note: SesNotification) -> str:
    if note.kind == "Bounce":
        return _apply(notification_id, note.ses_id, note.addresses if note.permanent else [],
                      "bounced" if note.permanent else None, "bounce", note.detail)
    if note.kind == "Complaint":
        return _apply(notification_id, note.ses_id, note.addresses, None, "complaint",
                      note.detail or "complaint")
    return _apply(notification_id, note.ses_id, [], "delivered", "delivery", "")




def _apply(notification_id: str, ses_id: str, suppress: list[str], status: str | None,
           why: str, detail: str) -> str:
    item = dispatch.by_provider_id(ses_id) if ses_id else None

    def writes(tx: Transaction) -> None:
        once.mark(tx, "ses-event", notification_id, why,
                  ticket_id=item.ticket_id if item is not None else None,
                  at=clock.iso(clock.now()))
        for address in suppress:
            suppression.add_to(tx, address, why, detail)

    try:
        if item is not None and status == "delivered":
            _delivered(item, writes) if item.status == "sent" else _just(writes)
        elif item is not None and status and item.status != status:
            dispatch.record_failure(item, status=status, detail=detail, extra_writes=writes)
        elif item is not None and why == "complaint":  # it arrived; note it on the ticket
            with transaction() as tx:
                tx.save(timeline.event(item.ticket_id, clock.now(), "message.complaint",
                                       data={"message": item.message_uid, "detail": detail}))
                writes(tx)
        else:
            _just(writes)
    except Cancelled as exc:
        if "extra" in exc.labels:
            return "duplicate"
        raise
    log.info("SES %s for %s: suppressed %s", why, ses_id or "?",
             [observability.fingerprint(a) for a in suppress or ()])
    return why


def _delivered(item: TimelineItem, writes) -> None:
    with transaction() as tx:
        tx.update(item, actions=[TimelineItem.status.set("delivered")])
        writes(tx)


def _just(writes) -> None:
    with transaction() as tx:
        writes(tx)


def record_only(notification_id: str, outcome: str, reason: str) -> str:
    """A notification that changes nothing (unusable, or of a type we do not act on)."""
    log.warning("SES event %s %s: %s", notification_id, outcome, observability.scrub(reason))
    if outcome == "rejected":
        return held.record("ses-event", notification_id, outcome, held.Held(
            kind="event", reason="unreadable_event", detail=f"SES notification: {reason}"),
            at=clock.iso(clock.now()))
    return once.record("ses-event", notification_id, outcome, reason=reason,
                       at=clock.iso(clock.now()))
