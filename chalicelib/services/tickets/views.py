"""A ticket as the agent API shows it: summary, customer, channel state, timeline entries.

Channel state (`channels`): for email and SMS, the customer's addresses, whether a reply can
use the channel, and why not (an SMS opt-out with its time, a bounce, a complaint; an
unsubscribe stops automatic mail only), plus `reply_channel`, the channel a reply without
one would take (services/messaging/routes.py, the same choice services/tickets/work.py makes).

AWS calls: `view` reads the ticket, its customer, their addresses' suppressions (one
BatchGetItem, none without addresses) and its timeline (1 + 1 + 1 + pages)."""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.db import timeline
from chalicelib.db.models import Customer, Ticket, TimelineItem
from chalicelib.db.values import as_dict
from chalicelib.services.messaging import links, routes, suppression
from chalicelib.services.tickets import store


def _armed_due(ticket: Ticket, target: str) -> str | None:
    timer = as_dict(as_dict(ticket.timers).get(target))
    return timer.get("due_at") if timer.get("state") == "armed" else None


def view(ticket_id: str, agent: Any = None) -> dict[str, Any]:
    """The ticket as an agent sees it; given the agent, one outside their departments is
    NotFound (team/scope.py)."""
    ticket = store.load(ticket_id, agent)
    customer = store.load_customer(ticket.customer_id)
    channels, reply_channel = channel_state(ticket, customer)
    return {**summary(ticket), "customer": customer_view(customer, ticket.customer_id),
            "channels": channels, "reply_channel": reply_channel,
            "timeline": [entry_view(item) for item in timeline.items(ticket.id)]}


def channel_state(ticket: Ticket, customer: Customer | None
                  ) -> tuple[dict[str, dict[str, Any]], str | None]:
    """({"email": {...}, "sms": {...}}, the channel a reply without one takes, or None)."""
    emails, phones = routes.addresses(customer)
    blocked = suppression.states(emails, phones) if emails or phones else {"email": {}, "sms": {}}
    usable: dict[str, list[str]] = {}
    out: dict[str, dict[str, Any]] = {}
    for name, pool in (("email", emails), ("sms", phones)):
        stops = {a: b for a, b in blocked[name].items()
                 if not (name == "email" and b["reason"] in suppression.AUTOMATIC_ONLY)}
        usable[name] = [a for a in pool if a not in stops]
        entry: dict[str, Any] = {"addresses": pool, "usable": bool(usable[name])}
        if blocked[name]:
            entry["blocked"] = [{"address": a, "reason": b["reason"], "at": b["at"] or None,
                                 "stops": "automatic mail" if a not in stops else "everything"}
                                for a, b in sorted(blocked[name].items())]
        if name == "sms":
            opted = [b["at"] for b in blocked[name].values() if b["reason"] == "opt-out"]
            entry["opted_out_at"] = max(opted) if opted and not usable[name] else None
        out[name] = entry
    reply = routes.choose(ticket.channel, usable["email"], usable["sms"], ticket.contact)
    return out, (reply[0] if reply else None)


def summary(ticket: Ticket) -> dict[str, Any]:
    sla = as_dict(ticket.sla)
    return {
        "id": ticket.id, "ref": ticket.ref, "subject": ticket.subject, "status": ticket.status,
        "priority": ticket.priority, "department": ticket.department,
        "assignee": ticket.assignee, "channel": ticket.channel, "lang": ticket.lang,
        "customer_id": ticket.customer_id, "version": ticket.version,
        "created_at": clock.iso(ticket.created_at), "updated_at": clock.iso(ticket.updated_at),
        # the last thing that happened on it: a message either way, a note, a change, a timer
        "last_activity_at": clock.iso(ticket.updated_at),
        "first_response_at": store.iso_or_none(ticket.first_response_at),
        "resolved_at": store.iso_or_none(ticket.resolved_at),
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
    emails, phones = routes.addresses(customer)
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
    for name in ("body", "full_body"):  # signed customer links: the customer's alone
        if name in out:
            out[name] = links.mask(out[name])
    if item.segments is not None:
        out["segments"] = int(item.segments)
    if item.macro is not None:  # a reply made from a macro: {name, version}
        out["macro"] = as_dict(item.macro)
    if item.fallback:
        out["fallback"] = [as_dict(step) for step in item.fallback]
    if item.dropped:
        out["dropped"] = [as_dict(entry) for entry in item.dropped]
    if item.attachments:
        out["attachments"] = [{k: v for k, v in as_dict(a).items() if k != "sha256"}
                              for a in item.attachments]
    return out
