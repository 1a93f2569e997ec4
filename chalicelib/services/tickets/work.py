"""The work agents do on a ticket: reply (text, files or a macro), note, change fields,
schedule a callback; and a customer's message recorded on an existing ticket."""
from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta
from typing import Any, Callable

from chalicelib import clock, config, ids
from chalicelib.db import keys, timeline
from chalicelib.db.connection import Cancelled, Transaction
from chalicelib.db.models import Customer, Key, Ticket, TimelineItem
from chalicelib.db.values import as_dict
from chalicelib.errors import BadRequest, Conflict, ValidationFailed
from chalicelib.ids import new_id
from chalicelib.integrations import storage
from chalicelib.services.followup import checkin, decisions
from chalicelib.services.messaging import outbound, routes, sms_text, staff, suppression
from chalicelib.services.portal import webform
from chalicelib.services.sla import rules
from chalicelib.services.team import agents, audit, departments
from chalicelib.services.tickets import intake, lifecycle, store, views


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
    return intake.store_attachment(ticket_id, uid, n, upload)


@store.retry_on_race
def _reply(ticket_id: str, agent: agents.AgentView, body: Any, requested: Any, *, uid: str,
           attachments: list[dict[str, Any]], checked: bool = False,
           macro: dict[str, Any] | None = None) -> dict:
    """Suppressions are not read first: the route is the one no suppression would change, and
    the transaction checks that its recipient is not suppressed (ConditionCheck), so a reply
    costs four calls. If it is, the reply is routed again reading every address's state
    (`checked`): the result is the same as reading them first, only slower in that rare case."""
    text = _body(body) if macro is None else ""
    ticket = store.load_open_to_change(ticket_id, agent)
    customer = store.load_customer(ticket.customer_id)
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
        items.append(lifecycle.status_event(ticket, "open", agent.principal, now, seq=3))
        ticket.status = "open"
    if rendered is not None and rendered.actions:
        items.extend(_macro_actions(ticket, rendered.actions, agent.principal, now, seq=4))

    def writes(tx: Transaction) -> None:
        if route is not None:
            _check_not_suppressed(tx, channel, recipient)
        audit.add(tx, agent.principal, "ticket.replied", f"ticket:{ticket.id}", at=now,
                  after={"message": fields["message_uid"], "channel": channel,
                         "recipient": recipient}, about=ticket)

    try:
        store.save(ticket, items, now, writes)
    except Cancelled as exc:  # the recipient is suppressed (or was just now): route knowing it
        if "extra" not in exc.labels:
            raise
        return _reply(ticket_id, agent, body, requested, uid=uid, attachments=attachments,
                      checked=True, macro=macro)
    out = {"id": fields["message_uid"], "status": "queued", "channel": channel,
           "recipient": recipient, "ticket": views.summary(ticket)}
    if channel == "sms":
        out["sms"] = sms_text.segments(text).to_dict()
    if rendered is not None:
        out["macro"] = {"name": rendered.name, "version": rendered.version, "lang": rendered.lang,
                        "actions": rendered.actions}
    return out


def _macro(name: Any, version: Any) -> dict[str, Any] | None:
    """The macro a reply uses (404 unknown or archived), read once, before the write loop."""
    if name is None:
        if version is not None:
            raise BadRequest("macro_version goes with macro.", {"macro_version": "only with macro"})
        return None
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)
                                or version < 1):
        raise ValidationFailed("Invalid macro version.", {"macro_version": "a whole number from 1"})
    from chalicelib.services.authoring import macros  # deferred: cold start

    return macros.use(name, version)


def _render_macro(macro: dict[str, Any], ticket: Ticket, customer: Customer | None,
                  agent: agents.AgentView, channel: str):
    """Rendered exactly as POST /api/tickets/{id}/preview shows it (422 when it cannot be)."""
    from chalicelib.services.authoring import macros  # deferred: cold start

    rendered = macros.render(macro, ticket, customer, agent.display_name, channel)
    if len(rendered.body) > store.MAX_BODY:
        raise ValidationFailed("The macro renders too long.", {"macro": f"at most {store.MAX_BODY} characters"})
    return rendered


def _macro_actions(ticket: Ticket, actions: dict[str, str], actor: str, now: datetime,
                   seq: int) -> list[TimelineItem]:
    """A macro's actions (status, priority) in its reply's own write, as PATCH applies them."""
    items: list[TimelineItem] = []
    status, priority = actions.get("status"), actions.get("priority")
    if status and status != ticket.status:
        items.append(lifecycle.status_event(ticket, status, actor, now, seq=seq + len(items)))
        lifecycle.status_timers(ticket, ticket.status, status, now)
        ticket.status = status
        if status in store.DONE:
            ticket.resolved_at = ticket.resolved_at or now

            items.extend(decisions.withdraw(ticket, actor, now, seq=seq + len(items)))
        else:
            ticket.resolved_at = None
    if priority and priority != ticket.priority:
        items.append(timeline.event(ticket.id, now, "ticket.priority_changed", actor=actor,
                                    seq=seq + len(items),
                                    data={"from": ticket.priority, "to": priority}))
        ticket.priority = priority
        if ticket.status not in store.DONE:
            items.extend(lifecycle.follow_policy(ticket, now, seq=seq + len(items)))
    return items


MAX_CALLBACK_AHEAD = timedelta(days=366)


@store.retry_on_race
def schedule_callback(ticket_id: str, agent: agents.AgentView, body: Any) -> dict:
    """"Call back Thursday 3 p.m.": at that instant the ticket gets `callback.due` (and rises
    in the queues, which sort by the earliest armed timer). A new callback replaces the old."""
    if not isinstance(body, dict):
        raise ValidationFailed("Send a JSON object.", {"body": "an object with at and note"})
    errors = {k: "unknown field" for k in body if k not in ("at", "note")}
    now = clock.now()
    at = None
    try:  # "2026-12-07 15:00" is business time; an offset is taken as given
        at = clock.parse_typed(str(body.get("at") or ""))
        if not now < at <= now + MAX_CALLBACK_AHEAD:
            errors["at"] = "in the future, at most a year ahead"
    except ValueError as exc:
        errors["at"] = str(exc)
    note = body.get("note") or ""
    if not isinstance(note, str) or len(note) > 500:
        errors["note"] = "text, at most 500 characters"
    if errors:
        raise ValidationFailed("Invalid callback.", errors)
    ticket = store.load_open_to_change(ticket_id, agent)
    rules.arm(ticket, "callback", start=now, due=at, warn_at=None)
    rules.annotate(ticket, "callback", note=note, by=agent.principal)
    event = timeline.event(ticket.id, now, "callback.scheduled", actor=agent.principal, seq=0,
                           data={"at": clock.iso(at), "note": note})
    store.save(ticket, [event], now, lambda tx: audit.add(
        tx, agent.principal, "ticket.callback_scheduled", f"ticket:{ticket.id}", at=now,
        after={"at": clock.iso(at), "note": note}, about=ticket))
    return {"callback_at": clock.iso(at), "ticket": views.summary(ticket)}


@store.retry_on_race
def add_note(ticket_id: str, agent: agents.AgentView, body: Any) -> dict:
    text = _body(body)
    ticket = store.load(ticket_id, agent)
    now = clock.now()
    note = timeline.message(ticket.id, now, seq=0, message_uid=_uid(), direction="internal",
                            channel="internal", kind="note", status="recorded", body=text,
                            sender=agent.principal)
    store.save(ticket, [note], now, lambda tx: audit.add(
        tx, agent.principal, "ticket.note_added", f"ticket:{ticket.id}", at=now,
        after={"message": note.message_uid}, about=ticket))
    return {"id": note.message_uid, "ticket": views.summary(ticket)}


@store.retry_on_race
def update(ticket_id: str, agent: agents.AgentView, changes: Any) -> dict:
    if not isinstance(changes, dict) or not changes:
        raise BadRequest("Send a JSON object with the fields to change.",
                         {"body": "an object with status, priority, department or assignee"})
    allowed = {"status", "priority", "department", "assignee", "version"}
    errors = {k: "unknown field" for k in changes if k not in allowed}
    status, priority = changes.get("status"), changes.get("priority")
    department, assignee = changes.get("department"), changes.get("assignee", ...)
    if status is not None and status not in store.SETTABLE_STATUSES:
        errors["status"] = f"one of: {', '.join(store.SETTABLE_STATUSES)}"
    if priority is not None and priority not in store.PRIORITIES:
        errors["priority"] = f"one of: {', '.join(store.PRIORITIES)}"
    if department is not None and not departments.is_department(department):
        errors["department"] = departments.problem(department) or "unknown department"
    if assignee is not ... and assignee is not None:
        try:  # an ARN, an id, a short name or "me" (team/agents.find_reference)
            assignee = agents.find_reference(assignee, agent)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    version = changes.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        errors["version"] = "an integer"
    if errors:
        raise ValidationFailed("Invalid change.", errors)

    ticket = store.load_open_to_change(ticket_id, agent)
    if version is not None and version != ticket.version:
        raise Conflict("The ticket changed since you read it; reload and try again.",
                       {"version": f"current version is {ticket.version}"})
    now = clock.now()
    items: list[TimelineItem] = []
    actor = agent.principal
    fields = ("status", "priority", "department", "assignee")
    before = {name: getattr(ticket, name) for name in fields}
    if status is not None and status != ticket.status:
        items.append(lifecycle.status_event(ticket, status, actor, now, seq=len(items)))
        lifecycle.status_timers(ticket, ticket.status, status, now)
        ticket.status = status
        if status in store.DONE:
            ticket.resolved_at = ticket.resolved_at or now

            items.extend(decisions.withdraw(ticket, actor, now, seq=len(items)))
        else:
            ticket.resolved_at = None
    for name, value in (("priority", priority), ("department", department)):
        if value is not None and value != getattr(ticket, name):
            items.append(timeline.event(ticket.id, now, f"ticket.{name}_changed", actor=actor,
                                        seq=len(items),
                                        data={"from": getattr(ticket, name), "to": value}))
            setattr(ticket, name, value)
            if ticket.status not in store.DONE:
                items.extend(lifecycle.follow_policy(ticket, now, seq=len(items)))
    if assignee is not ... and assignee != ticket.assignee:
        items.append(timeline.event(ticket.id, now, "ticket.assigned", actor=actor,
                                    seq=len(items), data={"from": ticket.assignee, "to": assignee}))
        ticket.assignee = assignee
        items += staff.notify(ticket, "assigned", assignee, now=now, actor=actor,
                              actor_name=agent.display_name)
    if items:
        after = {name: getattr(ticket, name) for name in fields}
        changed = [name for name in fields if before[name] != after[name]]
        store.save(ticket, items, now, lambda tx: audit.add(
            tx, actor, "ticket.updated", f"ticket:{ticket.id}", at=now,
            before={n: before[n] for n in changed}, after={n: after[n] for n in changed},
            about=ticket))
    return views.summary(ticket)


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

    @store.retry_on_race
    def attempt() -> Ticket:
        current = first.pop() if first else store.load(ticket_id)
        data = event_data
        if current.merged_into:  # merged: the reply belongs on the ticket it went into
            data = {**event_data, "via_merged": current.id}
            current = store.load(current.merged_into)  # one hop: a merged ticket takes no merges
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
    was = ticket.status
    if not held and fields.get("channel") in ("email", "sms") and fields.get("sender"):
        ticket.contact = fields["sender"]  # the customer wrote from here: answer here
    if not held and not automatic and ticket.status in store.DONE and checkin.pending(ticket):
        answered, reopen = checkin.answer(ticket, fields.get("body") or "", sent_at)
        items.extend(answered)
    if not held and not automatic and reopen:
        if ticket.status in store.REOPENABLE:
            items.append(lifecycle.status_event(ticket, "open", "customer", now, seq=2))
            lifecycle.status_timers(ticket, ticket.status, "open", now)
            ticket.status = "open"
            ticket.resolved_at = None
        if ticket.first_response_at is not None:  # the customer waits for our next reply
            policy, calendar = lifecycle.clock_for(ticket)
            if not as_dict(as_dict(ticket.timers).get("next_reply")).get("state") == "armed":
                rules.arm_target(ticket, "next_reply", policy, calendar, now)
    if not held and not automatic:  # the assignee hears of it (staff.py: prefs, digest)
        items += staff.notify(ticket, "customer_replied", ticket.assignee, now=now,
                              reopened=was != ticket.status, from_status=was,
                              excerpt=fields.get("body") or "")
    store.save(ticket, items, now, extra_writes)
    return ticket


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
    if len(body) > store.MAX_BODY:
        raise ValidationFailed("The body is too long.", {"body": f"at most {store.MAX_BODY} characters"})
    return body.strip()


def _reply_route(ticket: Ticket, customer: Customer | None, channel: Any) -> tuple[str, str]:
    all_emails, all_phones = routes.addresses(customer)
    # bounced or complaining addresses are skipped: the phone takes over when there is one
    # (an unsubscribe from automatic mail does not stop a person's reply)
    emails = [e for e in all_emails if not suppression.reason(e, "email", personal=True)]
    phones = [p for p in all_phones if not suppression.reason(p, "sms")]  # never text an opt-out
    if channel is not None and channel not in ("email", "sms"):
        raise ValidationFailed("Unknown channel.", {"channel": "email or sms"})
    if channel == "email" and all_emails and not emails:
        raise ValidationFailed("The customer's email address is suppressed (bounce or complaint).",
                               {"channel": "email is suppressed for this customer"})
    if channel == "sms" and all_phones and not phones:
        raise _cannot_text(all_phones, emails)
    if channel is None:
        # an opted-out number never makes the default: the reply goes by email when the
        # customer has a usable address (docs/channels.md)
        channel = routes.channel_for(ticket.channel, emails, phones, ticket.contact)
    recipient = routes.address_on(emails if channel == "email" else phones, ticket.contact)
    if recipient:
        return channel, recipient
    if all_phones and not phones:  # nothing usable left, and the number said STOP
        raise _cannot_text(all_phones, emails)
    if all_emails and not emails:
        raise ValidationFailed(
            "The customer's email address is suppressed (bounce or complaint) and there is no "
            "number to text.", {"channel": "email is suppressed for this customer"},
            details={"channels": []})
    raise ValidationFailed("The customer cannot be reached on that channel.",
                           {"channel": f"the customer has no {'email' if channel == 'email' else 'phone'}"},
                           details={"channels": [c for c, pool in (("email", emails), ("sms", phones))
                                                 if pool]})


def _cannot_text(numbers: list[str], emails: list[str]) -> ValidationFailed:
    """Why an SMS reply cannot go, saying since when (in the business time zone) and which
    channels are left: the agent sees what to do next."""
    records = [r for r in (suppression.unsubscribed(n, "sms") for n in numbers) if r]
    opted = sorted((r for r in records if r.reason == "opt-out"), key=lambda r: r.at)
    left = ["email"] if emails else []
    then = "reply by email" if emails else "there is no email address to reply to"
    if opted:
        when = _business_time(opted[-1].at)
        message = f"the customer opted out of SMS on {when}; {then}"
        field = f"the customer's number opted out (STOP) on {when}"
    else:
        why = ", ".join(sorted({r.reason for r in records})) or "suppressed"
        message = f"the customer's number cannot receive SMS ({why}); {then}"
        field = f"the customer's number cannot receive SMS ({why})"
    return ValidationFailed(message[:1].upper() + message[1:] + ".", {"channel": field},
                            details={"channels": left})


def _business_time(at: str) -> str:
    """An instant as people at the business read it: '7 December 2026, 14:19 (Asia/Dhaka)'."""
    if not at:
        return "an unknown date"
    zone = clock.business_zone()
    when = clock.parse_iso(at).astimezone(zone)
    return f"{when.day} {when:%B %Y}, {when:%H:%M} ({zone.key})"


def _unsuppressed_route(ticket: Ticket, customer: Customer | None,
                        channel: Any) -> tuple[str, str] | None:
    """The route `_reply_route` picks when none of the customer's addresses is suppressed
    (the same choice, without reading suppressions); None when that would be an error."""
    emails, phones = routes.addresses(customer)
    if channel is None:
        channel = routes.channel_for(ticket.channel, emails, phones, ticket.contact)
    recipient = routes.address_on({"email": emails, "sms": phones}.get(channel) or [],
                                  ticket.contact)
    return (channel, recipient) if recipient else None


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


def _uid() -> str:
    return new_id("m")
