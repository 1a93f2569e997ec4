"""Timeline items: building them with ordered sort keys, and reading a ticket's timeline."""
from __future__ import annotations

import os
from datetime import datetime
from typing import Any, Iterator

from chalicelib import clock
from chalicelib.db.models import TimelineItem


def sort_key(at: datetime, seq: int | None = None) -> str:
    """ISO instant, then a sequence (items written together keep their order) or a random
    suffix (items written in the same millisecond by different requests never collide)."""
    suffix = f"{seq:02d}" if seq is not None else "r" + os.urandom(3).hex()
    return f"{clock.iso(at)}#{suffix}"


def event(ticket_id: str, at: datetime, type_: str, *, actor: str = "system",
          data: dict[str, Any] | None = None, seq: int | None = None) -> TimelineItem:
    return TimelineItem(ticket_id=ticket_id, sk=sort_key(at, seq), item_type="event", at=at,
                        type=type_, actor=actor, data=data or {})


def message(ticket_id: str, at: datetime, *, seq: int | None = None, **fields: Any) -> TimelineItem:
    return TimelineItem(ticket_id=ticket_id, sk=sort_key(at, seq), item_type="message", at=at,
                        **fields)


def items(ticket_id: str) -> Iterator[TimelineItem]:
    """The whole timeline, oldest first (Query; pages of up to 1 MB)."""
    return TimelineItem.query(ticket_id, scan_index_forward=True)
