"""The SLA rules a ticket's timer map follows (pure: no AWS, no storage).

`ticket.timers[target]` = {"generation", "due_at", "warn_at"?, "warned"?, "state"} with state
armed | fired | stopped | paused. Changing this map is all a service does; the tickets stream
turns changes into Step Functions executions (services/sla/timers.py). Every change that makes an
old execution meaningless bumps the generation, so a late delivery of it is ignored.

- first_response: armed when a ticket opens; met by the first agent reply.
- next_reply: armed after each customer message once an agent has answered; met by a reply.
- resolution: armed when a ticket opens; `pending` (waiting on the customer) pauses it and
  remembers the open time left; leaving pending resumes it with that time. The pause ledger is
  `ticket.sla["pauses"]`.
- warnings: each armed target first wakes at `warn_at` (policy `warn_before` ahead of the due
  time, else at 80% of the target), records `sla.warning`, then re-arms for the breach.
- a new policy (priority or department changed): each running target is timed again from its
  own start (`start_at`, kept across warnings and pauses) with the new target, pauses left out.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock
from chalicelib.services.sla.calendars import Calendar
from chalicelib.services.sla.policy import TARGETS, Policy, business_due

WARN_FRACTION = 0.8
MAX_PAUSES = 50


def _timers(ticket) -> dict[str, dict[str, Any]]:
    raw = ticket.timers.as_dict() if hasattr(ticket.timers, "as_dict") else dict(ticket.timers or {})
    return {k: (v.as_dict() if hasattr(v, "as_dict") else dict(v)) for k, v in raw.items()}


def _sla(ticket) -> dict[str, Any]:
    return ticket.sla.as_dict() if hasattr(ticket.sla, "as_dict") else dict(ticket.sla or {})


def warn_time(policy: Policy, calendar: Calendar, start: datetime, due: datetime,
              duration: timedelta) -> datetime | None:
    if policy.warn_before is not None:
        at = due - policy.warn_before
    else:
        at = calendar.add(start, duration * WARN_FRACTION) if duration.days == 0 else \
            due - (due - start) * (1 - WARN_FRACTION)
    return at if start < at < due else None


def arm(ticket, target: str, *, start: datetime, due: datetime, warn_at: datetime | None) -> None:
    timers = _timers(ticket)
    previous = timers.get(target, {})
    generation = int(previous.get("generation", 0)) + 1
    # a resumed or re-timed target still counts from when it first started
    start_at = previous.get("start_at") if previous.get("state") in ("paused", "armed") else None
    entry = {"generation": generation, "due_at": clock.iso(due), "state": "armed",
             "start_at": start_at or clock.iso(start)}
    if warn_at is not None:
        entry.update(warn_at=clock.iso(warn_at), warned=False)
    timers[target] = entry
    ticket.timers = timers
    sla = _sla(ticket)
    sla[f"{target}_due"] = clock.iso(due)
    ticket.sla = sla


def arm_target(ticket, target: str, policy: Policy, calendar: Calendar, now: datetime) -> None:
    duration = getattr(policy, target)
    if duration is None:
        return
    due = business_due(calendar, now, duration)
    arm(ticket, target, start=now, due=due, warn_at=warn_time(policy, calendar, now, due, duration))


def armed(ticket, target: str) -> bool:
    return _timers(ticket).get(target, {}).get("state") == "armed"


def annotate(ticket, kind: str, **data: Any) -> None:
    """Extra facts kept with a timer (an escalation's level, a callback's note)."""
    timers = _timers(ticket)
    timers[kind] = {**timers[kind], **data}
    ticket.timers = timers
    sla = _sla(ticket)
    sla.pop(f"{kind}_due", None)  # not an SLA target
    ticket.sla = sla


def stop(ticket, target: str, state: str = "stopped") -> bool:
    timers = _timers(ticket)
    timer = timers.get(target)
    if not timer or timer.get("state") != "armed":
        return False
    timers[target] = {**timer, "generation": int(timer["generation"]) + 1, "state": state}
    ticket.timers = timers
    return True


def answered_late(ticket, target: str) -> bool:
    """A reply after the target breached: the breach stays recorded, the wait is over."""
    timers = _timers(ticket)
    if timers.get(target, {}).get("state") != "fired":
        return False
    timers[target] = {**timers[target], "state": "answered"}
    ticket.timers = timers
    return True


def stop_paused(ticket, target: str) -> None:
    timers = _timers(ticket)
    if timers.get(target, {}).get("state") == "paused":
        timers[target] = {**timers[target], "state": "stopped"}
        ticket.timers = timers
        sla = _sla(ticket)
        sla["paused"] = False
        ticket.sla = sla


def pause_resolution(ticket, now: datetime, calendar: Calendar) -> bool:
    """Waiting on the customer: the resolution clock stops; the open time left is kept."""
    timers = _timers(ticket)
    timer = timers.get("resolution")
    if not timer or timer.get("state") != "armed":
        return False
    left = calendar.between(now, clock.parse_iso(timer["due_at"]))
    stop(ticket, "resolution", state="paused")
    timers = _timers(ticket)
    timers["resolution"]["remaining_seconds"] = left.total_seconds()
    ticket.timers = timers
    sla = _sla(ticket)
    sla["paused"] = True
    sla["pauses"] = ([*(sla.get("pauses") or []), {"from": clock.iso(now), "to": None}])[-MAX_PAUSES:]
    ticket.sla = sla
    return True


def resume_resolution(ticket, now: datetime, calendar: Calendar, policy: Policy) -> bool:
    timers = _timers(ticket)
    timer = timers.get("resolution")
    if not timer or timer.get("state") != "paused":
        return False
    left = timedelta(seconds=float(timer.get("remaining_seconds", 0)))
    due = calendar.add(now, left)
    warn_at = (due - policy.warn_before) if policy.warn_before is not None else None
    arm(ticket, "resolution", start=now, due=due,
        warn_at=warn_at if warn_at is not None and now < warn_at < due else None)
    sla = _sla(ticket)
    sla["paused"] = False
    pauses = sla.get("pauses") or []
    if pauses and pauses[-1].get("to") is None:
        pauses[-1] = {**pauses[-1], "to": clock.iso(now)}
    sla["pauses"] = pauses
    ticket.sla = sla
    return True


def retarget(ticket, policy: Policy, calendar: Calendar, now: datetime) -> list[str]:
    """The ticket now follows `policy`: re-time its running SLA targets; the targets changed.
    A target the new policy lacks stops; one already past its new due time breaches at once."""
    timers, changed = _timers(ticket), []
    pauses = [p for p in (_sla(ticket).get("pauses") or []) if p.get("from")]
    for target in TARGETS:
        timer = timers.get(target) or {}
        if timer.get("state") not in ("armed", "paused"):
            continue
        started = timer.get("start_at") or (
            clock.iso(ticket.created_at) if target == "first_response" else None)
        if started is None:
            continue  # armed before timers kept their start: its due time stands
        changed.append(target)
        duration = getattr(policy, target)
        if duration is None:
            if timer["state"] == "armed":
                stop(ticket, target)
            else:
                stop_paused(ticket, target)
            continue
        start = clock.parse_iso(started)
        due = business_due(calendar, start, duration)
        for pause in pauses:  # waiting on the customer never counts against resolution
            begun = clock.parse_iso(pause["from"])
            if target == "resolution" and begun >= start and pause.get("to"):
                due = calendar.add(due, calendar.between(begun, clock.parse_iso(pause["to"])))
        if timer["state"] == "paused":
            open_pause = next((p for p in reversed(pauses) if not p.get("to")), None)
            since = clock.parse_iso(open_pause["from"]) if open_pause else now
            left = calendar.between(since, due).total_seconds() if due > since else 0.0
            current = _timers(ticket)
            current[target] = {**current[target], "remaining_seconds": left}
            ticket.timers = current
            continue
        warn_at = warn_time(policy, calendar, start, due, duration)
        arm(ticket, target, start=start, due=max(due, now),
            warn_at=warn_at if warn_at is not None and warn_at > now else None)
    return changed


def wake(timer: dict[str, Any]) -> tuple[str, datetime]:
    """What an armed timer waits for next: ("warning", warn_at) or ("breach", due_at)."""
    if timer.get("warn_at") and not timer.get("warned"):
        return "warning", clock.parse_iso(timer["warn_at"])
    return "breach", clock.parse_iso(timer["due_at"])


def warned(ticket, target: str) -> None:
    """The warning went out: same target, next generation, now waiting for the breach."""
    timers = _timers(ticket)
    timer = timers[target]
    timers[target] = {**timer, "generation": int(timer["generation"]) + 1, "warned": True}
    ticket.timers = timers
