from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from chalicelib.errors import ValidationFailed
from chalicelib.services.sla import durations
from chalicelib.services.sla import policy as sla
from chalicelib.services.sla.calendars import ALWAYS


def due_times(policy: sla.Policy, start: datetime, calendar=ALWAYS) -> dict[str, datetime]:
    """When each target of `policy` falls due for a ticket opened at `start`, counting only
    the open hours of `calendar` (what intake arms, seen without AWS)."""
    due = {"first_response": sla.business_due(calendar, start, policy.first_response)}
    if policy.resolution is not None:
        due["resolution"] = sla.business_due(calendar, start, policy.resolution)
    return due



@pytest.mark.parametrize("text,expected", [
    ("PT15S", timedelta(seconds=15)), ("PT4H", timedelta(hours=4)), ("P2D", timedelta(days=2)),
    ("P1DT2H30M", timedelta(days=1, hours=2, minutes=30)), ("pt1m", timedelta(minutes=1)),
])
def test_durations_parse(text, expected):
    assert durations.parse(text) == expected


@pytest.mark.parametrize("text", ["", "4h", "P1M", "P1Y", "PT0S", "-PT5S", "P400D", "PTXS", None, 5])
def test_bad_durations_are_refused(text):
    with pytest.raises(durations.InvalidDuration):
        durations.parse(text)


@given(st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=366)))
def test_duration_format_round_trips(value):
    value = timedelta(seconds=int(value.total_seconds()))
    assert durations.parse(durations.format(value)) == value


def test_policy_due_times_in_24x7():
    policy = sla.parse_policy("default", {"first_response": "PT15S", "resolution": "P1D"})
    start = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
    assert due_times(policy, start) == {"first_response": start + timedelta(seconds=15),
                                            "resolution": start + timedelta(days=1)}


def test_policy_errors_name_fields():
    with pytest.raises(ValidationFailed) as info:
        sla.parse_policy("x", {"resolution": "soon", "calendar": "no such/name", "colour": "red"})
    assert set(info.value.fields) == {"first_response", "resolution", "calendar", "colour"}


def test_policy_round_trips_through_its_dict():
    policy = sla.parse_policy("vip", {"first_response": "PT30M", "warn_before": "PT5M"})
    stored = {k: v for k, v in policy.to_dict().items() if v is not None and k != "name"}
    assert sla.parse_policy("vip", stored) == policy


def test_policy_due_times_in_business_hours():
    from chalicelib.services.sla.calendars import DHAKA

    policy = sla.parse_policy("default", {"first_response": "PT4H", "resolution": "P1D",
                                          "calendar": "default"})
    thursday_5pm_dhaka = datetime(2026, 11, 26, 11, 0, tzinfo=timezone.utc)
    due = due_times(policy, thursday_5pm_dhaka, DHAKA)
    # 1 h on Thursday, then Sunday from 09:30 Dhaka (03:30 UTC): 3 h more → 12:30 Dhaka
    assert due["first_response"] == datetime(2026, 11, 29, 6, 30, tzinfo=timezone.utc)
    # a day is a business day: Thursday 17:00 + one business day → Sunday 17:00 Dhaka
    assert due["resolution"] == datetime(2026, 11, 29, 11, 0, tzinfo=timezone.utc)
