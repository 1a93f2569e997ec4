"""The append-only audit log: who changed what, with the value before and after.

Every write through the agent API leaves one entry, written in the same DynamoDB transaction
as the change itself (so there is never a change without its entry, or the reverse). Entries
live in the keys table, one partition per UTC day (storage), newest last:

  audit#<YYYY-MM-DD> / <ISO instant>#<random>
      data: {actor, action, target, before, after, label?, departments?}

`target` is the machine name ("ticket:<id>", "agent:<arn>"); `label` is how people read it
("ticket #1042"), stored at write time when the caller has it (`about=ticket`); `departments`
are the departments the change concerns (a ticket's department, before and after a move).

Reading (`page`) is by business day (clock.business_zone(), Asia/Dhaka): the day's instants
span two UTC partitions (Dhaka midnight is 18:00 UTC), so a page is one Query per partition
with a range condition on the instant; oldest first. Admins read every entry; a lead reads
the entries that concern one of their departments (a filter on `departments`: entries about
agents, policies, customers and other admin-level settings have none and stay admin-only).
Read cost: a Query of each UTC partition the day spans (2 in Asia/Dhaka), paged until `limit`
entries match (for a lead, the filter may read the whole day), one BatchGetItem of the
tickets named without a ref (older entries), plus the agent lookups for display names (cached
per container).

Append-only: an entry is written with a does-not-exist condition and no code path updates or
deletes one. Ticket changes are also on the ticket's own timeline; the audit log is the one
place to see everything one person did.
"""
from __future__ import annotations

import os
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

from chalicelib import clock
from chalicelib.db import cursors, keys, settings
from chalicelib.db.connection import Cancelled, Transaction, transaction
from chalicelib.db.models import Key, Setting, Ticket
from chalicelib.db.values import as_dict
from chalicelib.errors import BadRequest, Conflict
from chalicelib.services.team import identities

PAGE_MAX = 200


def entry(actor: str, action: str, target: str, *, before: Any = None, after: Any = None,
          at: datetime | None = None, about: Any = None, department: str | None = None,
          label: str | None = None) -> Key:
    """An audit entry (not yet written). `action` is dotted ("agent.created"), `target` names
    the thing ("agent:<arn>", "ticket:<id>", "customer:<id>", "macro:<name>"). `about` is the
    ticket the change is about (its ref becomes the label, its department the scope);
    `department` scopes an entry that is not about a ticket; `label` says it for people."""
    at = at or clock.now()
    data = {"actor": actor, "action": action, "target": target,
            "before": _plain(before), "after": _plain(after)}
    scope = set()
    if about is not None:
        ref = getattr(about, "ref", None)
        label = label or (f"ticket #{ref}" if ref else None)
        scope.add(getattr(about, "department", None))
        for value in (before, after):  # a move: both departments see it
            if isinstance(value, dict):
                scope.add(value.get("department"))
    scope.add(department)
    scope = {d for d in scope if isinstance(d, str) and d}
    if scope:
        data["departments"] = sorted(scope)
    if label:
        data["label"] = label
    return Key(pk=keys.audit_pk(at.astimezone(timezone.utc).date().isoformat()),
               sk=f"{clock.iso(at)}#{os.urandom(4).hex()}", data=data)


def add(tx: Transaction, actor: str, action: str, target: str, *, before: Any = None,
        after: Any = None, at: datetime | None = None, about: Any = None,
        department: str | None = None, label: str | None = None) -> None:
    """Add the entry to the caller's transaction (the change and its entry land together)."""
    tx.save(entry(actor, action, target, before=before, after=after, at=at, about=about,
                  department=department, label=label),
            condition=Key.pk.does_not_exist(), label="audit")


def record(actor: str, action: str, target: str, *, before: Any = None, after: Any = None,
           at: datetime | None = None, about: Any = None, department: str | None = None,
           label: str | None = None) -> None:
    """Write an entry on its own, for an action that changes no stored state (a mail sent on
    request): one conditional PutItem."""
    entry(actor, action, target, before=before, after=after, at=at, about=about,
          department=department, label=label).save(condition=Key.pk.does_not_exist())


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


def day(day_text: str, *, cursor: str | None = None, limit: int = 100,
        departments: frozenset[str] | None = None) -> tuple[list[dict], str | None]:
    """One business day's entries, oldest first; `cursor` is the sk of the last entry already
    seen; `departments` (a lead's) keeps only the entries that concern one of them."""
    start, end = clock.business_day_bounds(date.fromisoformat(day_text))
    low = cursor or ""
    found: list[dict] = []
    condition = None
    if departments is not None:
        for name in sorted(departments):
            test = Key.data["departments"].contains(name)
            condition = test if condition is None else condition | test
        if condition is None:
            return [], None
    utc_day = start.date()
    while utc_day <= (end - timedelta(microseconds=1)).date() and len(found) < limit:
        first = max(clock.iso(start), low + "~" if low else "")  # "~" sorts after "#<hex>"
        last = clock.iso(end)
        for item in Key.query(keys.audit_pk(utc_day.isoformat()),
                              range_key_condition=Key.sk.between(first, last),
                              filter_condition=condition, page_size=min(limit, PAGE_MAX)):
            if item.sk >= last or (low and item.sk <= low):
                continue
            found.append({"at": item.sk.split("#", 1)[0], "id": item.sk, **as_dict(item.data)})
            if len(found) >= limit:
                break
        utc_day += timedelta(days=1)
    next_cursor = found[-1]["id"] if len(found) >= limit else None
    return found, next_cursor


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
_CURSOR = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)#[0-9a-f]{8}\Z")


def page(date_text: str = "", *, cursor: str = "", limit: int = 100,
         departments: frozenset[str] | None = None,
         names: Callable[[str], str | None] | None = None,
         ids: Callable[[str], str] | None = None) -> dict[str, Any]:
    """GET /api/audit: one business day's entries (default today, in the business time zone),
    oldest first, `limit` at a time; `next` is the cursor of the following page (null at the
    end). `departments` limits the entries to those (a lead's scope); `names` gives an agent's
    display name. BadRequest on a bad date, cursor (it must come from the same day) or limit."""
    errors = {}
    day_text = date_text or today()
    try:
        if not _DATE.match(day_text):
            raise ValueError(day_text)
        if not 1 < datetime.strptime(day_text, "%Y-%m-%d").year < 9999:  # its UTC bounds exist
            raise ValueError(day_text)
    except ValueError:
        errors["date"] = "a business day: YYYY-MM-DD"
    after = _decode_cursor(cursor) if cursor else None
    match = _CURSOR.match(after) if after else None
    if cursor and (match is None or "date" in errors or not _within(match.group(1), day_text)):
        errors["cursor"] = "the `next` of the previous page of this day"
    if not 1 <= limit <= PAGE_MAX:
        errors["limit"] = f"between 1 and {PAGE_MAX}"
    if errors:
        raise BadRequest("Invalid audit query.", errors)
    items, next_sk = day(day_text, cursor=after, limit=limit, departments=departments)
    _label_tickets(items)
    return {"date": day_text, "timezone": clock.business_zone().key,
            "items": [readable(item, names, ids) for item in items],
            "next": cursors.encode_text(next_sk)}


def _label_tickets(items: list[dict[str, Any]]) -> None:
    """Entries about a ticket written without its ref (older entries; a conversation's start,
    written before the ref is known to the caller) get `ticket #<ref>`: one BatchGetItem."""
    wanted = {str(i["target"])[7:] for i in items
              if not i.get("label") and str(i.get("target", "")).startswith("ticket:")}
    if not wanted:
        return
    refs = {t.id: t.ref for t in Ticket.batch_get(sorted(wanted),
                                                  attributes_to_get=["id", "ref"])}
    for item in items:
        ref = refs.get(str(item.get("target", ""))[7:])
        if not item.get("label") and ref:
            item["label"] = f"ticket #{ref}"


def today() -> str:
    """Today's business day, YYYY-MM-DD."""
    return clock.now().astimezone(clock.business_zone()).date().isoformat()


def _within(instant: str, day_text: str) -> bool:
    start, end = clock.business_day_bounds(date.fromisoformat(day_text))
    return clock.iso(start) <= instant < clock.iso(end)


def readable(item: dict[str, Any], names: Callable[[str], str | None] | None = None,
             ids: Callable[[str], str] | None = None) -> dict:
    """An entry as the API answers it: the machine `target` and, for people, `target_label`
    ("ticket #1042", "agent Nusrat"), `actor_name` and `actor_id` (an agent's ag_ id, null for
    `cli:` actors), `departments`."""
    names = names or (lambda principal: None)
    target = str(item.get("target") or "")
    kind, _, name = target.partition(":")
    label = item.get("label")
    if not label:
        if kind == "agent":
            label = f"agent {names(name) or identities.plain_name(name)}"
        elif kind and name:
            label = f"{kind.replace('-', ' ')} {name}"
        else:
            label = target
    actor = str(item.get("actor") or "")
    out = {**item, "target_label": label, "actor_name": names(actor),
           "actor_id": ids(actor) if ids and (actor.startswith("arn:")
                                              or identities.is_console(actor)) else None,
           "departments": list(item.get("departments") or [])}
    out.pop("label", None)
    return out


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
