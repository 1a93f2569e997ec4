"""The escalation ladder after a breach: the assignee, then the department's leads, then the
managers (admins). Each level has its own delay (policy `escalate_lead_after`,
`escalate_manager_after`, else `escalate_every`, else 30 minutes), in business time of the
ticket's calendar, or wall time for urgent tickets, which may escalate out of hours.

Each level is the `escalation` timer of the ticket (services/sla/timers.py fires it); a reply or
resolving the ticket stops it like any other timer. A level records `ticket.escalated` with the
principals it went to, and queues a staff mail (services/messaging/staff.py) to each of them.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.db import timeline
from chalicelib.db.models import Agent, Ticket, TimelineItem
from chalicelib.services.messaging import staff
from chalicelib.services.sla import rules
from chalicelib.services.tickets.lifecycle import clock_for

LEVELS = ("assignee", "lead", "manager")
DEFAULT_EVERY = timedelta(minutes=30)


def start(ticket: Ticket, target: str, now: datetime) -> None:
    """Arm level 1 at once (called when a target breaches)."""
    if rules.armed(ticket, "escalation"):
        return  # already climbing for an earlier breach
    rules.arm(ticket, "escalation", start=now, due=now, warn_at=None)
    rules.annotate(ticket, "escalation", level=1, target=target)


def fire(ticket: Ticket, timer: dict[str, Any], now: datetime) -> list[TimelineItem]:
    """Notify this level, arm the next; the items to write with the ticket."""

    level = int(timer.get("level", 1))
    recipients = _recipients(ticket, LEVELS[level - 1])
    items: list[TimelineItem] = [timeline.event(ticket.id, now, "ticket.escalated", data={
        "level": level, "to_role": LEVELS[level - 1], "to": [a.name for a in recipients],
        "target": timer.get("target")})]
    items += staff.notify_many(ticket, "escalation", [a.name for a in recipients], now=now,
                               level=level, target=timer.get("target") or "")
    if level < len(LEVELS):
        policy, calendar = clock_for(ticket)
        own = policy.escalate_lead_after if level == 1 else policy.escalate_manager_after
        every = own or policy.escalate_every or DEFAULT_EVERY
        due = now + every if ticket.priority == "urgent" else calendar.add(now, every)
        rules.arm(ticket, "escalation", start=now, due=due, warn_at=None)
        rules.annotate(ticket, "escalation", level=level + 1, target=timer.get("target"))
    else:
        rules.stop(ticket, "escalation", state="fired")
    return items


def _recipients(ticket: Ticket, role: str) -> list[Agent]:
    if role == "assignee":
        if not ticket.assignee:
            return []
        try:
            agent = Agent.get("agent", ticket.assignee)
        except Agent.DoesNotExist:
            return []
        return [agent] if agent.active else []
    return role_members(ticket, "lead" if role == "lead" else "admin")


def role_members(ticket: Ticket, role: str) -> list[Agent]:
    """Active leads of the ticket's department, or active admins (the managers)."""
    return [a for a in Agent.query("agent", limit=500)  # one partition: the agent directory
            if a.active and a.role == role
            and (role == "admin" or ticket.department in (a.departments or ()))]
