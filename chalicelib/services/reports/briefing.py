"""The daily briefing: what each department and each agent should look at first, decided at
the department's opening time. Pure: no AWS (services/reports/briefing_send.py reads and sends).

- `slot_for(calendar, now)`: the department's briefing day as seen at `now`: the local date,
  when the day opens (its first window) and closes (its last). A closed day (weekend, holiday,
  custom closed date) has no slot, so no briefing. An always-open calendar (`24x7`) has no
  opening time; its departments are briefed at 09:30 Asia/Dhaka every day.
- `classify(ticket, slot, now)`: the lines a ticket contributes, at most one per section (its
  SLA targets make ONE line, in its worst state, the other targets listed in `also`), in four
  sections:
    * `breached`  - a target whose breach is recorded and not yet met (first response still
      unanswered, next reply or resolution timer fired), or an armed target already past due;
    * `due_today` - an SLA target (first response, next reply, resolution) due before the end
      of the local day;
    * `decisions` - waiting on a manager's decision (`ticket.decision.state == "requested"`);
    * `followups` - a callback due today (or due since the previous opening and fired: was it
      made?), and a pending ticket that auto-closes today unless the customer answers.
- `tally` / `Counts`: every number a digest shows, in tickets, each counted once, defined
  here only (identities: breached + due_today <= active, unassigned_due <= unassigned).
- `department_digest` / `agent_digest`: the sections for one recipient, each list capped at
  `MAX_LINES` with the number left out ("and N more"), plus counts and, for a department, the
  workload per assignee.
- `render(digest, lang)`: (subject, text, html) from templates/email/briefing.<lang>.*
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from chalicelib import clock
from chalicelib.services.messaging import staff, templates
from chalicelib.services.sla.calendars import Calendar
from chalicelib.services.team import identities

SECTIONS = ("breached", "due_today", "decisions", "followups")
SLA_TARGETS = ("first_response", "next_reply", "resolution")
ACTIVE_STATUSES = ("new", "open", "pending")
MAX_LINES = 20  # per section in one mail; the rest is counted ("and N more")
LOOKBACK_DAYS = 14  # how far back to look for the previous open day
FALLBACK_ZONE = "Asia/Dhaka"  # always-open calendars: brief at 09:30 here
FALLBACK_AT = time(9, 30)
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
LANGS = ("en", "bn")


def _map(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    return value.as_dict() if hasattr(value, "as_dict") else dict(value)


def _instant(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return clock.parse_iso(text)
    except ValueError:
        return None


# ---- when ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Slot:
    """A department's briefing day."""

    day: date  # the local date
    timezone: str
    opens: datetime  # UTC: the briefing goes out from here ...
    closes: datetime  # ... until here (a briefing after closing time is pointless)
    end_of_day: datetime  # UTC: local midnight after `day`; "due today" is before this
    since: datetime  # UTC: the previous open day's opening (callbacks missed since then)

    def is_due(self, now: datetime) -> bool:
        return self.opens <= now < self.closes


def slot_for(calendar: Calendar, now: datetime) -> Slot | None:
    """The briefing day of `calendar` that contains `now`, or None on a closed day."""
    if calendar.always_open:
        zone = ZoneInfo(FALLBACK_ZONE)
        day = now.astimezone(zone).date()
        opens = datetime.combine(day, FALLBACK_AT, tzinfo=zone).astimezone(timezone.utc)
        end = _midnight_after(day, zone)
        return Slot(day=day, timezone=FALLBACK_ZONE, opens=opens, closes=end, end_of_day=end,
                    since=opens - timedelta(days=1))
    zone = calendar.zone
    day = now.astimezone(zone).date()
    windows = calendar.windows(day)
    if not windows:
        return None
    since = windows[0][0] - timedelta(days=1)
    for back in range(1, LOOKBACK_DAYS + 1):
        earlier = calendar.windows(day - timedelta(days=back))
        if earlier:
            since = earlier[0][0]
            break
    return Slot(day=day, timezone=calendar.timezone, opens=windows[0][0], closes=windows[-1][1],
                end_of_day=_midnight_after(day, zone), since=since)


def _midnight_after(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(timezone.utc)


# ---- what ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    """One ticket in one section: its most pressing reason (`what`, `at`), and the ticket's other
    reasons of that section in `also` ((what, at, overdue), soonest first). A ticket has at
    most one line per section, and its SLA targets make ONE line, in its worst state:
    `breached` if any target is, else `due_today`."""

    section: str
    what: str  # first_response | next_reply | resolution | decision | callback | auto_close
    ticket_id: str
    ref: str
    subject: str
    priority: str
    status: str
    assignee: str | None
    at: datetime | None  # the due time the line is about
    overdue: bool = False
    note: str = ""  # a decision's question, a callback's note
    by: str = ""  # who asked for the decision
    also: tuple[tuple[str, datetime | None, bool], ...] = ()

    @property
    def order(self) -> tuple:
        when = self.at or datetime.max.replace(tzinfo=timezone.utc)
        if self.section == "breached":  # the most important first, then the oldest breach
            return (PRIORITY_RANK.get(self.priority, 9), when, self.ref)
        return (when, PRIORITY_RANK.get(self.priority, 9), self.ref)


_NEVER = datetime.max.replace(tzinfo=timezone.utc)


def classify(ticket: Any, slot: Slot, now: datetime) -> list[Line]:
    """The briefing lines of one ticket (none for a resolved or closed one): at most one per
    section; the SLA targets in one line (breached or due today, never both)."""
    if ticket.status not in ACTIVE_STATUSES:
        return []
    timers = {k: _map(v) for k, v in _map(ticket.timers).items()}
    sla = _map(ticket.sla)
    breached = set(sla.get("breached") or [])

    def line(section: str, reasons: list[tuple[str, datetime | None, bool]],
             **extra: Any) -> Line:
        reasons = sorted(reasons, key=lambda r: (r[1] or _NEVER, r[0]))
        (what, at, overdue), rest = reasons[0], tuple(reasons[1:])
        return Line(section=section, what=what, ticket_id=ticket.id, ref=ticket.ref,
                    subject=ticket.subject or "", priority=ticket.priority or "normal",
                    status=ticket.status, assignee=ticket.assignee, at=at, overdue=overdue,
                    also=rest, **extra)

    late: list[tuple[str, datetime | None, bool]] = []
    today: list[tuple[str, datetime | None, bool]] = []
    for target in SLA_TARGETS:
        timer = timers.get(target, {})
        state, due = timer.get("state"), _instant(timer.get("due_at"))
        if state == "armed" and due is not None:
            if due <= now:
                late.append((target, due, True))
            elif due < slot.end_of_day:
                today.append((target, due, False))
        elif target in breached and _unmet(ticket, target, state):
            late.append((target, due or _instant(sla.get(f"{target}_due")), True))
    lines: list[Line] = []
    if late:  # the worst state names the line; targets due later today ride along
        lines.append(line("breached", late + today))
    elif today:
        lines.append(line("due_today", today))

    decision = _map(getattr(ticket, "decision", None))
    if decision.get("state") == "requested":
        due = _instant(decision.get("due_at"))
        lines.append(line("decisions", [("decision", due, due is not None and due <= now)],
                          note=str(decision.get("question") or ""),
                          by=str(decision.get("requested_by") or "")))

    follow: list[tuple[str, datetime | None, bool]] = []
    note = ""
    callback = timers.get("callback", {})
    due = _instant(callback.get("due_at"))
    if due is not None and (
            (callback.get("state") == "armed" and due < slot.end_of_day)
            or (callback.get("state") == "fired" and slot.since <= due <= now)):
        follow.append(("callback", due, due <= now))
        note = str(callback.get("note") or "")
    closing = timers.get("auto_close", {})
    due = _instant(closing.get("due_at"))
    if ticket.status == "pending" and closing.get("state") == "armed" and due is not None \
            and due < slot.end_of_day:
        follow.append(("auto_close", due, False))
    if follow:
        lines.append(line("followups", follow, note=note))
    return lines


def sla_state(lines: Iterable[Line]) -> str | None:
    """A ticket's SLA state from its lines: "breached", "due_today" or None."""
    for line in lines:
        if line.section in ("breached", "due_today"):
            return line.section
    return None


def _unmet(ticket: Any, target: str, state: str | None) -> bool:
    """A recorded breach that nobody has answered yet. After a late first reply the ticket has
    `first_response_at`; a fired next-reply or resolution timer is re-armed when met or
    reopened, so "fired" still means "still late"."""
    if target == "first_response":
        return ticket.first_response_at is None
    return state == "fired"


# ---- counts: each defined here, once -------------------------------------------------------

@dataclass(frozen=True)
class Counts:
    """What a digest counts, in tickets (never in lines or targets). Identities (tested):
    breached + due_today <= active; unassigned <= active;
    unassigned_breached + unassigned_due_today = unassigned_due <= unassigned;
    each section's total = the tickets counted here for it."""

    active: int = 0  # active (new, open, pending) tickets the digest is about
    breached: int = 0  # ... whose SLA state is breached
    due_today: int = 0  # ... whose SLA state is due today (and nothing breached)
    decisions: int = 0  # ... waiting on a manager's decision
    followups: int = 0  # ... with a callback or an auto-close today
    unassigned: int = 0  # active tickets of the department nobody is assigned
    unassigned_breached: int = 0
    unassigned_due_today: int = 0

    @property
    def unassigned_due(self) -> int:
        """Unassigned tickets breached or due today (each ticket once)."""
        return self.unassigned_breached + self.unassigned_due_today

    def as_dict(self) -> dict[str, int]:
        return {**{k: getattr(self, k) for k in self.__dataclass_fields__},
                "unassigned_due": self.unassigned_due}


def tally(mine: list[Any], free: list[Any], lines: dict[str, list[Line]]) -> Counts:
    """Counts over `mine` (the tickets the digest is about) and `free` (the department's
    unassigned ones); `lines` is ticket id -> the ticket's lines."""
    def having(tickets: list[Any], section: str) -> int:
        return sum(1 for t in tickets if any(x.section == section for x in lines.get(t.id, ())))

    return Counts(active=len(mine), breached=having(mine, "breached"),
                  due_today=having(mine, "due_today"), decisions=having(mine, "decisions"),
                  followups=having(mine, "followups"), unassigned=len(free),
                  unassigned_breached=having(free, "breached"),
                  unassigned_due_today=having(free, "due_today"))


# ---- for whom ------------------------------------------------------------------------------

@dataclass
class Section:
    key: str
    lines: list[Line]  # at most MAX_LINES, most important first
    total: int  # tickets in the section (one line each)

    @property
    def more(self) -> int:
        return self.total - len(self.lines)


@dataclass
class Workload:
    assignee: str | None  # None: unassigned
    name: str
    active: int = 0
    breached: int = 0  # tickets whose SLA state is breached
    due_today: int = 0  # tickets whose SLA state is due today (not also breached)


@dataclass
class Digest:
    kind: str  # "department" | "agent"
    department: str
    department_name: dict[str, str]  # lang -> name
    slot: Slot
    recipient: str  # principal
    recipient_name: str
    sections: list[Section]
    tallied: Counts = field(default_factory=Counts)
    workload: list[Workload] = field(default_factory=list)
    truncated: bool = False  # the backlog was larger than the read cap
    names: dict[str, str] = field(default_factory=dict)  # principal -> display name

    def who(self, principal: str | None) -> str:
        return self.names.get(principal or "") or _short(principal)

    @property
    def active(self) -> int:
        return self.tallied.active

    @property
    def unassigned(self) -> int:
        return self.tallied.unassigned

    @property
    def unassigned_due(self) -> int:
        return self.tallied.unassigned_due

    @property
    def empty(self) -> bool:
        return all(section.total == 0 for section in self.sections)

    def counts(self) -> dict[str, int]:
        return {section.key: section.total for section in self.sections}

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)


def sections(lines: Iterable[Line], max_lines: int = MAX_LINES) -> list[Section]:
    grouped: dict[str, list[Line]] = {key: [] for key in SECTIONS}
    for line in lines:
        grouped[line.section].append(line)
    out = []
    for key in SECTIONS:
        ordered = sorted(grouped[key], key=lambda line: line.order)
        out.append(Section(key=key, lines=ordered[:max_lines], total=len(ordered)))
    return out


def department_digest(department: str, department_name: dict[str, str], slot: Slot,
                      tickets: list[Any], lines: dict[str, list[Line]], *, recipient: str,
                      recipient_name: str, names: dict[str, str], truncated: bool = False,
                      max_lines: int = MAX_LINES) -> Digest:
    """Everything in the department, with each assignee's share. `lines` is ticket id -> the
    ticket's lines (classify); `names` is principal -> display name."""
    work: dict[str | None, Workload] = {}
    for ticket in tickets:
        load = work.setdefault(ticket.assignee or None, Workload(
            assignee=ticket.assignee or None,
            name=names.get(ticket.assignee or "", "") or _short(ticket.assignee)))
        load.active += 1
        state = sla_state(lines.get(ticket.id, ()))
        load.breached += state == "breached"
        load.due_today += state == "due_today"
    free = [t for t in tickets if not t.assignee]
    return Digest(
        kind="department", department=department, department_name=department_name, slot=slot,
        recipient=recipient, recipient_name=recipient_name,
        sections=sections((line for t in tickets for line in lines.get(t.id, [])), max_lines),
        tallied=tally(tickets, free, lines),
        workload=sorted((w for w in work.values() if w.assignee),
                        key=lambda w: (-w.breached, -w.due_today, -w.active, w.name)),
        truncated=truncated, names=names)


def agent_digest(department: str, department_name: dict[str, str], slot: Slot,
                 tickets: list[Any], lines: dict[str, list[Line]], *, recipient: str,
                 recipient_name: str, names: dict[str, str] | None = None,
                 truncated: bool = False,
                 max_lines: int = MAX_LINES) -> Digest:
    """The recipient's own tickets in the department, and how many nobody has taken."""
    own = [t for t in tickets if t.assignee == recipient]
    free = [t for t in tickets if not t.assignee]
    return Digest(
        kind="agent", department=department, department_name=department_name, slot=slot,
        recipient=recipient, recipient_name=recipient_name,
        sections=sections((line for t in own for line in lines.get(t.id, [])), max_lines),
        tallied=tally(own, free, lines),
        truncated=truncated, names=names or {})


def _short(principal: str | None) -> str:
    return identities.plain_name(principal or "")


# ---- how it reads ------------------------------------------------------------------------------

_BN_DAYS = ("সোমবার", "মঙ্গলবার", "বুধবার", "বৃহস্পতিবার", "শুক্রবার", "শনিবার", "রবিবার")
_BN_MONTHS = ("জানুয়ারি", "ফেব্রুয়ারি", "মার্চ", "এপ্রিল", "মে", "জুন", "জুলাই", "আগস্ট",
              "সেপ্টেম্বর", "অক্টোবর", "নভেম্বর", "ডিসেম্বর")


def day_text(day: date, lang: str) -> str:
    if lang == "bn":
        return templates.bn_digits(f"{_BN_DAYS[day.weekday()]}, {day.day} {_BN_MONTHS[day.month - 1]}")
    return f"{day:%A} {day.day} {day:%B}"


def when_text(at: datetime | None, slot: Slot, lang: str) -> str:
    """A due time in the department's zone: "14:00" today, else "Thursday 26 November, 17:00"."""
    if at is None:
        return ""
    local = at.astimezone(ZoneInfo(slot.timezone))
    text = f"{local:%H:%M}"
    if local.date() != slot.day:
        text = f"{day_text(local.date(), lang)}, {text}"
    return templates.bn_digits(text) if lang == "bn" else text


def render(digest: Digest, lang: str = "en") -> tuple[str, str, str]:
    """(subject, text, html) of the digest in `lang` (bn or en)."""
    lang = lang if lang in LANGS else "en"
    return templates.render_email(
        "briefing", lang, d=digest,
        department=digest.department_name.get(lang) or digest.department,
        day=day_text(digest.slot.day, lang),
        when=lambda at: when_text(at, digest.slot, lang),
        num=(templates.bn_digits if lang == "bn" else str),
        link=lambda line: staff.staff_link(line.ref) or "")  # the console, once SETU_CONSOLE_URL is set
