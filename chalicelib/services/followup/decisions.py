"""Manager decisions: an agent asks someone with authority (a lead or an admin) to approve or
reject what the customer needs ("a refund above my limit", "replace it under warranty"), and
nobody forgets the question.

- ask (`POST /api/tickets/{id}/decisions`, any agent): one open decision per ticket. The
  approvers are the named `approver` (an active lead or admin), else the department's leads and
  the admins (managers). Due `within` (else the policy's `decide_within`, else PT4H), counted
  in the ticket's business calendar; each approver gets the request by staff mail
  (services/messaging/staff.py: their language, Dhaka times, their preferences), except the
  asker. The asker is told of the outcome the same way.
- the `decision` timer: every `remind_every` (else the policy's `decision_remind_every`, else
  PT1H; business time, wall time for urgent tickets) the approvers are reminded
  (`decision.reminded`); the first wake at or after the due time records `decision.overdue`
  and tells the admins too. Reminders go on until someone decides.
- decide (`POST /api/tickets/{id}/decisions/{decision_id}`, a lead or admin; only the named
  approver or an admin when one was named): `decision.approved` or `decision.rejected` with the
  comment, the timer stops, and the customer is told on their channel (with `message`, the
  decider's words for the customer, when given).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock, config, ids
from chalicelib.db import timeline
from chalicelib.db.models import Agent, Ticket, TimelineItem
from chalicelib.db.values import as_dict
from chalicelib.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chalicelib.services.followup import notices
from chalicelib.services.messaging import sms_text, staff
from chalicelib.services.sla import durations, rules
from chalicelib.services.sla.escalation import role_members
from chalicelib.services.sla.policy import business_due
from chalicelib.services.team import agents, audit
from chalicelib.services.tickets import lifecycle, views
from chalicelib.services.tickets import store as ticket_store

DEFAULT_WITHIN = timedelta(hours=4)
DEFAULT_REMIND_EVERY = timedelta(hours=1)
# Reminders go by email to people: not more often than every 5 minutes, except on the local
# stack, whose tests use second-scale timers.
MIN_REMIND_EVERY, MIN_REMIND_EVERY_LOCAL = timedelta(minutes=5), timedelta(seconds=2)
MAX_QUESTION, MAX_COMMENT = 2_000, 2_000
OUTCOMES = ("approved", "rejected")


def _validate_ask(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationFailed("Send a JSON object.", {"body": "an object with a question"})
    errors = {k: "unknown field" for k in body
              if k not in ("question", "approver", "within", "remind_every")}
    question = body.get("question")
    if not isinstance(question, str) or not question.strip():
        errors["question"] = "required: what should be decided"
    elif len(question) > MAX_QUESTION:
        errors["question"] = f"at most {MAX_QUESTION} characters"
    approver = body.get("approver")
    if approver is not None:
        view = agents.resolve(approver) if isinstance(approver, str) and approver else None
        if view is None or not view.has_role("lead"):
            errors["approver"] = "an active lead or admin"
    parsed: dict[str, timedelta] = {}
    for key in ("within", "remind_every"):
        if body.get(key) is None:
            continue
        try:
            parsed[key] = durations.parse(body[key])
        except durations.InvalidDuration as exc:
            errors[key] = str(exc)
    floor = MIN_REMIND_EVERY_LOCAL if config.settings().is_local else MIN_REMIND_EVERY
    if parsed.get("remind_every", floor) < floor:
        errors["remind_every"] = f"at least {int(floor.total_seconds())} seconds"
    if errors:
        raise ValidationFailed("Invalid decision request.", errors)
    return {"question": question.strip(), "approver": approver, **parsed}


@ticket_store.retry_on_race
def ask(ticket_id: str, agent: agents.AgentView, body: Any) -> dict[str, Any]:
    request = _validate_ask(body)
    ticket = ticket_store.load_open_to_change(ticket_id, agent)
    if ticket.status in ticket_store.DONE:
        raise Conflict("The ticket is resolved; reopen it first.", {"status": ticket.status})
    if _open(ticket):
        raise Conflict("A decision is already waiting on this ticket.",
                       {"decision": as_dict(ticket.decision)["id"]})
    now = clock.now()
    policy, calendar = lifecycle.clock_for(ticket)
    within = request.get("within") or policy.decide_within or DEFAULT_WITHIN
    every = request.get("remind_every") or policy.decision_remind_every or DEFAULT_REMIND_EVERY
    due = business_due(calendar, now, within)
    decision = {"id": ids.new_id("d"), "state": "requested", "question": request["question"],
                "approver": request["approver"], "requested_by": agent.principal,
                "requested_at": clock.iso(now), "due_at": clock.iso(due),
                "remind_every_seconds": every.total_seconds(), "reminders": 0}
    previous = as_dict(ticket.decision) or None  # an earlier, settled decision
    ticket.decision = decision
    rules.arm(ticket, "decision", start=now, due=min(_next_wake(ticket, now, every), due),
                  warn_at=None)
    rules.annotate(ticket, "decision", decision=decision["id"])
    approvers = _approvers(ticket)
    items = [timeline.event(ticket.id, now, "decision.requested", actor=agent.principal, seq=0,
                            data={"decision": decision["id"], "question": decision["question"],
                                  "approvers": [a.name for a in approvers],
                                  "due_at": decision["due_at"]})]
    items += staff.notify_many(ticket, "decision_requested", [a.name for a in approvers], now=now,
                               actor=agent.principal, actor_name=agent.display_name,
                               question=decision["question"],
                               decision_due=decision["due_at"])
    ticket_store.save(ticket, items, now, lambda tx: audit.add(
        tx, agent.principal, "decision.requested", f"ticket:{ticket.id}", at=now,
        before=previous, after=decision, about=ticket))
    return views.summary(ticket)


@ticket_store.retry_on_race
def decide(ticket_id: str, decision_id: str, agent: agents.AgentView, body: Any) -> dict[str, Any]:
    if not agent.has_role("lead"):
        raise Forbidden("Only a lead or an admin can decide.")
    if not isinstance(body, dict):
        raise ValidationFailed("Send a JSON object.", {"body": "an object with an outcome"})
    errors = {k: "unknown field" for k in body if k not in ("outcome", "comment", "message")}
    if body.get("outcome") not in OUTCOMES:
        errors["outcome"] = "approved or rejected"
    for key in ("comment", "message"):
        value = body.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_COMMENT):
            errors[key] = f"text of at most {MAX_COMMENT} characters"
    if errors:
        raise ValidationFailed("Invalid decision.", errors)
    ticket = ticket_store.load(ticket_id, agent)
    decision = as_dict(ticket.decision)
    if decision.get("id") != decision_id:
        raise NotFound("No such decision on this ticket.")
    if decision.get("state") != "requested":
        raise Conflict("This decision was already made.", {"state": decision.get("state")})
    if not agent.has_role("admin") and agent.principal not in {a.name for a in _approvers(ticket)}:
        raise Forbidden("This decision was asked of other approvers.")
    now = clock.now()
    outcome = body["outcome"]
    message = (body.get("message") or "").strip()
    ticket.decision = {**decision, "state": outcome, "decided_by": agent.principal,
                       "decided_at": clock.iso(now), "comment": (body.get("comment") or "").strip()}
    rules.stop(ticket, "decision", state="fired")
    items = [timeline.event(ticket.id, now, f"decision.{outcome}", actor=agent.principal, seq=0,
                            data={"decision": decision_id, "comment": ticket.decision["comment"],
                                  "late": now > clock.parse_iso(decision["due_at"])})]
    items += staff.notify(ticket, "decision_decided", decision.get("requested_by"), now=now,
                          actor=agent.principal, actor_name=agent.display_name, outcome=outcome,
                          comment=ticket.decision["comment"] or None,
                          question=decision.get("question"))
    told, channel = notices.compose(ticket, now + timedelta(milliseconds=1), kind="decision",
                                    event="decision.customer_notice", outcome=outcome,
                                    message=message)
    if channel == "sms":  # the customer reads it as SMS: the agent reply limit applies
        sms_text.check_length(told[0].body or "", "message")
    ticket_store.save(ticket, items + told, now, lambda tx: audit.add(
        tx, agent.principal, f"decision.{outcome}", f"ticket:{ticket.id}", at=now,
        before=decision, after=as_dict(ticket.decision), about=ticket))
    return views.summary(ticket)


def fire(ticket: Ticket, timer: dict[str, Any], now: datetime) -> list[TimelineItem]:
    """The decision timer woke: remind the approvers (and, once overdue, the admins)."""
    decision = as_dict(ticket.decision)
    if not _open(ticket) or decision.get("id") != timer.get("decision"):
        rules.stop(ticket, "decision", state="fired")
        return []
    due = clock.parse_iso(decision["due_at"])
    overdue = now >= due
    first_overdue = overdue and not decision.get("overdue")
    approvers = _approvers(ticket)
    if first_overdue:  # the managers hear of it too, once
        approvers += [a for a in role_members(ticket, "admin") if a.name not in {b.name for b in approvers}]
    reminders = int(decision.get("reminders", 0)) + 1
    ticket.decision = {**decision, "reminders": reminders, "overdue": overdue}
    kind = "decision.overdue" if first_overdue else "decision.reminded"
    items = [timeline.event(ticket.id, now, kind, seq=0, data={
        "decision": decision["id"], "to": [a.name for a in approvers], "reminder": reminders,
        "due_at": decision["due_at"]})]
    items += staff.notify_many(ticket, "decision_requested", [a.name for a in approvers], now=now,
                               question=decision["question"], decision_due=decision["due_at"],
                               reminder=True, overdue=overdue)
    every = timedelta(seconds=float(decision.get("remind_every_seconds") or 3600))
    following = _next_wake(ticket, now, every)
    rules.arm(ticket, "decision", start=now,
                  due=following if overdue else min(following, due), warn_at=None)
    rules.annotate(ticket, "decision", decision=decision["id"])
    return items


def withdraw(ticket: Ticket, actor: str, now: datetime, seq: int) -> list[TimelineItem]:
    """The ticket was resolved or closed while a decision waited: nothing is left to decide."""
    if not _open(ticket):
        return []
    decision = as_dict(ticket.decision)
    ticket.decision = {**decision, "state": "withdrawn", "decided_at": clock.iso(now)}
    rules.stop(ticket, "decision")
    return [timeline.event(ticket.id, now, "decision.withdrawn", actor=actor, seq=seq,
                           data={"decision": decision["id"], "reason": f"ticket {ticket.status}"})]


def _open(ticket: Ticket) -> bool:
    return as_dict(ticket.decision).get("state") == "requested"


def _next_wake(ticket: Ticket, now: datetime, every: timedelta) -> datetime:
    """Reminders respect the business calendar, except for urgent tickets."""
    if ticket.priority == "urgent":
        return now + every
    _, calendar = lifecycle.clock_for(ticket)
    return calendar.add(now, every)


def _approvers(ticket: Ticket) -> list[Agent]:
    named = as_dict(ticket.decision).get("approver")
    if named:
        try:
            agent = Agent.get("agent", named)
            if agent.active:
                return [agent]
        except Agent.DoesNotExist:
            pass  # gone since: fall back to the department's leads and the admins
    return role_members(ticket, "lead") + role_members(ticket, "admin")
