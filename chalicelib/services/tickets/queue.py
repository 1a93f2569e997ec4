"""Queues and search: the questions agents ask of their tickets (docs/agents.md, "The queue").

Filters (`parse_filter`, pure; the API and the `setu` command share it): `status` (several:
`status=open,pending` and/or repeated), `department`, `assignee` (`me`, `none`, an agent id,
a principal ARN or a short name: team/agents.find_reference), `priority`, `channel`, SLA state
(`sla=breached|on_track`, the older `breached=true|false`, `due_within=PT2H`: an SLA due time
within that long from now, overdue included; `due_before=2026-12-07 18:00`: one before that
time, typed as people do, in the business time zone unless it has an offset), `has_decision=true|false` (a decision requested
and waiting), and `q`: a ref, an email address, a phone number, words of the subject, or the
beginning of words of the customer's name (Bengali included: tickets/search.py).

Each item is the ticket's summary (views.summary, with `last_activity_at` and `next_due`) plus
`customer_name`; the page says the business time zone (`timezone`) the agent's tools show
times in (times themselves stay ISO 8601 UTC).

AWS calls per page: the most selective index (a named assignee, else the department, else one
status, else all tickets) is read one Query per index page of at most the tickets still
wanted, at most MAX_READS of them (the remaining filters apply to those pages: a page may
hold fewer items than asked for and still have `next`); then one BatchGetItem of the page's customers' names.
A named assignee costs one Query of the agent directory more (a short name) or a GetItem
(id, ARN; cached). `q`: a ref one GetItem + one BatchGetItem; an email or phone one GetItem
and one Query; words one Query per word and index (subject, name; at most three words) and one
BatchGetItem of at most PAGE_MAX tickets; search answers one page (`next` null)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from chalicelib import clock
from chalicelib.db import keys
from chalicelib.db.cursors import decode_cursor, encode_cursor
from chalicelib.db.models import Customer, Key, Ticket
from chalicelib.db.values import as_dict
from chalicelib.errors import BadRequest
from chalicelib.ids import BENGALI_DIGITS
from chalicelib.services.customers import contacts
from chalicelib.services.team import agents, departments, scope
from chalicelib.services.tickets import search, store, views

PAGE_DEFAULT, PAGE_MAX = 25, 100
MAX_READS = 5
SLA_STATES = ("breached", "on_track")
MAX_DUE_WITHIN = timedelta(days=366)
# every query parameter of GET /api/tickets (api/http.QUERY_PARAMETERS lists the same)
PARAMETERS = ("status", "department", "assignee", "q", "priority", "channel", "breached", "sla",
              "due_within", "due_before", "has_decision", "cursor", "limit")


@dataclass(frozen=True)
class Filter:
    """A queue question, parsed and checked (`parse_filter`); `assignee` still as typed."""
    statuses: frozenset[str] = frozenset()
    department: str = ""
    assignee: str = ""
    q: str = ""
    priority: str = ""
    channel: str = ""
    breached: bool | None = None
    due_within: timedelta | None = None
    due_before: datetime | None = None
    has_decision: bool | None = None
    cursor: str = ""
    limit: int = PAGE_DEFAULT


def parse_filter(params: Mapping[str, Iterable[str] | str | None]) -> Filter:
    """Query parameters (each a value or a list of the values given) -> Filter; 400 naming
    every bad one. Several values only for `status` (a list or commas)."""
    values: dict[str, list[str]] = {}
    for name, raw in params.items():
        if raw is None:
            continue
        given = [raw] if isinstance(raw, str) else [str(v) for v in raw]
        values[name] = [v.strip() for v in given if v is not None and v.strip() != ""]
    errors: dict[str, str] = {}

    def one(name: str) -> str:
        found = values.get(name) or []
        if len(found) > 1:
            errors[name] = "one value"
        return found[-1] if found else ""

    statuses = {s.strip() for v in values.get("status", []) for s in v.split(",") if s.strip()}
    if statuses - set(store.STATUSES):
        errors["status"] = f"one or more (comma-separated) of: {', '.join(store.STATUSES)}"
    department, priority, channel = one("department"), one("priority"), one("channel")
    if department and not departments.known(department):  # a deactivated one still has tickets
        errors["department"] = departments.problem(department) or "unknown department"
    if priority and priority not in store.PRIORITIES:
        errors["priority"] = f"one of: {', '.join(store.PRIORITIES)}"
    if channel and channel not in store.CHANNELS:
        errors["channel"] = f"one of: {', '.join(store.CHANNELS)}"
    breached = None
    old, sla = one("breached"), one("sla")
    if old and old not in ("true", "false"):
        errors["breached"] = "true or false"
    elif old:
        breached = old == "true"
    if sla and sla not in SLA_STATES:
        errors["sla"] = f"one of: {', '.join(SLA_STATES)}"
    elif sla:
        if breached is not None and breached != (sla == "breached"):
            errors["sla"] = "contradicts breached"
        breached = sla == "breached"
    due_within = None
    if one("due_within"):
        from chalicelib.services.sla import durations  # deferred: cold start (isodate)

        try:
            due_within = durations.parse(one("due_within"))
            if due_within > MAX_DUE_WITHIN:
                errors["due_within"] = "at most P366D"
        except ValueError:
            errors["due_within"] = "an ISO 8601 duration such as PT2H"
    due_before = None
    if one("due_before"):  # a time a person typed: business time unless it has an offset
        try:
            due_before = clock.parse_typed(one("due_before"))
        except ValueError as exc:
            errors["due_before"] = str(exc)
    has_decision = None
    decision = one("has_decision")
    if decision and decision not in ("true", "false"):
        errors["has_decision"] = "true or false"
    elif decision:
        has_decision = decision == "true"
    assignee, q, cursor = one("assignee"), one("q"), one("cursor")
    if len(assignee) > 2048:
        errors["assignee"] = "at most 2048 characters"
    limit = PAGE_DEFAULT
    if one("limit"):
        try:
            limit = int(one("limit"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= PAGE_MAX:
            errors["limit"] = f"a whole number between 1 and {PAGE_MAX}"
    if errors:
        raise BadRequest("Invalid filter.", errors)
    return Filter(statuses=frozenset(statuses), department=department, assignee=assignee,
                  q=q.strip(), priority=priority, channel=channel, breached=breached,
                  due_within=due_within, due_before=due_before, has_decision=has_decision, cursor=cursor, limit=limit)


def list_tickets(*, status: str = "", department: str = "", assignee: str = "",
                 q: str = "", cursor: str = "", limit: int = PAGE_DEFAULT, priority: str = "",
                 channel: str = "", breached: str = "", agent: Any = None) -> dict[str, Any]:
    """The older keyword form (tests, tools): the same as `page(parse_filter(...))`."""
    wanted = parse_filter({"status": status, "department": department, "assignee": assignee,
                           "q": q, "cursor": cursor, "limit": str(limit), "priority": priority,
                           "channel": channel, "breached": breached})
    return page(wanted, agent)


def page(wanted: Filter, agent: Any = None) -> dict[str, Any]:
    """One page of the queue. Given the agent asking, only their departments' tickets
    (team/scope.py): a filter for another department is 403; several departments filter the
    index pages read."""
    zone = clock.business_zone().key
    department = wanted.department
    allowed = None
    if agent is not None:
        scope.check_queue_filter(agent, department)
        allowed = scope.departments(agent)
        if allowed is not None and not allowed:
            return {"items": [], "next": None, "timezone": zone}
        if allowed is not None and len(allowed) == 1 and not department:
            department = next(iter(allowed))  # its own index: full pages
    assignee: str | None = ""  # "": any; None: nobody; else a principal
    if wanted.assignee.casefold() == "none":
        assignee = None
    elif wanted.assignee:
        assignee = agents.find_reference(wanted.assignee, agent)
    now = clock.now()
    cutoffs = [now + wanted.due_within] if wanted.due_within is not None else []
    cutoffs += [wanted.due_before] if wanted.due_before is not None else []
    due_by = clock.iso(min(cutoffs)) if cutoffs else None

    def matches(ticket: Ticket) -> bool:
        return ((not wanted.statuses or ticket.status in wanted.statuses)
                and (not department or ticket.department == department)
                and (allowed is None or ticket.department in allowed)
                and (assignee == "" or ticket.assignee == assignee)
                and (not wanted.priority or ticket.priority == wanted.priority)
                and (not wanted.channel or ticket.channel == wanted.channel)
                and (wanted.breached is None
                     or bool(as_dict(ticket.sla).get("breached")) == wanted.breached)
                and (due_by is None or (next_due(ticket) or "~") <= due_by)
                and (wanted.has_decision is None
                     or (as_dict(ticket.decision).get("state") == "requested")
                     == wanted.has_decision))

    if wanted.q:
        found = [t for t in _search(wanted.q) if matches(t)][:wanted.limit]
        return {"items": _items(found), "next": None, "timezone": zone}

    # The most selective index; the rest of the filters apply to its pages.
    if assignee:
        index, key = Ticket.assignee_index, assignee
    elif department:
        index, key = Ticket.department_index, department
    elif len(wanted.statuses) == 1:
        index, key = Ticket.status_index, next(iter(wanted.statuses))
    else:
        index, key = Ticket.all_index, "ticket"
    next_key = decode_cursor(wanted.cursor, index, key)
    found: list[Ticket] = []
    for _ in range(MAX_READS):  # bounded: a page never reads more than MAX_READS index pages
        result = index.query(key, limit=wanted.limit - len(found), last_evaluated_key=next_key)
        found.extend(t for t in result if matches(t))
        next_key = result.last_evaluated_key
        if next_key is None or len(found) >= wanted.limit:
            break
    return {"items": _items(found), "next": encode_cursor(next_key), "timezone": zone}


def next_due(ticket: Ticket) -> str | None:
    """The earliest SLA due time still running (ISO UTC): first response (until answered),
    next reply, resolution (unless paused)."""
    summary = views.summary(ticket)["sla"]
    dues = [summary.get("next_reply_due"), summary.get("resolution_due")]
    if not ticket.first_response_at:
        dues.append(summary.get("first_response_due"))
    dues = [d for d in dues if d]
    return min(dues) if dues else None


def _items(tickets: list[Ticket]) -> list[dict[str, Any]]:
    """Summaries with the customer's name: one BatchGetItem for the page's customers."""
    ids = sorted({t.customer_id for t in tickets if t.customer_id})
    names: dict[str, str | None] = {}
    if ids:
        for customer in Customer.batch_get(ids, attributes_to_get=["id", "name"]):
            names[customer.id] = customer.name
    return [{**views.summary(t), "customer_name": names.get(t.customer_id),
             "next_due": next_due(t)} for t in tickets]


def _search(q: str) -> list[Ticket]:
    """q is a ref, an email address, a phone number, or words of a subject or of the
    customer's name (a name word matches from its beginning)."""
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
    elif sum(ch.isdigit() for ch in q.translate(BENGALI_DIGITS)) >= 5:
        try:
            customer_pk = keys.phone_pk(contacts.normalise_phone(q.translate(BENGALI_DIGITS)))
        except contacts.InvalidContact:
            customer_pk = None
    if customer_pk:
        customer_id = keys.target(customer_pk)
        if not customer_id:
            return []
        return sorted(Ticket.customer_index.query(customer_id, limit=PAGE_MAX),
                      key=lambda t: t.queue_sort)
    ids: set[str] | None = None
    for word in search.name_words(q, limit=3):
        hits = {item.target for item in Key.query(
            keys.name_pk(word), Key.sk.startswith(word), limit=500) if item.target}
        if word not in search.STOP_WORDS:
            hits |= {item.sk for item in Key.query(keys.word_pk(word), limit=500)}
        ids = hits if ids is None else ids & hits
    if not ids:
        return []
    newest = sorted(ids, reverse=True)[:PAGE_MAX]
    return sorted(Ticket.batch_get(newest), key=lambda t: t.queue_sort)
