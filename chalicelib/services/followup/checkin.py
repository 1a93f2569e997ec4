"""After an agent resolves a ticket: the check-in ("was the problem really solved?") with the
satisfaction survey, sent a policy-set time later (`checkin_after`, business time) on the
customer's channel, and what the customer's answer means.

- a score (1-5, Bengali digits too) by SMS or email reply, or on the satisfaction page that
  the mail's signed links open (GET /csat/{token}?score=N shows it chosen; the page's button
  POSTs it, services/followup/satisfaction.py): `csat.received`, the ticket stays resolved;
- YES (হ্যাঁ, ঠিক আছে, ...): `followup.confirmed`, the ticket stays resolved;
- NO (না, হয়নি, ...) or anything else the customer writes: the ticket reopens
  (services/tickets.record_inbound), `followup.reopened`.
Only tickets an agent resolved get a check-in; an automatic close does not ask.

Satisfaction links are signed and expire (`token`, SETU_CSAT_LINK_DAYS, default 30 days);
reading one costs nothing, or one GetItem for a link made before links expired.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib import clock, config, ids
from chalicelib.db import timeline
from chalicelib.db.models import Customer, Ticket, TimelineItem
from chalicelib.db.values import as_dict
from chalicelib.ids import BENGALI_DIGITS
from chalicelib.services.followup import notices
from chalicelib.services.messaging import links, signing
from chalicelib.services.tickets import store as ticket_store

DEFAULT_CSAT_DAYS = 30

POSITIVE = {"yes", "y", "yeah", "yep", "ok", "okay", "solved", "fixed", "done", "thanks",
            "হ্যাঁ", "হ্যা", "হা", "জি", "জ্বি", "ঠিক আছে", "মিটেছে", "সমাধান হয়েছে", "হয়েছে", "ধন্যবাদ"}
NEGATIVE = {"no", "n", "nope", "not yet", "not fixed", "still not", "না", "হয়নি", "মেটেনি",
            "সমাধান হয়নি", "এখনো না", "এখনও না"}
_WORDS = re.compile(r"[^\w\s\u0980-\u09FF]")


def classify(text: str) -> tuple[str, int | None]:
    """("score", n) | ("positive", None) | ("negative", None) | ("other", None)."""
    first = next((line for line in (text or "").splitlines() if line.strip()), "")
    words = " ".join(_WORDS.sub(" ", first.translate(BENGALI_DIGITS)).lower().split())
    if re.fullmatch(r"[1-5]", words):
        return "score", int(words)
    if words in POSITIVE or words.split(" ", 1)[0] in {"yes", "হ্যাঁ"}:
        return "positive", None
    if words in NEGATIVE or words.split(" ", 1)[0] in {"no", "না"}:
        return "negative", None
    return "other", None


def pending(ticket: Ticket) -> bool:
    followup = (ticket.sla.as_dict() if hasattr(ticket.sla, "as_dict") else dict(ticket.sla or {})).get("followup") or {}
    return bool(followup.get("sent_at")) and not followup.get("answered_at")


def compose(ticket: Ticket, now: datetime) -> list[TimelineItem]:
    """The check-in message (queued) and `followup.sent`, or `followup.skipped` when the
    customer cannot be reached (no address, bounced, opted out)."""
    items, channel = _notice(ticket, now, kind="followup", event="followup")
    if channel:
        sla = ticket.sla.as_dict()
        sla["followup"] = {"sent_at": clock.iso(now), "channel": channel, "answered_at": None}
        ticket.sla = sla
    return items


def reminder(ticket: Ticket, now: datetime) -> list[TimelineItem]:
    """While pending: remind the customer we are waiting for them (`reminder.sent`)."""
    return _notice(ticket, now, kind="reminder", event="reminder")[0]


def _notice(ticket: Ticket, now: datetime, *, kind: str, event: str
            ) -> tuple[list[TimelineItem], str | None]:
    return notices.compose(ticket, now, kind=kind, event=event, csat_url=csat_url(ticket.id))


def message_fields(ticket: Ticket, customer: Customer | None, channel: str,
                   recipient: str, kind: str = "followup") -> dict[str, Any]:
    """The check-in (or, kind="reminder", the waiting-for-you reminder) message, queued."""
    return notices.message_fields(ticket, customer, channel, recipient, kind=kind,
                                  csat_url=csat_url(ticket.id))


def answer(ticket: Ticket, text: str, now: datetime) -> tuple[list[TimelineItem], bool]:
    """What the customer's reply to the check-in means: (events, reopen?)."""
    kind, score = classify(text)
    sla = ticket.sla.as_dict()
    followup = dict(sla.get("followup") or {})
    if kind == "score":
        sla["csat"] = {"score": score, "at": clock.iso(now), "via": "reply"}
        ticket.sla = sla
        return [timeline.event(ticket.id, now, "csat.received", actor="customer",
                               data={"score": score, "via": "reply"})], False
    followup["answered_at"] = clock.iso(now)
    followup["answer"] = kind
    sla["followup"] = followup
    ticket.sla = sla
    if kind == "positive":
        return [timeline.event(ticket.id, now, "followup.confirmed", actor="customer")], False
    return [timeline.event(ticket.id, now, "followup.reopened", actor="customer",
                           data={"answer": kind})], True


def csat_url(ticket_id: str, *, now: datetime | None = None) -> str:
    base = config.settings().public_url or ""
    return f"{base}/csat/{token(ticket_id, now=now)}"


def csat_days() -> int:
    """How long a satisfaction link works: SETU_CSAT_LINK_DAYS (default 30, at least 1)."""
    return config.env_int("SETU_CSAT_LINK_DAYS", DEFAULT_CSAT_DAYS, minimum=1)


def token(ticket_id: str, *, now: datetime | None = None) -> str:
    """`<ticket id>.<expiry>.<kid>.<signature>` (kid: the signing key, signing.py): expires
    SETU_CSAT_LINK_DAYS after it was made,
    counted from the UTC midnight after, so every link of one mail carries the same token."""
    day = (now or clock.now()).astimezone(timezone.utc).date() + timedelta(days=1 + csat_days())
    expiry = ids.base36(int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()))
    kid = signing.current_kid()
    return f"{ticket_id}.{expiry}.{kid}.{_signature(kid, ticket_id, expiry)}"


def ticket_from_token(value: str, *, now: datetime | None = None) -> str | None:
    """The ticket a satisfaction link names, or None (tampered, malformed); LinkExpired
    (messaging/links.py) once it has expired.

    Links sent before links expired (`<ticket id>.<signature>`, no expiry) keep working for
    SETU_CSAT_LINK_DAYS after the ticket's check-in was sent (`sla.followup.sent_at`, one
    GetItem), which is when they would have expired; without a check-in time they are refused."""
    if not value or len(value) > 100:
        return None
    now = now or clock.now()
    parts = value.split(".")
    if len(parts) in (3, 4):  # with a kid, or made before key ids (the legacy key)
        ticket_id, expiry, signature = parts[0], parts[1], parts[-1]
        kid = parts[2] if len(parts) == 4 else None
        if not ticket_id or not expiry.isalnum() or kid == "" or not signing.same(
                signature, _signature(kid, ticket_id, expiry)):
            return None
        if datetime.fromtimestamp(int(expiry, 36), tz=timezone.utc) <= now:
            raise links.LinkExpired(ticket_id)
        return ticket_id
    if len(parts) != 2 or not parts[0] or not signing.same(parts[1], _legacy_signature(parts[0])):  # legacy key
        return None
    ticket_id = parts[0]
    ticket = ticket_store.find(ticket_id)
    sent_at = as_dict(as_dict(ticket.sla).get("followup")).get("sent_at") if ticket else None
    if not sent_at or clock.parse_iso(sent_at) + timedelta(days=csat_days()) <= now:
        raise links.LinkExpired(ticket_id)
    return ticket_id


def _signature(kid: str | None, ticket_id: str, expiry: str) -> str:
    try:
        return signing.mac(f"csat:{ticket_id}:{expiry}", kid).hex()[:16]
    except signing.UnknownKey:
        return ""


def _legacy_signature(ticket_id: str) -> str:
    try:
        return signing.mac(f"csat:{ticket_id}", None).hex()[:16]
    except signing.UnknownKey:
        return ""
