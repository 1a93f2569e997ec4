"""The customer's own view of a ticket, opened through the signed link in the acknowledgement
(services/messaging/links.py): its status, when we expect to answer, the public conversation, and a box
whose text joins the ticket as a web message (services/work.record_inbound, like a reply
by email or SMS: it reopens a solved ticket and restarts the next-reply clock).

Public means: the customer's own messages (not `held` ones, which came from someone else) and
what we sent *to the customer* (agent replies, check-ins, reminders, decision notices). Never
internal notes, mail to agents (escalations, decision requests), events, addresses or ids.

A reply is idempotent per form: each rendering carries a fresh nonce that Setu signs and
binds to the ticket (`<random>.<expiry>.<signature>`, valid NONCE_VALID; a nonce the client
made up, or one of another ticket's page, is refused: "reload the page"), and the reply's
transaction claims `nonce#status#<nonce>` (conditional put, label "extra"), so a double submit
or a browser resend adds the message once. The same transaction counts the ticket's replies
in this hour (`rate#status-reply#<ticket id>` / `<yyyymmddhh>`, label "rate"): over
SETU_STATUS_REPLIES_PER_HOUR (default 10) the reply is refused with 429, so reloading the page
for fresh nonces cannot flood a ticket.
"""
from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock, config, ids
from chalicelib.db import keys, timeline
from chalicelib.db.connection import Cancelled
from chalicelib.db.models import Customer, Key, Ticket, TimelineItem
from chalicelib.db.values import as_dict
from chalicelib.errors import RateLimited, ValidationFailed
from chalicelib.services.messaging import signing
from chalicelib.services.portal import webform
from chalicelib.services.tickets import store as ticket_store
from chalicelib.services.tickets import views, work

PUBLIC_OUT_KINDS = ("reply", "followup", "reminder", "decision")
MAX_REPLY = 5000
NONCE = re.compile(r"^(?P<rand>[A-Za-z0-9_-]{16,32})\.(?P<exp>[0-9a-z]{1,10})\."
                   r"(?:(?P<kid>k[0-9]{1,6})\.)?(?P<sig>[A-Za-z0-9_-]{20})$")
NONCE_LIFETIME = timedelta(days=30)  # how long a used nonce is remembered (TTL)
NONCE_VALID = timedelta(days=1)  # how long a page's form may wait before it is sent
DEFAULT_REPLIES_PER_HOUR = 10


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


def replies_per_hour() -> int:
    """SETU_STATUS_REPLIES_PER_HOUR (default 10); 0 turns the limit off."""
    return config.env_int("SETU_STATUS_REPLIES_PER_HOUR", DEFAULT_REPLIES_PER_HOUR)


def new_nonce(ticket_id: str, *, now: datetime | None = None) -> str:
    """A fresh nonce for one rendering of the ticket's page, signed and bound to the ticket."""
    rand = secrets.token_urlsafe(18)
    expiry = ids.base36(int(((now or clock.now()) + NONCE_VALID).timestamp()))
    kid = signing.current_kid()
    return f"{rand}.{expiry}.{kid}.{_nonce_signature(kid, ticket_id, rand, expiry)}"


def nonce_valid(ticket_id: str, nonce: Any, *, now: datetime | None = None) -> bool:
    found = NONCE.match(nonce) if isinstance(nonce, str) else None
    if not found or not signing.same(found["sig"], _nonce_signature(
            found["kid"], ticket_id, found["rand"], found["exp"])):
        return False
    return int(found["exp"], 36) > (now or clock.now()).timestamp()


def _nonce_signature(kid: str | None, ticket_id: str, rand: str, expiry: str) -> str:
    """The signature under the key `kid` names (signing.py); "" for an unknown kid."""
    try:
        digest = signing.mac(f"status-nonce|{ticket_id}|{rand}|{expiry}", kid)
    except signing.UnknownKey:
        return ""
    return base64.urlsafe_b64encode(digest).decode()[:20]


def add_reply(ticket_id: str, body: Any, nonce: Any) -> bool:
    """The customer's message from the status page, once per nonce: True when added, False
    when this form was already sent (nothing written). TooManyRequests over the ticket's
    hourly limit; ValidationFailed (`nonce`) for a nonce Setu did not issue for this page."""
    errors = {}
    text = webform.clean_text(body) if isinstance(body, str) else ""
    if not text:
        errors["body"] = "required"
    elif len(text) > MAX_REPLY:
        errors["body"] = f"at most {MAX_REPLY} characters"
    if not nonce_valid(ticket_id, nonce):
        errors["nonce"] = "reload the page and send again"
    if errors:
        raise ValidationFailed("The reply has errors.", errors)
    ticket = ticket_store.load(ticket_id)
    uid = ids.new_id("m")
    fields = {"message_uid": uid, "channel": "web", "kind": "message", "body": text,
              "sender": _sender(ticket), "lang": ticket.lang}
    now = clock.now()
    expires = int((now + NONCE_LIFETIME).timestamp())
    limit = replies_per_hour()

    def claim(tx) -> None:
        tx.save(Key(pk=keys.nonce_pk("status", nonce), sk=keys.NO_SORT, target=ticket.id,
                    expires_at=expires, data={"message": uid}),
                condition=Key.pk.does_not_exist(), label="extra")
        if limit:
            tx.update(Key(pk=keys.rate_pk("status-reply", ticket.id), sk=now.strftime("%Y%m%d%H")),
                      actions=[Key.value.add(1),
                               Key.expires_at.set(int((now + timedelta(hours=2)).timestamp()))],
                      condition=Key.value.does_not_exist() | (Key.value < limit), label="rate")

    try:
        work.record_inbound(ticket.id, fields, held=False, automatic=False,
                               event_data={"via": "status_page"}, extra_writes=claim)
    except Cancelled as exc:
        if "extra" in exc.labels:
            return False
        if "rate" in exc.labels:
            raise RateLimited("Too many messages on this ticket in an hour; please wait, "
                                  "or reply to our mail or SMS.") from None
        raise
    return True


def _sender(ticket: Ticket) -> str:
    try:
        customer = Customer.get(ticket.customer_id)
    except Customer.DoesNotExist:
        return ""
    return next(iter(sorted(customer.emails or ())), "") or next(iter(sorted(customer.phones or ())), "")
