"""Retention of a closed ticket's content (docs/security.md, "Data protection"): when a
ticket closes, every item of its timeline (messages and events) gets the DynamoDB TTL
attribute `expires_at` = closing time + SETU_RETENTION_CLOSED_DAYS (default 730; 0 keeps
content forever), so DynamoDB deletes it then; a ticket that reopens has it removed again.
The ticket item itself stays (status, times, department, counts: reports still add up).

Run from the tickets stream (events/streams.ticket_changed), so every way a ticket closes
(an agent, a macro, auto-close, a merge) is covered. Items written to a ticket after it
closed without reopening it (a late delivery event) keep no TTL until the next close.

AWS calls: on a close or reopen, one Query of the timeline (pages of 100) and one
UpdateItem per item; nothing for other changes."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import clock, config
from chalicelib.db.models import Ticket, TimelineItem

DEFAULT_CLOSED_DAYS = 730


def closed_days() -> int:
    return config.env_int("SETU_RETENTION_CLOSED_DAYS", DEFAULT_CLOSED_DAYS)


def on_ticket_changed(old: Ticket | None, new: Ticket | None) -> int:
    """Set or clear the TTL of the ticket's timeline on a close or reopen; returns how many
    items were changed."""
    if new is None:
        return 0
    was = old.status if old is not None else None
    if new.status == "closed" and was != "closed":
        days = closed_days()
        if not days:
            return 0
        return _set(new.id, (new.updated_at or clock.now()) + timedelta(days=days))
    if was == "closed" and new.status != "closed":
        return _set(new.id, None)
    return 0


def _set(ticket_id: str, at: datetime | None) -> int:
    changed = 0
    for item in TimelineItem.query(ticket_id, page_size=100):
        if at is None:
            if item.expires_at is None:
                continue
            item.update(actions=[TimelineItem.expires_at.remove()])
        else:
            item.update(actions=[TimelineItem.expires_at.set(int(at.timestamp()))])
        changed += 1
    return changed
