"""The append-only audit log: who changed what, with the value before and after.

Every write through the agent API leaves one entry, written in the same DynamoDB transaction
as the change itself (so there is never a change without its entry, or the reverse). Entries
live in the keys table, one partition per UTC day, newest last:

  audit#<YYYY-MM-DD> / <ISO instant>#<random>   data: {actor, action, target, before, after}

Append-only: an entry is written with a does-not-exist condition and no code path updates or
deletes one. Ticket changes are also on the ticket's own timeline; the audit log is the one
place to see everything one person did.
"""
from __future__ import annotations

import os
import re
from datetime import datetime
from typing import Any, Callable

from chalicelib import clock
from chalicelib.db import cursors, keys, settings
from chalicelib.db.connection import Cancelled, Transaction, transaction
from chalicelib.db.models import Key, Setting
from chalicelib.db.values import as_dict
from chalicelib.errors import BadRequest, Conflict

PAGE_MAX = 200


def entry(actor: str, action: str, target: str, *, before: Any = None, after: Any = None,
          at: datetime | None = None) -> Key:
    """An audit entry (not yet written). `action` is dotted ("agent.created"), `target` names
    the thing ("agent:<arn>", "ticket:<id>", "customer:<id>", "macro:<name>")."""
    at = at or clock.now()
    return Key(pk=keys.audit_pk(at.date().isoformat()), sk=f"{clock.iso(at)}#{os.urandom(4).hex()}",
               data={"actor": actor, "action": action, "target": target,
                     "before": _plain(before), "after": _plain(after)})


def add(tx: Transaction, actor: str, action: str, target: str, *, before: Any = None,
        after: Any = None, at: datetime | None = None) -> None:
    """Add the entry to the caller's transaction (the change and its entry land together)."""
    tx.save(entry(actor, action, target, before=before, after=after, at=at),
            condition=Key.pk.does_not_exist(), label="audit")


def put_setting(kind: str, name: str, data: dict[str, Any], actor: str, *,
                action: str | None = None, target: str | None = None,
                narrow: Callable[[dict[str, Any] | None], Any] | None = None) -> None:
    """Store a settings document (SLA policy, calendar, routing rules ...) with its audit entry
    in one transaction; `before` is read fresh, not from the settings cache. A document that
    holds many things (the departments) names the one changed in `target` and records only
    its part, `narrow(document)`, as before and after."""

    try:
        current = Setting.get(kind, name, consistent_read=True)
        before: dict[str, Any] | None = current.data.as_dict()
        unchanged = (Setting.updated_at == current.updated_at if current.updated_at
                     else Setting.updated_at.does_not_exist())
    except Setting.DoesNotExist:
        before, unchanged = None, Setting.name.does_not_exist()
    try:
        with transaction() as tx:
            # only over what was read: two admins saving at once cannot both record that
            # same `before`; the second is told to reload
            tx.save(Setting(kind, name, data=data, updated_at=clock.now(), updated_by=actor),
                    condition=unchanged, label="settings")
            add(tx, actor, action or f"{kind}.updated", target or f"{kind}:{name}",
                before=narrow(before) if narrow else before,
                after=narrow(data) if narrow else data)
    except Cancelled as exc:
        if "settings" not in exc.labels:
            raise
        raise Conflict("Someone else saved this meanwhile; reload and try again.",
                       {"name": name}) from None
    settings.clear_cache()  # this container sees it at once; others within the cache TTL


def day(date: str, *, cursor: str | None = None, limit: int = 100) -> tuple[list[dict], str | None]:
    """One day's entries, oldest first; `cursor` is the sk of the last entry already seen."""
    condition = Key.sk > cursor if cursor else None
    found = []
    for item in Key.query(keys.audit_pk(date), range_key_condition=condition,
                          limit=min(limit, PAGE_MAX)):
        found.append({"at": item.sk.split("#", 1)[0], "id": item.sk, **as_dict(item.data)})
        if len(found) >= limit:
            break
    next_cursor = found[-1]["id"] if len(found) >= limit else None
    return found, next_cursor


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
_CURSOR = re.compile(r"^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}:\d{2}\.\d{3}Z#[0-9a-f]{8}\Z")


def page(date: str = "", *, cursor: str = "", limit: int = 100) -> dict[str, Any]:
    """GET /api/audit: one UTC day's entries (default today), oldest first, `limit` at a time;
    `next` is the cursor of the following page (null at the end). BadRequest on a bad date,
    cursor (it must come from the same day) or limit."""
    errors = {}
    day_text = date or clock.now().date().isoformat()
    try:
        if not _DATE.match(day_text):
            raise ValueError(day_text)
        datetime.strptime(day_text, "%Y-%m-%d")
    except ValueError:
        errors["date"] = "a UTC day: YYYY-MM-DD"
    after = _decode_cursor(cursor) if cursor else None
    match = _CURSOR.match(after) if after else None
    if cursor and (match is None or match.group(1) != day_text):
        errors["cursor"] = "the `next` of the previous page of this day"
    if not 1 <= limit <= PAGE_MAX:
        errors["limit"] = f"between 1 and {PAGE_MAX}"
    if errors:
        raise BadRequest("Invalid audit query.", errors)
    items, next_sk = day(day_text, cursor=after, limit=limit)
    return {"date": day_text, "items": items, "next": cursors.encode_text(next_sk)}


def _decode_cursor(cursor: str) -> str | None:
    """`next` is the last entry's sort key (which holds ':' and '#'): db/cursors.py."""
    return cursors.decode_text(cursor, max_length=150)


def _plain(value: Any) -> Any:
    """JSON-like values only (DynamoDB maps cannot hold sets or datetimes)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, datetime):
        return clock.iso(value)
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "as_dict"):
        return _plain(value.as_dict())
    return str(value)
