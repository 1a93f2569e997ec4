"""The customer's own view of a ticket, opened through the signed link in the acknowledgement
(services/messaging/links.py): its status, when we expect to answer, the public conversation, and a box
whose text joins the ticket as a web message (services/work.record_inbound, like a reply
by email or SMS: it reopens a solved ticket and restarts the next-reply clock).

Public means: the customer's own messages (not `held` ones, which came from someone else) and
what we sent *to the customer* (agent replies, check-ins, reminders, decision notices). Never
internal notes, mail to agents (escalations, decision requests), events, addresses or ids.

A reply is idempotent per form: the page carries a fresh nonce, and the reply's transaction
claims `nonce#status#<nonce>` (conditional put, label "extra"), so a double submit or a
browser resend adds the message once.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock, ids
from chalicelib.db import keys, timeline
from chalicelib.db.connection import Cancelled
from chalicelib.db.models import Customer, Key, Ticket, TimelineItem
from chalicelib.db.values import as_dict
from chalicelib.errors import ValidationFailed
from chalicelib.services.portal import webform
from chalicelib.services.tickets import store as ticket_store
from chalicelib.services.tickets import views, work

PUBLIC_OUT_KINDS = ("reply", "followup", "reminder", "decision")
MAX_REPLY = 5000
NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
NONCE_LIFETIME = timedelta(days=30)


@dataclass(frozen=True)
class Entry:
    mine: bool  # written by the customer
    at: datetime
    body: str
    channel: str
    attachments: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatusView:
    ticket_id: str
    ref: str
    subject: str
    status: str
    lang: str
    department: str
    created_at: datetime
    expected_reply: datetime | None  # when we expect to answer the customer next
    entries: list[Entry]


def view(ticket_id: str) -> StatusView:
    ticket = ticket_store.load(ticket_id)
    return StatusView(ticket_id=ticket.id, ref=ticket.ref, subject=ticket.subject,
                      status=ticket.status, lang=ticket.lang or "bn",
                      department=ticket.department, created_at=ticket.created_at,
                      expected_reply=expected_reply(ticket),
                      entries=public_entries(timeline.items(ticket.id)))


def expected_reply(ticket: Ticket) -> datetime | None:
    """First-response due while nobody answered; then the next-reply due while armed."""
    if ticket.status in ticket_store.DONE or ticket.status == "pending":
        return None
    sla = views.summary(ticket)["sla"]
    due = sla["first_response_due"] if ticket.first_response_at is None else sla["next_reply_due"]
    return clock.parse_iso(due) if due else None


def public_entries(items: Any) -> list[Entry]:
    out = []
    for item in items:
        if not is_public(item):
            continue
        files = tuple(str(as_dict(a).get("filename") or "") for a in item.attachments or ())
        out.append(Entry(mine=item.direction == "in", at=item.at, body=(item.body or "").strip(),
                         channel=item.channel or "", attachments=files))
    return out


def is_public(item: TimelineItem) -> bool:
    if item.item_type != "message":
        return False
    if item.direction == "in":
        return item.status != "held"
    return item.direction == "out" and item.kind in PUBLIC_OUT_KINDS


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def add_reply(ticket_id: str, body: Any, nonce: Any) -> bool:
    """The customer's message from the status page, once per nonce: True when added, False
    when this form was already sent (nothing written)."""
    errors = {}
    text = webform.clean_text(body) if isinstance(body, str) else ""
    if not text:
        errors["body"] = "required"
    elif len(text) > MAX_REPLY:
        errors["body"] = f"at most {MAX_REPLY} characters"
    if not isinstance(nonce, str) or not NONCE.match(nonce):
        errors["nonce"] = "reload the page and send again"
    if errors:
        raise ValidationFailed("The reply has errors.", errors)
    ticket = ticket_store.load(ticket_id)
    uid = ids.new_id("m")
    fields = {"message_uid": uid, "channel": "web", "kind": "message", "body": text,
              "sender": _sender(ticket), "lang": ticket.lang}
    expires = int((clock.now() + NONCE_LIFETIME).timestamp())

    def claim(tx) -> None:
        tx.save(Key(pk=keys.nonce_pk("status", nonce), sk=keys.NO_SORT, target=ticket.id,
                    expires_at=expires, data={"message": uid}),
                condition=Key.pk.does_not_exist(), label="extra")

    try:
        work.record_inbound(ticket.id, fields, held=False, automatic=False,
                               event_data={"via": "status_page"}, extra_writes=claim)
    except Cancelled as exc:
        if "extra" in exc.labels:
            return False
        raise
    return True


def _sender(ticket: Ticket) -> str:
    try:
        customer = Customer.get(ticket.customer_id)
    except Customer.DoesNotExist:
        return ""
    return next(iter(sorted(customer.emails or ())), "") or next(iter(sorted(customer.phones or ())), "")
