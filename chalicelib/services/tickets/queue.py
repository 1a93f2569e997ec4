"""Queues and search: tickets by status, department or assignee through their indexes, sorted
by due time, and `q` by ref, email, phone or subject words. A filtered page never reads more
than five index pages."""
from __future__ import annotations

from typing import Any

from chalicelib.db import keys
from chalicelib.db.cursors import decode_cursor, encode_cursor
from chalicelib.db.models import Key, Ticket
from chalicelib.db.values import as_dict
from chalicelib.errors import BadRequest
from chalicelib.ids import BENGALI_DIGITS
from chalicelib.services.customers import contacts
from chalicelib.services.team import departments, scope
from chalicelib.services.tickets import search, store, views

PAGE_DEFAULT, PAGE_MAX = 25, 100


def list_tickets(*, status: str = "", department: str = "", assignee: str = "",
                 q: str = "", cursor: str = "", limit: int = PAGE_DEFAULT, priority: str = "",
                 channel: str = "", breached: str = "", agent: Any = None) -> dict[str, Any]:
    """Given the agent asking, only their departments' tickets (team/scope.py): a filter for
    another department is 403; several departments filter the index pages read."""
    errors = {}
    if status and status not in store.STATUSES:
        errors["status"] = f"one of: {', '.join(store.STATUSES)}"
    if department and not departments.known(department):
        errors["department"] = departments.problem(department) or "unknown department"
    if priority and priority not in store.PRIORITIES:
        errors["priority"] = f"one of: {', '.join(store.PRIORITIES)}"
    if channel and channel not in store.CHANNELS:
        errors["channel"] = f"one of: {', '.join(store.CHANNELS)}"
    if breached and breached not in ("true", "false"):
        errors["breached"] = "true or false"
    if not 1 <= limit <= PAGE_MAX:
        errors["limit"] = f"between 1 and {PAGE_MAX}"
    if errors:
        raise BadRequest("Invalid filter.", errors)
    allowed = None
    if agent is not None:
        scope.check_queue_filter(agent, department)
        allowed = scope.departments(agent)
        if allowed is not None and not allowed:
            return {"items": [], "next": None}
        if allowed is not None and len(allowed) == 1 and not department:
            department = next(iter(allowed))  # its own index: full pages
    more = (priority, channel, breached)  # no index of their own: they filter index pages
    if q.strip():
        matches = _search(q.strip())
        if agent is not None:
            matches = scope.visible(agent, matches)
        items = [t for t in matches if _matches(t, status, department, assignee, *more)]
        return {"items": [views.summary(t) for t in items[:limit]], "next": None}

    # The most selective index first; the rest of the filters apply to its pages.
    if assignee:
        index, key, rest = Ticket.assignee_index, assignee, (status, department, "", *more)
    elif department:
        index, key, rest = Ticket.department_index, department, (status, "", "", *more)
    elif status:
        index, key, rest = Ticket.status_index, status, ("", "", "", *more)
    else:
        index, key, rest = Ticket.all_index, "ticket", ("", "", "", *more)
    start = decode_cursor(cursor, index, key)
    found: list[Ticket] = []
    next_key = start
    for _ in range(5):  # bounded: a filtered page never reads more than five index pages
        result = index.query(key, limit=limit - len(found), last_evaluated_key=next_key)
        found.extend(t for t in result if _matches(t, *rest)
                     and (allowed is None or t.department in allowed))
        next_key = result.last_evaluated_key
        if next_key is None or len(found) >= limit:
            break
    return {"items": [views.summary(t) for t in found], "next": encode_cursor(next_key)}


def _matches(ticket: Ticket, status: str, department: str, assignee: str, priority: str = "",
             channel: str = "", breached: str = "") -> bool:
    return ((not status or ticket.status == status)
            and (not department or ticket.department == department)
            and (not assignee or ticket.assignee == assignee)
            and (not priority or ticket.priority == priority)
            and (not channel or ticket.channel == channel)
            and (not breached or bool(as_dict(ticket.sla).get("breached")) == (breached == "true")))


def _search(q: str) -> list[Ticket]:
    """q is a ref, an email address, a phone number, or words of a subject."""
    ref = q.lstrip("#").translate(BENGALI_DIGITS)
    if store.is_ref(ref):
        found = keys.target(keys.ref_pk(ref))
        if found:
            return list(Ticket.batch_get([found]))
    customer_pk = None
    if "@" in q:
        try:
            customer_pk = keys.email_pk(contacts.email_key(contacts.normalise_email(q)))
        except contacts.InvalidContact:
            customer_pk = None
    elif any(ch.isdigit() for ch in q):
        try:
            customer_pk = keys.phone_pk(contacts.normalise_phone(q))
        except contacts.InvalidContact:
            customer_pk = None
    if customer_pk:
        customer_id = keys.target(customer_pk)
        if not customer_id:
            return []
        return list(Ticket.customer_index.query(customer_id, limit=PAGE_MAX))
    ids: set[str] | None = None
    for word in search.words(q, limit=3):
        hits = {item.sk for item in Key.query(keys.word_pk(word), limit=500)}
        ids = hits if ids is None else ids & hits
    if not ids:
        return []
    newest = sorted(ids, reverse=True)[:PAGE_MAX]
    return sorted(Ticket.batch_get(newest), key=lambda t: t.queue_sort)
