"""The satisfaction page behind the check-in mail's score links (GET /csat/{token}?score=N,
signed per ticket by services/followup/checkin.py). Opening a link records nothing (mail scanners open
every link): the page shows that score chosen, and its form's POST records the rating once,
with an optional comment, also once. A second visit, or another score link from the same
mail, shows what was recorded; a score already given by SMS or email reply counts the same.

Recorded on the ticket as `sla.csat` ({score, at, via, comment?}) with `csat.received`
(and `csat.commented` when the comment comes after the score). "Once" holds under races:
the ticket's version attribute makes the save conditional, and a retry re-reads the ticket
and finds the rating (ticket_store.retry_on_race).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import clock
from chalicelib.db import timeline
from chalicelib.db.models import Ticket
from chalicelib.db.values import as_dict
from chalicelib.errors import ValidationFailed
from chalicelib.ids import BENGALI_DIGITS
from chalicelib.services.portal import webform
from chalicelib.services.tickets import store as ticket_store

SCORES = (1, 2, 3, 4, 5)
MAX_COMMENT = 2000


@dataclass(frozen=True)
class Rating:
    ticket_id: str
    ref: str
    lang: str
    score: int | None
    comment: str
    at: str | None
    outcome: str  # "recorded" | "commented" | "unchanged" | "unrated"


def current(ticket_id: str) -> Rating:
    ticket = ticket_store.load(ticket_id)
    return _rating(ticket, "unchanged" if _csat(ticket) else "unrated")


def parse_score(raw: Any) -> int | None:
    """1-5 (Bengali digits too), or None when not given; ValidationFailed when bad."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    text = str(raw).strip().translate(BENGALI_DIGITS)
    if text not in ("1", "2", "3", "4", "5"):
        raise ValidationFailed("Choose a score from 1 to 5.", {"score": "1, 2, 3, 4 or 5"})
    return int(text)


@ticket_store.retry_on_race
def rate(ticket_id: str, score: int | None, comment: Any = "") -> Rating:
    """Record the score (and comment) unless the ticket already has a rating; add the
    comment to an existing rating that has none. Otherwise change nothing."""
    text = webform.clean_text(comment) if isinstance(comment, str) else ""
    if len(text) > MAX_COMMENT:
        raise ValidationFailed("The comment is too long.", {"comment": f"at most {MAX_COMMENT} characters"})
    ticket = ticket_store.load(ticket_id)
    existing = _csat(ticket)
    now = clock.now()
    sla = as_dict(ticket.sla)
    if not existing:
        if score is None:
            raise ValidationFailed("Choose a score from 1 to 5.", {"score": "1, 2, 3, 4 or 5"})
        record = {"score": score, "at": clock.iso(now), "via": "link"}
        data: dict[str, Any] = {"score": score, "via": "link"}
        if text:
            record["comment"] = data["comment"] = text
        ticket.sla = {**sla, "csat": record}
        ticket_store.save(ticket, [timeline.event(ticket.id, now, "csat.received", actor="customer",
                                             data=data)], now)
        return _rating(ticket, "recorded")
    if text and not existing.get("comment"):
        ticket.sla = {**sla, "csat": {**existing, "comment": text, "commented_at": clock.iso(now)}}
        ticket_store.save(ticket, [timeline.event(ticket.id, now, "csat.commented", actor="customer",
                                             data={"comment": text})], now)
        return _rating(ticket, "commented")
    return _rating(ticket, "unchanged")


def _csat(ticket: Ticket) -> dict[str, Any]:
    return as_dict(as_dict(ticket.sla).get("csat"))


def _rating(ticket: Ticket, outcome: str) -> Rating:
    csat = _csat(ticket)
    score = csat.get("score")
    return Rating(ticket_id=ticket.id, ref=ticket.ref, lang=ticket.lang or "bn",
                  score=int(score) if score is not None else None,
                  comment=str(csat.get("comment") or ""), at=csat.get("at"), outcome=outcome)
