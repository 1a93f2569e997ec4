"""Automatic notices to a customer (check-in, pending reminder, a manager's decision), on the
customer's own channel first: the ticket's channel, then the other one, skipping suppressed
addresses and opted-out numbers. Composed as queued timeline messages (the outbox sends them).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib import config, ids
from chalicelib.db import timeline
from chalicelib.db.models import Customer, Ticket, TimelineItem
from chalicelib.services.messaging import (
    links,
    outbound,
    reply_address,
    routes,
    suppression,
    templates,
)


def compose(ticket: Ticket, now: datetime, *, kind: str, event: str, **context: Any
            ) -> tuple[list[TimelineItem], str | None]:
    """A queued notice of `kind` (templates email/<kind>.* and sms/<kind>.*) and
    `<event>.sent`, or only `<event>.skipped` when no route is usable; also the channel used."""
    try:
        customer = Customer.get(ticket.customer_id)
    except Customer.DoesNotExist:
        customer = None
    found = route(ticket, customer)
    if found is None:
        return [timeline.event(ticket.id, now, f"{event}.skipped", data={
            "reason": "no reachable email or phone"})], None
    fields = message_fields(ticket, customer, *found, kind=kind, **context)
    return [timeline.message(ticket.id, now, seq=0, **fields),
            timeline.event(ticket.id, now, f"{event}.sent", seq=1, data={
                "message": fields["message_uid"], "channel": found[0]})], found[0]


def message_fields(ticket: Ticket, customer: Customer | None, channel: str, recipient: str, *,
                   kind: str, **context: Any) -> dict[str, Any]:
    context = {"business": config.settings().support_name,
               "name": customer.name if customer else "", "ref": ticket.ref,
               "subject": ticket.subject,
               "status_url": links.status_url(ticket.id, ticket.ref),
               "unsubscribe_url": links.unsubscribe_url(recipient, ticket.lang)
               if channel == "email" else None, **context}
    uid = ids.new_id("m")
    fields: dict[str, Any] = {"message_uid": uid, "direction": "out", "kind": kind,
                              "status": "queued", "channel": channel, "recipient": recipient,
                              "lang": ticket.lang}
    if channel == "email":
        subject, text, html = templates.render_email(kind, ticket.lang, **context)
        fields.update(subject=subject, body=text, html=html,
                      message_id=outbound.email_message_id(uid),
                      reply_to=reply_address.address(ticket.ref))
    else:
        text = templates.render(f"sms/{kind}.{ticket.lang}.txt", **context).strip()
        fields.update(body=text, **outbound.sms_fields(text))
    return fields


def route(ticket: Ticket, customer: Customer | None) -> tuple[str, str] | None:
    """(channel, address) to reach the customer, or None."""
    emails, phones = routes.addresses(customer)
    return routes.choose(ticket.channel, [e for e in emails if not suppression.reason(e, "email")],
                         [p for p in phones if not suppression.reason(p, "sms")],
                         ticket.contact)
