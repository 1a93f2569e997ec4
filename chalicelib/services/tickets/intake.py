"""Turning a contact (web form, email, SMS) into a new ticket, in one DynamoDB transaction.

Calls on the create path: ref counter (UpdateItem), identity lookup (BatchGetItem), and one
TransactWriteItems holding the rate-limit window, the ticket, its ref, the customer and its
identities, the first timeline entries (including the queued acknowledgement) and the search
words. Everything or nothing is written. The acknowledgement is sent, and the SLA timers
started, by the stream handlers after the commit (services/messaging/dispatch.py, services/sla/timers.py).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Callable

from chalicelib import clock, config, ids, observability
from chalicelib.db import keys, timeline
from chalicelib.db.connection import Cancelled, Transaction, transaction
from chalicelib.db.models import Key, Ticket
from chalicelib.db.values import as_dict
from chalicelib.errors import Conflict, RateLimited, ValidationFailed
from chalicelib.integrations import storage
from chalicelib.services.customers import identities as customers
from chalicelib.services.messaging import outbound, routes
from chalicelib.services.portal.webform import WebContact
from chalicelib.services.sla import calendars, rules
from chalicelib.services.sla import policy as sla
from chalicelib.services.sla import store as policies
from chalicelib.services.team import departments
from chalicelib.services.tickets import search
from chalicelib.services.tickets import store as ticket_store


@dataclass
class Created:
    id: str
    ref: str
    status: str
    due_at: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ref": self.ref, "status": self.status, "due_at": self.due_at}


@dataclass
class Arrival:
    """How a contact arrived, beyond what the person wrote (channel-specific parts)."""

    channel: str  # web | email | sms
    rate_limit: tuple[str, int] | None = None  # (key pk, posts per hour)
    source_ip: str | None = None  # a web form's sender: SMS acknowledgements per IP are capped
    message_fields: dict[str, Any] = field(default_factory=dict)  # e.g. message_id, raw_key
    acknowledge: bool = True
    ack_suppressed: str | None = None  # reason: the ack is recorded as `suppressed`, not sent
    # more writes that must land with the ticket or not at all (dedupe markers, thread keys);
    # called with the transaction and the new ticket's id
    extra_writes: Callable[[Transaction, str], None] | None = None
    event_data: dict[str, Any] = field(default_factory=dict)
    # set when an agent starts the conversation: `contact.message` is the agent's first
    # message, sent on `channel`; the ticket waits for the customer (pending)
    agent: str | None = None
    # who the agent-started ticket is assigned to (the starting agent unless they named
    # another; None leaves it unassigned): a `ticket.assigned` event in the same write
    assignee: str | None = None
    priority: str = "normal"  # as routing decided (services/team/routing.py)


def create_from_web(contact: WebContact, source_ip: str) -> Created:
    limit = config.settings().form_limit_per_hour
    from chalicelib.services.team import (
        routing,  # deferred: cold start (not on the app's import path)
    )

    department, priority = routing.route(routing.Contact(
        channel="web", department=contact.department, form_department=contact.department,
        subject=contact.subject, body=contact.message))
    ticket = create(replace(contact, department=department), Arrival(
        channel="web", priority=priority, source_ip=source_ip,
        rate_limit=(keys.rate_pk("form", source_ip), limit) if limit > 0 else None))
    return Created(id=ticket.id, ref=ticket.ref, status=ticket.status,
                   due_at=as_dict(ticket.sla).get("first_response_due"))


def create(contact: WebContact, arrival: Arrival, *, ticket_id: str | None = None,
           message_uid: str | None = None, at: datetime | None = None) -> Ticket:
    """A new ticket for `contact`, opened at `at` (the provider's timestamp; default now);
    attachments go to S3 first and are removed again if the transaction does not commit.
    Raises RateLimited, Conflict or Cancelled("extra")."""
    now = at or clock.now()
    policy = policies.policy_for(contact.department, arrival.priority)
    ref = keys.next_ticket_ref()
    ticket_id = ticket_id or ids.new_id("t")
    observability.bind_ticket(ticket_id)
    message_uid = message_uid or ids.new_id("m")
    attachments: list[dict[str, Any]] = []
    try:
        for n, upload in enumerate(contact.attachments):
            attachments.append(store_attachment(ticket_id, message_uid, n, upload))
        return _open(contact, arrival, ticket_id, message_uid, attachments, ref, now, policy)
    except Exception:
        # Nothing was committed: remove what we stored so no orphan outlives the request.
        storage.delete_quietly([a["key"] for a in attachments])
        raise


def _open(contact: WebContact, arrival: Arrival, ticket_id: str, message_uid: str,
          attachments: list[dict[str, Any]], ref: str, now: datetime, policy: sla.Policy) -> Ticket:
    calendar = policies.find_calendar(policy.calendar) or calendars.ALWAYS

    ticket = Ticket(
        id=ticket_id, ref=ref, subject=contact.subject,
        status="pending" if arrival.agent else "new", priority=arrival.priority,
        first_response_at=now if arrival.agent else None,
        assignee=arrival.assignee if arrival.agent else None,
        department=contact.department, channel=arrival.channel, lang=contact.lang,
        created_at=now, updated_at=now,
        sla={"policy": policy.name, "calendar": policy.calendar, "breached": [], "paused": False},
        timers={}, name_words=set(search.name_words(contact.name)) or None,
    )
    # we spoke first when an agent starts it: no first response to wait for
    for target in (("resolution",) if arrival.agent else ("first_response", "resolution")):
        rules.arm_target(ticket, target, policy, calendar, now)
    ticket_store.refresh_queue_sort(ticket)

    # at most three tries: one more after another request claimed an identity, one more
    # after finding the owner merged away (below)
    retried_identity, merged, capped = False, dict[str, str](), dict[str, str]()
    while True:
        plan = customers.plan(contact.email, contact.phone, merged=merged,
                              link_new=bool(arrival.agent),
                              proves=arrival.channel if arrival.channel in ("email", "sms") else None)
        plan.suppressed.update(capped)
        ticket.customer_id = plan.customer_id
        items = _timeline(ticket, contact, arrival, message_uid, attachments, now, plan)
        try:
            _commit(ticket, plan, items, contact, arrival, now)
            break
        except Cancelled as exc:
            failed = exc.labels
            # an acknowledgement cap was reached: the ticket is still created, its ack goes
            # by the other channel or is recorded `suppressed` with the reason
            cap = next((label for label in failed if label.startswith("cap:")), None)
            if cap and "rate" not in failed and len(capped) < 2:
                _, channel, why = cap.split(":", 2)
                capped[channel] = why
                observability.count("AckCapped", channel=channel, cap=why.split(" ")[0])
                continue
            if "rate" in failed:
                raise RateLimited("Too many requests from this address; try again later.",
                                  headers={"Retry-After": str(_seconds_to_next_hour(now))})
            # Another request claimed one of this person's identities between our lookup and
            # commit: look again (it now points at the customer that request created).
            if not retried_identity and "identity" in failed:
                retried_identity = True
                continue
            # The identities' owner was merged away, and the merge has not re-pointed them yet
            # (it stopped after its first step, or is under way): the survivor takes the
            # ticket. One hop only; the survivor's own condition still holds in the retry.
            if not merged and not plan.is_new and "customer" in failed and "extra" not in failed:
                survivor = customers.survivor_of(plan.customer_id)
                if survivor:
                    merged = {plan.customer_id: survivor}
                    continue
            if "extra" in failed:
                raise  # the caller's own condition (e.g. already processed): theirs to judge
            raise Conflict("The ticket could not be saved because of a concurrent change; "
                           "send it again.") from exc
    observability.count("TicketsCreated", channel=arrival.channel)
    return ticket


def store_attachment(ticket_id: str, message_uid: str, n: int, upload) -> dict[str, Any]:
    key = f"attachments/{ticket_id}/{message_uid}/{n}"
    storage.put_attachment(key, upload.data, upload.content_type, upload.filename)
    return {"filename": upload.filename, "content_type": upload.content_type,
            "size": upload.size, "key": key,
            "sha256": hashlib.sha256(upload.data).hexdigest()}


def _timeline(ticket: Ticket, contact: WebContact, arrival: Arrival, message_uid: str,
              attachments: list[dict[str, Any]], now: datetime,
              plan: customers.CustomerPlan) -> list:
    if arrival.agent:
        return _agent_opening(ticket, contact, arrival, now, plan.suppressed)
    sender = contact.email or contact.phone
    # the conversation's own address: where the customer wrote from (mail, SMS), else the
    # form's address that belongs to the customer (services/messaging/routes.py)
    if arrival.channel in ("email", "sms"):
        ticket.contact = sender
    else:
        ticket.contact = (routes.choose(arrival.channel, *plan.pools()) or (None, None))[1]
    channel = arrival.channel
    items = [
        timeline.event(ticket.id, now, "ticket.created", actor="customer", seq=0,
                       data={"ref": ticket.ref, "channel": channel,
                             "department": ticket.department, **arrival.event_data}),
        timeline.message(ticket.id, now, seq=1, **{
            "message_uid": message_uid, "direction": "in", "channel": channel,
            "kind": "message", "status": "received", "body": contact.message,
            "subject": contact.subject, "sender": sender, "attachments": attachments or None,
            "lang": contact.lang, **arrival.message_fields}),
        timeline.event(ticket.id, now, "message.received", actor="customer", seq=2,
                       data={"message": message_uid, "channel": channel}),
    ]
    if plan.unlinked:  # typed into the form, not linked: the agent decides (merge, add)
        items.append(timeline.event(ticket.id, now, "identity.unlinked", actor="customer",
                                    seq=5, data={"addresses": plan.unlinked}))
    if arrival.acknowledge:
        ack, problem = _acknowledgement(ticket, contact, arrival, plan)
        if ack is not None:
            items.append(timeline.message(ticket.id, now, seq=3, **ack))
            if problem:
                items.append(timeline.event(ticket.id, now, "ack.template_failed", seq=4,
                                            data=problem))
    return items


def _agent_opening(ticket: Ticket, contact: WebContact, arrival: Arrival, now: datetime,
                   suppressed: dict[str, str]) -> list:
    channel = arrival.channel
    recipient = contact.email if channel == "email" else contact.phone
    if channel in suppressed:
        raise ValidationFailed("The customer cannot be reached on that channel.",
                               {"channel": f"{channel} is suppressed: {suppressed[channel]}"})
    ticket.contact = recipient
    fields = outbound.reply(ticket, channel=channel, recipient=recipient, body=contact.message,
                            author=arrival.agent)
    items = [
        timeline.event(ticket.id, now, "ticket.created", actor=arrival.agent, seq=0,
                       data={"ref": ticket.ref, "channel": channel, "started_by": "agent",
                             "department": ticket.department}),
        timeline.message(ticket.id, now, seq=1, **fields),
    ]
    if ticket.assignee:
        items.append(timeline.event(ticket.id, now, "ticket.assigned", actor=arrival.agent,
                                    seq=2, data={"from": None, "to": ticket.assignee}))
    return items


def _acknowledgement(ticket: Ticket, contact: WebContact, arrival: Arrival,
                     plan: customers.CustomerPlan
                     ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the ack, a template problem): on the channel the customer used; the other one when
    that address bounced, complained or opted out; recorded `suppressed` (not sent) when
    neither can be used. In the department's own words when an admin wrote a template
    (services/authoring/macros.py); a broken one leaves the built-in text, and the problem is
    put on the timeline."""
    suppressed, reachable = plan.suppressed, plan.reachable
    usable = routes.choose(arrival.channel, *plan.pools(skip=suppressed))
    chosen = usable or routes.choose(arrival.channel, *plan.pools())
    if chosen is None:
        return None, None
    channel, address = chosen
    from chalicelib.services.authoring import macros  # deferred: cold start

    echo = channel in plan.proven  # else nothing typed is repeated to that address
    text, problem = macros.custom_ack(ticket, channel=channel, recipient=address,
                                      name=contact.name, message=contact.message, echo=echo)
    ack = outbound.acknowledgement(
        ticket, channel=channel, recipient=address, name=contact.name, message=contact.message,
        links=departments.links(ticket.department, ticket.lang, config.settings().public_url),
        in_reply_to=arrival.message_fields.get("message_id") if arrival.channel == "email" else None,
        text=text, echo=echo)
    skipped = {c: suppressed[c] for c in reachable if c in suppressed}
    if skipped:
        ack["fallback"] = [{"channel": c, "skipped": why} for c, why in skipped.items()]
    block = arrival.ack_suppressed or (
        f"{channel} suppressed: {suppressed[channel]}" if not usable else None)
    if block:
        ack.update(status="suppressed", error=block)
    return ack, problem


def _commit(ticket: Ticket, plan: customers.CustomerPlan, items: list, contact: WebContact,
            arrival: Arrival, now: datetime) -> None:
    """Everything about a new ticket in one transaction; raises Cancelled naming the
    conditions that failed ("rate", "ref", "identity", "extra", ...)."""
    with transaction() as tx:
        if arrival.rate_limit:
            rate_pk, limit = arrival.rate_limit
            window = now.strftime("%Y%m%d%H")
            tx.update(Key(pk=rate_pk, sk=window),
                      actions=[Key.value.add(1),
                               Key.expires_at.set(int((now + timedelta(hours=2)).timestamp()))],
                      condition=Key.value.does_not_exist() | (Key.value < limit), label="rate")
        tx.save(ticket, condition=Ticket.id.does_not_exist(), label="ticket")
        tx.save(Key(pk=keys.ref_pk(ticket.ref), sk=keys.NO_SORT, target=ticket.id),
                condition=Key.pk.does_not_exist(), label="ref")
        plan.add_to(tx, name=contact.name, lang=contact.lang, now=now)
        for item in items:
            tx.save(item, condition=type(item).sk.does_not_exist(), label="timeline")
        for word in search.words(ticket.subject):
            tx.save(Key(pk=keys.word_pk(word), sk=ticket.id, target=ticket.id), label="word")
        for word in ticket.name_words or ():
            tx.save(Key(pk=keys.name_pk(word), sk=keys.name_sk(word, ticket.id), target=ticket.id),
                    label="name")
        _count_ack(tx, items, arrival, now)
        if arrival.extra_writes:
            arrival.extra_writes(tx, ticket.id)
        for item in items:
            if item.item_type == "message" and item.direction == "out":
                keys.index_message_id(tx, item.message_id, ticket.id)


def _count_ack(tx: Transaction, items: list, arrival: Arrival, now: datetime) -> None:
    """The acknowledgement about to be queued counts against its recipient's hourly cap (any
    channel) and, by SMS from the web form, against the sender's IP: over a cap the write is
    cancelled (label "cap:<channel>:<why>") and `create` tries again without that channel."""
    ack = next((i for i in items if i.item_type == "message" and i.kind == "ack"
                and i.status == "queued"), None)
    if ack is None:
        return
    current, window = config.settings(), now.strftime("%Y%m%d%H")
    caps = [(keys.rate_pk("ack", customers.address_key(ack.recipient)), current.ack_cap_per_hour,
             "acknowledgement cap per address")]
    if ack.channel == "sms" and arrival.channel == "web" and arrival.source_ip:
        caps.append((keys.rate_pk("sms-ip", arrival.source_ip), current.sms_cap_per_ip,
                     "SMS acknowledgement cap per sender"))
    expires = int((now + timedelta(hours=2)).timestamp())
    for pk, limit, why in caps:
        if limit > 0:
            tx.update(Key(pk=pk, sk=window), actions=[Key.value.add(1), Key.expires_at.set(expires)],
                      condition=Key.value.does_not_exist() | (Key.value < limit),
                      label=f"cap:{ack.channel}:{why}")


def _seconds_to_next_hour(now: datetime) -> int:
    return 3600 - (now.minute * 60 + now.second)
