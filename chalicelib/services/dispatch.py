"""Sending queued outbound messages (the outbox): called for each new timeline message.

Exactly-once is approximated by a claim: the message moves queued -> sending with a
conditional write before the provider is called, so a redelivered stream record never sends
twice. A crash between the provider call and the final write leaves the message `sending`,
visible on the timeline, rather than risking a duplicate to the customer.
"""
from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib import clock, config
from chalicelib.db import timeline
from chalicelib.db.connection import transaction
from chalicelib.db.models import TimelineItem
from chalicelib.integrations import email_out, sms_out

AUTOMATIC_KINDS = ("ack", "followup", "csat", "reminder")


def dispatch(item: TimelineItem) -> str:
    if item.item_type != "message" or item.direction != "out" or item.status != "queued":
        return "ignored"
    try:
        item.update(actions=[TimelineItem.status.set("sending")],
                    condition=TimelineItem.status == "queued")
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return "already-claimed"
        raise
    try:
        provider_id = _send(item)
    except Exception as exc:  # noqa: BLE001 - any provider failure is recorded, not raised
        _record(item, status="failed", event="message.failed",
                data={"error": type(exc).__name__, "detail": str(exc)[:500]}, error=str(exc)[:500])
        return "failed"
    _record(item, status="sent", event="message.sent", data={"provider_id": provider_id},
            provider_id=provider_id)
    return "sent"


def _send(item: TimelineItem) -> str:
    current = config.settings()
    if item.channel == "email":
        message = email_out.build(
            sender_name=current.support_name, sender=current.support_address,
            to=item.recipient, subject=item.subject or "", text=item.body or "",
            html=item.html, message_id=item.message_id, in_reply_to=item.in_reply_to,
            references=list(item.references or []), when=clock.now(), reply_to=item.reply_to,
            automatic=item.kind in AUTOMATIC_KINDS)
        return email_out.send(message, source=current.support_address,
                              destination=item.recipient)
    if item.channel == "sms":
        return sms_out.send(item.recipient, item.body or "", sender=current.sms_number)
    raise ValueError(f"no sender for channel {item.channel!r}")


def _record(item: TimelineItem, *, status: str, event: str, data: dict[str, Any],
            provider_id: str | None = None, error: str | None = None) -> None:
    now = clock.now()
    actions = [TimelineItem.status.set(status)]
    if provider_id:
        actions.append(TimelineItem.provider_id.set(provider_id))
    if error:
        actions.append(TimelineItem.error.set(error))
    with transaction() as tx:
        tx.update(item, actions=actions)
        tx.save(timeline.event(item.ticket_id, now, event, data={
            "message": item.message_uid, "channel": item.channel, "kind": item.kind, **data}))
