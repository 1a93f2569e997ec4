"""Business-time arithmetic: fixed cases a support lead can check by hand, and properties."""
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from chalicelib.errors import ValidationFailed
from chalicelib.services.sla.calendars import ALWAYS, DHAKA, parse_calendar

UTC = timezone.utc
DHAKA_OFFSET = timedelta(hours=6)


def dhaka(y, mo, d, h=0, mi=0):
    """A Dhaka wall time as an aware UTC instant (Dhaka has no DST: UTC+6)."""
    return datetime(y, mo, d, h, mi, tzinfo=UTC) - DHAKA_OFFSET


def test_default_is_dhaka_sunday_to_thursday_0930_1800():
    # Sunday 22 Nov 2026, 10:00 → four business hours later is 14:00 the same day
    assert DHAKA.add(dhaka(2026, 11, 22, 10), timedelta(hours=4)) == dhaka(2026, 11, 22, 14)
    # Thursday 17:00 + 2h → Sunday 10:30 (Friday and Saturday are the weekend)
    assert DHAKA.add(dhaka(2026, 11, 26, 17), timedelta(hours=2)) == dhaka(2026, 11, 29, 10, 30)
    # a message at 22:00 on Tuesday, 15 minutes → Wednesday 09:45
    assert DHAKA.add(dhaka(2026, 11, 24, 22), timedelta(minutes=15)) == dhaka(2026, 11, 25, 9, 45)
    assert DHAKA.next_open(dhaka(2026, 11, 27, 12)) == dhaka(2026, 11, 29, 9, 30)  # Friday noon
    assert DHAKA.is_open(dhaka(2026, 11, 23, 9, 30)) and not DHAKA.is_open(dhaka(2026, 11, 23, 18))


def test_bangladesh_public_holidays_are_closed():
    # Victory Day, Wednesday 16 Dec 2026: 17:00 Tuesday + 2h → Thursday 10:30
    assert DHAKA.windows(date(2026, 12, 16)) == []
    assert DHAKA.add(dhaka(2026, 12, 15, 17), timedelta(hours=2)) == dhaka(2026, 12, 17, 10, 30)


def test_custom_closed_days_half_days_and_split_windows():
    calendar = parse_calendar("shop", {
        "timezone": "Asia/Dhaka", "holidays_country": None,
        "hours": {d: [["09:00", "13:00"], ["14:00", "18:00"]] for d in ("sun", "mon", "tue", "wed", "thu")},
        "closed": ["2026-11-24"], "special": {"2026-11-25": [["09:00", "11:00"]]}})
    # Monday 12:00 + 3h: 1h before lunch, 2h after → 16:00
    assert calendar.add(dhaka(2026, 11, 23, 12), timedelta(hours=3)) == dhaka(2026, 11, 23, 16)
    # Monday 17:00 + 4h: 1h Monday, Tuesday closed, Wednesday half-day 2h, Thursday 1h → Thu 10:00
    assert calendar.add(dhaka(2026, 11, 23, 17), timedelta(hours=4)) == dhaka(2026, 11, 26, 10)
    assert calendar.between(dhaka(2026, 11, 23, 17), dhaka(2026, 11, 26, 10)) == timedelta(hours=4)


def test_dst_zone_counts_real_time():
    london = parse_calendar("uk", {"timezone": "Europe/London", "holidays_country": None,
                                   "hours": {d: [["00:00", "24:00"]] for d in
                                             ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}})
    # the night the clocks go forward (29 March 2026) has 23 real hours
    start = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # 23:00 GMT Saturday
    assert london.between(start, start + timedelta(hours=24)) == timedelta(hours=24)
    assert london.add(start, timedelta(hours=5)) == start + timedelta(hours=5)


def test_always_open():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert ALWAYS.add(start, timedelta(seconds=3)) == start + timedelta(seconds=3)
    assert ALWAYS.between(start, start + timedelta(days=2)) == timedelta(days=2)


@pytest.mark.parametrize("body,field", [
    ({"hours": {"sun": [["18:00", "09:00"]]}}, "hours.sun"),
    ({"hours": {"sun": [["09:00", "13:00"], ["12:00", "14:00"]]}}, "hours.sun"),
    ({"hours": {"sunday": [["09:00", "13:00"]]}}, "hours.sunday"),
    ({"hours": {"sun": [["9:00", "13:00"]]}}, "hours.sun"),
    ({"hours": {}}, "hours"),
    ({"timezone": "Mars/Olympus", "hours": {"sun": [["09:00", "13:00"]]}}, "timezone"),
    ({"hours": {"sun": [["09:00", "13:00"]]}, "closed": ["26-12-2026"]}, "closed"),
    ({"hours": {"sun": [["09:00", "13:00"]]}, "holidays_country": "XX"}, "holidays_country"),
    ({"hours": {"sun": [["09:00", "13:00"]]}, "colour": "red"}, "colour"),
])
def test_bad_calendars_name_the_field(body, field):
    with pytest.raises(ValidationFailed) as caught:
        parse_calendar("c", body)
    assert field in caught.value.fields


def test_round_trip_through_dict():
    assert parse_calendar("default", {k: v for k, v in DHAKA.to_dict().items() if k != "name"}) == DHAKA


instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1),
                        timezones=st.just(UTC))
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=300))
LONDON = parse_calendar("uk", {"timezone": "Europe/London", "holidays_country": "GB",
                               "hours": {d: [["08:00", "12:30"], ["13:30", "17:00"]]
                                         for d in ("mon", "tue", "wed", "thu", "fri")},
                               "special": {"2026-12-24": [["08:00", "12:00"]]}})


@settings(max_examples=150, deadline=None)
@given(start=instants, duration=durations, calendar=st.sampled_from([DHAKA, LONDON, ALWAYS]))
def test_adding_then_measuring_round_trips(start, duration, calendar):
    end = calendar.add(start, duration)
    assert end >= start
    assert calendar.between(start, end) == duration


@settings(max_examples=100, deadline=None)
@given(start=instants, a=durations, b=durations, calendar=st.sampled_from([DHAKA, LONDON]))
def test_adding_in_two_steps_is_adding_once(start, a, b, calendar):
    assert calendar.add(calendar.add(start, a), b) == calendar.add(start, a + b)


@settings(max_examples=100, deadline=None)
@given(start=instants, calendar=st.sampled_from([DHAKA, LONDON]))
def test_next_open_is_open_and_nothing_open_before_it(start, calendar):
    opens = calendar.next_open(start)
    assert calendar.is_open(opens)
    assert calendar.between(start, opens) == timedelta(0)


def test_business_days_keep_the_point_of_the_day():
    # Thursday 11:00 + 1 business day → Sunday 11:00; + 3 → Tuesday 11:00
    assert DHAKA.add_days(dhaka(2026, 11, 26, 11), 1) == dhaka(2026, 11, 29, 11)
    assert DHAKA.add_days(dhaka(2026, 11, 26, 11), 3) == dhaka(2026, 12, 1, 11)
    # from outside hours (Friday) the day starts at the next opening: Sunday 09:30 + 1 → Monday 09:30
    assert DHAKA.add_days(dhaka(2026, 11, 27, 12), 1) == dhaka(2026, 11, 30, 9, 30)
    # Victory Day (Wed 16 Dec) is skipped: Tuesday 10:00 + 1 → Thursday 10:00
    assert DHAKA.add_days(dhaka(2026, 12, 15, 10), 1) == dhaka(2026, 12, 17, 10)


@settings(max_examples=100, deadline=None)
@given(start=instants, days=st.integers(min_value=1, max_value=30), calendar=st.sampled_from([DHAKA, LONDON]))
def test_business_days_land_on_open_days_in_order(start, days, calendar):
    later = calendar.add_days(start, days)
    assert later > start
    assert calendar.add_days(start, days + 1) > later
    assert calendar.windows(later.astimezone(calendar.zone).date()) or calendar.is_open(later)
