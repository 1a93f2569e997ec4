"""Sending the daily briefing (services/reports/briefing.py decides what it says).

A scheduled tick (every few minutes) calls `run`. For each department whose business day has
opened and not yet closed (its calendar: the department's SLA policy, `<department>` else
`default`), and whose briefing of that local date is not marked done:

1. read the agent directory (one Query of the settings table's `agent` partition) and the
   active tickets of the due departments (Query status-index for new, open and pending, most
   urgent first; at most `MAX_READ` items read in all: the reads stay bounded however large the
   backlog, and the digest says when it was cut);
2. send the department digest to the department's leads and admins (to every admin when the
   department has none), and a personal digest to each other member or assignee with something
   in it;
3. mark the department's day done.

Exactly once per (department, local date, recipient): before sending, a conditional put of
`briefing#<department>#<date>` / `to#<principal>` in the keys table claims the mail. A second
tick, a retry of the same tick, or a concurrent run finds the claim and sends nothing. If SES
refuses the mail, the claim records the refusal and when to try again: a later tick takes the
claim back (conditional on the attempt it saw) after 5, 10, 20, 40 and 80 minutes, and after
`MAX_ATTEMPTS` refusals gives up on that recipient for the day (logged, and the department is
marked done). If the process dies between claim and send, the claim stays and that one mail is
lost rather than sent twice.
The department's `_` marker (written when every recipient is settled) lets later ticks skip
the department with one BatchGetItem; markers expire after `MARKER_DAYS`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError

from chalicelib import clock, config, ids, observability
from chalicelib.db import keys
from chalicelib.db.models import Agent, Key, Ticket
from chalicelib.integrations import email_out
from chalicelib.services.messaging import outbound, suppression
from chalicelib.services.reports import briefing
from chalicelib.services.sla import calendars
from chalicelib.services.sla import store as policies
from chalicelib.services.sla.calendars import Calendar
from chalicelib.services.team import departments

log = logging.getLogger("setu.briefing")
MAX_READ = 3000  # ticket items read per run, across the active statuses
PAGE_SIZE = 250
MARKER_DAYS = 35
DONE = "_"
DEFAULT_LANG = "en"
RETRY_AFTER = timedelta(minutes=5)  # doubled after each refusal
MAX_ATTEMPTS = 6


@dataclass
class Outcome:
    department: str
    day: str
    sent: list[str] = field(default_factory=list)  # principals mailed by this run
    already: list[str] = field(default_factory=list)  # claimed earlier (another tick)
    skipped: dict[str, str] = field(default_factory=dict)  # principal -> why no mail
    failed: dict[str, str] = field(default_factory=dict)  # principal -> the error
    counts: dict[str, int] = field(default_factory=dict)
    active: int = 0
    truncated: bool = False


def marker_pk(department: str, day: str) -> str:
    return keys.briefing_pk(department, day)


def calendar_for(department: str) -> Calendar:
    """The calendar the department works by: its own `calendar` (services/team/departments.py),
    else that of the policy its normal tickets get; an unknown calendar counts as always open."""
    name = departments.calendar(department) or policies.policy_for(department, "normal").calendar
    return policies.find_calendar(name) or calendars.ALWAYS


def due_now(now: datetime) -> dict[str, briefing.Slot]:
    """Departments whose briefing of today is due at `now` and not marked done (one
    BatchGetItem of their `_` markers, only while some department is open)."""
    slots: dict[str, briefing.Slot] = {}
    for department in departments.names():
        slot = briefing.slot_for(calendar_for(department), now)
        if slot is not None and slot.is_due(now):
            slots[department] = slot
    if not slots:
        return {}
    done = keys.lookup([marker_pk(d, s.day.isoformat()) for d, s in slots.items()])
    return {d: s for d, s in slots.items() if marker_pk(d, s.day.isoformat()) not in done}


def run(now: datetime | None = None) -> list[Outcome]:
    """One tick: brief every department that is due. Raises the first error after trying every
    department (the schedule's retry and the next tick pick the rest up)."""
    now = now or clock.now()
    slots = due_now(now)
    if not slots:
        return []
    directory = [a for a in Agent.query("agent", limit=500) if a.active]
    backlog, truncated = read_backlog(set(slots))
    outcomes, error = [], None
    for department, slot in slots.items():
        try:
            outcome = brief(department, slot, backlog[department], directory, now,
                            truncated=truncated)
        except Exception as exc:  # noqa: BLE001 - one department must not stop the others
            log.exception("briefing for %s failed", department)
            error = error or exc
            continue
        outcomes.append(outcome)
        log.info("briefing %s %s: sent %d, already %d, skipped %s, failed %s",
                 department, outcome.day, len(outcome.sent), len(outcome.already),
                 outcome.skipped, outcome.failed)
    if error is not None:
        raise error
    return outcomes


def read_backlog(wanted: set[str], max_read: int = MAX_READ) -> tuple[dict[str, list[Ticket]], bool]:
    """Active tickets of the `wanted` departments, most urgent first (status-index sorts by
    queue_sort); True when `max_read` items were read before the end."""
    out: dict[str, list[Ticket]] = {department: [] for department in wanted}
    left = max_read
    for status in briefing.ACTIVE_STATUSES:
        query = Ticket.status_index.query(
            status, filter_condition=Ticket.department.is_in(*sorted(wanted)),
            page_size=min(PAGE_SIZE, max(left, 1)))
        for page in query.page_iter:  # page by page: a filter must not hide how much was read
            items = page.get("Items", [])
            for raw in items:
                ticket = Ticket.from_raw_data(raw)
                out.setdefault(ticket.department, []).append(ticket)
            left -= int(page.get("ScannedCount", len(items)))
            if left <= 0:
                if query.page_iter.last_evaluated_key or status != briefing.ACTIVE_STATUSES[-1]:
                    return out, True
                return out, False
    return out, False


def recipients(department: str, directory: list[Agent],
               tickets: list[Ticket]) -> tuple[list[Agent], list[Agent]]:
    """(department digest recipients, personal digest recipients). The department digest goes
    to its leads and admins, else to every admin; a personal one to each other member, and to
    anyone with a ticket of the department assigned."""
    managers = [a for a in directory
                if a.role in ("lead", "admin") and department in (a.departments or ())]
    if not managers:
        managers = [a for a in directory if a.role == "admin"]
    taken = {a.name for a in managers}
    assignees = {t.assignee for t in tickets if t.assignee}
    personal = [a for a in directory if a.name not in taken
                and (department in (a.departments or ()) or a.name in assignees)]
    return managers, personal


def brief(department: str, slot: briefing.Slot, tickets: list[Ticket], directory: list[Agent],
          now: datetime, *, truncated: bool = False) -> Outcome:
    day = slot.day.isoformat()
    outcome = Outcome(department=department, day=day, active=len(tickets), truncated=truncated)
    lines = {t.id: briefing.classify(t, slot, now) for t in tickets}
    names = {a.name: a.display_name or a.name.rsplit("/", 1)[-1] for a in directory}
    common = dict(department_name=departments.labels(department),
                  slot=slot, tickets=tickets, lines=lines, names=names, truncated=truncated,
                  link_base=config.settings().public_url)
    outcome.counts = {key: sum(1 for own in lines.values() for line in own if line.section == key)
                      for key in briefing.SECTIONS}
    managers, personal = recipients(department, directory, tickets)
    for agent in managers:
        digest = briefing.department_digest(department, recipient=agent.name,
                                            recipient_name=names[agent.name], **common)
        _deliver(agent, digest, now, outcome,
                 empty="no active tickets" if not tickets else None)
    if not managers:
        outcome.skipped["*"] = "no lead or admin to send the department briefing to"
    for agent in personal:
        digest = briefing.agent_digest(department, recipient=agent.name,
                                       recipient_name=names[agent.name], **common)
        _deliver(agent, digest, now, outcome,
                 empty="nothing to report" if digest.empty else None)
    if not outcome.failed:
        Key(pk=marker_pk(department, day), sk=DONE, target="done", expires_at=_expiry(now),
            data={"at": clock.iso(now), "sent": len(outcome.sent), "active": outcome.active,
                  "counts": outcome.counts, "skipped": outcome.skipped,
                  "truncated": truncated}).save()
    return outcome


def _deliver(agent: Agent, digest: briefing.Digest, now: datetime, outcome: Outcome, *,
             empty: str | None) -> None:
    if empty:
        outcome.skipped[agent.name] = empty
        return
    if not agent.email:
        outcome.skipped[agent.name] = "no email address"
        return
    blocked = suppression.reason(agent.email)
    if blocked:
        outcome.skipped[agent.name] = f"email suppressed ({blocked})"
        return
    lang = getattr(agent, "lang", None) or DEFAULT_LANG
    subject, text, html = briefing.render(digest, lang)
    uid = ids.new_id("m")
    message_id = outbound.email_message_id(uid)
    record = _record(digest, {"state": "sending", "at": clock.iso(now), "lang": lang,
                              "subject": subject, "message_id": message_id})
    claim = Key(pk=marker_pk(digest.department, outcome.day), sk=f"to#{agent.name}",
                target=agent.email, expires_at=_expiry(now), data={**record, "attempts": 1})
    try:
        claim.save(condition=Key.pk.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        waiting = _retake(claim, now)
        if waiting == "settled":
            outcome.already.append(agent.name)
            return
        if waiting:  # refused earlier, not yet due again: the department is not done
            outcome.failed[agent.name] = waiting
            return
    sender = config.settings().support_address
    try:
        provider_id = email_out.send(email_out.build(
            sender_name=config.settings().support_name, sender=sender, to=agent.email,
            subject=subject, text=text, html=html, message_id=message_id, when=now,
            automatic=True), source=sender, destination=agent.email)
    except Exception as exc:  # noqa: BLE001 - the claim says when to try again
        attempts = int(_data(claim)["attempts"])
        gave_up = attempts >= MAX_ATTEMPTS
        claim.data = {**_data(claim), "state": "gave_up" if gave_up else "refused",
                      "error": str(exc)[:300],
                      "retry_at": clock.iso(now + RETRY_AFTER * 2 ** (attempts - 1))}
        claim.save()
        if gave_up:
            log.error("briefing mail to %s refused %d times; not tried again today: %s",
                      agent.name, attempts, observability.scrub(exc))
            outcome.skipped[agent.name] = f"refused {attempts} times: {str(exc)[:200]}"
        else:
            log.warning("briefing mail to %s refused (attempt %d): %s", agent.name, attempts,
                        observability.scrub(exc))
            outcome.failed[agent.name] = str(exc)[:300]
        return
    claim.data = {**_data(claim), "state": "sent", "provider_id": provider_id}
    claim.save()
    outcome.sent.append(agent.name)


def _retake(claim: Key, now: datetime) -> str:
    """Take back a claim whose mail SES refused once its retry time has come: "" when taken
    (one tick wins: the update is conditional on the attempt it read), "settled" when the mail
    went, is going or was given up, else why it waits."""
    try:
        held = Key.get(claim.pk, claim.sk, consistent_read=True)
    except Key.DoesNotExist:
        return "settled"  # the claim expired: the day is long over
    seen = _data(held)
    if seen.get("state") != "refused":
        return "settled"
    if str(seen.get("retry_at", "")) > clock.iso(now):
        return f"refused, tried again after {seen.get('retry_at')}: {seen.get('error', '')}"[:300]
    attempts = int(seen.get("attempts", 1))
    claim.data = {**_data(claim), "attempts": attempts + 1}
    try:
        claim.save(condition=(Key.data["state"] == "refused") & (Key.data["attempts"] == attempts))
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return "being tried again by another run"
    return ""


def _data(claim: Key) -> dict[str, Any]:
    value = claim.data
    return value.as_dict() if hasattr(value, "as_dict") else dict(value or {})


def _record(digest: briefing.Digest, extra: dict[str, Any]) -> dict[str, Any]:
    """What the marker keeps of a mail: the kind, the section counts and the refs listed."""
    return {**extra, "kind": digest.kind, "counts": digest.counts(),
            "refs": {s.key: [line.ref for line in s.lines] for s in digest.sections}}


def _expiry(now: datetime) -> int:
    return int((now + timedelta(days=MARKER_DAYS)).timestamp())
