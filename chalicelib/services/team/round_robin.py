"""Round-robin assignment: a new unassigned ticket in a department whose assignment is
`round_robin` (services/team/routing.py) goes to the next available agent of that department.

Available: active, not away, role `agent` or `lead`, the department among theirs. Order: by
principal ARN. Which one is next: a per-department counter in the keys table (`rr#<department>`
/ `_`, value = tickets handed out so far); the ticket goes to available[counter % len(available)].

Runs on the tickets stream (`ticket_changed`), for an INSERT of a `new` ticket, or a change of
department while unassigned and not resolved/closed. The assignment, its `ticket.assigned`
timeline event (actor `routing`) and the counter's ADD are one transaction: the ticket write is
conditional on the version of the image it was decided from (that image has no assignee), the
counter's on the value read. A redelivered stream record finds the version moved, reads the
ticket again, sees the assignee and does nothing. With nobody available the ticket stays
unassigned and `ticket.unassigned` is recorded once (its sort key derives from the change that
asked, so a redelivery cannot add a second). The chosen agent's "assigned to you" mail (`tell`,
handed in by the stream: services/messaging/staff.py) is written in the same transaction, so
it too is written once (one GetItem for the agent, cached, and one for the customer's name).
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Protocol, Sequence, TypeVar

from pynamodb.exceptions import PutError

from chalicelib import clock, config
from chalicelib.db import keys, timeline
from chalicelib.db.connection import Cancelled, Transaction
from chalicelib.db.models import Agent, Key, Ticket, TimelineItem
from chalicelib.services.team import routing
from chalicelib.services.tickets import store as ticket_store

# (ticket, the agent it went to, now) -> the timeline items telling them (staff mail)
Tell = Callable[[Ticket, str, Any], list[TimelineItem]]

log = logging.getLogger("setu.routing")

ACTOR = "routing"
ROLES = ("agent", "lead")
MAX_AGENTS = 2000  # the agents partition is read whole (a bounded Query, never a Scan)
ATTEMPTS = 4
UNASSIGNED_SEQ = 90  # ticket.unassigned sorts after the events of the change that asked


class AgentLike(Protocol):
    name: str  # principal ARN
    role: str
    active: Any
    away: Any
    departments: Any


_A = TypeVar("_A", bound=AgentLike)


def available(agent: AgentLike, department: str) -> bool:
    return (bool(agent.active) and not agent.away and agent.role in ROLES
            and department in (agent.departments or ()))


def pick(agents: Sequence[_A], counter: int, department: str) -> _A | None:
    """The agent for the department's ticket number `counter` (0, 1, 2, ...), or None when
    nobody is available. Pure."""
    eligible = sorted((a for a in agents if available(a, department)), key=lambda a: a.name)
    return eligible[counter % len(eligible)] if eligible else None


# ---- the stream ----------------------------------------------------------------------------

def wanted(old: Ticket | None, new: Ticket | None) -> bool:
    """Does this change of a ticket ask for round-robin assignment (before the department's
    mode is looked at)? Pure."""
    if new is None or getattr(new, "assignee", None) or not getattr(new, "department", None):
        return False
    if old is None:
        return getattr(new, "status", None) == "new"
    return old.department != new.department and new.status not in ticket_store.DONE


def on_ticket_changed(old: Ticket | None, new: Ticket | None, tell: Tell | None = None) -> str:
    """The tickets stream's routing step: "assigned", "unassigned", or "skipped". `tell`
    (services/messaging/staff.py, handed in by the stream) composes the chosen agent's mail."""
    if not wanted(old, new) or routing.assignment(new.department) != "round_robin":
        return "skipped"
    outcome = assign(new, tell)
    log.info("round-robin %s (%s): %s", new.ref, new.department, outcome)
    return outcome


def assign(image: Ticket, tell: Tell | None = None) -> str:
    """Assign the ticket as it was in `image` (unassigned) to the department's next agent."""
    ticket: Ticket | None = image
    department = image.department
    for attempt in range(ATTEMPTS):
        if attempt:  # the ticket or the counter moved: judge again from the stored ticket
            ticket = ticket_store.find(image.id)
            if ticket is None or ticket.assignee or ticket.department != department \
                    or ticket.status in ticket_store.DONE:
                return "skipped"
        assert ticket is not None
        seen = _counter(department)
        chosen = pick(agents(), seen, department)
        if chosen is None:
            return _unassigned(ticket, department)
        now = clock.now()
        ticket.assignee = chosen.name
        event = timeline.event(ticket.id, now, "ticket.assigned", actor=ACTOR, seq=0, data={
            "from": None, "to": chosen.name, "by": "round_robin", "department": department})
        told = tell(ticket, chosen.name, now) if tell else []
        try:
            ticket_store.save(ticket, [event, *told], now,
                         extra_writes=lambda tx: _advance(tx, department, seen))
            return "assigned"
        except Cancelled:  # the counter moved (another assignment in this department)
            continue
        except ticket_store.Raced:  # noqa: SLF001 - the ticket changed since the image
            continue
    raise RuntimeError(f"round-robin for {image.id}: the ticket or the counter kept changing")


def _counter(department: str) -> int:
    try:
        return int(Key.get(keys.round_robin_pk(department), keys.NO_SORT, consistent_read=True).value or 0)
    except Key.DoesNotExist:
        return 0


def _advance(tx: Transaction, department: str, seen: int) -> None:
    condition = Key.value == seen
    if seen == 0:
        condition = Key.value.does_not_exist() | condition
    tx.update(Key(pk=keys.round_robin_pk(department), sk=keys.NO_SORT), actions=[Key.value.add(1)],
              condition=condition, label="extra")


def _unassigned(ticket: Ticket, department: str) -> str:
    at = ticket.updated_at or clock.now()
    event = timeline.event(ticket.id, at, "ticket.unassigned", actor=ACTOR, seq=UNASSIGNED_SEQ,
                           data={"reason": f"no available agent in {department} (active, not "
                                           "away, role agent or lead)",
                                 "department": department})
    try:
        event.save(condition=TimelineItem.sk.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
    return "unassigned"


# ---- agents --------------------------------------------------------------------------------

_agents: tuple[float, list[Agent]] = (0.0, [])


def agents() -> list[Agent]:
    """Every agent (the settings table's `agent` partition: one Query), cached briefly per
    container like other settings (SETU_SETTINGS_CACHE_SECONDS)."""
    global _agents
    expires, found = _agents
    if expires > time.monotonic():
        return found
    found = list(Agent.query("agent", limit=MAX_AGENTS))
    _agents = (time.monotonic() + config.settings().settings_cache_seconds, found)
    return found


def clear_cache() -> None:
    global _agents
    _agents = (0.0, [])
