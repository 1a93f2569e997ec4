"""The timer-map rules of services/sla/rules.py, without AWS: re-timing running targets when a
ticket's policy changes (its priority or department did)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from chalicelib import clock
from chalicelib.services.sla import policy as sla
from chalicelib.services.sla import rules
from chalicelib.services.sla.calendars import ALWAYS, DHAKA

T0 = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)  # Monday 10:00 in Dhaka


def new_ticket(policy, calendar, at=T0):
    ticket = SimpleNamespace(created_at=at, timers={}, sla={"policy": policy.name})
    for target in ("first_response", "resolution"):
        rules.arm_target(ticket, target, policy, calendar, at)
    return ticket


def due(ticket, target):
    return clock.parse_iso(ticket.timers[target]["due_at"])


def test_a_stricter_policy_counts_from_when_the_target_started():
    normal = sla.parse_policy("normal", {"first_response": "PT4H", "resolution": "P2D"})
    urgent = sla.parse_policy("urgent", {"first_response": "PT1H", "resolution": "PT8H",
                                         "warn_before": "PT10M"})
    ticket = new_ticket(normal, ALWAYS)
    generation = ticket.timers["first_response"]["generation"]
    later = T0 + timedelta(minutes=20)
    assert rules.retarget(ticket, urgent, ALWAYS, later) == ["first_response", "resolution"]
    assert due(ticket, "first_response") == T0 + timedelta(hours=1)
    assert due(ticket, "resolution") == T0 + timedelta(hours=8)
    assert ticket.timers["first_response"]["generation"] == generation + 1  # old execution is stale
    assert ticket.timers["first_response"]["warn_at"] == clock.iso(T0 + timedelta(minutes=50))
    assert ticket.timers["first_response"]["start_at"] == clock.iso(T0)


def test_a_target_already_overdue_under_the_new_policy_breaches_now_without_a_warning():
    normal = sla.parse_policy("normal", {"first_response": "PT4H"})
    urgent = sla.parse_policy("urgent", {"first_response": "PT30M"})
    ticket = new_ticket(normal, ALWAYS)
    now = T0 + timedelta(hours=1)
    rules.retarget(ticket, urgent, ALWAYS, now)
    assert due(ticket, "first_response") == now
    assert "warn_at" not in ticket.timers["first_response"]


def test_business_calendar_and_pauses_are_left_out_of_resolution():
    slow = sla.parse_policy("slow", {"first_response": "PT4H", "resolution": "PT16H"})
    fast = sla.parse_policy("fast", {"first_response": "PT2H", "resolution": "PT8H"})
    ticket = new_ticket(slow, DHAKA)
    # pending for two open hours on Monday, then open again
    pause_from, pause_to = T0 + timedelta(hours=1), T0 + timedelta(hours=3)
    assert rules.pause_resolution(ticket, pause_from, DHAKA)
    assert rules.resume_resolution(ticket, pause_to, DHAKA, slow)
    assert ticket.timers["resolution"]["start_at"] == clock.iso(T0)  # resuming keeps the start
    rules.retarget(ticket, fast, DHAKA, pause_to)
    # 8 open hours from Monday 10:00 plus the 2 paused ones: Monday closes at 18:00 (8 h
    # counted), so the last 2 h fall on Tuesday 09:30-11:30 Dhaka time
    assert due(ticket, "resolution") == datetime(2026, 11, 24, 5, 30, tzinfo=timezone.utc)
    # 2 h from 10:00 was 12:00 and it is 13:00: the first response breaches now
    assert due(ticket, "first_response") == pause_to


def test_a_paused_target_keeps_waiting_with_the_new_time_left():
    slow = sla.parse_policy("slow", {"first_response": "PT4H", "resolution": "PT10H"})
    fast = sla.parse_policy("fast", {"first_response": "PT4H", "resolution": "PT5H"})
    ticket = new_ticket(slow, ALWAYS)
    rules.pause_resolution(ticket, T0 + timedelta(hours=2), ALWAYS)
    assert ticket.timers["resolution"]["remaining_seconds"] == 8 * 3600
    rules.retarget(ticket, fast, ALWAYS, T0 + timedelta(hours=6))
    assert ticket.timers["resolution"]["state"] == "paused"
    assert ticket.timers["resolution"]["remaining_seconds"] == 3 * 3600


def test_a_target_the_new_policy_lacks_stops_and_finished_targets_are_untouched():
    both = sla.parse_policy("both", {"first_response": "PT1H", "resolution": "PT5H"})
    only_first = sla.parse_policy("first", {"first_response": "PT2H"})
    ticket = new_ticket(both, ALWAYS)
    rules.stop(ticket, "first_response", state="fired")  # already answered
    assert rules.retarget(ticket, only_first, ALWAYS, T0) == ["resolution"]
    assert ticket.timers["resolution"]["state"] == "stopped"
    assert ticket.timers["first_response"]["state"] == "fired"
    assert due(ticket, "first_response") == T0 + timedelta(hours=1)


def test_a_timer_without_a_recorded_start_keeps_its_due_time_except_first_response():
    normal = sla.parse_policy("normal", {"first_response": "PT4H", "next_reply": "PT4H"})
    urgent = sla.parse_policy("urgent", {"first_response": "PT1H", "next_reply": "PT1H"})
    ticket = SimpleNamespace(created_at=T0, timers={}, sla={"policy": "normal"})
    later = T0 + timedelta(days=3)
    for target, start in (("first_response", T0), ("next_reply", later)):
        rules.arm_target(ticket, target, normal, ALWAYS, start)
    for entry in ticket.timers.values():  # as stored before start_at existed
        del entry["start_at"]
    assert rules.retarget(ticket, urgent, ALWAYS, later + timedelta(minutes=5)) == ["first_response"]
    assert due(ticket, "next_reply") == later + timedelta(hours=4)  # not "now", not breached
    assert due(ticket, "first_response") == later + timedelta(minutes=5)  # it is long overdue
