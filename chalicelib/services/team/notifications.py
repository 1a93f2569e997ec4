"""An agent's notification preferences (the `notifications` field of the agent record): which
kinds of staff mail they want, their quiet hours and when single mails give way to a digest.

    {"kinds": ["assigned", ...],                 default: every kind
     "quiet_hours": {"start": "22:00", "end": "08:00"} | null,
                                                 business time zone (Asia/Dhaka); may span midnight
     "digest_after": 5}                          single mails per window before the rest wait for
                                                 the window's digest (0: digests only)

Pure: validation, the defaults and the quiet-hours arithmetic; no AWS calls. The mail itself is
services/messaging/staff.py.
"""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

from chalicelib import clock

KINDS = ("assigned", "customer_replied", "callback_due", "sla_warning", "decision_requested",
         "decision_decided", "escalation")
DEFAULT_DIGEST_AFTER = 5
MAX_DIGEST_AFTER = 100
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])\Z")


def defaults() -> dict[str, Any]:
    return {"kinds": list(KINDS), "quiet_hours": None, "digest_after": DEFAULT_DIGEST_AFTER}


def effective(stored: Any) -> dict[str, Any]:
    """The preferences as they apply: stored values over the defaults (unset: defaults)."""
    prefs = defaults()
    if isinstance(stored, dict):
        if isinstance(stored.get("kinds"), list):
            prefs["kinds"] = [k for k in KINDS if k in stored["kinds"]]
        quiet = stored.get("quiet_hours")
        if isinstance(quiet, dict) and _clock(quiet.get("start")) and _clock(quiet.get("end")):
            prefs["quiet_hours"] = {"start": quiet["start"], "end": quiet["end"]}
        after = stored.get("digest_after")
        if isinstance(after, (int, float)) and not isinstance(after, bool):
            prefs["digest_after"] = int(after)
    return prefs


def validate(value: Any) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """(what to store, errors by field). `null` resets to the defaults. Fields left out keep
    their default."""
    if value is None:
        return None, {}
    if not isinstance(value, dict):
        return None, {"notifications": "an object with kinds, quiet_hours, digest_after"}
    errors: dict[str, str] = {}
    for name in value:
        if name not in ("kinds", "quiet_hours", "digest_after"):
            errors[f"notifications.{name}"] = "unknown field"
    out = defaults()
    if "kinds" in value:
        kinds = value["kinds"]
        if (not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds)
                or not set(kinds) <= set(KINDS)):
            errors["notifications.kinds"] = f"a list of: {', '.join(KINDS)}"
        else:
            out["kinds"] = [k for k in KINDS if k in kinds]
    if "quiet_hours" in value and value["quiet_hours"] is not None:
        quiet = value["quiet_hours"]
        if (not isinstance(quiet, dict) or set(quiet) != {"start", "end"}
                or not _clock(quiet.get("start")) or not _clock(quiet.get("end"))
                or quiet["start"] == quiet["end"]):
            errors["notifications.quiet_hours"] = ('{"start": "HH:MM", "end": "HH:MM"} in the '
                                                   "business time zone, start and end differ")
        else:
            out["quiet_hours"] = {"start": quiet["start"], "end": quiet["end"]}
    if "digest_after" in value:
        after = value["digest_after"]
        if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= MAX_DIGEST_AFTER:
            errors["notifications.digest_after"] = f"a whole number from 0 to {MAX_DIGEST_AFTER}"
        else:
            out["digest_after"] = after
    return (None if errors else out), errors


def quiet_until(prefs: dict[str, Any], now: datetime) -> datetime | None:
    """When `now` falls in the quiet hours (business time zone), the instant they end; else None.
    Quiet hours may span midnight (22:00-08:00)."""
    quiet = prefs.get("quiet_hours")
    if not quiet:
        return None
    start, end = _clock(quiet["start"]), _clock(quiet["end"])
    if start is None or end is None:
        return None
    zone = clock.business_zone()
    local = now.astimezone(zone)
    today = local.date()
    for day in (today - timedelta(days=1), today):
        begins = datetime.combine(day, start, zone)
        ends = datetime.combine(day if end > start else day + timedelta(days=1), end, zone)
        if begins <= local < ends:
            return ends.astimezone(now.tzinfo)
    return None


def _clock(text: Any) -> time | None:
    match = _CLOCK.match(text) if isinstance(text, str) else None
    return time(int(match.group(1)), int(match.group(2))) if match else None
