"""Which executions a ticket change starts and stops (pure decisions)."""
from datetime import datetime, timezone

import pytest

from chalicelib import clock
from chalicelib.db.models import Ticket
from chalicelib.services.sla import timers

NOW = datetime(2026, 11, 23, tzinfo=timezone.utc)


def ticket(**timer_map):
    return Ticket(id="t_1", ref="1042", subject="s", status="new", department="general",
                  customer_id="c", channel="web", created_at=NOW, updated_at=NOW,
                  queue_sort="x", timers=timer_map)


def armed(gen, due="2026-11-23T00:00:15.000Z"):
    return {"generation": gen, "due_at": due, "state": "armed"}


def test_new_ticket_starts_its_timers():
    actions = timers.reconcile(None, ticket(first_response=armed(1)))
    assert actions == [timers.Action("start", "T-1042-first-response-g1", {
        "ticket_id": "t_1", "ref": "1042", "kind": "first_response", "generation": 1,
        "due_at": "2026-11-23T00:00:15.000Z", "wake_at": "2026-11-23T00:00:15.000Z"})]


def test_wake_time_rounds_up_to_whole_seconds_never_early():
    assert timers.reconcile(None, ticket(first_response=armed(1, "2026-11-23T00:00:15.001Z")))[
        0].payload["wake_at"] == "2026-11-23T00:00:16.000Z"
    due = clock.parse_iso("2026-11-23T23:59:59.500Z")
    assert timers.wake_at(due) == "2026-11-24T00:00:00.000Z"
    assert timers.wake_at(due, extra_seconds=1) == "2026-11-24T00:00:01.000Z"


def test_payload_without_wake_time_wakes_at_due_time():
    payload = timers.parse_payload({"ticket_id": "t", "kind": "resolution", "generation": 2,
                                    "due_at": "2026-11-23T00:00:00Z"})
    assert payload["wake_at"] == "2026-11-23T00:00:00.000Z" and payload["generation"] == 2


def test_reply_stops_the_old_generation_and_starts_nothing():
    before = ticket(first_response=armed(1))
    after = ticket(first_response={**armed(2), "state": "stopped"})
    assert timers.reconcile(before, after) == [timers.Action("stop", "T-1042-first-response-g1")]


def test_firing_neither_starts_nor_stops():
    before = ticket(first_response=armed(1))
    after = ticket(first_response={**armed(1), "state": "fired"})
    assert timers.reconcile(before, after) == []


def test_unrelated_change_does_nothing():
    assert timers.reconcile(ticket(first_response=armed(1)), ticket(first_response=armed(1))) == []


def test_rearm_with_new_generation_stops_old_and_starts_new():
    actions = timers.reconcile(ticket(resolution=armed(3)), ticket(resolution=armed(4)))
    assert [(a.op, a.name) for a in actions] == [("start", "T-1042-resolution-g4"),
                                                 ("stop", "T-1042-resolution-g3")]


def test_execution_names_are_legible_and_short():
    name = timers.execution_name("1042", "first_response", 3, rearm=1790000000)
    assert name == "T-1042-first-response-g3-r1790000000" and len(name) <= 80


@pytest.mark.parametrize("raw", [None, [], {"ticket_id": "t"}, {
    "ticket_id": "t", "kind": "lunch", "generation": 1, "due_at": "2026-11-23T00:00:00Z"}, {
    "ticket_id": "t", "kind": "first_response", "generation": "x", "due_at": "2026-11-23T00:00:00Z"}, {
    "ticket_id": "t", "kind": "first_response", "generation": 1, "due_at": "tomorrow"}])
def test_malformed_timer_payloads_are_refused(raw):
    with pytest.raises(timers.InvalidTimer):
        timers.parse_payload(raw)
