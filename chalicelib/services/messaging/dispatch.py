"""Sending queued outbound messages (the outbox): called for each new timeline message.

Exactly-once is approximated by a claim: the message moves queued -> sending with a
conditional write before the provider is called, so a redelivered stream record never sends
twice. A crash between the provider call and the final write leaves the message `sending`,
visible on the timeline, rather than risking a duplicate to the customer.

An SMS that is sent also records, in the same write, the ticket we last texted its number
from (`texted#<E.164>`, target the ticket): a customer's SMS answer joins that conversation
(services/inbound/sms.py). A failed or refused SMS does not: the customer never saw it.
AWS calls per message: UpdateItem (claim), the provider call, TransactWriteItems.
Staff mail (services/messaging/staff.py) may wait for the agent's digest instead (status
`digest`): one UpdateItem on the keys table more, for staff mail only.
"""
from __future__ import annotations

from typing import Any, Callable

from pynamodb.exceptions import UpdateError

from chalicelib import clock, observability
from chalicelib.db import keys, timeline
from chalicelib.db.connection import Transaction, transaction
from chalicelib.db.models import Key, TimelineItem
from chalicelib.services.messaging import channels, fallback, sms_budget, staff


def dispatch(item: TimelineItem) -> str:
    if item.item_type != "message" or item.direction != "out" or item.status != "queued":
        return "ignored"
    observability.bind_ticket(item.ticket_id)
    try:
        item.update(actions=[TimelineItem.status.set("sending")],
                    condition=TimelineItem.status == "queued")
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return "already-claimed"
        raise
    if staff.is_staff_mail(item) and staff.hold(item, clock.now()):
        # quiet hours, or many in the window: the agent's digest sends it (staff.py)
        _record(item, status="digest", event="message.held_for_digest", data={})
        return "digest"
    refused = _sms_refused(item) if item.channel == "sms" else None
    if refused:  # the budget's word: nothing sent, recorded, an automatic notice falls back
        _record(item, status="failed", event="message.failed",
                data={"error": "SmsRefused", "detail": refused}, error=refused,
                extra_writes=lambda tx: fallback.queue(tx, item, refused))
        return "refused"
    try:
        provider_id = channels.get(item.channel).send(item)
    except Exception as exc:  # noqa: BLE001 - any provider failure is recorded, not raised
        reason = f"{type(exc).__name__}: {str(exc)[:300]}"
        _record(item, status="failed", event="message.failed",
                data={"error": type(exc).__name__, "detail": str(exc)[:500]}, error=str(exc)[:500],
                extra_writes=lambda tx: fallback.queue(tx, item, reason))
        return "failed"
    _record(item, status="sent", event="message.sent", data={"provider_id": provider_id},
            provider_id=provider_id)
    return "sent"


def _sms_refused(item: TimelineItem) -> str | None:
    problem = sms_budget.destination_problem(item.recipient or "")
    if problem:
        observability.count("SmsDestinationRefused")
        return f"SMS destination refused: {problem}"
    return sms_budget.spend(item.recipient or "")


def record_failure(item: TimelineItem, *, status: str, detail: str,
                   extra_writes: Callable[[Transaction], Any] | None = None,
                   only_from: tuple[str, ...] | None = None) -> None:
    """A message we sent did not arrive (bounce, complaint, provider failure report).
    `only_from`: the states it may leave (a concurrent final report raises Cancelled "state")."""
    def writes(tx: Transaction) -> None:
        if extra_writes:
            extra_writes(tx)
        fallback.queue(tx, item, f"{status}: {detail[:200]}")

    _record(item, status=status, event="message.failed",
            data={"reason": status, "detail": detail[:500]}, error=detail[:500],
            extra_writes=writes, only_from=only_from)


def _record(item: TimelineItem, *, status: str, event: str, data: dict[str, Any],
            provider_id: str | None = None, error: str | None = None,
            extra_writes: Callable[[Transaction], Any] | None = None,
            only_from: tuple[str, ...] | None = None) -> None:
    now = clock.now()
    actions = [TimelineItem.status.set(status)]
    if provider_id:
        actions.append(TimelineItem.provider_id.set(provider_id))
    if error:
        actions.append(TimelineItem.error.set(error))
    with transaction() as tx:
        if only_from:
            tx.update(item, actions=actions, condition=TimelineItem.status.is_in(*only_from),
                      label="state")
        else:
            tx.update(item, actions=actions)
        tx.save(timeline.event(item.ticket_id, now, event, data={
            "message": item.message_uid, "channel": item.channel, "kind": item.kind, **data}))
        if provider_id:  # SES/SNS events name the provider's id: find the message again
            tx.save(Key(pk=keys.sent_pk(provider_id), sk=keys.NO_SORT, target=item.ticket_id,
                        data={"sk": item.sk}))
        if status == "sent" and item.channel == "sms" and item.recipient:
            # the conversation this number answers when it writes back (services/inbound/sms.py)
            tx.save(Key(pk=keys.texted_pk(item.recipient), sk=keys.NO_SORT, target=item.ticket_id,
                        data={"at": clock.iso(now), "message": item.message_uid}))
        if extra_writes:
            extra_writes(tx)
    # counted once written: a write that raises (and is retried) counts nothing
    if status != "digest":
        observability.count("MessagesSent" if status == "sent" else "MessagesFailed",
                            channel=item.channel or "", kind=item.kind or "")


def by_provider_id(provider_id: str) -> TimelineItem | None:
    """The outbound message the provider knows as `provider_id` (two GetItems)."""
    try:
        found = Key.get(keys.sent_pk(provider_id), keys.NO_SORT)
        return TimelineItem.get(found.target, found.data.as_dict()["sk"])
    except (Key.DoesNotExist, TimelineItem.DoesNotExist, KeyError):
        return None
