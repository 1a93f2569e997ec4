"""Manager decisions on the emulated Step Functions: the approvers are reminded until they
decide, an overdue decision reaches the managers, the outcome reaches the customer."""
from __future__ import annotations

import time

import pytest

from chalicelib.services.team import agents
from tests.integration.helpers import ADMIN, Api, events, new_ticket, timeline, wait_for

AGENT = "arn:aws:iam::123456789012:user/rina"
LEAD = "arn:aws:iam::123456789012:user/lead-karim"
BILLING_LEAD = "arn:aws:iam::123456789012:user/lead-billing"


@pytest.fixture
def api(stack):
    agents.ensure_agent(AGENT, role="agent", email="rina@setu.local", departments={"general"})
    agents.ensure_agent(LEAD, role="lead", email="karim@setu.local", departments={"general"})
    agents.ensure_agent(BILLING_LEAD, role="lead", email="bill@setu.local", departments={"billing"})
    assert Api(stack.client).put("/api/sla-policies/default", {"first_response": "PT1H"})[0] == 200
    return Api(stack.client)


def _events(api, ticket_id, prefix="decision."):
    return [i for i in timeline(api, ticket_id) if (i.get("type") or "").startswith(prefix)]


def test_reminded_until_decided_then_the_customer_is_told(api, stack):
    created = new_ticket(api, email="refund@example.com", lang="en")
    status, asked = api.as_principal(AGENT).post(f"/api/tickets/{created['id']}/decisions", {
        "question": "Refund 5,000 taka for the broken router?", "within": "PT4S",
        "remind_every": "PT2S"})
    assert status == 201, asked
    decision = asked["decision"]
    assert decision["state"] == "requested" and decision["requested_by"] == AGENT
    [requested] = _events(api, created["id"])
    assert requested["type"] == "decision.requested"
    assert sorted(requested["data"]["approvers"]) == sorted([LEAD, ADMIN])  # no billing lead
    stack.pump.drain()
    asks = [i for i in timeline(api, created["id"])
            if i.get("kind") == "decision_request" and "Decision needed" in i["subject"]]
    assert [a["recipient"] for a in asks] == ["karim@setu.local"] and asks[0]["status"] == "sent"
    assert "Refund 5,000 taka" in asks[0]["body"]

    # reminded (every 2 s) and, once past the due time, overdue exactly once; reminders go on
    wait_for(lambda: {"decision.overdue", "decision.reminded"} <= set(events(api, created["id"])),
             stack.pump, timeout=40)
    overdue = [e for e in _events(api, created["id"]) if e["type"] == "decision.overdue"]
    assert len(overdue) == 1 and ADMIN in overdue[0]["data"]["to"]
    assert overdue[0]["at"] >= decision["due_at"]

    # an agent cannot decide; the lead can
    status, refused = api.as_principal(AGENT).post(
        f"/api/tickets/{created['id']}/decisions/{decision['id']}", {"outcome": "approved"})
    assert status == 403, refused
    status, decided = api.as_principal(LEAD).post(
        f"/api/tickets/{created['id']}/decisions/{decision['id']}",
        {"outcome": "approved", "comment": "within goodwill budget",
         "message": "The refund reaches your bKash account within 3 days."})
    assert status == 200, decided
    assert decided["decision"]["state"] == "approved" and decided["decision"]["decided_by"] == LEAD
    stack.pump.drain()
    reminders = len([e for e in _events(api, created["id"]) if e["type"] == "decision.reminded"])
    # no reminder after the decision, however long we wait
    deadline = time.monotonic() + 4.5
    while time.monotonic() < deadline:
        stack.pump.drain()
        time.sleep(0.5)
    after = _events(api, created["id"])
    assert len([e for e in after if e["type"] == "decision.reminded"]) == reminders
    assert after[-1]["type"] == "decision.customer_notice.sent"
    assert [e for e in after if e["type"] == "decision.approved"][0]["data"]["late"] is True
    [notice] = [i for i in timeline(api, created["id"]) if i.get("kind") == "decision"]
    assert notice["channel"] == "email" and notice["recipient"] == "refund@example.com"
    assert notice["status"] == "sent" and "approved" in notice["subject"]
    assert "bKash account within 3 days" in notice["body"]
    # a decision is made once
    status, again = api.post(f"/api/tickets/{created['id']}/decisions/{decision['id']}",
                             {"outcome": "rejected"})
    assert status == 409, again


def test_a_named_approver_decides_and_a_rejection_reaches_an_sms_customer(api, stack):
    created = new_ticket(api, phone="01711000040", email="", department="billing",
                         message="বিল ফেরত চাই")
    status, asked = api.post(f"/api/tickets/{created['id']}/decisions", {
        "question": "Waive the late fee?", "approver": BILLING_LEAD})
    assert status == 201, asked
    decision_id = asked["decision"]["id"]
    assert asked["decision"]["approver"] == BILLING_LEAD
    # a lead who was not asked cannot decide; the named approver can
    status, _ = api.as_principal(LEAD).post(
        f"/api/tickets/{created['id']}/decisions/{decision_id}", {"outcome": "approved"})
    assert status == 403
    status, decided = api.as_principal(BILLING_LEAD).post(
        f"/api/tickets/{created['id']}/decisions/{decision_id}", {"outcome": "rejected"})
    assert status == 200 and decided["decision"]["state"] == "rejected"
    from chalicelib.services.team import audit

    found, _ = audit.day(audit.today(), limit=200)
    trail = [(e["action"], e["actor"]) for e in found if e["target"] == f"ticket:{created['id']}"]
    assert trail == [("decision.requested", ADMIN), ("decision.rejected", BILLING_LEAD)]
    stack.pump.drain()
    [notice] = [i for i in timeline(api, created["id"]) if i.get("kind") == "decision"]
    assert notice["channel"] == "sms" and notice["status"] == "sent"
    assert "দুঃখিত" in notice["body"] and notice["recipient"] == "+8801711000040"


def test_resolving_withdraws_an_open_decision_and_a_new_one_can_be_asked(api, stack):
    created = new_ticket(api)
    status, asked = api.post(f"/api/tickets/{created['id']}/decisions", {"question": "Replace?"})
    assert status == 201
    status, again = api.post(f"/api/tickets/{created['id']}/decisions", {"question": "And now?"})
    assert status == 409, again  # one open decision at a time
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "resolved"})[0] == 200
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    assert ticket["decision"]["state"] == "withdrawn"
    assert "decision.withdrawn" in events(api, created["id"])
    status, refused = api.post(f"/api/tickets/{created['id']}/decisions", {"question": "x"})
    assert status == 409, refused  # resolved: reopen first
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "open"})[0] == 200
    status, second = api.post(f"/api/tickets/{created['id']}/decisions", {"question": "Replace now?"})
    assert status == 201 and second["decision"]["id"] != asked["decision"]["id"]


@pytest.mark.parametrize("body,field", [
    ({}, "question"),
    ({"question": "   "}, "question"),
    ({"question": "x" * 2001}, "question"),
    ({"question": "ok", "approver": AGENT}, "approver"),  # not a lead
    ({"question": "ok", "approver": "arn:aws:iam::1:user/nobody"}, "approver"),
    ({"question": "ok", "within": "soon"}, "within"),
    ({"question": "ok", "remind_every": "PT1S"}, "remind_every"),
    ({"question": "ok", "colour": "red"}, "colour"),
])
def test_bad_decision_requests_are_422(api, body, field):
    created = new_ticket(api)
    status, error = api.post(f"/api/tickets/{created['id']}/decisions", body)
    assert status == 422 and field in error["error"]["fields"], error


def test_bad_decisions_are_refused(api):
    created = new_ticket(api)
    _, asked = api.post(f"/api/tickets/{created['id']}/decisions", {"question": "ok?"})
    url = f"/api/tickets/{created['id']}/decisions/{asked['decision']['id']}"
    assert api.post(url, {"outcome": "maybe"})[0] == 422
    assert api.post(url, {"outcome": "approved", "comment": 5})[0] == 422
    assert api.post(url, ["approved"])[0] in (400, 422)
    assert api.post(f"/api/tickets/{created['id']}/decisions/d-nope", {"outcome": "approved"})[0] == 404
    assert api.post("/api/tickets/t-nope/decisions", {"question": "ok?"})[0] == 404
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    assert ticket["decision"]["state"] == "requested"  # nothing half-written


def test_only_the_current_approvers_decide_and_a_gone_approver_hands_over(api, stack):
    from chalicelib.db.models import Agent

    created = new_ticket(api)  # general department
    _, asked = api.post(f"/api/tickets/{created['id']}/decisions", {"question": "Refund?"})
    url = f"/api/tickets/{created['id']}/decisions/{asked['decision']['id']}"
    assert api.as_principal(BILLING_LEAD).post(url, {"outcome": "approved"})[0] == 403
    second = new_ticket(api)
    _, named = api.post(f"/api/tickets/{second['id']}/decisions",
                        {"question": "Replace?", "approver": BILLING_LEAD})
    named_url = f"/api/tickets/{second['id']}/decisions/{named['decision']['id']}"
    assert api.as_principal(LEAD).post(named_url, {"outcome": "approved"})[0] == 403
    Agent.get("agent", BILLING_LEAD).update(actions=[Agent.active.set(False)])
    agents.clear_cache()
    # the named approver left: the department's leads (and admins) decide instead
    status, decided = api.as_principal(LEAD).post(named_url, {"outcome": "approved"})
    assert status == 200 and decided["decision"]["decided_by"] == LEAD


def test_a_decision_message_too_long_for_the_customers_sms_is_422(api, stack):
    created = new_ticket(api, phone="01711000041", email="", message="ফেরত")
    _, asked = api.post(f"/api/tickets/{created['id']}/decisions", {"question": "Refund?"})
    url = f"/api/tickets/{created['id']}/decisions/{asked['decision']['id']}"
    status, error = api.post(url, {"outcome": "approved", "message": "টাকা ফেরত দেওয়া হবে। " * 40})
    assert status == 422 and "message" in error["error"]["fields"], error
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    assert ticket["decision"]["state"] == "requested"  # nothing half-written
    assert api.post(url, {"outcome": "approved", "message": "৩ দিনে টাকা পাবেন।"})[0] == 200


def test_auto_close_withdraws_a_waiting_decision(api, stack):
    assert api.put("/api/sla-policies/default", {"first_response": "PT1H",
                                                  "close_after": "PT3S"})[0] == 200
    created = new_ticket(api)
    assert api.post(f"/api/tickets/{created['id']}/decisions", {"question": "Refund?"})[0] == 201
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "pending"})[0] == 200
    wait_for(lambda: "ticket.auto_closed" in events(api, created["id"]), stack.pump, timeout=40)
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    assert ticket["status"] == "closed" and ticket["decision"]["state"] == "withdrawn"


def test_reminders_are_at_least_five_minutes_apart_outside_the_local_stack(monkeypatch):
    from chalicelib import config
    from chalicelib.errors import ValidationFailed
    from chalicelib.services.followup import decisions

    monkeypatch.setenv("SETU_STAGE", "prod")
    config.reload()
    try:
        with pytest.raises(ValidationFailed) as refused:
            decisions._validate_ask({"question": "q", "remind_every": "PT2S"})
        assert "remind_every" in refused.value.fields
        assert decisions._validate_ask({"question": "q", "remind_every": "PT5M"})["remind_every"]
    finally:
        monkeypatch.undo()
        config.reload()


def test_ensuring_an_existing_agent_again_changes_nothing(api):
    agents.ensure_agent(LEAD, role="admin", email="other@setu.local")  # already there: kept
    assert agents.resolve(LEAD).role == "lead"
