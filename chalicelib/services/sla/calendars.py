"""Business calendars and business-time arithmetic. Pure Python: no AWS.

A calendar is a time zone, weekly opening windows (several a day), public holidays from the
`holidays` package (Bangladesh by default), custom closed dates and custom half-days (a date
with its own windows). Arithmetic works on real instants (aware datetimes): every window is
turned into UTC through zoneinfo, so a DST change is simply a window that is an hour shorter
or longer in real time.

- `add(start, duration)`: the instant when `duration` of open time has passed after `start`;
- `between(a, b)`: how much open time lies between two instants;
- `next_open(at)`: `at` itself when open, else the start of the next window.

`24x7` is always open and always exists; `default` is Asia/Dhaka, Sunday to Thursday
09:30–18:00, with Bangladesh's public holidays.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.errors import ValidationFailed

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
MAX_DAYS = 800  # a search for open time gives up after this many days (no open hours at all)
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
Window = tuple[int, int]  # minutes after local midnight, end exclusive; end may be 1440


@dataclass(frozen=True)
class Calendar:
    name: str
    timezone: str = "UTC"
    hours: dict[int, tuple[Window, ...]] = field(default_factory=dict)
    country: str | None = None  # public holidays from the `holidays` package
    closed: frozenset[date] = frozenset()
    special: dict[date, tuple[Window, ...]] = field(default_factory=dict)  # half-days etc.
    always_open: bool = False

    # ---- queries -----------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        return self.always_open or any(start <= at < end for start, end in self._windows_around(at))

    def next_open(self, at: datetime) -> datetime:
        return self.add(at, timedelta(0), _snap=True)

    def add(self, start: datetime, duration: timedelta, *, _snap: bool = False) -> datetime:
        _aware(start)
        if self.always_open:
            return start + max(duration, timedelta(0))
        remaining = max(duration, timedelta(0))
        if remaining == timedelta(0) and not _snap:
            return start
        day = self._local_date(start) - timedelta(days=1)
        for _ in range(MAX_DAYS):
            for opens, closes in self.windows(day):
                if closes <= start:
                    continue
                begin = max(opens, start)
                if remaining <= closes - begin:
                    return begin + remaining
                remaining -= closes - begin
            day += timedelta(days=1)
        raise ValueError(f"calendar {self.name!r} has no open time within {MAX_DAYS} days")

    def add_days(self, start: datetime, days: int) -> datetime:
        """`days` business days later, at the same point of the business day: Thursday 11:00
        plus one business day is Sunday 11:00 (Friday and Saturday closed). A day here is an
        open day, however long its windows are; the rest of a duration counts open time."""
        _aware(start)
        if self.always_open or days <= 0:
            return start + timedelta(days=max(days, 0))
        begin = self.next_open(start)
        day = self._local_date(begin)
        into_day = self.between(self.windows(day)[0][0], begin) if self.windows(day) else timedelta(0)
        for _ in range(MAX_DAYS):
            day += timedelta(days=1)
            spans = self.windows(day)
            if spans:
                days -= 1
                if days == 0:
                    open_today = sum((b - a for a, b in spans), timedelta(0))
                    return self.add(spans[0][0], min(into_day, open_today))
        raise ValueError(f"calendar {self.name!r} has no open time within {MAX_DAYS} days")

    def between(self, a: datetime, b: datetime) -> timedelta:
        _aware(a), _aware(b)
        if b <= a:
            return timedelta(0)
        if self.always_open:
            return b - a
        total = timedelta(0)
        day, last = self._local_date(a) - timedelta(days=1), self._local_date(b)
        while day <= last:
            for opens, closes in self.windows(day):
                overlap = min(closes, b) - max(opens, a)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total

    def windows(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open windows of a local date, as UTC instants."""
        if day in self.special:
            spans = self.special[day]
        elif day in self.closed or self._is_public_holiday(day):
            spans = ()
        else:
            spans = self.hours.get(day.weekday(), ())
        return [(self._instant(day, opens), self._instant(day, closes)) for opens, closes in spans]

    # ---- helpers -----------------------------------------------------------------------

    def _windows_around(self, at: datetime) -> list[tuple[datetime, datetime]]:
        day = self._local_date(at)
        return [w for d in (day - timedelta(days=1), day) for w in self.windows(d)]

    def _local_date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _instant(self, day: date, minutes: int) -> datetime:
        if minutes >= 1440:
            day, minutes = day + timedelta(days=1), minutes - 1440
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.zone)
        # a wall time that does not exist (spring forward) maps to the instant after the gap
        return local.astimezone(timezone.utc)

    def _is_public_holiday(self, day: date) -> bool:
        return bool(self.country) and day in _public_holidays(self.country, day.year)

    # ---- (de)serialising -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        if self.always_open:
            return {"name": self.name, "always_open": True}
        return {
            "name": self.name, "timezone": self.timezone,
            "hours": {DAYS[d]: [[_hhmm(a), _hhmm(b)] for a, b in spans]
                      for d, spans in sorted(self.hours.items()) if spans},
            "holidays_country": self.country,
            "closed": sorted(d.isoformat() for d in self.closed),
            "special": {d.isoformat(): [[_hhmm(a), _hhmm(b)] for a, b in spans]
                        for d, spans in sorted(self.special.items())},
        }


@lru_cache(maxsize=32)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    import holidays  # deferred: cold start (not loaded by `import app`)

    return frozenset(holidays.country_holidays(country, years=[year]).keys())


def _aware(at: datetime) -> None:
    if at.tzinfo is None:
        raise ValueError("business-time arithmetic needs aware datetimes")


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# ---- built-ins and validation ----------------------------------------------------------------

ALWAYS = Calendar(name="24x7", always_open=True)
DHAKA = Calendar(
    name="default", timezone="Asia/Dhaka", country="BD",
    hours={DAYS.index(d): ((9 * 60 + 30, 18 * 60),) for d in ("sun", "mon", "tue", "wed", "thu")})
BUILTIN = {"24x7": ALWAYS, "default": DHAKA}
FIELDS = ("timezone", "hours", "holidays_country", "closed", "special")
MAX_WINDOWS_PER_DAY = 6
MAX_DATES = 400


def parse_calendar(name: str, body: Any) -> Calendar:
    """An API payload (or stored document) as a Calendar; ValidationFailed naming the fields."""
    if name == "24x7":
        raise ValidationFailed("The 24x7 calendar is built in.", {"name": "24x7 cannot be changed"})
    if not isinstance(body, dict):
        raise ValidationFailed("The calendar must be a JSON object.", {"body": "must be an object"})
    errors: dict[str, str] = {k: "unknown field" for k in body if k not in FIELDS and k != "name"}
    tz = body.get("timezone", "Asia/Dhaka")
    try:
        ZoneInfo(tz) if isinstance(tz, str) and tz else None
        if not isinstance(tz, str) or not tz:
            raise ZoneInfoNotFoundError(tz)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = "an IANA time zone such as Asia/Dhaka"
    hours: dict[int, tuple[Window, ...]] = {}
    raw_hours = body.get("hours")
    if not isinstance(raw_hours, dict):
        errors["hours"] = 'an object such as {"sun": [["09:30", "18:00"]]}'
    else:
        for day, spans in raw_hours.items():
            if day not in DAYS:
                errors[f"hours.{day}"] = f"one of {', '.join(DAYS)}"
                continue
            try:
                hours[DAYS.index(day)] = _windows(spans)
            except ValueError as exc:
                errors[f"hours.{day}"] = str(exc)
    country = body.get("holidays_country", "BD")
    if country is not None and not _known_country(country):
        errors["holidays_country"] = "an ISO country code the holidays package knows, or null"
    closed: set[date] = set()
    raw_closed = body.get("closed", [])
    if not isinstance(raw_closed, list) or len(raw_closed) > MAX_DATES:
        errors["closed"] = f"a list of at most {MAX_DATES} dates (YYYY-MM-DD)"
    else:
        for value in raw_closed:
            try:
                closed.add(date.fromisoformat(value))
            except (TypeError, ValueError):
                errors["closed"] = f"{value!r} is not a date (YYYY-MM-DD)"
    special: dict[date, tuple[Window, ...]] = {}
    raw_special = body.get("special", {})
    if not isinstance(raw_special, dict) or len(raw_special) > MAX_DATES:
        errors["special"] = 'an object such as {"2026-12-31": [["09:30", "13:00"]]}'
    else:
        for key, spans in raw_special.items():
            try:
                special[date.fromisoformat(key)] = _windows(spans)
            except (TypeError, ValueError) as exc:
                errors[f"special.{key}"] = str(exc) if "window" in str(exc) else "a date with windows"
    if not errors and not any(hours.values()) and not special:
        errors["hours"] = "at least one opening window"
    if errors:
        raise ValidationFailed("The calendar has errors.", errors)
    return Calendar(name=name, timezone=tz, hours=hours, country=country,
                    closed=frozenset(closed), special=special)


def _windows(spans: Any) -> tuple[Window, ...]:
    if not isinstance(spans, list) or len(spans) > MAX_WINDOWS_PER_DAY:
        raise ValueError(f"a list of at most {MAX_WINDOWS_PER_DAY} windows [\"HH:MM\", \"HH:MM\"]")
    out: list[Window] = []
    for span in spans:
        if (not isinstance(span, list) or len(span) != 2
                or not all(isinstance(v, str) and _HHMM.match(v) for v in span)):
            raise ValueError('each window is ["HH:MM", "HH:MM"]')
        opens, closes = (int(v[:2]) * 60 + int(v[3:]) for v in span)
        if closes <= opens:
            raise ValueError(f"window {span[0]}-{span[1]} closes before it opens")
        out.append((opens, closes))
    out.sort()
    if any(a[1] > b[0] for a, b in zip(out, out[1:])):
        raise ValueError("windows overlap")
    return tuple(out)


def _known_country(code: Any) -> bool:
    if not isinstance(code, str) or not re.fullmatch(r"[A-Z]{2}", code):
        return False
    import holidays  # deferred: cold start (not loaded by `import app`)

    return code in holidays.list_supported_countries()
