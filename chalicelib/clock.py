"""The one place that reads the wall clock, so tests can move time."""
from __future__ import annotations

from datetime import datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(instant: datetime) -> str:
    """ISO 8601 UTC with millisecond precision and a Z suffix (sorts as text)."""
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{instant.microsecond // 1000:03d}Z"
    )


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def business_zone():
    """The business time zone: days and times shown to people (reports, the audit log) are in
    it. SETU_BUSINESS_TIMEZONE, else SETU_REPORT_TIMEZONE, else Asia/Dhaka."""
    import os  # deferred: cold start
    from zoneinfo import ZoneInfo  # deferred: cold start

    return ZoneInfo(os.environ.get("SETU_BUSINESS_TIMEZONE")
                    or os.environ.get("SETU_REPORT_TIMEZONE") or "Asia/Dhaka")


def business_day_bounds(day) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the business-zone calendar day `day` (a date)."""
    from datetime import time, timedelta  # deferred: cold start

    zone = business_zone()
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(timezone.utc)
    return start, end
