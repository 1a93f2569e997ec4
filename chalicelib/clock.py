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


# ---- times people type and read (the business time zone: config.business_timezone) ---------

TYPED_HELP = ("a date and time, e.g. 2026-12-07 15:00 (business time zone) or "
              "2026-12-07T15:00:00+06:00 (any offset)")
_TYPED_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def parse_typed(text: str, zone: str) -> datetime:
    """The one reader of "a time a person typed" (API bodies, the `setu` command): ISO 8601
    with an offset or Z as it says; without one (`2026-12-07 15:00`, `2026-12-07T15:00`) a
    wall-clock time in `zone` (an IANA name: the business time zone). A wall time a DST change
    skips does not exist: ValueError, as for anything else that is not such a time. UTC out."""
    from zoneinfo import ZoneInfo  # deferred: cold start (only requests with a typed time)

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
        local = parsed.replace(tzinfo=ZoneInfo(zone))
        back = local.astimezone(timezone.utc).astimezone(local.tzinfo)
        instant = local.astimezone(timezone.utc)
    except OverflowError:  # year 1 or 9999 shifted past the calendar's end
        raise ValueError(TYPED_HELP) from None
    if back.replace(tzinfo=None) != parsed:
        raise ValueError(f"{raw} does not exist in {zone} (a clock change skips it)")
    return instant


def for_people(instant: datetime | str | None, zone: str) -> str:
    """An instant as people read it in `zone`: `2026-12-07 11:19 +06` ("" for none)."""
    from zoneinfo import ZoneInfo  # deferred: cold start

    if instant is None or instant == "":
        return ""
    if isinstance(instant, str):
        instant = parse_iso(instant)
    local = instant.astimezone(ZoneInfo(zone))
    offset = local.strftime("%z")  # +0600 -> +06, +0530 -> +05:30
    short = offset[:3] if offset.endswith("00") else f"{offset[:3]}:{offset[3:]}"
    return local.strftime("%Y-%m-%d %H:%M ") + short
