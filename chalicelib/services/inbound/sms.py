"""Inbound SMS (AWS two-way SMS JSON on SNS): keywords, threading, and exactly-once recording.

Each inbound message ends in one recorded outcome, `inbound#sms#<inboundMessageId>` in the keys
table, written in the same transaction as its effect (a redelivery finds it and stops):

  created / appended   a new ticket, or a message on the ticket it belongs to: the ticket
                       whose ref it names ("#১২৩৪", "১০০১ নম্বর টিকেট", "ticket no. 1001")
                       or a bare number equal to one of this customer's refs, if it is this
                       customer's; else the conversation we last texted the number from;
                       else the customer's only open ticket, or with several the most
                       recently active one (the choice on the timeline); else a new one
  opted_out / opted_in STOP / START keywords (services/messaging/sms_text.py), recorded on the customer
                       (START/YES from a number that is not opted out is a message: "Yes"
                       answers our question and joins its ticket)
                       and shown on their tickets: the message and the event on the ticket
                       it answers, the event on their other open tickets (`_opt`)
  help                 HELP: the help text is sent back (even to an opted-out number: a reply
                       to HELP is allowed and expected by carriers)
  rejected             no usable number, empty body, not the two-way SMS shape: also a held
                       item (services/inbound/held.py) an admin can release or discard

The timeline orders messages by the provider's timestamp (the SNS envelope's), not by
arrival, since AWS does not guarantee delivery order.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock, config, ids, observability
from chalicelib.db import keys, timeline
from chalicelib.db.connection import Cancelled, Transaction, transaction
from chalicelib.db.models import Customer, Ticket, TimelineItem
from chalicelib.services.followup import checkin
from chalicelib.services.inbound import held, once, sms_refs
from chalicelib.services.messaging import outbound, sms_budget, suppression, templates
from chalicelib.services.messaging.channels import Sms
from chalicelib.services.portal.webform import WebContact
from chalicelib.services.team import routing
from chalicelib.services.tickets import intake, work
from chalicelib.services.tickets import store as ticket_store

log = logging.getLogger("setu.sms")

MAX_BODY = 1_600  # ten concatenated segments is the most carriers deliver; keep a little more
_BENGALI = re.compile(r"[\u0980-\u09FF]")
_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@dataclass
class InboundSms:
    provider_id: str
    origination: str  # E.164
    destination: str
    body: str
    at: datetime
    keyword: str | None
    texted_from: str | None = None  # the ticket we last sent an SMS to this number from

    @property
    def marker_data(self) -> dict[str, Any]:
        return {"from": self.origination, "at": clock.iso(self.at)}


def reject(provider_id: str, message: str, reason: str, *, sender: str = "", body: str = "") -> str:
    """Record an unusable notification (raw kept) under its id, with a held item an admin can
    release (when it has text) or discard; never raises for bad input."""
    log.warning("SMS %s rejected: %s", provider_id, observability.scrub(reason))
    item = held.Held(kind="sms", reason="unreadable_sms", detail=reason, sender=sender,
                     snippet=body[:held.SNIPPET], body=body)
    return held.record("sms-rejected", provider_id, "rejected", item, payload=message[:10_000],
                       at=clock.iso(clock.now()))


def receive(sms: InboundSms) -> str:
    if once.seen("sms", sms.provider_id):
        return "duplicate"
    if not sms.body:
        return held.record("sms", sms.provider_id, "rejected",
                           held.Held(kind="sms", reason="empty_message", detail="empty message",
                                     sender=sms.origination), **sms.marker_data)
    # who writes, which conversation we last texted them from, whether they opted out: one
    # BatchGetItem
    blocked_pk = suppression.pk(sms.origination, "sms")
    found = keys.lookup_items([keys.phone_pk(sms.origination), keys.texted_pk(sms.origination),
                               blocked_pk])
    owner = found.get(keys.phone_pk(sms.origination))
    customer_id = owner.target if owner is not None else None
    texted = found.get(keys.texted_pk(sms.origination))
    sms.texted_from = texted.target if texted is not None else None
    try:
        if sms.keyword == "opt_in" and blocked_pk not in found:
            # "Yes" / "start" from a number that never opted out answers a question (ours,
            # often): it joins its conversation like any message; with none, it is recorded
            ticket, how = _ticket_for(sms, customer_id)
            if ticket is not None:
                return _append(sms, ticket, how)
        if sms.keyword in ("opt_out", "opt_in"):
            return _opt(sms, customer_id, opt_out=sms.keyword == "opt_out")
        if sms.keyword == "help":
            return _help(sms, customer_id)
        ticket, how = _ticket_for(sms, customer_id)
        if ticket is not None:
            return _append(sms, ticket, how)
        return _create(sms, how)
    except Cancelled as exc:
        if "extra" in exc.labels:
            return "duplicate"
        raise


def _theirs(customer_id: str) -> list[Ticket]:
    """The customer's tickets (one Query on the customer index, at most 50)."""
    return list(Ticket.customer_index.query(customer_id, limit=50))


def _ticket_for(sms: InboundSms, customer_id: str | None,
                theirs: list[Ticket] | None = None) -> tuple[Ticket | None, dict[str, Any]]:
    """The ticket this message belongs to, as read (handed on to the write, saving a read),
    and how it was chosen (event data on the timeline, so an agent can see and move it):

    1. a ref the text names with a ticket word or '#' (services/inbound/sms_refs.py), when it
       is this customer's ticket; a ref of another customer's ticket is never followed;
    2. a bare number that is one of this customer's refs;
    3. the conversation we last texted this number from (`texted#<number>`, written when an
       SMS is sent: services/messaging/dispatch.py), when it is this customer's and still
       answerable: open, pending or resolved (an answer reopens it), or closed with a check-in
       waiting for the answer (`{"chosen": "last_texted"}`, with `candidates` when other
       tickets are open; as their only open ticket it is `only_open`): the customer answers
       the message they got, even when another ticket of theirs was active more recently;
    4. their only open ticket, or with several the most recently active one (recorded as
       `{"chosen": "most_recent", "candidates": [...]}`);
    5. nothing open: the closed ticket whose check-in waits for an answer."""
    if not customer_id:
        return None, {}
    theirs = _theirs(customer_id) if theirs is None else theirs
    by_ref = {t.ref: t for t in theirs}
    named = sms_refs.explicit(sms.body)[:5]  # a claim costs reads: the first few only
    for ref in named:
        if ref in by_ref:
            return by_ref[ref], {"chosen": "ref", "ref": ref}
    not_theirs = [ref for ref in named if ref not in by_ref]
    for ref in named:  # maybe newer than the (eventually consistent) index: read the ref
        ticket_id = ticket_store.id_for_ref(ref)
        ticket = ticket_store.find(ticket_id) if ticket_id else None
        if ticket is not None and ticket.customer_id == customer_id:
            return ticket, {"chosen": "ref", "ref": ref}
    ignored = {"ignored_refs": not_theirs[:5]} if not_theirs else {}
    for ref in sms_refs.numbers(sms.body):
        if ref in by_ref:
            return by_ref[ref], {"chosen": "own_ref", "ref": ref, **ignored}
    open_tickets = [t for t in theirs if t.status not in ticket_store.DONE and not t.merged_into]
    texted = _texted(sms, customer_id, theirs)
    others = [t for t in open_tickets if texted is not None and t.id != texted.id]
    if texted is not None and (others or texted.status in ticket_store.DONE):  # else: only_open
        return texted, {"chosen": "last_texted", **ignored, **({"candidates": [
            {"id": t.id, "ref": t.ref} for t in [texted, *others][:10]]} if others else {})}
    if len(open_tickets) == 1:
        return open_tickets[0], {"chosen": "only_open", **ignored}
    if open_tickets:
        newest = sorted(open_tickets, key=lambda t: t.updated_at, reverse=True)
        return newest[0], {"chosen": "most_recent", **ignored,
                           "candidates": [{"id": t.id, "ref": t.ref} for t in newest[:10]]}
    # nothing open: an answer to our check-in ("হ্যাঁ", "না", a score) belongs to that ticket
    asked = [t for t in theirs if t.status in ticket_store.DONE and checkin.pending(t)]
    return (asked[0], {"chosen": "checkin", **ignored}) if len(asked) == 1 else (None, ignored)


def _texted(sms: InboundSms, customer_id: str, theirs: list[Ticket]) -> Ticket | None:
    """The ticket we last texted this number from, if it is this customer's and answerable.
    Read from the customer's page of tickets, or (an agent just started it: the index may not
    show it yet) with one GetItem. A number that now belongs to another customer does not
    follow it: the carrier vouches for the number, the identity says whose it is."""
    if not sms.texted_from:
        return None
    ticket = next((t for t in theirs if t.id == sms.texted_from), None) \
        or ticket_store.find(sms.texted_from)
    if ticket is None or ticket.customer_id != customer_id:
        return None
    if ticket.status != "closed" or ticket.merged_into:
        return ticket  # merged: record_inbound follows it to the ticket it went into
    return ticket if checkin.pending(ticket) else None


def _create(sms: InboundSms, how: dict[str, Any]) -> str:
    words = " ".join(sms.body.split())
    department, priority = routing.route(routing.Contact(channel="sms", body=sms.body))
    contact = WebContact(message=sms.body, phone=sms.origination,
                         subject=(words[:60] + "…") if len(words) > 60 else words,
                         department=department, lang="bn" if _BENGALI.search(sms.body) else "en")
    intake.create(contact, intake.Arrival(
        channel="sms", priority=priority, message_fields=_fields(sms), event_data=how,
        extra_writes=lambda tx, ticket_id: _marker(tx, sms, "created", ticket_id=ticket_id)),
        at=sms.at)
    return "created"


def _append(sms: InboundSms, ticket: Ticket, how: dict[str, Any]) -> str:
    """`ticket` may come from the customer index (eventually consistent): record_inbound's
    write is conditional on its version and reads it again if it was stale."""
    ticket_id = ticket.id
    fields = {"message_uid": ids.new_id("m"), "channel": "sms", "kind": "message",
              "body": sms.body, "sender": sms.origination, **_fields(sms)}
    work.record_inbound(ticket_id, fields, held=False, automatic=False, event_data=how,
                           extra_writes=lambda tx: _marker(tx, sms, "appended", ticket_id=ticket_id),
                           at=sms.at, ticket=ticket)
    return "appended"


MAX_OPT_TICKETS = 20  # open tickets told of an opt-out in its one transaction (100 items)


def _opt(sms: InboundSms, customer_id: str | None, *, opt_out: bool) -> str:
    """STOP / START: the suppression, the customer's `opted_out.sms`, and where agents look:
    the keyword message and an `opted_out` / `opted_in` event on the ticket the message
    answers (threaded as any SMS is: a ref, the conversation we last texted from, the only
    or most recently active open ticket), and the event alone on the customer's other open
    tickets (at most MAX_OPT_TICKETS), all in one transaction with the once-marker: a
    redelivered STOP adds nothing. The ticket is not reopened and no reply clock starts:
    STOP asks for silence, not an answer."""
    outcome = "opted_out" if opt_out else "opted_in"
    now = clock.now()
    items = _opt_timeline(sms, customer_id, outcome) if customer_id else []
    with transaction() as tx:
        _marker(tx, sms, outcome, customer_id=customer_id,
                tickets=[i.ticket_id for i in items if i.item_type == "event"] or None)
        for item in items:
            tx.save(item, condition=TimelineItem.sk.does_not_exist(), label="timeline")
        if opt_out:
            suppression.add_to(tx, sms.origination, "opt-out", f"keyword {sms.body[:20]!r}", channel="sms")
        else:
            suppression.remove_from(tx, sms.origination, "sms")
        if customer_id:
            state = {"at": clock.iso(now), "source": f"sms keyword {sms.body[:20]}"}
            action = (Customer.opted_out["sms"].set(state) if opt_out
                      else Customer.opted_out["sms"].remove())
            tx.update(Customer(id=customer_id), actions=[action],
                      condition=Customer.id.exists(), label="customer")
    return outcome


def _opt_timeline(sms: InboundSms, customer_id: str, outcome: str) -> list[TimelineItem]:
    theirs = _theirs(customer_id)
    answered, how = _ticket_for(sms, customer_id, theirs)
    if answered is not None and answered.merged_into:
        answered = ticket_store.find(answered.merged_into)  # one hop, as replies go
    if answered is not None and answered.status == "closed" and not checkin.pending(answered):
        answered = None
    others = [t for t in theirs if t.status not in ticket_store.DONE and not t.merged_into
              and (answered is None or t.id != answered.id)]
    concerned = ([answered] if answered is not None else []) + others
    data = {"channel": "sms", "number": sms.origination, "keyword": sms.body[:20],
            "at": clock.iso(sms.at)}
    items: list[TimelineItem] = []
    for n, ticket in enumerate(concerned[:MAX_OPT_TICKETS]):
        if n == 0 and answered is not None:
            uid = ids.new_id("m")
            items.append(timeline.message(ticket.id, sms.at, **{
                "message_uid": uid, "direction": "in", "channel": "sms",
                "kind": "opt_out" if outcome == "opted_out" else "opt_in",
                # `recorded`, not `received`: on the record, not a contact the reports count
                "status": "recorded",
                "body": sms.body, "sender": sms.origination, **_fields(sms)}))
            event_data = {**data, "message": uid, **how}
        else:
            event_data = {**data, **({"ticket": answered.ref} if answered is not None else {})}
        items.append(timeline.event(ticket.id, sms.at + timedelta(milliseconds=1), outcome,
                                    actor="customer", data=event_data))
    return items


def _help(sms: InboundSms, customer_id: str | None) -> str:
    lang = "bn" if _BENGALI.search(sms.body) else "en"
    text = templates.render(f"sms/help.{lang}.txt", business=config.settings().support_name,
                            support=config.settings().support_address).strip()
    found = _ticket_for(sms, customer_id)[0] if customer_id else None
    reply_ticket = found.id if found is not None else None
    with transaction() as tx:
        _marker(tx, sms, "help", ticket_id=reply_ticket)
        if reply_ticket:  # recorded and sent from the ticket's timeline (the outbox)
            tx.save(timeline.message(reply_ticket, clock.now(), **{
                "message_uid": ids.new_id("m"), "direction": "out", "kind": "help",
                "status": "queued", "channel": "sms", "recipient": sms.origination,
                "body": text, **outbound.sms_fields(text)}))
    if not reply_ticket and not (sms_budget.destination_problem(sms.origination)
                                 or sms_budget.spend(sms.origination)):
        Sms.send_text(sms.origination, text)  # an unknown number: within the SMS budget only
    return "help"


def _marker(tx: Transaction, sms: InboundSms, outcome: str, **data: Any) -> None:
    once.mark(tx, "sms", sms.provider_id, outcome, **sms.marker_data,
              **{k: v for k, v in data.items() if v})


def _fields(sms: InboundSms) -> dict[str, Any]:
    return {"provider_id": sms.provider_id, **outbound.sms_fields(sms.body)}
