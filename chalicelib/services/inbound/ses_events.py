"""SES bounce, complaint and delivery notifications (SNS) about mail we sent.

A permanent bounce or a complaint suppresses the address (services/messaging/suppression.py) and marks
the message; a delivery marks it `delivered`. Each notification is applied once: its SNS
message id is a marker written in the same transaction.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from chalicelib import clock
from chalicelib.db import timeline
from chalicelib.db.connection import Cancelled, Transaction, transaction
from chalicelib.db.models import TimelineItem
from chalicelib.services.inbound import once
from chalicelib.services.messaging import dispatch, suppression

log = logging.getLogger("setu.ses")


def handle(message: str, notification_id: str) -> str:
    try:
        data = json.loads(message)
    except (TypeError, ValueError):
        data = None
    if not isinstance(data, dict):
        return _record_only(notification_id, "rejected", "not JSON")
    kind = data.get("notificationType") or data.get("eventType")
    mail = data.get("mail") if isinstance(data.get("mail"), dict) else {}
    ses_id = mail.get("messageId") if isinstance(mail.get("messageId"), str) else ""
    if kind == "Bounce":
        bounce = data.get("bounce") if isinstance(data.get("bounce"), dict) else {}
        permanent = bounce.get("bounceType") == "Permanent"
        addresses = _addresses(bounce.get("bouncedRecipients"))
        detail = f"{bounce.get('bounceType')}/{bounce.get('bounceSubType')}"
        return _apply(notification_id, ses_id, addresses if permanent else [],
                      "bounced" if permanent else None, "bounce", detail)
    if kind == "Complaint":
        complaint = data.get("complaint") if isinstance(data.get("complaint"), dict) else {}
        return _apply(notification_id, ses_id, _addresses(complaint.get("complainedRecipients")),
                      None, "complaint", str(complaint.get("complaintFeedbackType") or "complaint"))
    if kind == "Delivery":
        return _apply(notification_id, ses_id, [], "delivered", "delivery", "")
    return _record_only(notification_id, "ignored", f"notification type {kind!r}")


def _addresses(recipients: Any) -> list[str]:
    if not isinstance(recipients, list):
        return []
    return [r["emailAddress"] for r in recipients
            if isinstance(r, dict) and isinstance(r.get("emailAddress"), str)][:50]


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
    log.info("SES %s for %s: suppressed %s", why, ses_id or "?", suppress)
    return why


def _delivered(item: TimelineItem, writes) -> None:
    with transaction() as tx:
        tx.update(item, actions=[TimelineItem.status.set("delivered")])
        writes(tx)


def _just(writes) -> None:
    with transaction() as tx:
        writes(tx)


def _record_only(notification_id: str, outcome: str, reason: str) -> str:
    log.warning("SES event %s %s: %s", notification_id, outcome, reason)
    return once.record("ses-event", notification_id, outcome, reason=reason,
                       at=clock.iso(clock.now()))
