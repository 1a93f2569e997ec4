"""When an automatic notice cannot reach the customer on one channel, the other one.

A send that fails at the provider, and a bounce or complaint about a sent notice, queue the
same notice (acknowledgement or check-in) on the customer's other channel, if they have an
address there that is not suppressed or opted out. The new message records the chain
(`fallback: [{"channel", "failed"}]`) and the timeline gets `message.fallback`. Agent replies
are not rerouted: the agent sees the failure and chooses.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib import clock, config
from chalicelib.db import timeline
from chalicelib.db.connection import Transaction
from chalicelib.db.models import Customer, Ticket, TimelineItem
from chalicelib.services.followup import checkin
from chalicelib.services.messaging import outbound, routes, suppression
from chalicelib.services.team import departments

REROUTED_KINDS = ("ack", "followup")
OTHER = {"email": "sms", "sms": "email"}


def queue(tx: Transaction, item: TimelineItem, reason: str) -> bool:
    """Add the rerouted notice to `tx`; False when there is nowhere else to send it."""
    if item.kind not in REROUTED_KINDS or len(item.fallback or []) >= 1:
        return False  # one hop only: email → SMS or SMS → email, never back again
    try:
        ticket = Ticket.get(item.ticket_id)
        customer = Customer.get(ticket.customer_id)
    except (Ticket.DoesNotExist, Customer.DoesNotExist):
        return False
    channel = OTHER.get(item.channel or "")
    emails, phones = routes.addresses(customer)
    pool = emails if channel == "email" else phones
    recipient = routes.address_on([a for a in pool if not suppression.reason(a, channel)],
                                  ticket.contact)
    if not channel or recipient is None:
        return False
    now = clock.now()
    fields = _compose(item, ticket, customer, channel, recipient, now)
    fields["fallback"] = [{"channel": item.channel, "failed": reason[:200]}]
    tx.save(timeline.message(ticket.id, now, **fields))
    tx.save(timeline.event(ticket.id, now, "message.fallback", data={
        "message": item.message_uid, "to_message": fields["message_uid"],
        "from_channel": item.channel, "to_channel": channel, "reason": reason[:200]}))
    return True


def _compose(item: TimelineItem, ticket: Ticket, customer: Customer, channel: str,
             recipient: str, now: datetime) -> dict[str, Any]:
    if item.kind == "followup":

        return checkin.message_fields(ticket, customer, channel, recipient)
    return outbound.acknowledgement(
        ticket, channel=channel, recipient=recipient, name=customer.name or "", message="",
        links=departments.links(ticket.department, ticket.lang, config.settings().public_url))
