"""SLA policies, the due times they give a ticket, which fields a policy inherits and which
policy a ticket gets (pure: no AWS; services/sla/store.py reads and writes them).

A policy names targets as ISO 8601 durations and the business calendar they count in
(services/sla/calendars.py). A policy saved without a calendar counts in `24x7`; the built-in
`default` policy counts in the `default` calendar (Asia/Dhaka business hours).

Inheritance: a duration field a policy does not set (left out of the saved body, or `null`)
takes the value of the `default` policy (the stored one, else BUILTIN_DEFAULT; the `default`
policy itself inherits from BUILTIN_DEFAULT). `"off"` switches a field off for this policy
(no check-in, no reminder, ...). `first_response` is always set; the calendar is not inherited.

Selection (`candidates`, the one place for the rule): a ticket of department D and priority P
gets the first policy that exists of `D-P`, then `P` (a priority's policy for every
department), then D's `default_policy` field, then `D`, then `default`; for priority `normal`
the department's `default_policy` comes before a policy named `normal`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

from chalicelib.errors import ValidationFailed
from chalicelib.services.sla import durations
from chalicelib.services.sla.calendars import Calendar

TARGETS = ("first_response", "next_reply", "resolution")
BUILTIN_DEFAULT = {"first_response": "PT4H", "resolution": "P3D", "checkin_after": "P1D",
                   "remind_after": "P2D", "close_after": "P5D", "calendar": "default"}
DURATION_FIELDS = (*TARGETS, "warn_before", "checkin_after", "escalate_every", "remind_after",
                   "close_after", "decide_within", "decision_remind_every", "escalate_lead_after",
                   "escalate_manager_after")
POLICY_FIELDS = (*DURATION_FIELDS, "calendar")
OFF = "off"  # a follow-up or target switched off for this policy (not inherited)
PRIORITIES = ("low", "normal", "high", "urgent")  # = services/tickets/store.PRIORITIES


@dataclass(frozen=True)
class Policy:
    name: str
    first_response: timedelta
    next_reply: timedelta | None = None
    resolution: timedelta | None = None
    warn_before: timedelta | None = None
    checkin_after: timedelta | None = None  # after an agent resolves: "was it solved?" + CSAT
    escalate_every: timedelta | None = None  # between escalation levels after a breach
    escalate_lead_after: timedelta | None = None  # assignee -> lead (default escalate_every)
    escalate_manager_after: timedelta | None = None  # lead -> manager (default escalate_every)
    remind_after: timedelta | None = None  # pending: remind the customer after this long
    close_after: timedelta | None = None  # pending: close with a reason after this long
    decide_within: timedelta | None = None  # a manager decision is due this long after asking
    decision_remind_every: timedelta | None = None  # remind the approvers until they decide
    calendar: str = "24x7"
    inherited: tuple[str, ...] = ()  # fields taken from the default policy
    switched_off: tuple[str, ...] = ()  # fields saved as "off"

    def to_dict(self) -> dict[str, Any]:
        """The effective values (null: no such target or follow-up)."""
        out: dict[str, Any] = {"name": self.name, "calendar": self.calendar}
        for key in DURATION_FIELDS:
            value = getattr(self, key)
            out[key] = durations.format(value) if value is not None else None
        return out

    def stored(self) -> dict[str, Any]:
        """What was saved for this policy: its own fields only (never the inherited ones)."""
        effective = self.to_dict()
        out: dict[str, Any] = {"calendar": self.calendar}
        for key in DURATION_FIELDS:
            if key in self.switched_off:
                out[key] = OFF
            elif key not in self.inherited and effective[key] is not None:
                out[key] = effective[key]
        return out

    def describe(self) -> dict[str, Any]:
        """The API's answer: the effective values at the top level (and under `effective`),
        what the policy itself sets under `set`, the fields it inherits under `inherited`."""
        effective = self.to_dict()
        return {**effective, "effective": {k: v for k, v in effective.items() if k != "name"},
                "set": self.stored(), "inherited": list(self.inherited)}


def parse_policy(name: str, body: Any, base: dict[str, Any] | None = None) -> Policy:
    """Validate an API payload (or stored document) into a Policy; ValidationFailed otherwise.
    A duration field left out or null takes its value from `base` (the default policy's
    effective values, durations as text); "off" switches it off."""
    if not isinstance(body, dict):
        raise ValidationFailed("The policy must be a JSON object.", {"body": "must be an object"})
    errors: dict[str, str] = {}
    for key in body:
        if key not in POLICY_FIELDS and key != "name":
            errors[key] = "unknown field"
    values: dict[str, Any] = {}
    inherited, off = [], []
    for key in DURATION_FIELDS:
        raw = body.get(key)
        if raw is None:
            if key != "first_response" and base and base.get(key) not in (None, OFF):
                values[key] = durations.parse(base[key])
                inherited.append(key)
            continue
        if isinstance(raw, str) and raw.strip().lower() == OFF and key != "first_response":
            off.append(key)
            continue
        try:
            values[key] = durations.parse(raw)
        except durations.InvalidDuration as exc:
            errors[key] = str(exc) + ("" if key == "first_response" else ', or "off"')
    if "first_response" not in values and "first_response" not in errors:
        errors["first_response"] = "required"
    calendar = body.get("calendar", "24x7")
    if not isinstance(calendar, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", calendar):
        errors["calendar"] = "a calendar name"
    if errors:
        raise ValidationFailed("The SLA policy has errors.", errors)
    return Policy(name=name, calendar=calendar, inherited=tuple(inherited),
                  switched_off=tuple(off), **values)


def inheritable(policy: Policy) -> dict[str, Any]:
    """The values another policy inherits from this (the default) one."""
    return {k: v for k, v in policy.to_dict().items() if k in DURATION_FIELDS and v is not None}


def builtin_base() -> dict[str, Any]:
    """What the `default` policy itself inherits: BUILTIN_DEFAULT's durations."""
    return {k: v for k, v in BUILTIN_DEFAULT.items() if k in DURATION_FIELDS}


# ---- which policy a ticket gets ---------------------------------------------------------------

def candidates(department: str, priority: str, department_policy: str | None = None) -> list[str]:
    """The policy names a ticket of `department` and `priority` looks for, first found wins."""
    own = [department_policy] if department_policy else []
    middle = [*own, priority] if priority == "normal" else [priority, *own]
    names = [f"{department}-{priority}", *middle, department, "default"]
    return list(dict.fromkeys(names))


def choose(department: str, priority: str, department_policy: str | None,
           exists: Callable[[str], bool]) -> str:
    """The name of the policy the ticket gets (`default` when no other exists)."""
    for name in candidates(department, priority, department_policy):
        if name == "default" or exists(name):
            return name
    return "default"


def usage(policy_names: Iterable[str], departments: dict[str, str | None],
          priorities: Iterable[str] = PRIORITIES) -> dict[str, list[str]]:
    """policy name -> the "<department>/<priority>" pairs whose tickets get it, for the
    existing `policy_names` (`default` always exists) and active `departments` (name ->
    its default_policy)."""
    existing = set(policy_names) | {"default"}
    used: dict[str, list[str]] = {name: [] for name in sorted(existing)}
    for department in sorted(departments):
        for priority in priorities:
            chosen = choose(department, priority, departments[department], existing.__contains__)
            used[chosen].append(f"{department}/{priority}")
    return used


def applicable(name: str, departments: dict[str, str | None],
               priorities: Iterable[str] = PRIORITIES) -> bool:
    """Could some ticket ever get a policy of this name (the rule in `candidates`)?"""
    priorities = tuple(priorities)
    if name == "default" or name in priorities or name in departments \
            or name in {p for p in departments.values() if p}:
        return True
    return any(name == f"{d}-{p}" for d in departments for p in priorities)


def unused_warning(name: str) -> str:
    return (f"no ticket uses policy '{name}': names that apply are default, <priority> "
            f"({', '.join(PRIORITIES)}), <department>, <department>-<priority>, or a "
            "department's default policy")


def business_due(calendar: Calendar, start: datetime, duration: timedelta) -> datetime:
    """Days count as business days ("P3D" = three open days later), hours and minutes as open
    time ("PT4H" = four open hours), which is how a support lead reads a target."""
    return calendar.add(calendar.add_days(start, duration.days), duration - timedelta(days=duration.days))
