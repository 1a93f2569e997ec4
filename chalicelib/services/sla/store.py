"""SLA policy and calendar storage: the API writes them, ticket intake reads them.

A policy is stored as what the admin set (`Policy.stored`: its own fields and `"off"`s, never
the inherited values), so a later change of the `default` policy reaches every policy that
did not set that field. Reading resolves inheritance (services/sla/policy.py).

Cost: all policies are read with one Query on the settings table's `sla_policy` partition,
cached per container (db/settings.every): choosing a new ticket's policy, with its department's
`default_policy` from the departments document (one cached GetItem), costs nothing on a warm
container and one Query + one GetItem on a cold one. Calendars: one cached GetItem each.
"""
from __future__ import annotations

import re
from typing import Any

from chalicelib.db import settings
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.services.sla import calendars
from chalicelib.services.sla import policy as sla
from chalicelib.services.team import audit, departments

KIND = "sla_policy"
CALENDAR_KIND = "calendar"


def put_policy(name: str, body: Any, actor: str) -> tuple[sla.Policy, list[str]]:
    """Save a policy; (the effective policy, warnings: e.g. no ticket would ever get it)."""
    calendar = body.get("calendar", "24x7") if isinstance(body, dict) else None
    missing = ({"calendar": f"no calendar named {calendar}"}
               if isinstance(calendar, str) and find_calendar(calendar) is None else {})
    try:
        policy = sla.parse_policy(name, body)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, {**missing, **exc.fields}) from None
    if missing:
        raise ValidationFailed("The SLA policy has errors.", missing)
    audit.put_setting(KIND, name, policy.stored(), actor)
    warnings = [] if sla.applicable(name, _departments()) else [sla.unused_warning(name)]
    return get_policy(name), warnings


def list_policies() -> list[dict[str, Any]]:
    """Every stored policy and `default` (built-in until saved), effective values, `set`,
    `inherited`, and `used_by`: the "<department>/<priority>" pairs whose new tickets get it
    (empty: unused, with a warning when no name rule could ever select it)."""
    stored = _stored()
    depts = _departments()
    used = sla.usage(stored, depts)
    out = []
    for name in sorted(set(stored) | {"default"}):
        entry = {**get_policy(name).describe(), "builtin": name not in stored,
                 "used_by": used.get(name, [])}
        entry["warnings"] = [] if sla.applicable(name, depts) else [sla.unused_warning(name)]
        out.append(entry)
    return out


def describe(name: str) -> dict[str, Any]:
    policy = get_policy(name)
    depts = _departments()
    used = sla.usage(_stored(), depts)
    return {**policy.describe(), "builtin": name not in _stored(), "used_by": used.get(name, [])}


def policy_names() -> set[str]:
    return set(_stored()) | {"default"}


def list_calendars() -> list[dict[str, Any]]:
    """Every stored calendar and the built-in ones (`24x7`, `default` until saved)."""
    stored = settings.every(CALENDAR_KIND)
    found = {name: calendars.parse_calendar(name, {k: v for k, v in data.items() if k != "name"})
             for name, data in stored.items()}
    for name, calendar in (("24x7", calendars.ALWAYS), *calendars.BUILTIN.items()):
        found.setdefault(name, calendar)
    return [{**found[name].to_dict(), "builtin": name not in stored} for name in sorted(found)]


def _stored() -> dict[str, dict[str, Any]]:
    return settings.every(KIND)


def _departments() -> dict[str, str | None]:
    """Active department -> its default policy name."""
    return {name: departments.default_policy(name) for name in departments.names()}


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
        return sla.parse_policy(name, sla.BUILTIN_DEFAULT, sla.builtin_base())
    return policy


def policy_for(department: str, priority: str) -> sla.Policy:
    """The policy a new ticket gets, by the one rule in services/sla/policy.candidates:
    `<department>-<priority>`, `<priority>`, the department's `default_policy`,
    `<department>`, `default`. Read from the cached list of policies."""
    stored = _stored()
    name = sla.choose(department, priority, departments.default_policy(department),
                      stored.__contains__)
    return get_policy(name)


def find_policy(name: str) -> sla.Policy | None:
    """The stored policy `name` with its inherited fields resolved, else None."""
    if not isinstance(name, str):
        return None
    stored = _stored().get(name)
    if stored is None:
        return None
    own = {k: v for k, v in stored.items() if v is not None and k != "name"}
    if name == "default":
        return sla.parse_policy(name, own, sla.builtin_base())
    return sla.parse_policy(name, own, sla.inheritable(get_policy("default")))
