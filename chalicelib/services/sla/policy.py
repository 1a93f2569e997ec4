"""SLA policies and the due times they give a ticket.

A policy names targets as ISO 8601 durations and the business calendar they count in
(services/sla/calendars.py). A policy saved without a calendar counts in `24x7`; the built-in
`default` policy counts in the `default` calendar (Asia/Dhaka business hours).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "calendar": self.calendar}
        for key in DURATION_FIELDS:
            value = getattr(self, key)
            out[key] = durations.format(value) if value is not None else None
        return out


def parse_policy(name: str, body: Any) -> Policy:
    """Validate an API payload (or stored document) into a Policy; ValidationFailed otherwise."""
    if not isinstance(body, dict):
        raise ValidationFailed("The policy must be a JSON object.", {"body": "must be an object"})
    errors: dict[str, str] = {}
    for key in body:
        if key not in POLICY_FIELDS and key != "name":
            errors[key] = "unknown field"
    values: dict[str, Any] = {}
    for key in DURATION_FIELDS:
        raw = body.get(key)
        if raw is None:
            continue
        try:
            values[key] = durations.parse(raw)
        except durations.InvalidDuration as exc:
            errors[key] = str(exc)
    if "first_response" not in values and "first_response" not in errors:
        errors["first_response"] = "required"
    calendar = body.get("calendar", "24x7")
    if not isinstance(calendar, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", calendar):
        errors["calendar"] = "a calendar name"
    if errors:
        raise ValidationFailed("The SLA policy has errors.", errors)
    return Policy(name=name, calendar=calendar, **values)


def business_due(calendar: Calendar, start: datetime, duration: timedelta) -> datetime:
    """Days count as business days ("P3D" = three open days later), hours and minutes as open
    time ("PT4H" = four open hours), which is how a support lead reads a target."""
    return calendar.add(calendar.add_days(start, duration.days), duration - timedelta(days=duration.days))
