"""The queue's filters, typed times, name words and the query-parameter rule: pure logic."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import clock
from chalicelib.api import http
from chalicelib.errors import BadRequest, ValidationFailed
from chalicelib.services.team import agents
from chalicelib.services.tickets import queue, search

DHAKA = "Asia/Dhaka"


# ---- parse_filter ------------------------------------------------------------------------------

def test_several_statuses_by_commas_and_repeats():
    wanted = queue.parse_filter({"status": ["open,pending", "new"]})
    assert wanted.statuses == frozenset({"open", "pending", "new"})
    assert queue.parse_filter({"status": "open"}).statuses == frozenset({"open"})


def test_an_unknown_status_among_several_is_named():
    with pytest.raises(BadRequest) as caught:
        queue.parse_filter({"status": "open,later"})
    assert "status" in caught.value.fields


def test_sla_state_and_the_older_breached_agree_or_fail():
    assert queue.parse_filter({"sla": "breached"}).breached is True
    assert queue.parse_filter({"sla": "on_track"}).breached is False
    assert queue.parse_filter({"breached": "true"}).breached is True
    assert queue.parse_filter({}).breached is None
    with pytest.raises(BadRequest) as caught:
        queue.parse_filter({"sla": "breached", "breached": "false"})
    assert "sla" in caught.value.fields
    with pytest.raises(BadRequest):
        queue.parse_filter({"sla": "late"})


def test_due_within_is_an_iso_duration():
    assert queue.parse_filter({"due_within": "PT2H"}).due_within == timedelta(hours=2)
    for bad in ("2h", "P2Y", "P400D"):
        with pytest.raises(BadRequest) as caught:
            queue.parse_filter({"due_within": bad})
        assert "due_within" in caught.value.fields


def test_has_decision_limit_and_single_values():
    assert queue.parse_filter({"has_decision": "true"}).has_decision is True
    assert queue.parse_filter({"has_decision": "false"}).has_decision is False
    assert queue.parse_filter({"limit": "7"}).limit == 7
    with pytest.raises(BadRequest) as caught:
        queue.parse_filter({"has_decision": "yes", "limit": "0", "department": ["billing", "sales"]})
    assert set(caught.value.fields) == {"has_decision", "limit", "department"}


def test_assignee_is_kept_as_typed_for_the_service_to_resolve():
    assert queue.parse_filter({"assignee": " Karim "}).assignee == "Karim"
    assert queue.parse_filter({"q": " রহিম "}).q == "রহিম"


# ---- typed times -------------------------------------------------------------------------------

def test_a_time_without_offset_is_business_time():
    assert clock.parse_typed("2026-12-07 15:00", DHAKA) == datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
    assert clock.parse_typed("2026-12-07T15:00", DHAKA) == datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
    assert clock.parse_typed("2026-12-07 15:00:30", "UTC") == datetime(2026, 12, 7, 15, 0, 30,
                                                                        tzinfo=timezone.utc)


def test_an_offset_is_taken_as_given():
    assert clock.parse_typed("2026-12-07T15:00:00+05:00", DHAKA) == datetime(
        2026, 12, 7, 10, 0, tzinfo=timezone.utc)
    assert clock.parse_typed("2026-12-07T15:00:00Z", DHAKA) == datetime(
        2026, 12, 7, 15, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ["", "tomorrow", "2026-12-07", "2026-13-07 10:00", "15:00",
                                  "x" * 80, "0001-01-01T00:00:00+06:00", "0001-01-01 03:00"])
def test_what_is_not_a_time_is_refused(text):
    with pytest.raises(ValueError):
        clock.parse_typed(text, DHAKA)


def test_a_wall_time_a_clock_change_skips_does_not_exist():
    with pytest.raises(ValueError, match="does not exist"):
        clock.parse_typed("2026-03-29 02:30", "Europe/Berlin")


def test_times_for_people_carry_the_zone():
    assert clock.for_people("2026-12-07T05:19:00.000Z", DHAKA) == "2026-12-07 11:19 +06"
    assert clock.for_people(datetime(2026, 12, 7, 5, 19, tzinfo=timezone.utc), "Asia/Kolkata") \
        == "2026-12-07 10:49 +05:30"
    assert clock.for_people(None, DHAKA) == ""


# ---- names ---------------------------------------------------------------------------------

def test_name_words_are_normalised_for_prefix_matching():
    assert search.name_words("রহিম উদ্দিন") == ["রহিম", "উদ্দিন"]
    assert search.name_words("Rahim  UDDIN") == ["rahim", "uddin"]
    # a zero-width non-joiner typed inside a Bengali word does not change the word
    assert search.name_words("র\u200cহিম") == ["রহিম"]
    # decomposed and composed forms are one word (NFC)
    assert search.name_words("\u09af\u09bc") == search.name_words("\u09df")


def test_short_name_is_the_arns_last_segment_casefolded():
    assert agents.short_name("arn:aws:iam::123456789012:user/support/Karim") == "karim"
    assert agents.short_name("arn:aws:sts::123456789012:assumed-role/Agents/nusrat") == "nusrat"


# ---- the query-parameter rule --------------------------------------------------------------

def test_unknown_query_parameters_are_named_with_the_allowed_ones():
    with pytest.raises(ValidationFailed) as caught:
        http.check_query("/api/tickets", "GET", {"decision": ["requested"], "status": ["open"]})
    assert set(caught.value.fields) == {"decision"}
    assert "has_decision" in caught.value.fields["decision"]
    with pytest.raises(ValidationFailed) as caught:
        http.check_query("/api/tickets/{ticket_id}", "GET", {"x": ["1"]})
    assert "none" in caught.value.message


def test_declared_parameters_and_customer_pages_pass():
    http.check_query("/api/tickets", "GET", {name: ["1"] for name in queue.PARAMETERS})
    http.check_query("/form", "GET", {"utm_source": ["newsletter"]})
    http.check_query("/api/me", "GET", None)


def test_the_queue_declares_what_it_parses():
    assert set(http.QUERY_PARAMETERS["/api/tickets"]["GET"]) == set(queue.PARAMETERS)


def test_openapi_lists_exactly_the_declared_query_parameters():
    import app  # noqa: F401 - every blueprint registered
    from chalicelib.api import openapi

    document = openapi.build()
    for path, item in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            listed = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
            declared = set(http.QUERY_PARAMETERS.get(path, {}).get(method.upper(), {}))
            assert listed == declared, (method, path)


def test_due_before_is_a_typed_time_in_the_business_zone():
    assert queue.parse_filter({"due_before": "2026-12-07 18:00"}).due_before == datetime(
        2026, 12, 7, 12, 0, tzinfo=timezone.utc)
    with pytest.raises(BadRequest) as caught:
        queue.parse_filter({"due_before": "soon"})
    assert "due_before" in caught.value.fields


def test_an_audit_day_at_the_calendars_ends_is_a_bad_date_not_a_crash():
    from chalicelib.services.team import audit

    for day in ("0001-01-01", "9999-12-31"):
        with pytest.raises(BadRequest) as caught:
            audit.page(day)
        assert "date" in caught.value.fields
