"""SLA timers on Step Functions: what to start/stop when a ticket changes, and what a fired
timer means when it arrives on the timer queue.

A ticket carries its live timers (kind -> generation, due_at, state). Services only change that
map; the tickets stream calls `reconcile`, which starts an execution for every newly armed
generation and stops the execution of every generation that was replaced. A fired timer acts
only if its generation is still the armed one, so a late or duplicate delivery does nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock, observability
from chalicelib.db import timeline
from chalicelib.db.connection import transaction
from chalicelib.db.models import Ticket, TimelineItem
from chalicelib.db.values import as_dict
from chalicelib.integrations import stepfunctions
from chalicelib.services.followup import checkin, decisions
from chalicelib.services.messaging import staff
from chalicelib.services.sla import escalation, rules
from chalicelib.services.tickets.lifecycle import status_timers
from chalicelib.services.tickets.store import DONE, refresh_queue_sort

KINDS = ("first_response", "next_reply", "resolution", "callback", "checkin", "escalation",
         "reminder", "auto_close", "decision")


@dataclass(frozen=True)
class Action:
    op: str  # "start" | "stop"
    name: str
    payload: dict[str, Any] | None = None


def execution_name(ref: str, kind: str, generation: int, rearm: int | None = None) -> str:
    """Console-legible, unique per state machine: T-1042-first-response-g3[-r<epoch ms>]."""
    name = f"T-{ref}-{kind.replace('_', '-')}-g{generation}"
    return f"{name}-r{rearm}" if rearm is not None else name


def wake_at(due: datetime, extra_seconds: int = 0) -> str:
    """When the state machine should wake: a Wait state works in whole seconds (AWS truncates
    the fraction), so round up, or it would fire up to a second early."""
    whole = due.replace(microsecond=0)
    if whole < due:
        whole += timedelta(seconds=1)
    return clock.iso(whole + timedelta(seconds=extra_seconds))


def reconcile(old: Ticket | None, new: Ticket | None) -> list[Action]:
    """Executions to start and stop for one change of a ticket (pure)."""
    before = {k: as_dict(v) for k, v in as_dict(old.timers if old else None).items()}
    after = {k: as_dict(v) for k, v in as_dict(new.timers if new else None).items()}
    actions: list[Action] = []
    for kind in sorted(set(before) | set(after)):
        was, now = before.get(kind), after.get(kind)
        if now and now.get("state") == "armed" and new is not None and (
                not was or was.get("generation") != now.get("generation")
                or was.get("state") != "armed"):
            generation = int(now["generation"])
            _, due = rules.wake(now)  # the warning first, when there is one
            actions.append(Action("start", execution_name(new.ref, kind, generation), {
                "ticket_id": new.id, "ref": new.ref, "kind": kind, "generation": generation,
                "due_at": clock.iso(due), "wake_at": wake_at(due)}))
        if was and was.get("state") == "armed" and old is not None and (
                not now or now.get("generation") != was.get("generation")):
            actions.append(Action("stop", execution_name(old.ref, kind, int(was["generation"]))))
    return actions


def apply(actions: list[Action]) -> None:
    for action in actions:
        if action.op == "start":
            stepfunctions.start(action.name, action.payload or {})
        else:
            stepfunctions.stop(action.name, "superseded: the ticket changed")


class InvalidTimer(ValueError):
    pass


def parse_payload(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidTimer("timer payload is not an object")
    try:
        payload = {"ticket_id": str(raw["ticket_id"]), "ref": str(raw.get("ref", "")),
                   "kind": str(raw["kind"]), "generation": int(raw["generation"]),
                   "due_at": str(raw["due_at"])}
        clock.parse_iso(payload["due_at"])
        payload["wake_at"] = clock.iso(clock.parse_iso(str(raw.get("wake_at") or raw["due_at"])))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidTimer(f"timer payload is malformed: {exc}") from None
    if payload["kind"] not in KINDS:
        raise InvalidTimer(f"unknown timer kind {payload['kind']!r}")
    return payload


def fire(payload: dict[str, Any], now: datetime | None = None) -> str:
    """Act on a fired timer; returns what happened (for logs and tests).

    Raises on a write conflict so the queue redelivers and the timer is judged again.
    """
    now = now or clock.now()
    observability.bind_ticket(payload["ticket_id"])
    try:
        ticket = Ticket.get(payload["ticket_id"], consistent_read=True)
    except Ticket.DoesNotExist:
        return "missing"
    kind, generation = payload["kind"], payload["generation"]
    timer = as_dict(as_dict(ticket.timers).get(kind))
    if not timer or int(timer.get("generation", -1)) != generation or timer.get("state") != "armed":
        return "stale"
    phase, due = rules.wake(timer)
    if now < due:
        # Delivered early (a clock skew, or the emulator): wait again, a second past the due
        # time so this cannot spin. Millisecond names keep each re-arm a new execution.
        stepfunctions.start(
            execution_name(ticket.ref, kind, generation, int(now.timestamp() * 1000)),
            {**payload, "due_at": clock.iso(due), "wake_at": wake_at(due, extra_seconds=1)})
        return "rearmed"
    return _ON_FIRE.get(kind, _sla_target)(ticket, kind, timer, phase, now)


# ---- what each kind of timer does when it falls due ----------------------------------------
# (ticket, kind, timer, phase, now) -> outcome; the SLA targets share _sla_target.

def _pending(ticket: Ticket, kind: str, timer: dict, phase: str, now: datetime) -> str:
    """reminder / auto_close: only while the ticket still waits on the customer."""
    rules.stop(ticket, kind, state="fired")
    if ticket.status != "pending":
        return _save_fired(ticket, [], now, "skipped")
    if kind == "reminder":
        return _save_fired(ticket, checkin.reminder(ticket, now), now, "reminded")
    items = [timeline.event(ticket.id, now, "ticket.status_changed", actor="system", seq=0,
                            data={"from": "pending", "to": "closed",
                                  "reason": "no answer from the customer"}),
             timeline.event(ticket.id, now, "ticket.auto_closed", seq=1,
                            data={"reason": "no answer from the customer"})]
    status_timers(ticket, "pending", "closed", now)
    ticket.status = "closed"
    ticket.resolved_at = now
    items += decisions.withdraw(ticket, "system", now, seq=2)
    return _save_fired(ticket, items, now, "closed")


def _escalation(ticket: Ticket, kind: str, timer: dict, phase: str, now: datetime) -> str:
    if ticket.status in DONE:
        return "stale"
    return _save_fired(ticket, escalation.fire(ticket, timer, now), now, "escalated")


def _decision(ticket: Ticket, kind: str, timer: dict, phase: str, now: datetime) -> str:
    return _save_fired(ticket, decisions.fire(ticket, timer, now), now, "decision")


def _checkin(ticket: Ticket, kind: str, timer: dict, phase: str, now: datetime) -> str:
    _mark_fired(ticket, kind, timer)
    if ticket.status != "resolved":  # reopened or closed meanwhile: nothing to ask
        return _save_fired(ticket, [], now, "skipped")
    return _save_fired(ticket, checkin.compose(ticket, now), now, "followup")


def _callback(ticket: Ticket, kind: str, timer: dict, phase: str, now: datetime) -> str:
    _mark_fired(ticket, kind, timer)
    items = [timeline.event(ticket.id, now, "callback.due", data={
        "due_at": timer["due_at"], "note": timer.get("note") or "",
        "assignee": ticket.assignee, "generation": int(timer["generation"])})]
    items += staff.notify_many(ticket, "callback_due", [p for p in (ticket.assignee, timer.get("by"))
                                                         if p], now=now,
                               callback_at=timer["due_at"], note=timer.get("note") or None)
    return _save_fired(ticket, items, now, "callback")


def _sla_target(ticket: Ticket, kind: str, timer: dict, phase: str, now: datetime) -> str:
    """first_response, next_reply, resolution: a warning first (when the policy has one),
    then met or breached; a breach starts the escalation ladder."""
    generation = int(timer["generation"])
    met = (kind == "first_response" and ticket.first_response_at is not None) or (
        kind == "resolution" and ticket.status in DONE)
    items: list[TimelineItem] = []
    if phase == "warning":
        if met:
            return "met"
        rules.warned(ticket, kind)  # next generation: the stream arms the breach wake-up
        items.append(timeline.event(ticket.id, now, "sla.warning", data={
            "target": kind, "due_at": timer["due_at"], "warn_at": timer["warn_at"],
            "generation": generation}))
        items += staff.notify(ticket, "sla_warning", ticket.assignee, now=now, target=kind,
                              target_due=timer["due_at"])
        return _save_fired(ticket, items, now, "warned")
    _mark_fired(ticket, kind, timer)
    if not met:
        sla = as_dict(ticket.sla)
        sla["breached"] = sorted({*(sla.get("breached") or []), kind})
        ticket.sla = sla
        escalation.start(ticket, kind, now)
        due = clock.parse_iso(timer["due_at"])
        items.append(timeline.event(ticket.id, now, "sla.breached", data={
            "target": kind, "due_at": timer["due_at"], "generation": generation,
            "late_by_seconds": round((now - due).total_seconds(), 3)}))
    outcome = _save_fired(ticket, items, now, "met" if met else "breached")
    if not met:  # counted once written (a conflict raises and the queue redelivers)
        observability.count("SlaBreached", target=kind, priority=ticket.priority)
    return outcome


_ON_FIRE = {"reminder": _pending, "auto_close": _pending, "escalation": _escalation,
            "decision": _decision, "checkin": _checkin, "callback": _callback}


def _mark_fired(ticket: Ticket, kind: str, timer: dict) -> None:
    timers = as_dict(ticket.timers)
    timers[kind] = {**timer, "state": "fired"}
    ticket.timers = timers


def _save_fired(ticket: Ticket, items: list[TimelineItem], now: datetime, outcome: str) -> str:
    refresh_queue_sort(ticket)
    ticket.updated_at = now
    # Conditional on the version we read: a concurrent change raises Cancelled, the queue
    # redelivers and the next look decides again.
    with transaction() as tx:
        tx.save(ticket)
        for item in items:
            tx.save(item, condition=TimelineItem.sk.does_not_exist())
    return outcome
