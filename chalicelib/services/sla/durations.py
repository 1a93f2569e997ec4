"""ISO 8601 durations for SLA targets (PT15S, PT4H, P2D, P1DT2H30M)."""
from __future__ import annotations

from datetime import timedelta

MAX = timedelta(days=366)


class InvalidDuration(ValueError):
    pass


def parse(text: str) -> timedelta:
    """A positive duration of days or less; months and years are ambiguous and refused."""
    import isodate  # deferred: cold start (not loaded by `import app`)

    if not isinstance(text, str) or not text.strip():
        raise InvalidDuration("an ISO 8601 duration such as PT4H")
    try:
        value = isodate.parse_duration(text.strip().upper())
    except (isodate.ISO8601Error, ValueError, TypeError, OverflowError):
        raise InvalidDuration("an ISO 8601 duration such as PT4H") from None
    if not isinstance(value, timedelta):
        raise InvalidDuration("use days, hours, minutes or seconds, not months or years")
    if value <= timedelta(0):
        raise InvalidDuration("must be longer than zero")
    if value > MAX:
        raise InvalidDuration("at most 366 days")
    return value


def format(value: timedelta) -> str:
    """Canonical text for a duration (round-trips through parse)."""
    import isodate  # deferred: cold start (not loaded by `import app`)

    return isodate.duration_isoformat(value)
