"""Calendars through the agent API, and the due times they give new tickets."""
from datetime import timedelta, timezone

import pytest

from chalicelib import clock
from tests.integration.helpers import Api, new_ticket

AGENT = "arn:aws:iam::123456789012:user/agent-cal"


@pytest.fixture
def api(stack):
    from chalicelib.services.team import agents

    agents.ensure_agent(AGENT, role="agent")
    return Api(stack.client)


def test_builtin_calendars(api):
    status, default = api.get("/api/calendars/default")
    assert status == 200 and default["timezone"] == "Asia/Dhaka"
    assert default["hours"]["sun"] == [["09:30", "18:00"]] and "fri" not in default["hours"]
    assert api.get("/api/calendars/24x7")[1] == {"name": "24x7", "always_open": True}
    assert api.get("/api/calendars/nope")[0] == 404
    assert api.put("/api/calendars/24x7", {"hours": {}})[0] == 422


def test_put_calendar_is_admin_only_and_validated(api):
    body = {"timezone": "Asia/Dhaka", "hours": {"sat": [["10:00", "14:00"]]}, "closed": ["2026-12-31"]}
    assert api.as_principal(AGENT).put("/api/calendars/weekend", body)[0] == 403
    status, saved = api.put("/api/calendars/weekend", body)
    assert status == 200 and saved["hours"] == {"sat": [["10:00", "14:00"]]}
    assert api.get("/api/calendars/weekend")[1] == saved
    status, error = api.put("/api/calendars/bad", {"hours": {"sun": [["18:00", "09:00"]]}})
    assert status == 422 and "hours.sun" in error["error"]["fields"]


def test_settings_writes_are_audited_with_before_and_after(api):
    from chalicelib.services.team import audit

    def entries(target):
        found, _ = audit.day(audit.today(), limit=200)
        return [e for e in found if e["target"] == target]

    assert api.put("/api/sla-policies/vip", {"first_response": "PT1H"})[0] == 200
    assert api.put("/api/sla-policies/vip", {"first_response": "PT30M"})[0] == 200
    first, second = entries("sla_policy:vip")
    assert first["action"] == "sla_policy.updated" and first["before"] is None
    assert first["after"]["first_response"] == second["before"]["first_response"] == "PT1H"
    assert second["after"]["first_response"] == "PT30M" and second["actor"].endswith("setu-admin")
    body = {"timezone": "Asia/Dhaka", "hours": {"sun": [["09:00", "17:00"]]}}
    assert api.put("/api/calendars/dhaka-office", body)[0] == 200
    [entry] = entries("calendar:dhaka-office")
    assert entry["after"]["hours"] == {"sun": [["09:00", "17:00"]]}
    assert api.as_principal(AGENT).put("/api/calendars/dhaka-office", body)[0] == 403
    assert len(entries("calendar:dhaka-office")) == 1  # a refused write leaves no entry


def test_policy_on_unknown_calendar_is_422(api):
    status, error = api.put("/api/sla-policies/default", {"first_response": "PT1H", "calendar": "nope"})
    assert status == 422 and "calendar" in error["error"]["fields"]


def test_new_ticket_counts_only_open_hours(api):
    # a calendar whose only window opens ten minutes from now; its zone is chosen so that the
    # window sits around local noon and never crosses midnight
    now = clock.now().astimezone(timezone.utc)
    offset = 12 - now.hour  # Etc/GMT-5 is UTC+5 (POSIX signs)
    zone = f"Etc/GMT{-offset:+d}" if offset else "UTC"
    local = now + timedelta(hours=offset)
    opens_local = (local + timedelta(minutes=10)).replace(second=0, microsecond=0)
    opens = opens_local - timedelta(hours=offset)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[opens_local.weekday()]
    status, saved = api.put("/api/calendars/narrow", {"timezone": zone, "holidays_country": None, "hours": {
        day: [[opens_local.strftime("%H:%M"), (opens_local + timedelta(minutes=30)).strftime("%H:%M")]]}})
    assert status == 200, saved
    assert api.put("/api/sla-policies/default", {"first_response": "PT5M", "calendar": "narrow"})[0] == 200
    created = new_ticket(api)
    assert clock.parse_iso(created["due_at"]) == opens + timedelta(minutes=5)


def test_department_policy_and_its_calendar_pick_the_due_time(api):
    # billing keeps its own calendar (always open here) and a tighter first response
    assert api.put("/api/sla-policies/default", {"first_response": "PT4H", "calendar": "24x7"})[0] == 200
    assert api.put("/api/sla-policies/billing", {"first_response": "PT10M", "calendar": "24x7"})[0] == 200
    general = new_ticket(api)
    billing = new_ticket(api, department="billing")
    general_due = clock.parse_iso(general["due_at"]) - clock.now()
    billing_due = clock.parse_iso(billing["due_at"]) - clock.now()
    assert timedelta(hours=3, minutes=59) < general_due <= timedelta(hours=4)
    assert timedelta(minutes=9) < billing_due <= timedelta(minutes=10)
    _, ticket = api.get(f"/api/tickets/{billing['id']}")
    assert ticket["sla"]["policy"] == "billing"


def test_changing_priority_or_department_retimes_the_running_targets(api):
    assert api.put("/api/sla-policies/default", {"first_response": "PT4H", "resolution": "P2D",
                                                 "calendar": "24x7"})[0] == 200
    assert api.put("/api/sla-policies/general-urgent", {"first_response": "PT30M",
                                                        "resolution": "PT8H"})[0] == 200
    created = new_ticket(api)
    _, before = api.get(f"/api/tickets/{created['id']}")
    status, _ = api.patch(f"/api/tickets/{created['id']}", {"priority": "urgent"})
    assert status == 200
    _, after = api.get(f"/api/tickets/{created['id']}")
    assert after["sla"]["policy"] == "general-urgent"
    opened = clock.parse_iso(after["created_at"])
    assert clock.parse_iso(after["sla"]["first_response_due"]) == opened + timedelta(minutes=30)
    assert clock.parse_iso(after["sla"]["resolution_due"]) == opened + timedelta(hours=8)
    assert after["sla"]["first_response_due"] != before["sla"]["first_response_due"]
    [changed] = [i for i in after["timeline"] if i.get("type") == "sla.policy_changed"]
    assert changed["data"]["from"] == "default" and changed["data"]["to"] == "general-urgent"
    assert changed["data"]["retimed"] == ["first_response", "resolution"]
    # back to normal priority: the default policy again; a department without its own policy
    # keeps it, so moving the ticket to sales records no second change
    api.patch(f"/api/tickets/{created['id']}", {"priority": "normal"})
    api.patch(f"/api/tickets/{created['id']}", {"department": "sales"})
    _, last = api.get(f"/api/tickets/{created['id']}")
    assert last["sla"]["policy"] == "default"
    assert clock.parse_iso(last["sla"]["first_response_due"]) == opened + timedelta(hours=4)
    assert len([i for i in last["timeline"] if i.get("type") == "sla.policy_changed"]) == 2


def test_a_settings_write_racing_another_is_409_and_leaves_one_entry(api, monkeypatch):
    from chalicelib.services.team import audit

    assert api.put("/api/sla-policies/race", {"first_response": "PT1H"})[0] == 200
    real = audit.transaction

    def another_admin_first():
        monkeypatch.setattr(audit, "transaction", real)  # theirs goes through at once
        audit.put_setting("sla_policy", "race", {"first_response": "PT2H"}, "arn:aws:iam::1:user/b")
        return real()

    monkeypatch.setattr(audit, "transaction", another_admin_first)
    status, error = api.put("/api/sla-policies/race", {"first_response": "PT30M"})
    assert status == 409, error
    found, _ = audit.day(audit.today(), limit=200)
    trail = [e["after"]["first_response"] for e in found if e["target"] == "sla_policy:race"]
    assert trail == ["PT1H", "PT2H"]  # the refused write left no entry
