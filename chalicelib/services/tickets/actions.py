"""Ticket actions beyond a field change: take, merge, split (routes: api/tickets.py).

take   The caller becomes the assignee. A ticket assigned to someone else is a 409 unless a
       lead or admin sends `force`; taking one's own ticket again changes nothing.

merge  Ticket S (the source) goes into ticket T (the target), as in Zendesk/Freshdesk:
       1. S's whole timeline is copied onto T's. A copy's sort key is its original's plus
          `#<S id>`, so it sorts among T's own items by when it happened, and a merge retried
          after a crash half-way writes the very same items again (puts of identical items:
          never a duplicate). Each copy carries `origin` {ticket, ref, sk, via: "merge"}; a
          copy of a message still queued at merge time says status `copied` (the original on S
          is the one that is sent: a copy must never go out a second time).
       2. One transaction, conditional on both tickets' versions: S closed (timers stopped,
          like any close) with `merged_into` = T and a `ticket.merged_into` event; T's
          `merged_from` gains S and T gets a `ticket.merged` event naming both customers;
          the audit entry. A race re-runs both steps (copies are idempotent); if the merge
          finally fails, the copies it wrote are removed again.
       Rules: not into itself (422); not a ticket already merged elsewhere, not into a merged
       or closed ticket, not a ticket others were merged into (409: merge the other way round),
       so `merged_into` is always one hop, which inbound replies follow
       (work.record_inbound). Tickets of different customers need `force` from a lead or
       admin (422 / 403): the target's customer would see the source customer's messages on
       the status page. Merging S into T again answers the merged state (idempotent).

split  An inbound customer message becomes a new ticket of the same customer, department,
       priority and channel (the message's), with a fresh SLA from now under the policy those
       select, like any new ticket (ref, search words, customer's ticket count). The original
       gets `ticket.split` and the message `split_to`; the new ticket's copy of the message
       carries `origin`. All in one transaction with the marker `split#<ticket>#<message>`
       (keys table, → new ticket id), so a retried split answers the same new ticket.
"""
from __future__ import annotations

import logging
from typing import Any

from chalicelib import clock, ids, observability
from chalicelib.db import keys, timeline
from chalicelib.db.connection import Cancelled, Transaction
from chalicelib.db.models import Customer, Key, Ticket, TimelineItem
from chalicelib.db.values import as_dict
from chalicelib.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from chalicelib.services.followup import decisions
from chalicelib.services.sla import calendars, rules
from chalicelib.services.sla import store as policies
from chalicelib.services.team import agents, audit
from chalicelib.services.tickets import lifecycle, search
from chalicelib.services.tickets import store as ticket_store
from chalicelib.services.tickets.store import retry_on_race, save
from chalicelib.services.tickets.views import summary

log = logging.getLogger("setu.ticket_actions")

MAX_SUBJECT = 200


# ---- take ----------------------------------------------------------------------------------

def take(ticket_id: str, agent: agents.AgentView, body: dict[str, Any]) -> dict[str, Any]:
    options = _options(body, force=bool, version=int)
    return _take(ticket_id, agent, bool(options.get("force")), options.get("version"))


@retry_on_race
def _take(ticket_id: str, agent: agents.AgentView, force: bool, version: int | None) -> dict:
    ticket = ticket_store.load_open_to_change(ticket_id, agent)
    _check_version(ticket, version)
    me, previous = agent.principal, ticket.assignee
    if previous == me:
        return summary(ticket)  # already mine: nothing to write
    if previous:
        if not force:
            raise Conflict(f"Ticket #{ticket.ref} is assigned to someone else; a lead or admin "
                           "can take it over with force.", {"assignee": previous})
        if not agent.has_role("lead"):
            raise Forbidden("Taking over someone else's ticket needs the lead role.")
    now = clock.now()
    ticket.assignee = me
    data = {"from": previous, "to": me, "taken": True, **({"forced": True} if previous else {})}
    event = timeline.event(ticket.id, now, "ticket.assigned", actor=me, seq=0, data=data)
    save(ticket, [event], now, lambda tx: audit.add(
        tx, me, "ticket.taken", f"ticket:{ticket.id}", at=now,
        before={"assignee": previous}, after={"assignee": me}, about=ticket))
    return summary(ticket)


# ---- merge ---------------------------------------------------------------------------------

def merge(source_id: str, agent: agents.AgentView, body: dict[str, Any]) -> dict[str, Any]:
    options = _options(body, into=str, version=int, force=bool)
    into = (options.get("into") or "").strip()
    if not into:
        raise ValidationFailed("Name the ticket to merge into.", {"into": "a ticket id or ref"})
    written: list[TimelineItem] = []
    try:
        return _merge(source_id, into, agent, options.get("version"),
                      bool(options.get("force")), written)
    except Exception:  # refused (ApiError), lost a race, or DynamoDB failed: no stray copies
        try:
            _undo_copies(written)
        except Exception:  # noqa: BLE001 - the merge's own error is the one to answer
            log.exception("removing the copies of a failed merge failed; a retried merge "
                          "rewrites the same items and completes")
        raise


@retry_on_race
def _merge(source_id: str, into: str, agent: agents.AgentView, version: int | None,
           force: bool, written: list[TimelineItem]) -> dict[str, Any]:
    source = ticket_store.load(source_id, agent)
    try:
        target = ticket_store.load(into, agent)  # out of scope: as if there were none
    except NotFound:
        raise ValidationFailed("There is no ticket to merge into.",
                               {"into": "no such ticket"}) from None
    if source.id == target.id:
        raise ValidationFailed("A ticket cannot be merged into itself.",
                               {"into": "another ticket than this one"})
    if source.merged_into == target.id:  # done before (a retried request)
        return _merged(source, target, copied=0)
    if source.merged_into:
        ticket_store.load_open_to_change(source.id)  # answers the 409 that says where it went
    if target.merged_into:
        raise Conflict(f"Ticket #{target.ref} was itself merged into another ticket; merge "
                       "into that one.", {"into": f"merged into {target.merged_into}"})
    if source.merged_from:
        raise Conflict(f"Other tickets were merged into #{source.ref}; merge #{target.ref} "
                       f"into #{source.ref} instead.", {"into": "merge the other way round"})
    if target.status == "closed":
        raise Conflict(f"Ticket #{target.ref} is closed; reopen it first or merge the other "
                       "way round.", {"into": "a closed ticket"})
    _check_version(source, version)
    customers = sorted({source.customer_id, target.customer_id})
    if len(customers) > 1:
        if not force:
            raise ValidationFailed(
                "The tickets belong to different customers; a lead or admin can merge them "
                "with force.", {"into": "another customer's ticket"})
        if not agent.has_role("lead"):
            raise Forbidden("Merging tickets of different customers needs the lead role.")

    copies = [_copy(item, source, target) for item in
              TimelineItem.query(source.id, scan_index_forward=True, consistent_read=True)]
    _write_copies(copies)
    written[:] = copies

    now, me = clock.now(), agent.principal
    before = {"status": source.status, "merged_into": None}
    items = [timeline.event(source.id, now, "ticket.merged_into", actor=me, seq=0, data={
        "into": target.id, "ref": target.ref, "customer_id": target.customer_id,
        "copied": len(copies)})]
    if source.status != "closed":
        items.append(timeline.event(source.id, now, "ticket.status_changed", actor=me, seq=1,
                                    data={"from": source.status, "to": "closed",
                                          "reason": "merged"}))
        lifecycle.status_timers(source, source.status, "closed", now)
        source.status = "closed"

        items.extend(decisions.withdraw(source, me, now, seq=2))
    source.resolved_at = source.resolved_at or now
    source.merged_into = target.id
    target.merged_from = {*(target.merged_from or ()), source.id}
    target.updated_at = now
    ticket_store.refresh_queue_sort(target)
    merged_event = timeline.event(target.id, now, "ticket.merged", actor=me, seq=0, data={
        "from": source.id, "ref": source.ref, "customer_id": source.customer_id,
        "customers": customers, "copied": len(copies)})

    def writes(tx: Transaction) -> None:
        tx.save(target, label="ticket")  # conditional on the target's version too
        tx.save(merged_event, condition=TimelineItem.sk.does_not_exist(), label="timeline")
        audit.add(tx, me, "ticket.merged", f"ticket:{source.id}", at=now, before=before,
                  after={"status": "closed", "merged_into": target.id, "copied": len(copies),
                         "customers": customers}, about=source)

    save(source, items, now, writes)
    written.clear()  # committed: the copies are the target's now
    return _merged(source, target, copied=len(copies))


def _merged(source: Ticket, target: Ticket, *, copied: int) -> dict[str, Any]:
    return {"ticket": summary(target), "merged": summary(source), "copied": copied}


def copy_sort_key(sk: str, source_id: str) -> str:
    """The sort key of a copy on the target: deterministic, and ordered by the original's time."""
    return f"{sk}#{source_id}"


def _copy(item: TimelineItem, source: Ticket, target: Ticket) -> TimelineItem:
    values = {name: value for name, value in item.attribute_values.items()
              if name not in ("ticket_id", "sk", "origin")}
    if item.item_type == "message" and item.status == "queued":
        values["status"] = "copied"  # the original on the source is the one that goes out
    return TimelineItem(ticket_id=target.id, sk=copy_sort_key(item.sk, source.id), **values,
                        origin={"ticket": source.id, "ref": source.ref, "sk": item.sk,
                                "via": "merge"})


def _write_copies(copies: list[TimelineItem]) -> None:
    """BatchWriteItem, 25 puts a call (pynamodb retries unprocessed items). Plain puts of
    deterministic keys: writing the same copies again changes nothing."""
    if not copies:
        return
    with TimelineItem.batch_write() as batch:
        for copy in copies:
            batch.save(copy)


def _undo_copies(copies: list[TimelineItem]) -> None:
    """The merge failed after copying: remove the copies, unless someone else has merged the
    same two tickets meanwhile (then they are that merge's copies)."""
    if not copies:
        return
    source = ticket_store.find(as_dict(copies[0].origin)["ticket"])
    if source is not None and source.merged_into == copies[0].ticket_id:
        return
    with TimelineItem.batch_write() as batch:
        for copy in copies:
            batch.delete(copy)


# ---- split ---------------------------------------------------------------------------------

def split(ticket_id: str, agent: agents.AgentView, body: dict[str, Any]) -> tuple[dict, bool]:
    """(result, created): `created` is False when this message was split off before."""
    options = _options(body, message=str, subject=str)
    uid = (options.get("message") or "").strip()
    errors = {}
    if not uid or len(uid) > 64:
        errors["message"] = "the id of a message on the ticket"
    subject = " ".join((options.get("subject") or "").split())
    if "subject" in options and not subject:
        errors["subject"] = "text, or leave it out"
    elif len(subject) > MAX_SUBJECT:
        errors["subject"] = f"at most {MAX_SUBJECT} characters"
    if errors:
        raise ValidationFailed("Invalid split.", errors)
    return _split(ticket_id, agent, uid, subject)


@retry_on_race
def _split(ticket_id: str, agent: agents.AgentView, uid: str, subject: str) -> tuple[dict, bool]:
    original = ticket_store.load(ticket_id, agent)
    done = _split_before(original.id, uid)
    if done:
        return _split_result(original, done), False
    message = _message(original.id, uid)
    now, me = clock.now(), agent.principal
    new = _new_ticket(original, message, subject, now)
    copy = timeline.message(new.id, message.at, seq=1, **{
        name: value for name, value in message.attribute_values.items()
        if name not in ("ticket_id", "sk", "item_type", "at", "origin", "split_to",
                        "message_uid")})
    copy.sk = timeline.sort_key(now, 1)  # after ticket.created, at the time it was written
    copy.message_uid = ids.new_id("m")
    copy.origin = {"ticket": original.id, "ref": original.ref, "sk": message.sk, "via": "split"}
    opened = timeline.event(new.id, now, "ticket.created", actor=me, seq=0, data={
        "ref": new.ref, "channel": new.channel, "department": new.department,
        "split_from": {"ticket": original.id, "ref": original.ref, "message": uid}})
    event = timeline.event(original.id, now, "ticket.split", actor=me, seq=0, data={
        "message": uid, "ticket": new.id, "ref": new.ref})

    def writes(tx: Transaction) -> None:
        tx.save(Key(pk=keys.split_pk(original.id, uid), sk=keys.NO_SORT, target=new.id,
                    data={"ticket": original.id, "message": uid, "ref": new.ref}),
                condition=Key.pk.does_not_exist(), label="extra")
        tx.save(new, condition=Ticket.id.does_not_exist(), label="new-ticket")
        tx.save(Key(pk=keys.ref_pk(new.ref), sk=keys.NO_SORT, target=new.id),
                condition=Key.pk.does_not_exist(), label="ref")
        for item in (opened, copy):
            tx.save(item, condition=TimelineItem.sk.does_not_exist(), label="timeline")
        for word in search.words(new.subject):
            tx.save(Key(pk=keys.word_pk(word), sk=new.id, target=new.id), label="word")
        for word in new.name_words or ():
            tx.save(Key(pk=keys.name_pk(word), sk=keys.name_sk(word, new.id), target=new.id),
                    label="name")
        tx.update(Customer(id=new.customer_id), actions=[Customer.ticket_count.add(1)],
                  condition=Customer.id.exists(), label="customer")
        tx.update(TimelineItem(ticket_id=original.id, sk=message.sk),
                  actions=[TimelineItem.split_to.set({"ticket": new.id, "ref": new.ref})],
                  condition=TimelineItem.sk.exists(), label="timeline")
        audit.add(tx, me, "ticket.split", f"ticket:{original.id}", at=now,
                  after={"message": uid, "ticket": new.id, "ref": new.ref}, about=original)

    try:
        save(original, [event], now, writes)
    except Cancelled as exc:
        done = _split_before(original.id, uid) if "extra" in exc.labels else None
        if not done:
            raise
        return _split_result(ticket_store.load(original.id), done), False  # split at the same time
    observability.count("TicketsCreated", channel=new.channel)
    return {"ticket": summary(new), "original": summary(original)}, True


def _split_before(ticket_id: str, uid: str) -> str | None:
    try:
        return Key.get(keys.split_pk(ticket_id, uid), keys.NO_SORT, consistent_read=True).target
    except Key.DoesNotExist:
        return None


def _split_result(original: Ticket, new_id: str) -> dict[str, Any]:
    return {"ticket": summary(ticket_store.load(new_id)), "original": summary(original)}


def _message(ticket_id: str, uid: str) -> TimelineItem:
    for item in TimelineItem.query(ticket_id, consistent_read=True):
        if item.item_type == "message" and item.message_uid == uid:
            break
    else:
        raise ValidationFailed("No such message on this ticket.",
                               {"message": "the id of a message on this ticket"})
    if item.direction != "in":
        raise ValidationFailed("Only a customer's message can be split off.",
                               {"message": "not a message from the customer"})
    if item.status == "held":
        raise ValidationFailed("This message was held: it did not come from the ticket's "
                               "customer.", {"message": "a held message"})
    if item.origin is not None:
        origin = as_dict(item.origin)
        raise ValidationFailed(f"This message is a copy from #{origin.get('ref')}; split it "
                               "there.", {"message": "a copy from another ticket"})
    return item


def _new_ticket(original: Ticket, message: TimelineItem, subject: str, now) -> Ticket:
    """The same customer, department, priority and channel; a fresh SLA from now."""

    policy = policies.policy_for(original.department, original.priority)
    calendar = policies.find_calendar(policy.calendar) or calendars.ALWAYS
    channel = message.channel if message.channel in ticket_store.CHANNELS else original.channel
    ticket = Ticket(
        id=ids.new_id("t"), ref=keys.next_ticket_ref(),
        subject=subject or _subject(message) or original.subject, status="new",
        priority=original.priority, department=original.department, channel=channel,
        lang=message.lang or original.lang, customer_id=original.customer_id,
        created_at=now, updated_at=now,
        sla={"policy": policy.name, "calendar": policy.calendar, "breached": [], "paused": False},
        timers={}, name_words=set(original.name_words or ()) or None)
    for target in ("first_response", "resolution"):
        rules.arm_target(ticket, target, policy, calendar, now)
    ticket_store.refresh_queue_sort(ticket)
    return ticket


def _subject(message: TimelineItem) -> str:
    if message.subject and message.subject.strip():
        return " ".join(message.subject.split())[:MAX_SUBJECT]
    words = " ".join((message.body or "").split())
    return (words[:80] + "…") if len(words) > 80 else words


# ---- shared --------------------------------------------------------------------------------

def _options(body: dict[str, Any], **types: type) -> dict[str, Any]:
    """The body's fields: unknown ones are a 400, values of the wrong type a 422."""
    unknown = {k: "unknown field" for k in body if k not in types}
    if unknown:
        raise BadRequest("Unknown fields.", unknown)
    errors = {}
    for name, kind in types.items():
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            errors[name] = {bool: "true or false", int: "an integer", str: "text"}[kind]
    if errors:
        raise ValidationFailed("Invalid request.", errors)
    return {k: v for k, v in body.items() if v is not None}


def _check_version(ticket: Ticket, version: int | None) -> None:
    if version is not None and version != ticket.version:
        raise Conflict("The ticket changed since you read it; reload and try again.",
                       {"version": f"current version is {ticket.version}"})

