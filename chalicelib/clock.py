"""The one place that reads the wall clock, so tests can move time."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(instant: datetime) -> str:
    """ISO 8601 UTC with millisecond precision and a Z suffix (sorts as text)."""
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{instant.microsecond // 1000:03d}Z"
    )


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


# ---- times people type and read (the business time zone: business_zone below) -------------

TYPED_HELP = ("a date and time, e.g. 2026-12-07 15:00 (business time zone) or "
              "2026-12-07T15:00:00+06:00 (any offset)")
_TYPED_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def parse_typed(text: str, zone: Any = None) -> datetime:
    """The one reader of "a time a person typed" (API bodies, the `setu` command): ISO 8601
    with an offset or Z as it says; without one (`2026-12-07 15:00`, `2026-12-07T15:00`) a
    wall-clock time in `zone` (an IANA name or ZoneInfo; default: the business time zone). A
    wall time a DST change skips does not exist: ValueError, as for anything else that is not
    such a time. UTC out."""
    zone = _zone(zone)

    raw = " ".join(str(text or "").split())
    if not raw or len(raw) > 64:
        raise ValueError(TYPED_HELP)
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        parsed = None
        for form in _TYPED_FORMATS:
            try:
                parsed = datetime.strptime(raw, form)
                break
            except ValueError:
                continue
        if parsed is None:
            raise ValueError(TYPED_HELP) from None
    if len(raw) <= 10:  # a bare date is not an instant
        raise ValueError(TYPED_HELP)
    try:
        if parsed.tzinfo is not None:
            return parsed.astimezone(timezone.utc)
        local = parsed.replace(tzinfo=zone)
        back = local.astimezone(timezone.utc).astimezone(local.tzinfo)
        instant = local.astimezone(timezone.utc)
    except OverflowError:  # year 1 or 9999 shifted past the calendar's end
        raise ValueError(TYPED_HELP) from None
    if back.replace(tzinfo=None) != parsed:
        raise ValueError(f"{raw} does not exist in {zone} (a clock change skips it)")
    return instant


def for_people(instant: datetime | str | None, zone: Any = None) -> str:
    """An instant as people read it in `zone` (default: the business time zone):
    `2026-12-07 11:19 +06` ("" for none)."""
    if instant is None or instant == "":
        return ""
    if isinstance(instant, str):
        instant = parse_iso(instant)
    local = instant.astimezone(_zone(zone))
    offset = local.strftime("%z")  # +0600 -> +06, +0530 -> +05:30
    short = offset[:3] if offset.endswith("00") else f"{offset[:3]}:{offset[3:]}"
    return local.strftime("%Y-%m-%d %H:%M ") + short


def business_zone():
    """The business time zone: days and times shown to people (reports, the audit log) are in
    it. SETU_BUSINESS_TIMEZONE, else SETU_REPORT_TIMEZONE, else Asia/Dhaka."""
    import os  # deferred: cold start
    from zoneinfo import ZoneInfo  # deferred: cold start

    return ZoneInfo(os.environ.get("SETU_BUSINESS_TIMEZONE")
                    or os.environ.get("SETU_REPORT_TIMEZONE") or "Asia/Dhaka")


def _zone(zone: Any):
    from zoneinfo import ZoneInfo  # deferred: cold start

    if zone is None:
        return business_zone()
    return ZoneInfo(zone) if isinstance(zone, str) else zone


def business_day_bounds(day) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the business-zone calendar day `day` (a date)."""
    from datetime import time, timedelta  # deferred: cold start

    zone = business_zone()
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(timezone.utc)
    return start, end
