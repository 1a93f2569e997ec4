"""SLA policies and the due times they give a ticket.

A policy names targets as ISO 8601 durations and the calendar they count in. Until business
calendars land (issue 6) the only calendar that can compute is `24x7`; `default` (Asia/Dhaka
business hours) is reserved for them and refused for now rather than silently miscounted.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.errors import ValidationFailed
from chalicelib.services import durations

TARGETS = ("first_response", "next_reply", "resolution")
CALENDARS_READY = ("24x7",)
BUILTIN_DEFAULT = {"first_response": "PT4H", "resolution": "P3D", "calendar": "24x7"}
POLICY_FIELDS = (*TARGETS, "warn_before", "calendar")


@dataclass(frozen=True)
class Policy:
    name: str
    first_response: timedelta
    next_reply: timedelta | None = None
    resolution: timedelta | None = None
    warn_before: timedelta | None = None
    calendar: str = "24x7"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "calendar": self.calendar}
        for key in (*TARGETS, "warn_before"):
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
    for key in (*TARGETS, "warn_before"):
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
    if not isinstance(calendar, str) or calendar not in CALENDARS_READY:
        errors["calendar"] = "only 24x7 until business calendars are available"
    if errors:
        raise ValidationFailed("The SLA policy has errors.", errors)
    return Policy(name=name, calendar=calendar, **values)


def due_times(policy: Policy, start: datetime) -> dict[str, datetime]:
    """When each target of `policy` falls due for a ticket opened at `start` (24x7)."""
    due = {"first_response": start + policy.first_response}
    if policy.resolution is not None:
        due["resolution"] = start + policy.resolution
    return due
