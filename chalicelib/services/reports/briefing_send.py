"""Sending the daily briefing (services/reports/briefing.py decides what it says).

A scheduled tick (every few minutes) calls `run`. For each department whose business day has
opened and not yet closed (its calendar: the department's SLA policy, `<department>` else
`default`), and whose briefing of that local date is not settled for everyone:

1. read the agent directory (one Query of the settings table's `agent` partition, only while
   some department is open) and the `_` markers of the open departments (one BatchGetItem); a
   department is due when it has no marker, a refused mail pending, or a lead or member the
   marker has not settled (added later the same day);
2. read the active tickets of the due departments (Query status-index for new, open and
   pending, most urgent first; at most `MAX_READ` items read in all: the reads stay bounded
   however large the backlog, and the digest says when it was cut);
3. send the department digest to the department's leads and admins (to every admin when the
   department has none; an empty one too: a short "nothing waiting" mail), and a personal
   digest to each other member or assignee with something in it, skipping whoever the marker
   has settled;
4. write the marker: who is settled (sent, claimed before, skipped with a reason) and who is
   pending (refused, retried later).

Exactly once per (department, local date, recipient): before sending, a conditional put of
`briefing#<department>#<date>` / `to#<principal>` in the keys table claims the mail. A second
tick, a retry of the same tick, or a concurrent run finds the claim and sends nothing. If SES
refuses the mail, the claim records the refusal and when to try again: a later tick takes the
claim back (conditional on the attempt it saw) after 5, 10, 20, 40 and 80 minutes, and after
`MAX_ATTEMPTS` refusals gives up on that recipient for the day (logged, and settled). If the
process dies between claim and send, the claim stays and that one mail is lost rather than
sent twice. Markers expire after `MARKER_DAYS`.

On request (`preview`, `resend`: GET /api/briefing, POST /api/briefing/send, `setu
briefing`): the same digests for one department, read now (directory Query, backlog Query, the
day's claims Query); `resend` mails at once without claiming (a person asked) and writes an
audit entry (one PutItem).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.exceptions import PutError

from chalicelib import clock, config, ids, observability
from chalicelib.errors import BadRequest
from chalicelib.db import keys
from chalicelib.db.models import Agent, Key, Ticket
from chalicelib.integrations import email_out
from chalicelib.services.messaging import outbound, suppression
from chalicelib.services.reports import briefing
from chalicelib.services.sla import calendars
from chalicelib.services.sla import store as policies
from chalicelib.services.sla.calendars import Calendar
from chalicelib.services.team import agents, audit, departments, identities

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


def due_now(now: datetime, directory: list[Agent] | None = None) -> dict[str, briefing.Slot]:
    """Departments whose briefing of today is due at `now` and not settled for everyone (one
    BatchGetItem of their `_` markers, only while some department is open). A department whose
    marker exists is due again when the directory names a recipient the marker has not
    settled: a lead or member added later the same day still gets the day's briefing."""
    slots: dict[str, briefing.Slot] = {}
    for department in departments.names():
        slot = briefing.slot_for(calendar_for(department), now)
        if slot is not None and slot.is_due(now):
            slots[department] = slot
    if not slots:
        return {}
    markers = keys.lookup_items([marker_pk(d, s.day.isoformat()) for d, s in slots.items()])
    due = {}
    for department, slot in slots.items():
        marker = markers.get(marker_pk(department, slot.day.isoformat()))
        if marker is None:
            due[department] = slot
            continue
        data = _data(marker)
        settled = data.get("settled")
        if data.get("pending"):  # a refused mail waits for its retry time
            due[department] = slot
            continue
        if settled is None:  # a marker from before per-recipient settling: everyone
            continue
        managers, members = recipients(department, directory or [], [])
        if {a.name for a in managers + members} - set(settled):
            due[department] = slot
    return due


def run(now: datetime | None = None) -> list[Outcome]:
    """One tick: brief every department that is due. Raises the first error after trying every
    department (the schedule's retry and the next tick pick the rest up)."""
    now = now or clock.now()
    opened = (briefing.slot_for(calendar_for(d), now) for d in departments.names())
    if not any(slot is not None and slot.is_due(now) for slot in opened):
        return []  # outside every opening: no directory read
    directory = [a for a in Agent.query("agent", limit=500) if a.active]
    slots = due_now(now, directory)
    if not slots:
        return []
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


def _common(department: str, slot: briefing.Slot, tickets: list[Ticket], directory: list[Agent],
            now: datetime, truncated: bool) -> dict[str, Any]:
    """What every digest of the department's day is built from."""
    lines = {t.id: briefing.classify(t, slot, now) for t in tickets}
    names = {a.name: a.display_name or identities.plain_name(a.name) for a in directory}
    return dict(department_name={lang: departments.display_name(department, lang)
                                 for lang in briefing.LANGS},
                slot=slot, tickets=tickets, lines=lines, names=names, truncated=truncated)


def digest_for(department: str, agent: Agent, manager: bool,
               common: dict[str, Any]) -> briefing.Digest:
    make = briefing.department_digest if manager else briefing.agent_digest
    return make(department, recipient=agent.name, recipient_name=common["names"][agent.name],
                **common)


def brief(department: str, slot: briefing.Slot, tickets: list[Ticket], directory: list[Agent],
          now: datetime, *, truncated: bool = False) -> Outcome:
    """Send the day's digests to the department's recipients not yet settled (the `_` marker),
    then record who is settled now. An empty department digest still goes to the leads (a short
    "nothing waiting" mail); an empty personal one is not sent (settled: "nothing to report")."""
    day = slot.day.isoformat()
    outcome = Outcome(department=department, day=day, active=len(tickets), truncated=truncated)
    try:
        before = _data(Key.get(marker_pk(department, day), DONE, consistent_read=True))
    except Key.DoesNotExist:
        before = {}
    settled = set(before.get("settled") or ())
    common = _common(department, slot, tickets, directory, now, truncated)
    outcome.counts = {key: sum(1 for own in common["lines"].values() for line in own
                               if line.section == key) for key in briefing.SECTIONS}
    managers, personal = recipients(department, directory, tickets)
    for agent in managers:
        if agent.name not in settled:
            _deliver(agent, digest_for(department, agent, True, common), now, outcome, empty=None)
    if not managers:
        outcome.skipped["*"] = "no lead or admin to send the department briefing to"
    for agent in personal:
        if agent.name in settled:
            continue
        digest = digest_for(department, agent, False, common)
        _deliver(agent, digest, now, outcome,
                 empty="nothing to report" if digest.empty else None)
    settled |= set(outcome.sent) | set(outcome.already) | (set(outcome.skipped) - {"*"})
    Key(pk=marker_pk(department, day), sk=DONE, target="done", expires_at=_expiry(now),
        data={"at": clock.iso(now), "first_at": before.get("at") or clock.iso(now),
              "settled": sorted(settled), "pending": sorted(outcome.failed), "active": outcome.active, "counts": outcome.counts,
              "skipped": {**dict(before.get("skipped") or {}), **outcome.skipped},
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


# ---- on request: preview and resend (GET /api/briefing, POST /api/briefing/send) ------------

PREVIEW_DAYS_AHEAD = 31


def day_slot(department: str, day: date, now: datetime) -> tuple[briefing.Slot, datetime, bool]:
    """The department's briefing slot on `day`, the instant the digest is computed for (now
    for today, the opening for a later day) and whether a briefing is scheduled that day (a
    closed day has none; it is previewed and sent as an always-open day's, 09:30 Asia/Dhaka).
    BadRequest for a past day (a briefing shows the tickets as they are now, so yesterday's
    cannot be rebuilt) or one too far ahead."""
    today = local_day(department, now)
    if day < today:
        raise BadRequest("A past day's briefing cannot be rebuilt.",
                         {"date": "today or a later day"})
    if day > today + timedelta(days=PREVIEW_DAYS_AHEAD):
        raise BadRequest("Too far ahead.", {"date": f"at most {PREVIEW_DAYS_AHEAD} days ahead"})
    calendar = calendar_for(department)
    zone = ZoneInfo(briefing.FALLBACK_ZONE) if calendar.always_open else calendar.zone
    noon = datetime.combine(day, time(12), tzinfo=zone).astimezone(timezone.utc)
    slot = briefing.slot_for(calendar, noon)
    scheduled = slot is not None
    if slot is None:
        slot = briefing.slot_for(calendars.ALWAYS, noon)
    return slot, (now if day == today else max(now, slot.opens)), scheduled


def preview(department: str, day: date, *, agent: Agent | None = None, lang: str = "",
            viewer: tuple[str, str] = ("", ""), now: datetime | None = None) -> dict[str, Any]:
    """The digest `agent` would get (the department digest when they lead it or no agent is
    given, else their personal one), its rendered mail, and who got the day's briefing so
    far. Reads: the agent directory, the department's active backlog, the day's claims."""
    now = now or clock.now()
    slot, at, scheduled = day_slot(department, day, now)
    directory = [a for a in Agent.query("agent", limit=500) if a.active]
    backlog, truncated = read_backlog({department})
    tickets = backlog[department]
    common = _common(department, slot, tickets, directory, at, truncated)
    managers, _ = recipients(department, directory, tickets)
    if agent is None:  # the department digest, addressed to whoever previews it
        digest = briefing.department_digest(department, recipient=viewer[0],
                                            recipient_name=viewer[1], **common)
    else:
        common["names"].setdefault(agent.name, agent.display_name or identities.plain_name(agent.name))
        digest = digest_for(department, agent, _manages(agent, managers), common)
    # the language of whoever would read it: the agent named, else the lead previewing it
    reader = agent or next((a for a in directory if a.name == viewer[0]), None)
    lang = lang if lang in briefing.LANGS else (getattr(reader, "lang", None) or DEFAULT_LANG)
    subject, text, html = briefing.render(digest, lang)
    return {"department": department, "date": slot.day.isoformat(), "timezone": slot.timezone,
            "scheduled": scheduled, "opens": clock.iso(slot.opens), "as_of": clock.iso(at), "kind": digest.kind,
            "lang": lang, "counts": digest.tallied.as_dict(),
            "sections": [_section(s, digest) for s in digest.sections],
            "workload": [{"agent": _who(w.assignee, digest), "active": w.active,
                          "breached": w.breached, "due_today": w.due_today}
                         for w in digest.workload],
            "truncated": truncated, "subject": subject, "text": text, "html": html,
            "deliveries": deliveries(department, slot.day.isoformat(), common["names"])}


def _who(principal: str | None, digest: briefing.Digest) -> dict[str, Any] | None:
    if not principal:
        return None
    return {"id": agents.agent_id(principal), "principal": principal,
            "name": digest.who(principal)}


def _section(section: briefing.Section, digest: briefing.Digest) -> dict[str, Any]:
    return {"key": section.key, "total": section.total, "more": section.more, "lines": [{
        "ticket_id": line.ticket_id, "ref": line.ref, "subject": line.subject,
        "priority": line.priority, "status": line.status,
        "assignee": _who(line.assignee, digest), "what": line.what,
        "at": clock.iso(line.at) if line.at else None, "overdue": line.overdue,
        "note": line.note or None, "also": [
            {"what": what, "at": clock.iso(at) if at else None, "overdue": overdue}
            for what, at, overdue in line.also]} for line in section.lines]}


def deliveries(department: str, day: str, names: dict[str, str]) -> list[dict[str, Any]]:
    """Who the scheduled briefing of that day went to (one Query of its claims)."""
    out = []
    for item in Key.query(marker_pk(department, day), Key.sk.startswith("to#")):
        data = _data(item)
        principal = item.sk[3:]
        out.append({"agent": {"id": agents.agent_id(principal), "principal": principal,
                              "name": names.get(principal) or identities.plain_name(principal)},
                    "kind": data.get("kind"), "state": data.get("state"), "at": data.get("at"),
                    "subject": data.get("subject")})
    return out


def resend(department: str, *, actor: str, to: Agent | None = None,
           now: datetime | None = None) -> dict[str, Any]:
    """Send today's briefing of the department now, as it reads now: to `to` only, or to
    every recipient of the department (its leads' digest, and each member's with something
    in it). A person asked, so the day's claims do not stop it (and it does not claim: the
    scheduled send still goes at the opening if it has not yet). Audited. Not before the
    department's day: on a closed day it reads as an always-open day's."""
    now = now or clock.now()
    slot, at, _ = day_slot(department, local_day(department, now), now)
    directory = [a for a in Agent.query("agent", limit=500) if a.active]
    backlog, truncated = read_backlog({department})
    tickets = backlog[department]
    common = _common(department, slot, tickets, directory, at, truncated)
    managers, personal = recipients(department, directory, tickets)
    if to is not None:
        chosen = [(to, _manages(to, managers))]
        common["names"].setdefault(to.name, to.display_name or identities.plain_name(to.name))
    else:
        chosen = [(a, True) for a in managers] + [(a, False) for a in personal]
    sent, skipped = [], {}
    for agent, manager in chosen:
        digest = digest_for(department, agent, manager, common)
        if to is None and not manager and digest.empty:
            skipped[agent.name] = "nothing to report"
            continue
        why = _send_direct(agent, digest, now)
        if why:
            skipped[agent.name] = why
        else:
            sent.append(agent.name)
    names = common["names"]

    def who(principal: str) -> dict[str, Any]:
        return {"id": agents.agent_id(principal), "principal": principal,
                "name": names.get(principal) or identities.plain_name(principal)}

    result = {"department": department, "date": slot.day.isoformat(),
              "sent": [who(p) for p in sent],
              "skipped": [{**who(p), "reason": why} for p, why in skipped.items()]}
    audit.record(actor, "briefing.sent", f"briefing:{department}#{slot.day.isoformat()}",
                 after={"sent": sent, "skipped": skipped}, department=department,
                 label=f"briefing {department} {slot.day.isoformat()}", at=now)
    return result


def _manages(agent: Agent, managers: list[Agent]) -> bool:
    """Whether `agent`, named on request, gets the department digest: a recipient of it, or a
    lead or admin (a lead of the department; an admin looking at any department)."""
    return agent.name in {a.name for a in managers} or agent.role in ("lead", "admin")


def local_day(department: str, now: datetime) -> date:
    """Today in the department's calendar's zone."""
    calendar = calendar_for(department)
    zone = ZoneInfo(briefing.FALLBACK_ZONE) if calendar.always_open else calendar.zone
    return now.astimezone(zone).date()


def _send_direct(agent: Agent, digest: briefing.Digest, now: datetime) -> str:
    """Send one digest at once (no claim); why not, or ""."""
    if not agent.email:
        return "no email address"
    blocked = suppression.reason(agent.email)
    if blocked:
        return f"email suppressed ({blocked})"
    lang = getattr(agent, "lang", None) or DEFAULT_LANG
    subject, text, html = briefing.render(digest, lang)
    sender = config.settings().support_address
    try:
        email_out.send(email_out.build(
            sender_name=config.settings().support_name, sender=sender, to=agent.email,
            subject=subject, text=text, html=html,
            message_id=outbound.email_message_id(ids.new_id("m")), when=now, automatic=True),
            source=sender, destination=agent.email)
    except Exception as exc:  # noqa: BLE001 - said in the answer; the person can try again
        log.warning("briefing resend to %s refused: %s", agent.name, observability.scrub(exc))
        return f"refused: {str(exc)[:200]}"
    return ""
