"""The ticket store: a ticket read by id or ref, and saved with its new timeline entries in
one conditional write (the version it was read at); the constants of a ticket's life.

AWS calls: `load` 1-2 GetItem (a ref is looked up first), `save` one TransactWriteItems."""
from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Callable, TypeVar

from chalicelib import clock, observability
from chalicelib.db import keys, timeline
from chalicelib.db.connection import Cancelled, Transaction, transaction, until_written
from chalicelib.db.models import Customer, Ticket, TimelineItem
from chalicelib.db.values import as_dict
from chalicelib.errors import Conflict, NotFound
from chalicelib.ids import BENGALI_DIGITS
from chalicelib.services.team import scope

STATUSES = ("new", "open", "pending", "resolved", "closed")


SETTABLE_STATUSES = ("open", "pending", "resolved", "closed")


PRIORITIES = ("low", "normal", "high", "urgent")


DONE = ("resolved", "closed")


REOPENABLE = ("pending", "resolved", "closed")


MAX_BODY = 20_000


CHANNELS = ("web", "email", "sms")


FAR_FUTURE = "9999"


WRITE_ATTEMPTS = 3


_T = TypeVar("_T")


def refresh_queue_sort(ticket: Ticket) -> None:
    """Queues sort by the earliest armed timer's due time (urgent first), then age."""
    armed = [t["due_at"] for t in as_dict(ticket.timers).values()
             if as_dict(t).get("state") == "armed"]
    due = min(armed) if armed and ticket.status not in DONE else FAR_FUTURE
    ticket.queue_sort = f"{due}#{clock.iso(ticket.created_at)}#{ticket.id}"


def is_ref(text: str) -> bool:
    """Ticket refs are ASCII digits, at most 12 (as in reply addresses and subjects)."""
    return 1 <= len(text) <= 12 and text.isascii() and text.isdigit()


def load(ticket_id: str, agent: scope.Caller | None = None) -> Ticket:
    """A ticket by id, or by ref (ASCII or Bengali digits, with or without '#'). Given the
    agent asking, one outside their departments is NotFound too (team/scope.py)."""
    ticket_id = (ticket_id or "").strip()
    if not ticket_id or len(ticket_id) > 64:  # before any lookup: DynamoDB keys are bounded
        raise NotFound("No such ticket.")
    ref = ticket_id.lstrip("#").translate(BENGALI_DIGITS)
    if is_ref(ref):
        found = keys.target(keys.ref_pk(ref))
        if found:
            ticket_id = found
    try:
        ticket = Ticket.get(ticket_id, consistent_read=True)
    except Ticket.DoesNotExist:
        raise NotFound("No such ticket.") from None
    observability.bind_ticket(ticket.id)
    return scope.check_ticket(agent, ticket) if agent is not None else ticket


def load_open_to_change(ticket_id: str, agent: scope.Caller | None = None) -> Ticket:
    """A ticket an agent is about to change: not one merged into another (its conversation
    continues there; it stays closed). Notes are still allowed on it."""
    ticket = load(ticket_id, agent)
    if ticket.merged_into:
        raise Conflict(f"Ticket #{ticket.ref} was merged into another ticket; work on that one.",
                       {"merged_into": ticket.merged_into})
    return ticket


class Raced(Exception):
    """Someone else (often the system: a timer, a delivery receipt) saved the ticket between
    our read and our write."""


def retry_on_race(write: Callable[..., _T]) -> Callable[..., _T]:
    """Re-read and re-apply an agent's change when it lost a race, so background writes never
    bounce an agent with 409; only a persistent race (or a pinned `version`) is a Conflict."""
    @functools.wraps(write)
    def attempt(*args: Any, **kwargs: Any) -> _T:
        return until_written(lambda: write(*args, **kwargs), attempts=WRITE_ATTEMPTS,
                             retry_on=(Raced,),
                             conflict="The ticket kept changing; reload and try again.")
    return attempt


def id_for_ref(ref: str) -> str | None:
    return keys.target(keys.ref_pk(ref))


def find(ticket_id: str) -> Ticket | None:
    """The ticket by id (a consistent read), or None."""
    try:
        ticket = Ticket.get(ticket_id, consistent_read=True)
    except Ticket.DoesNotExist:
        return None
    observability.bind_ticket(ticket.id)
    return ticket


def outbound_by_message_id(message_id: str) -> tuple[str, TimelineItem] | None:
    """(ticket id, item) of the message we sent with this Message-ID."""
    ticket_id = keys.target(keys.msgid_pk(message_id))
    if not ticket_id:
        return None
    for item in timeline.items(ticket_id):
        if item.item_type == "message" and item.direction == "out" and item.message_id == message_id:
            return ticket_id, item
    return None


def save(ticket: Ticket, items: list[TimelineItem], now: datetime,
          extra_writes: Callable[[Transaction], Any] | None = None) -> None:
    """Ticket and its new timeline entries together, conditional on the version we read.
    `extra_writes` add the caller's own conditional writes (label "extra", or "rate" for a
    rate window); audit entries
    (label "audit", random sort keys) never collide, and if one did that is no race either."""
    ticket.updated_at = now
    refresh_queue_sort(ticket)
    try:
        with transaction() as tx:
            tx.save(ticket, label="ticket")  # the version attribute makes this conditional
            for item in items:
                tx.save(item, condition=TimelineItem.sk.does_not_exist(), label="timeline")
                if item.item_type == "message" and item.direction == "out":
                    keys.index_message_id(tx, item.message_id, ticket.id)
            if extra_writes:
                extra_writes(tx)
    except Cancelled as exc:
        if exc.labels & {"extra", "audit", "rate"}:  # the caller's own conditions
            raise
        raise Raced() from exc


def load_customer(customer_id: str) -> Customer | None:
    try:
        return Customer.get(customer_id)
    except Customer.DoesNotExist:
        return None


def iso_or_none(value: datetime | None) -> str | None:
    return clock.iso(value) if value else None
