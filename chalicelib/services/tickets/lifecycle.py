"""What a status, priority or department change does to a ticket's SLA: the policy it then
follows, timers paused, resumed, stopped or armed. Changes the ticket in memory only; the
caller saves it (tickets/store.py). AWS calls: the policy and calendar settings (cached)."""
from __future__ import annotations

from datetime import datetime

from chalicelib.db import timeline
from chalicelib.db.models import Ticket, TimelineItem
from chalicelib.db.values import as_dict
from chalicelib.services.sla import calendars, rules
from chalicelib.services.sla import store as policies
from chalicelib.services.sla.policy import business_due
from chalicelib.services.tickets import store


def clock_for(ticket: Ticket):
    """The policy and calendar the ticket's SLA counts with."""

    sla = as_dict(ticket.sla)
    policy = policies.find_policy(sla.get("policy") or "default") or policies.get_policy("default")
    calendar = policies.find_calendar(sla.get("calendar") or policy.calendar) or calendars.ALWAYS
    return policy, calendar


def follow_policy(ticket: Ticket, now: datetime, seq: int) -> list[TimelineItem]:
    """Priority or department changed: the ticket takes the policy they now select
    (`<department>-<priority>`, `<department>`, `default`) and its running targets are re-timed."""

    current = as_dict(ticket.sla).get("policy") or "default"
    policy = policies.policy_for(ticket.department, ticket.priority)
    if policy.name == current:
        return []
    calendar = policies.find_calendar(policy.calendar) or calendars.ALWAYS
    retimed = rules.retarget(ticket, policy, calendar, now)
    ticket.sla = {**as_dict(ticket.sla), "policy": policy.name, "calendar": policy.calendar}
    return [timeline.event(ticket.id, now, "sla.policy_changed", seq=seq, data={
        "from": current, "to": policy.name, "retimed": retimed,
        **{f"{t}_due": as_dict(ticket.sla).get(f"{t}_due") for t in retimed}})]


def status_timers(ticket: Ticket, old: str, new: str, now: datetime) -> None:
    """Pending pauses the resolution clock, leaving it resumes it; done stops everything;
    reopening a done ticket starts a fresh resolution target."""
    if old == new:
        return
    policy, calendar = clock_for(ticket)
    if new in store.DONE:
        for kind in list(as_dict(ticket.timers)):
            rules.stop(ticket, kind)
        rules.stop_paused(ticket, "resolution")
        if new == "resolved" and policy.checkin_after is not None:
            rules.arm(ticket, "checkin", start=now,
                          due=business_due(calendar, now, policy.checkin_after), warn_at=None)
    elif new == "pending":
        rules.pause_resolution(ticket, now, calendar)
        for kind, after in (("reminder", policy.remind_after), ("auto_close", policy.close_after)):
            if after is not None:
                rules.arm(ticket, kind, start=now, due=business_due(calendar, now, after),
                              warn_at=None)
                rules.annotate(ticket, kind)
    elif old == "pending":
        rules.resume_resolution(ticket, now, calendar, policy)
    elif old in store.DONE:
        rules.arm_target(ticket, "resolution", policy, calendar, now)
    if old == "pending":  # the customer answered or an agent moved on: no reminder, no close
        rules.stop(ticket, "reminder")
        rules.stop(ticket, "auto_close")


def status_event(ticket: Ticket, to: str, actor: str, now: datetime, seq: int) -> TimelineItem:
    return timeline.event(ticket.id, now, "ticket.status_changed", actor=actor, seq=seq,
                          data={"from": ticket.status, "to": to})
