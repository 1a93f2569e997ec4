"""SLA policy and calendar storage: the API writes them, ticket intake reads them."""
from __future__ import annotations

import re
from typing import Any

from chalicelib.db import settings
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.services.sla import calendars
from chalicelib.services.sla import policy as sla
from chalicelib.services.team import audit

KIND = "sla_policy"
CALENDAR_KIND = "calendar"


def put_policy(name: str, body: Any, actor: str) -> sla.Policy:
    calendar = body.get("calendar", "24x7") if isinstance(body, dict) else None
    missing = ({"calendar": f"no calendar named {calendar}"}
               if isinstance(calendar, str) and find_calendar(calendar) is None else {})
    try:
        policy = sla.parse_policy(name, body)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, {**missing, **exc.fields}) from None
    if missing:
        raise ValidationFailed("The SLA policy has errors.", missing)
    audit.put_setting(KIND, name, policy.to_dict(), actor)
    return policy


def put_calendar(name: str, body: Any, actor: str) -> calendars.Calendar:
    calendar = calendars.parse_calendar(name, body)
    audit.put_setting(CALENDAR_KIND, name, calendar.to_dict(), actor)
    return calendar


def get_calendar(name: str) -> calendars.Calendar:
    calendar = find_calendar(name)
    if calendar is None:
        raise NotFound(f"No calendar named {name}.")
    return calendar


def find_calendar(name: str) -> calendars.Calendar | None:
    """A stored calendar, else the built-in of that name (`24x7`, `default`), else None (also
    for a name no calendar can have: empty, too long, not text; never a DynamoDB error)."""
    if not isinstance(name, str) or not re.fullmatch(r"[\w-]{1,64}", name):
        return None
    if name == "24x7":
        return calendars.ALWAYS
    stored = settings.get(CALENDAR_KIND, name)
    if stored is None:
        return calendars.BUILTIN.get(name)
    return calendars.parse_calendar(name, {k: v for k, v in stored.items() if k != "name"})


def get_policy(name: str = "default") -> sla.Policy:
    """The named policy; `default` falls back to the built-in one until an admin sets it."""
    policy = find_policy(name)
    if policy is None:
        if name != "default":
            raise NotFound(f"No SLA policy named {name}.")
        return sla.parse_policy(name, sla.BUILTIN_DEFAULT)
    return policy


def policy_for(department: str, priority: str) -> sla.Policy:
    """The policy a new ticket gets: `<department>-<priority>` (e.g. `billing-urgent`), else
    `<department>` (e.g. `billing`, which can name the department's own calendar), else
    `default`. Each is one cached settings read."""
    for name in (f"{department}-{priority}", department):
        policy = find_policy(name)
        if policy is not None:
            return policy
    return get_policy("default")


def find_policy(name: str) -> sla.Policy | None:
    stored = settings.get(KIND, name)
    if stored is None:
        return None
    return sla.parse_policy(name, {k: v for k, v in stored.items()
                                   if v is not None and k != "name"})
