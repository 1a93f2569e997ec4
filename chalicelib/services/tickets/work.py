"""Working a ticket: read it with its timeline, list queues, reply, note, change fields."""
from __future__ import annotations

import base64
import binascii
import functools
import json
from datetime import datetime, timedelta
from typing import Any, Callable, TypeVar


from chalicelib import clock, config, ids, observability
from chalicelib.db import keys, timeline
from chalicelib.db.connection import Cancelled, Transaction, transaction
from chalicelib.db.models import Customer, Key, Ticket, TimelineItem
from chalicelib.integrations import storage
from chalicelib.errors import BadRequest, Conflict, NotFound, ValidationFailed
from chalicelib.ids import BENGALI_DIGITS
from chalicelib.services.team import agents
from chalicelib.services.followup import checkin
from chalicelib.services.customers import contacts
from chalicelib.services.team import departments
from chalicelib.services.messaging import outbound
from chalicelib.services.tickets import search
from chalicelib.services.sla import rules
from chalicelib.services.messaging import sms_text
from chalicelib.services.messaging import suppression
from chalicelib.services.inbound import thread
from chalicelib.services.sla.policy import business_due
from chalicelib.services.team import audit

STATUSES = ("new", "open", "pending", "resolved", "closed")
SETTABLE_STATUSES = ("open", "pending", "resolved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
DONE = ("resolved", "closed")
REOPENABLE = ("pending", "resolved", "closed")
MAX_BODY = 20_000
PAGE_DEFAULT, PAGE_MAX = 25, 100
CHANNELS = ("web", "email", "sms")
FAR_FUTURE = "9999"
WRITE_ATTEMPTS = 3
_T = TypeVar("_T")


def as_dict(value: Any) -> dict[str, Any]:
    """pynamodb hands raw maps back as MapAttribute; we work with plain dicts."""
    if value is None:
        return {}
    return value.as_dict() if hasattr(value, "as_dict") else dict(value)


def refresh_queue_sort(ticket: Ticket) -> None:
    """Queues sort by the earliest armed timer's due time (urgent first), then age."""
    armed = [t["due_at"] for t in as_dict(ticket.timers).values()
             if as_dict(t).get("state") == "armed"]
    due = min(armed) if armed and ticket.status not in DONE else FAR_FUTURE
    ticket.queue_sort = f"{due}#{clock.iso(ticket.created_at)}#{ticket.id}"


def _armed_due(ticket: Ticket, target: str) -> str | None:
    timer = as_dict(as_dict(ticket.timers).get(target))
    return timer.get("due_at") if timer.get("state") == "armed" else None


def clock_for(ticket: Ticket):
    """The policy and calendar the ticket's SLA counts with."""
    from chalicelib.services.sla import calendars
    from chalicelib.services.sla import store as policies

    sla = as_dict(ticket.sla)
    policy = policies.find_policy(sla.get("policy") or "default") or policies.get_policy("default")
    calendar = policies.find_calendar(sla.get("calendar") or policy.calendar) or calendars.ALWAYS
    return policy, calendar


def _follow_policy(ticket: Ticket, now: datetime, seq: int) -> list[TimelineItem]:
    """Priority or department changed: the ticket takes the policy they now select
    (`<department>-<priority>`, `<department>`, `default`) and its running targets are re-timed."""
    from chalicelib.services.sla import calendars
    from chalicelib.services.sla import store as policies

    current = as_dict(ticket.sla).get("policy") or "default"
    policy = policies.policy_for(ticket.department, ticket.priority)
    if policy.name == current:
        return []
    calendar = policies.find_calendar(policy.calendar) or calendars.ALWAYS
    retimed = rules.retarget(ticket, policy, calendar, now)
    ticket.sla = {**as_dict(ticket.sla), "policy": policy.name, "calendar": policy.calendar}
    return [timeline.event(ticket.id, now, "sla.policy_changed", seq=seq, data={
        "from": current, "to": policy.name, "retimed": retimed,
        **{f"{t}_due": as_dict(ticket.sla).get(f"{t}_due") for t in retimed}})]


def status_timers(ticket: Ticket, old: str, new: str, now: datetime) -> None:
    """Pending pauses the resolution clock, leaving it resumes it; done stops everything;
    reopening a done ticket starts a fresh resolution target."""
    if old == new:
        return
    policy, calendar = clock_for(ticket)
    if new in DONE:
        for kind in list(as_dict(ticket.timers)):
            rules.stop(ticket, kind)
        rules.stop_paused(ticket, "resolution")
        if new == "resolved" and policy.checkin_after is not None:
            rules.arm(ticket, "checkin", start=now,
                          due=business_due(calendar, now, policy.checkin_after), warn_at=None)
    elif new == "pending":
        rules.pause_resolution(ticket, now, calendar)
        for kind, after in (("reminder", policy.remind_after), ("auto_close", policy.close_after)):
            if after is not None:
                rules.arm(ticket, kind, start=now, due=business_due(calendar, now, after),
                              warn_at=None)
                rules.annotate(ticket, kind)
    elif old == "pending":
        rules.resume_resolution(ticket, now, calendar, policy)
    elif old in DONE:
        rules.arm_target(ticket, "resolution", policy, calendar, now)
    if old == "pending":  # the customer answered or an agent moved on: no reminder, no close
        rules.stop(ticket, "reminder")
        rules.stop(ticket, "auto_close")


# ---- reading -------------------------------------------------------------------------------

def is_ref(text: str) -> bool:
    """Ticket refs are ASCII digits, at most 12 (as in reply addresses and subjects)."""
    return 1 <= len(text) <= 12 and text.isascii() and text.isdigit()


def load(ticket_id: str) -> Ticket:
    """A ticket by id, or by ref (ASCII or Bengali digits, with or without '#')."""
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
    return ticket


def load_open_to_change(ticket_id: str) -> Ticket:
    """A ticket an agent is about to change: not one merged into another (its conversation
    continues there; it stays closed). Notes are still allowed on it."""
    ticket = load(ticket_id)
    if ticket.merged_into:
        raise Conflict(f"Ticket #{ticket.ref} was merged into another ticket; work on that one.",
                       {"merged_into": ticket.merged_into})
    return ticket


def view(ticket_id: str) -> dict[str, Any]:
    ticket = load(ticket_id)
    customer = _customer(ticket.customer_id)
    return {**summary(ticket), "customer": customer_view(customer, ticket.customer_id),
            "timeline": [entry_view(item) for item in timeline.items(ticket.id)]}


def summary(ticket: Ticket) -> dict[str, Any]:
    sla = as_dict(ticket.sla)
    return {
        "id": ticket.id, "ref": ticket.ref, "subject": ticket.subject, "status": ticket.status,
        "priority": ticket.priority, "department": ticket.department,
        "assignee": ticket.assignee, "channel": ticket.channel, "lang": ticket.lang,
        "customer_id": ticket.customer_id, "version": ticket.version,
        "created_at": clock.iso(ticket.created_at), "updated_at": clock.iso(ticket.updated_at),
        "first_response_at": _iso(ticket.first_response_at),
        "resolved_at": _iso(ticket.resolved_at),
        "sla": {
            "policy": sla.get("policy"), "calendar": sla.get("calendar"),
            "first_response_due": sla.get("first_response_due"),
            "next_reply_due": _armed_due(ticket, "next_reply"),
            "resolution_due": None if sla.get("paused") else sla.get("resolution_due"),
            "paused": bool(sla.get("paused")),
            "pauses": list(sla.get("pauses") or []),
            "breached": list(sla.get("breached") or []),
        },
        "decision": as_dict(ticket.decision) or None,
        "merged_into": ticket.merged_into,
        "merged_from": sorted(ticket.merged_from or ()),
    }


def customer_view(customer: Customer | None, customer_id: str) -> dict[str, Any]:
    if customer is None:
        return {"id": customer_id, "name": None, "email": None, "phone": None, "emails": [],
                "phones": [], "lang": None, "opted_out": []}
    emails, phones = sorted(customer.emails or ()), sorted(customer.phones or ())
    opted = as_dict(customer.opted_out)
    return {"id": customer.id, "name": customer.name, "email": emails[0] if emails else None,
            "phone": phones[0] if phones else None, "emails": emails, "phones": phones,
            "lang": customer.lang, "opted_out": sorted(opted), "opt_outs": opted}


def entry_view(item: TimelineItem) -> dict[str, Any]:
    base = {"entry": item.item_type, "at": clock.iso(item.at), "sk": item.sk}
    for name in ("origin", "split_to"):  # copied from another ticket / split off into one
        if getattr(item, name) is not None:
            base[name] = as_dict(getattr(item, name))
    if item.item_type == "event":
        return {**base, "type": item.type, "actor": item.actor, "data": as_dict(item.data)}
    fields = ("direction", "channel", "kind", "status", "body", "subject", "sender",
              "recipient", "message_id", "in_reply_to", "reply_to", "provider_id", "error",
              "lang", "full_body", "raw_key", "automatic", "segments")
    out = {**base, "type": "message", "id": item.message_uid}
    out.update({name: getattr(item, name) for name in fields if getattr(item, name) is not None})
    if item.segments is not None:
        out["segments"] = int(item.segments)
    if item.macro is not None:  # a reply made from a macro: {name, version}
        out["macro"] = as_dict(item.macro)
    if item.fallback:
        out["fallback"] = [as_dict(step) for step in item.fallback]
    if item.attachments:
        out["attachments"] = [{k: v for k, v in as_dict(a).items() if k != "sha256"}
                              for a in item.attachments]
    return out


def list_tickets(*, status: str = "", department: str = "", assignee: str = "",
                 q: str = "", cursor: str = "", limit: int = PAGE_DEFAULT, priority: str = "",
                 channel: str = "", breached: str = "") -> dict[str, Any]:
    errors = {}
    if status and status not in STATUSES:
        errors["status"] = f"one of: {', '.join(STATUSES)}"
    if department and department not in departments.DEPARTMENT_NAMES:
        errors["department"] = "unknown department"
    if priority and priority not in PRIORITIES:
        errors["priority"] = f"one of: {', '.join(PRIORITIES)}"
    if channel and channel not in CHANNELS:
        errors["channel"] = f"one of: {', '.join(CHANNELS)}"
    if breached and breached not in ("true", "false"):
        errors["breached"] = "true or false"
    if not 1 <= limit <= PAGE_MAX:
        errors["limit"] = f"between 1 and {PAGE_MAX}"
    if errors:
        raise BadRequest("Invalid filter.", errors)
    more = (priority, channel, breached)  # no index of their own: they filter index pages
    if q.strip():
        matches = _search(q.strip())
        items = [t for t in matches if _matches(t, status, department, assignee, *more)]
        return {"items": [summary(t) for t in items[:limit]], "next": None}

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
        found.extend(t for t in result if _matches(t, *rest))
        next_key = result.last_evaluated_key
        if next_key is None or len(found) >= limit:
            break
    return {"items": [summary(t) for t in found], "next": encode_cursor(next_key)}


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
    if is_ref(ref):
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


def encode_cursor(key: dict | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


MAX_CURSOR_VALUE = 1024  # longer than any key we write; DynamoDB refuses keys past its limits


def decode_cursor(cursor: str, index: Any, partition: str) -> dict | None:
    """A cursor from a page of the same query: exactly this index's key, in this partition
    (anything else would reach DynamoDB as an invalid ExclusiveStartKey)."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadRequest("Invalid cursor.", {"cursor": "not a cursor from this API"}) from None
    hash_name = index._hash_key_attribute().attr_name
    valid = isinstance(key, dict) and set(key) == {hash_name, "queue_sort", "id"} and all(
        isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str)
        and 0 < len(v["S"]) <= MAX_CURSOR_VALUE for v in key.values()) \
        and key[hash_name]["S"] == partition
    if not valid:
        raise BadRequest("Invalid cursor.", {"cursor": "not a cursor from this API"})
    return key


# ---- writing -------------------------------------------------------------------------------

class _Raced(Exception):
    """Someone else (often the system: a timer, a delivery receipt) saved the ticket between
    our read and our write."""


def retry_on_race(write: Callable[..., _T]) -> Callable[..., _T]:
    """Re-read and re-apply an agent's change when it lost a race, so background writes never
    bounce an agent with 409; only a persistent race (or a pinned `version`) is a Conflict."""
    @functools.wraps(write)
    def attempt(*args: Any, **kwargs: Any) -> _T:
        for _ in range(WRITE_ATTEMPTS - 1):
            try:
                return write(*args, **kwargs)
            except _Raced:
                continue
        try:
            return write(*args, **kwargs)
        except _Raced as exc:
            raise Conflict("The ticket kept changing; reload and try again.") from exc
    return attempt


def reply(ticket_id: str, agent: agents.AgentView, body: Any, channel: Any = None, *,
          attachments: Any = None, macro: Any = None, macro_version: Any = None) -> dict:
    """An agent's reply; email replies may carry files (JSON: filename, content_type,
    content_base64), stored in S3 first and removed again if the reply is not saved.
    `macro` (a name, and `macro_version`) instead of `body`: see _macro below."""
    canned = _macro(macro, macro_version)
    uploads = _reply_uploads(attachments)
    if uploads and channel == "sms":
        raise ValidationFailed("SMS cannot carry files.", {"attachments": "only with email replies"})
    uid = ids.new_id("m")
    stored = [_store_attachment(ticket_id, uid, n, upload) for n, upload in enumerate(uploads)]
    try:
        return _reply(ticket_id, agent, body, channel, uid=uid, attachments=stored, macro=canned)
    except Exception:
        storage.delete_quietly([a["key"] for a in stored])
        raise


def _reply_uploads(raw: Any) -> list:
    from chalicelib.services.portal import webform

    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValidationFailed("Invalid attachments.", {"attachments": "a list of files"})
    uploads = []
    for n, item in enumerate(raw):
        try:
            data = base64.b64decode(str(item["content_base64"]), validate=True)
            name = str(item["filename"]).replace("\\", "/").rsplit("/", 1)[-1].strip()[:180]
            uploads.append(webform.Upload(field=f"attachments.{n}", filename=name or f"file-{n + 1}",
                                          content_type=str(item["content_type"]).lower(), data=data))
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise ValidationFailed("Invalid attachments.", {
                f"attachments.{n}": "an object with filename, content_type and content_base64"}) from None
    errors = webform.check_uploads(uploads, webform.limits_from_settings())
    if errors:
        raise ValidationFailed("Invalid attachments.", errors)
    return uploads


def _store_attachment(ticket_id: str, uid: str, n: int, upload) -> dict[str, Any]:
    from chalicelib.services.tickets import intake

    return intake.store_attachment(ticket_id, uid, n, upload)


@retry_on_race
def _reply(ticket_id: str, agent: agents.AgentView, body: Any, requested: Any, *, uid: str,
           attachments: list[dict[str, Any]], checked: bool = False,
           macro: dict[str, Any] | None = None) -> dict:
    """Suppressions are not read first: the route is the one no suppression would change, and
    the transaction checks that its recipient is not suppressed (ConditionCheck), so a reply
    costs four calls. If it is, the reply is routed again reading every address's state
    (`checked`): the result is the same as reading them first, only slower in that rare case."""
    text = _body(body) if macro is None else ""
    ticket = load_open_to_change(ticket_id)
    customer = _customer(ticket.customer_id)
    route = None if checked else _unsuppressed_route(ticket, customer, requested)
    channel, recipient = route or _reply_route(ticket, customer, requested)
    rendered = _render_macro(macro, ticket, customer, agent, channel) if macro else None
    if rendered is not None:
        text = rendered.body
    references = _email_thread(ticket.id) if channel == "email" else []
    now = clock.now()
    if channel == "sms":
        _check_sms_length(text)
    if attachments and channel != "email":
        raise ValidationFailed("SMS cannot carry files.", {"attachments": "only with email replies"})
    fields = outbound.reply(ticket, channel=channel, recipient=recipient, body=text,
                            author=agent.principal, references=references, uid=uid)
    if attachments:
        fields["attachments"] = attachments
    if rendered is not None:  # the timeline message names the macro it came from
        fields["macro"] = {"name": rendered.name, "version": rendered.version}
        if rendered.subject:
            fields["subject"] = rendered.subject
    items = [timeline.message(ticket.id, now, seq=0, **fields)]
    if ticket.first_response_at is None:
        ticket.first_response_at = now
        # who answered first: the reports' per-agent first-response time (services/reports/counters.py)
        ticket.sla = {**as_dict(ticket.sla), "first_response_by": agent.principal}
    rules.stop(ticket, "escalation")  # someone answered: stop climbing the ladder
    for n, target in enumerate(("first_response", "next_reply"), start=1):
        if rules.stop(ticket, target):
            items.append(timeline.event(ticket.id, now, "sla.met", actor=agent.principal, seq=n,
                                        data={"target": target}))
        elif rules.answered_late(ticket, target):
            items.append(timeline.event(ticket.id, now, "sla.met", actor=agent.principal, seq=n,
                                        data={"target": target, "late": True}))
    if ticket.status == "new":
        items.append(_status_event(ticket, "open", agent.principal, now, seq=3))
        ticket.status = "open"
    if rendered is not None and rendered.actions:
        items.extend(_macro_actions(ticket, rendered.actions, agent.principal, now, seq=4))

    def writes(tx: Transaction) -> None:
        if route is not None:
            _check_not_suppressed(tx, channel, recipient)
        audit.add(tx, agent.principal, "ticket.replied", f"ticket:{ticket.id}", at=now,
                  after={"message": fields["message_uid"], "channel": channel,
                         "recipient": recipient})

    try:
        save(ticket, items, now, writes)
    except Cancelled as exc:  # the recipient is suppressed (or was just now): route knowing it
        if "extra" not in exc.labels:
            raise
        return _reply(ticket_id, agent, body, requested, uid=uid, attachments=attachments,
                      checked=True, macro=macro)
    out = {"id": fields["message_uid"], "status": "queued", "channel": channel,
           "recipient": recipient, "ticket": summary(ticket)}
    if channel == "sms":
        out["sms"] = sms_text.segments(text).to_dict()
    if rendered is not None:
        out["macro"] = {"name": rendered.name, "version": rendered.version, "lang": rendered.lang,
                        "actions": rendered.actions}
    return out


# ---- replying with a macro (issue 7; services/authoring/macros.py) -----------------------------------

def _macro(name: Any, version: Any) -> dict[str, Any] | None:
    """The macro a reply uses (404 unknown or archived), read once, before the write loop."""
    if name is None:
        if version is not None:
            raise BadRequest("macro_version goes with macro.", {"macro_version": "only with macro"})
        return None
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)
                                or version < 1):
        raise ValidationFailed("Invalid macro version.", {"macro_version": "a whole number from 1"})
    from chalicelib.services.authoring import macros

    return macros.use(name, version)


def _render_macro(macro: dict[str, Any], ticket: Ticket, customer: Customer | None,
                  agent: agents.AgentView, channel: str):
    """Rendered exactly as POST /api/tickets/{id}/preview shows it (422 when it cannot be)."""
    from chalicelib.services.authoring import macros

    rendered = macros.render(macro, ticket, customer, agent.display_name, channel)
    if len(rendered.body) > MAX_BODY:
        raise ValidationFailed("The macro renders too long.", {"macro": f"at most {MAX_BODY} characters"})
    return rendered


def _macro_actions(ticket: Ticket, actions: dict[str, str], actor: str, now: datetime,
                   seq: int) -> list[TimelineItem]:
    """A macro's actions (status, priority) in its reply's own write, as PATCH applies them."""
    items: list[TimelineItem] = []
    status, priority = actions.get("status"), actions.get("priority")
    if status and status != ticket.status:
        items.append(_status_event(ticket, status, actor, now, seq=seq + len(items)))
        status_timers(ticket, ticket.status, status, now)
        ticket.status = status
        if status in DONE:
            ticket.resolved_at = ticket.resolved_at or now
            from chalicelib.services.followup import decisions

            items.extend(decisions.withdraw(ticket, actor, now, seq=seq + len(items)))
        else:
            ticket.resolved_at = None
    if priority and priority != ticket.priority:
        items.append(timeline.event(ticket.id, now, "ticket.priority_changed", actor=actor,
                                    seq=seq + len(items),
                                    data={"from": ticket.priority, "to": priority}))
        ticket.priority = priority
        if ticket.status not in DONE:
            items.extend(_follow_policy(ticket, now, seq=seq + len(items)))
    return items


MAX_CALLBACK_AHEAD = timedelta(days=366)


@retry_on_race
def schedule_callback(ticket_id: str, agent: agents.AgentView, body: Any) -> dict:
    """"Call back Thursday 3 p.m.": at that instant the ticket gets `callback.due` (and rises
    in the queues, which sort by the earliest armed timer). A new callback replaces the old."""
    if not isinstance(body, dict):
        raise ValidationFailed("Send a JSON object.", {"body": "an object with at and note"})
    errors = {k: "unknown field" for k in body if k not in ("at", "note")}
    now = clock.now()
    at = None
    try:
        at = datetime.fromisoformat(str(body.get("at") or "").replace("Z", "+00:00"))
        if at.tzinfo is None:
            errors["at"] = "an ISO 8601 instant with its offset, e.g. 2026-11-26T15:00:00+06:00"
        elif not now < at <= now + MAX_CALLBACK_AHEAD:
            errors["at"] = "in the future, at most a year ahead"
    except ValueError:
        errors["at"] = "an ISO 8601 instant with its offset, e.g. 2026-11-26T15:00:00+06:00"
    note = body.get("note") or ""
    if not isinstance(note, str) or len(note) > 500:
        errors["note"] = "text, at most 500 characters"
    if errors:
        raise ValidationFailed("Invalid callback.", errors)
    ticket = load_open_to_change(ticket_id)
    rules.arm(ticket, "callback", start=now, due=at, warn_at=None)
    rules.annotate(ticket, "callback", note=note)
    event = timeline.event(ticket.id, now, "callback.scheduled", actor=agent.principal, seq=0,
                           data={"at": clock.iso(at), "note": note})
    save(ticket, [event], now, lambda tx: audit.add(
        tx, agent.principal, "ticket.callback_scheduled", f"ticket:{ticket.id}", at=now,
        after={"at": clock.iso(at), "note": note}))
    return {"callback_at": clock.iso(at), "ticket": summary(ticket)}


@retry_on_race
def add_note(ticket_id: str, agent: agents.AgentView, body: Any) -> dict:
    text = _body(body)
    ticket = load(ticket_id)
    now = clock.now()
    note = timeline.message(ticket.id, now, seq=0, message_uid=_uid(), direction="internal",
                            channel="internal", kind="note", status="recorded", body=text,
                            sender=agent.principal)
    save(ticket, [note], now, lambda tx: audit.add(
        tx, agent.principal, "ticket.note_added", f"ticket:{ticket.id}", at=now,
        after={"message": note.message_uid}))
    return {"id": note.message_uid, "ticket": summary(ticket)}


@retry_on_race
def update(ticket_id: str, agent: agents.AgentView, changes: Any) -> dict:
    if not isinstance(changes, dict) or not changes:
        raise BadRequest("Send a JSON object with the fields to change.",
                         {"body": "an object with status, priority, department or assignee"})
    allowed = {"status", "priority", "department", "assignee", "version"}
    errors = {k: "unknown field" for k in changes if k not in allowed}
    status, priority = changes.get("status"), changes.get("priority")
    department, assignee = changes.get("department"), changes.get("assignee", ...)
    if status is not None and status not in SETTABLE_STATUSES:
        errors["status"] = f"one of: {', '.join(SETTABLE_STATUSES)}"
    if priority is not None and priority not in PRIORITIES:
        errors["priority"] = f"one of: {', '.join(PRIORITIES)}"
    if department is not None and department not in departments.DEPARTMENT_NAMES:
        errors["department"] = "unknown department"
    if assignee is not ... and assignee is not None and (
            not isinstance(assignee, str) or not agents.exists(assignee)):
        errors["assignee"] = "not an active agent"
    version = changes.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        errors["version"] = "an integer"
    if errors:
        raise ValidationFailed("Invalid change.", errors)

    ticket = load_open_to_change(ticket_id)
    if version is not None and version != ticket.version:
        raise Conflict("The ticket changed since you read it; reload and try again.",
                       {"version": f"current version is {ticket.version}"})
    now = clock.now()
    items: list[TimelineItem] = []
    actor = agent.principal
    fields = ("status", "priority", "department", "assignee")
    before = {name: getattr(ticket, name) for name in fields}
    if status is not None and status != ticket.status:
        items.append(_status_event(ticket, status, actor, now, seq=len(items)))
        status_timers(ticket, ticket.status, status, now)
        ticket.status = status
        if status in DONE:
            ticket.resolved_at = ticket.resolved_at or now
            from chalicelib.services.followup import decisions

            items.extend(decisions.withdraw(ticket, actor, now, seq=len(items)))
        else:
            ticket.resolved_at = None
    for name, value in (("priority", priority), ("department", department)):
        if value is not None and value != getattr(ticket, name):
            items.append(timeline.event(ticket.id, now, f"ticket.{name}_changed", actor=actor,
                                        seq=len(items),
                                        data={"from": getattr(ticket, name), "to": value}))
            setattr(ticket, name, value)
            if ticket.status not in DONE:
                items.extend(_follow_policy(ticket, now, seq=len(items)))
    if assignee is not ... and assignee != ticket.assignee:
        items.append(timeline.event(ticket.id, now, "ticket.assigned", actor=actor,
                                    seq=len(items), data={"from": ticket.assignee, "to": assignee}))
        ticket.assignee = assignee
    if items:
        after = {name: getattr(ticket, name) for name in fields}
        changed = [name for name in fields if before[name] != after[name]]
        save(ticket, items, now, lambda tx: audit.add(
            tx, actor, "ticket.updated", f"ticket:{ticket.id}", at=now,
            before={n: before[n] for n in changed}, after={n: after[n] for n in changed}))
    return summary(ticket)


def record_inbound(ticket_id: str, fields: dict[str, Any], *, held: bool, automatic: bool,
                   event_data: dict[str, Any],
                   extra_writes: Callable[[Transaction], Any] | None = None,
                   at: datetime | None = None, ticket: Ticket | None = None) -> Ticket:
    """A customer's message on an existing ticket, placed on the timeline at `at` (the
    provider's timestamp; default now). Held messages (sender not the ticket's customer) and
    automatic mail change nothing else; a real reply reopens the ticket. A reply to a merged
    ticket lands on the ticket it was merged into (`merged_into`, one hop).

    `ticket`: the ticket as the caller has just read it, saving a read. Any copy will do, even
    an eventually consistent one (a GSI query's): the write is conditional on its version, so
    a stale copy only costs a retry, which reads the ticket again (consistently)."""
    first = [ticket] if ticket is not None else []

    @retry_on_race
    def attempt() -> Ticket:
        current = first.pop() if first else load(ticket_id)
        data = event_data
        if current.merged_into:  # merged: the reply belongs on the ticket it went into
            data = {**event_data, "via_merged": current.id}
            current = load(current.merged_into)  # one hop: a merged ticket takes no merges
        return _record_inbound(current, fields, held=held, automatic=automatic,
                               event_data=data, extra_writes=extra_writes, at=at)

    return attempt()


def _record_inbound(ticket: Ticket, fields: dict[str, Any], *, held: bool, automatic: bool,
                    event_data: dict[str, Any],
                    extra_writes: Callable[[Transaction], Any] | None,
                    at: datetime | None) -> Ticket:
    now = clock.now()
    # random sort-key suffixes: two messages stamped with the same provider millisecond must
    # not collide; the event sorts a millisecond after its message
    sent_at = min(at or now, now)
    items = [
        timeline.message(ticket.id, sent_at, direction="in",
                         status="held" if held else "received", **fields),
        timeline.event(ticket.id, sent_at + timedelta(milliseconds=1),
                       "message.held" if held else "message.received",
                       actor="customer", data={
                           "message": fields["message_uid"], "channel": fields["channel"],
                           **event_data}),
    ]
    reopen = True
    if not held and not automatic and ticket.status in DONE and checkin.pending(ticket):
        answered, reopen = checkin.answer(ticket, fields.get("body") or "", sent_at)
        items.extend(answered)
    if not held and not automatic and reopen:
        if ticket.status in REOPENABLE:
            items.append(_status_event(ticket, "open", "customer", now, seq=2))
            status_timers(ticket, ticket.status, "open", now)
            ticket.status = "open"
            ticket.resolved_at = None
        if ticket.first_response_at is not None:  # the customer waits for our next reply
            policy, calendar = clock_for(ticket)
            if not as_dict(as_dict(ticket.timers).get("next_reply")).get("state") == "armed":
                rules.arm_target(ticket, "next_reply", policy, calendar, now)
    save(ticket, items, now, extra_writes)
    return ticket


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
    ticket_id = keys.target(thread.msgid_pk(message_id))
    if not ticket_id:
        return None
    for item in timeline.items(ticket_id):
        if item.item_type == "message" and item.direction == "out" and item.message_id == message_id:
            return ticket_id, item
    return None


def save(ticket: Ticket, items: list[TimelineItem], now: datetime,
          extra_writes: Callable[[Transaction], Any] | None = None) -> None:
    """Ticket and its new timeline entries together, conditional on the version we read.
    `extra_writes` add the caller's own conditional writes (label "extra"); audit entries
    (label "audit", random sort keys) never collide, and if one did that is no race either."""
    ticket.updated_at = now
    refresh_queue_sort(ticket)
    try:
        with transaction() as tx:
            tx.save(ticket, label="ticket")  # the version attribute makes this conditional
            for item in items:
                tx.save(item, condition=TimelineItem.sk.does_not_exist(), label="timeline")
                if item.item_type == "message" and item.direction == "out":
                    thread.index(tx, item.message_id, ticket.id)
            if extra_writes:
                extra_writes(tx)
    except Cancelled as exc:
        if exc.labels & {"extra", "audit"}:
            raise
        raise _Raced() from exc


def _status_event(ticket: Ticket, to: str, actor: str, now: datetime, seq: int) -> TimelineItem:
    return timeline.event(ticket.id, now, "ticket.status_changed", actor=actor, seq=seq,
                          data={"from": ticket.status, "to": to})


def _check_sms_length(text: str) -> None:
    limit = config.settings().sms_max_segments
    count = sms_text.segments(text)
    if count.count > limit:
        raise ValidationFailed(
            f"Too long for SMS: {count.count} segments ({count.encoding}), at most {limit}.",
            {"body": f"{count.count} SMS segments; at most {limit}"})


def _body(body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise ValidationFailed("The body is required.", {"body": "required text"})
    if len(body) > MAX_BODY:
        raise ValidationFailed("The body is too long.", {"body": f"at most {MAX_BODY} characters"})
    return body.strip()


def _reply_route(ticket: Ticket, customer: Customer | None, channel: Any) -> tuple[str, str]:
    all_emails = sorted(customer.emails or ()) if customer else []
    # bounced or complaining addresses are skipped: the phone takes over when there is one
    # (an unsubscribe from automatic mail does not stop a person's reply)
    emails = [e for e in all_emails if not suppression.reason(e, "email", personal=True)]
    all_phones = sorted(customer.phones or ()) if customer else []
    phones = [p for p in all_phones if not suppression.reason(p, "sms")]  # never text an opt-out
    if channel is not None and channel not in ("email", "sms"):
        raise ValidationFailed("Unknown channel.", {"channel": "email or sms"})
    if channel == "email" and all_emails and not emails:
        raise ValidationFailed("The customer's email address is suppressed (bounce or complaint).",
                               {"channel": "email is suppressed for this customer"})
    if channel == "sms" and all_phones and not phones:
        raise ValidationFailed("The customer opted out of SMS.",
                               {"channel": "the customer's number opted out (STOP)"})
    if channel is None:
        channel = "sms" if (ticket.channel == "sms" and phones) or not emails else "email"
    if channel == "email" and emails:
        return "email", emails[0]
    if channel == "sms" and phones:
        return "sms", phones[0]
    raise ValidationFailed("The customer cannot be reached on that channel.",
                           {"channel": f"the customer has no {'email' if channel == 'email' else 'phone'}"})


def _unsuppressed_route(ticket: Ticket, customer: Customer | None,
                        channel: Any) -> tuple[str, str] | None:
    """The route `_reply_route` picks when none of the customer's addresses is suppressed
    (the same choice, without reading suppressions); None when that would be an error."""
    emails = sorted(customer.emails or ()) if customer else []
    phones = sorted(customer.phones or ()) if customer else []
    if channel is None:
        channel = "sms" if (ticket.channel == "sms" and phones) or not emails else "email"
    pool = {"email": emails, "sms": phones}.get(channel) or []
    return (channel, pool[0]) if pool else None


def _check_not_suppressed(tx: Transaction, channel: str, recipient: str) -> None:
    """In the reply's transaction: the recipient is not suppressed, as `_reply_route` judges it
    (for email, an unsubscribe from automatic mail does not stop a person's reply)."""
    allowed = Key.pk.does_not_exist()
    if channel == "email":
        allowed = allowed | Key.target.is_in(*suppression.AUTOMATIC_ONLY)
    tx.check(Key, suppression.pk(recipient, channel), keys.NO_SORT, condition=allowed,
             label="extra")


THREAD_REFERENCES = 20  # outbound.reply: In-Reply-To the newest, References the newest 20


def _email_thread(ticket_id: str) -> list[str]:
    """The newest THREAD_REFERENCES Message-IDs on the ticket, oldest first: all a reply's
    headers use. Read newest first, 100 items a page, stopping once there are enough, so a
    long timeline costs a reply no more than a short one."""
    found: list[str] = []
    for item in TimelineItem.query(ticket_id, scan_index_forward=False, page_size=100):
        if item.item_type == "message" and item.message_id:
            found.append(item.message_id)
            if len(found) == THREAD_REFERENCES:
                break
    return found[::-1]


def _customer(customer_id: str) -> Customer | None:
    try:
        return Customer.get(customer_id)
    except Customer.DoesNotExist:
        return None


def _uid() -> str:
    from chalicelib.ids import new_id

    return new_id("m")


def _iso(value: datetime | None) -> str | None:
    return clock.iso(value) if value else None
