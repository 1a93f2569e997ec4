"""The words an agent reads when a reply cannot go by SMS (services/tickets/work.py): the date
in the business time zone, never UTC, and what to do next. Pure: no AWS."""
from chalicelib.services.tickets import work


def test_an_instant_is_shown_in_dhaka_time_with_its_zone():
    # 20:30 UTC on the 6th is 02:30 on the 7th in Dhaka (UTC+6)
    assert work._business_time("2026-12-06T20:30:00.000Z") == "7 December 2026, 02:30 (Asia/Dhaka)"


def test_an_unknown_instant_says_so():
    assert work._business_time("") == "an unknown date"
