"""Routing against the emulated AWS: the rules document (PUT/GET /api/routing, audited), rules
applied at intake (mail, SMS, web form), and round-robin assignment on the tickets stream."""
from __future__ import annotations

from collections import Counter

import pytest

from chalicelib import config
from chalicelib.db.models import Agent, Key, Ticket
from chalicelib.services.team import agents
from chalicelib.services.team import audit
from tests.integration.helpers import Api, events, new_ticket, timeline
from tests.integration.test_email import mail, ses_deliver
from tests.integration.test_sms import sms

AGENT = "arn:aws:iam::123456789012:user/agent-router"
TEAM = [f"arn:aws:iam::123456789012:user/billing-{n}" for n in range(5)]  # the last one is away

RULES = {
    "rules": [
        {"name": "refunds", "when": {"keywords": ["রিফান্ড", "refund"]},
         "then": {"department": "billing", "priority": "high"}},
        {"name": "bills", "when": {"keywords": ["বিল", "invoice"]}, "then": {"department": "billing"}},
        {"name": "outage by sms", "when": {"channel": ["sms"], "keywords": ["নেট নেই"]},
         "then": {"department": "technical", "priority": "urgent"}},
    ],
    "assignment": {"billing": "round_robin"},
}


@pytest.fixture
def api(stack):
    agents.ensure_agent(AGENT, role="agent")
    return Api(stack.client)


# ---- the document --------------------------------------------------------------------------

def test_put_and_get_routing_with_audit(api):
    status, empty = api.get("/api/routing")
    assert status == 200 and empty["rules"] == []
    assert empty["assignment"] == {"billing": "manual", "general": "manual", "sales": "manual",
                                   "technical": "manual"}
    status, saved = api.put("/api/routing", RULES)
    assert status == 200, saved
    assert [r["name"] for r in saved["rules"]] == ["refunds", "bills", "outage by sms"]
    assert saved["assignment"]["billing"] == "round_robin" and saved["assignment"]["sales"] == "manual"
    status, read = api.as_principal(AGENT).get("/api/routing")
    assert status == 200 and read == saved
    entries, _ = audit.day(audit.today())
    mine = [e for e in entries if e["action"] == "routing.updated"]
    assert len(mine) == 1 and mine[0]["target"] == "routing:default"
    assert mine[0]["before"] is None and mine[0]["after"]["assignment"] == {"billing": "round_robin"}
    # a second save records what it replaced
    assert api.put("/api/routing", {"rules": []})[0] == 200
    entries, _ = audit.day(audit.today())
    second = [e for e in entries if e["action"] == "routing.updated"][-1]
    assert second["before"]["rules"][0]["name"] == "refunds" and second["after"]["rules"] == []


def test_routing_auth(api):
    assert api.as_principal(None).get("/api/routing")[0] == 401
    assert api.as_principal(None).put("/api/routing", RULES)[0] == 401
    assert api.as_principal("arn:aws:iam::123456789012:user/nobody").get("/api/routing")[0] == 403
    status, error = api.as_principal(AGENT).put("/api/routing", RULES)
    assert status == 403 and error["error"]["code"] == "forbidden"
    assert api.get("/api/routing")[1]["rules"] == []  # nothing was written


@pytest.mark.parametrize("raw,content_type,status", [
    ("{not json", "application/json", 400),
    ('["rules"]', "application/json", 400),
    ('"x"', "application/json", 400),
    ("rules=1", "application/x-www-form-urlencoded", 415),
])
def test_put_routing_bad_bodies(api, raw, content_type, status):
    assert api.call("PUT", "/api/routing", raw=raw, content_type=content_type)[0] == status


@pytest.mark.parametrize("body,field", [
    ({"rules": [{"name": "r", "then": {"department": "mars"}}]}, "rules[0].then.department"),
    ({"rules": [{"name": "r", "when": {"keywords": ["x" * 65]}, "then": {"department": "sales"}}]},
     "rules[0].when.keywords[0]"),
    ({"rules": [{"name": f"r{n}", "then": {"department": "sales"}} for n in range(101)]}, "rules"),
    ({"rules": [], "assignment": {"sales": "lottery"}}, "assignment.sales"),
    ({"rules": [], "colour": "red"}, "colour"),
])
def test_put_routing_invalid_is_422_with_fields(api, body, field):
    status, error = api.put("/api/routing", body)
    assert status == 422 and field in error["error"]["fields"], error
    assert api.get("/api/routing")[1]["rules"] == []


# ---- rules at intake -----------------------------------------------------------------------

def _tickets_by_subject(api, subject_word: str) -> list[dict]:
    status, page = api.get(f"/api/tickets?q={subject_word}")
    assert status == 200
    return page["items"]


def test_a_mail_with_a_keyword_goes_to_its_department(api, stack):
    assert api.put("/api/routing", RULES)[0] == 200
    assert api.put("/api/sla-policies/billing-high", {"first_response": "PT1H"})[0] == 200
    ses_deliver(stack, mail(subject="রিফান্ড কবে পাব", body="অর্ডার বাতিল করেছি।").as_bytes())
    ses_deliver(stack, mail(sender="karim@example.com", subject="Question",
                            body="Where is my invoice?").as_bytes(), source="karim@example.com")
    # no keyword: the recipient address decides, as before
    ses_deliver(stack, mail(sender="sales-q@example.com", to="sales@setu.local", subject="দাম",
                            body="দাম কত?").as_bytes(),
                recipients=("sales@setu.local",), source="sales-q@example.com")
    stack.pump.drain()
    refund = _tickets_by_subject(api, "রিফান্ড")
    assert [(t["department"], t["priority"]) for t in refund] == [("billing", "high")]
    invoice = _tickets_by_subject(api, "karim@example.com")
    assert [(t["department"], t["priority"]) for t in invoice] == [("billing", "normal")]
    price = _tickets_by_subject(api, "sales-q@example.com")
    assert [t["department"] for t in price] == ["sales"]
    # the SLA policy is picked for the routed department and priority
    assert Ticket.get(refund[0]["id"]).sla.as_dict()["policy"] == "billing-high"
    assert Ticket.get(invoice[0]["id"]).sla.as_dict()["policy"] == "default"


def test_sms_and_web_form_are_routed(api, stack):
    assert api.put("/api/routing", RULES)[0] == 200
    sms(stack, "বাসায় নেট নেই সকাল থেকে", sender="01711000301")
    stack.pump.drain()
    status, page = api.get("/api/tickets?q=01711000301")
    assert [(t["department"], t["priority"]) for t in page["items"]] == [("technical", "urgent")]
    # the web form: no department picked -> the rules decide; a department picked -> it stays
    routed = new_ticket(api, email="w1@example.com", subject="বিল ভুল")
    kept = new_ticket(api, email="w2@example.com", subject="বিল ভুল", department="sales")
    assert Ticket.get(routed["id"]).department == "billing"
    assert Ticket.get(kept["id"]).department == "sales"


# ---- round-robin ---------------------------------------------------------------------------

def _team(away: str | None = TEAM[-1]) -> None:
    for principal in TEAM:
        agents.ensure_agent(principal, role="agent", departments={"billing"})
    agents.ensure_agent("arn:aws:iam::123456789012:user/sales-1", role="agent", departments={"sales"})
    if away:
        Agent.get("agent", away).update(actions=[Agent.away.set(True)])


def _recording(stack, monkeypatch) -> list[dict]:
    """Keep every event the pump hands to ticket_changed (to deliver them again)."""
    seen: list[dict] = []
    invoke = stack.pump._invoke

    def recording(name, event):
        if name == "ticket_changed":
            seen.append(event)
        return invoke(name, event)

    monkeypatch.setattr(stack.pump, "_invoke", recording)
    return seen


def test_round_robin_spreads_twenty_tickets_evenly_and_skips_the_away_agent(api, stack, monkeypatch):
    monkeypatch.setenv("SETU_FORM_LIMIT_PER_HOUR", "1000")
    config.reload()
    _team()
    assert api.put("/api/routing", {"rules": [], "assignment": {"billing": "round_robin"}})[0] == 200
    delivered = _recording(stack, monkeypatch)
    made = [new_ticket(api, email=f"rr{n}@example.com", department="billing") for n in range(20)]
    stack.pump.drain(timeout=60)

    assignees = {t["id"]: Ticket.get(t["id"]).assignee for t in made}
    assert Counter(assignees.values()) == {arn: 5 for arn in TEAM[:4]}
    assert Key.get("rr#billing", "_").value == 20
    first = made[0]["id"]
    assigned = [e for e in timeline(api, first) if e.get("type") == "ticket.assigned"]
    assert len(assigned) == 1 and assigned[0]["actor"] == "routing"

    # every stream record delivered again: nobody is reassigned, nothing is recorded twice
    versions = {t["id"]: Ticket.get(t["id"]).version for t in made}
    assert delivered
    for event in list(delivered):
        stack.pump._invoke("ticket_changed", event)
    stack.pump.drain()
    assert {t["id"]: Ticket.get(t["id"]).assignee for t in made} == assignees
    assert {t["id"]: Ticket.get(t["id"]).version for t in made} == versions
    assert Key.get("rr#billing", "_").value == 20
    assert events(api, first).count("ticket.assigned") == 1


def test_manual_departments_and_agent_started_tickets_are_not_round_robined(api, stack):
    _team()
    assert api.put("/api/routing", {"rules": [], "assignment": {"billing": "round_robin"}})[0] == 200
    manual = new_ticket(api, email="m1@example.com", department="sales")
    status, started = api.post("/api/tickets", {"email": "m2@example.com", "body": "Your bill",
                                                "department": "billing"})
    assert status == 201, started
    status, queued = api.post("/api/tickets", {"email": "m3@example.com", "body": "Your bill",
                                               "department": "billing", "assignee": None})
    assert status == 201, queued
    stack.pump.drain()
    assert Ticket.get(manual["id"]).assignee is None
    # an agent-started ticket is its starter's (or, asked for, nobody's): never round-robin's
    assert Ticket.get(started["ticket"]["id"]).assignee == api.principal
    assert Ticket.get(queued["ticket"]["id"]).assignee is None
    for made in (started["ticket"], queued["ticket"]):
        assert "routing" not in [e.get("actor") for e in timeline(api, made["id"])]


def test_nobody_available_records_unassigned_once(api, stack, monkeypatch):
    for principal in TEAM[:2]:
        agents.ensure_agent(principal, role="agent", departments={"billing"})
        Agent.get("agent", principal).update(actions=[Agent.away.set(True)])
    agents.ensure_agent("arn:aws:iam::123456789012:user/billing-admin", role="admin",
                        departments={"billing"})
    assert api.put("/api/routing", {"assignment": {"billing": "round_robin"}})[0] == 200
    delivered = _recording(stack, monkeypatch)
    created = new_ticket(api, email="nobody@example.com", department="billing")
    stack.pump.drain()
    for event in list(delivered):
        stack.pump._invoke("ticket_changed", event)
    stack.pump.drain()
    assert Ticket.get(created["id"]).assignee is None
    unassigned = [e for e in timeline(api, created["id"]) if e.get("type") == "ticket.unassigned"]
    assert len(unassigned) == 1
    assert unassigned[0]["actor"] == "routing" and "no available agent" in unassigned[0]["data"]["reason"]


def test_moving_an_unassigned_ticket_to_a_round_robin_department_assigns_it(api, stack):
    _team(away=None)
    assert api.put("/api/routing", {"assignment": {"billing": "round_robin"}})[0] == 200
    created = new_ticket(api, email="move@example.com", department="general")
    stack.pump.drain()
    assert Ticket.get(created["id"]).assignee is None
    status, _ = api.patch(f"/api/tickets/{created['id']}", {"department": "billing"})
    assert status == 200
    stack.pump.drain()
    assert Ticket.get(created["id"]).assignee == TEAM[0]


def test_a_failing_assignment_leaves_the_ticket_unassigned_and_its_timers_running(api, stack,
                                                                                monkeypatch):
    from chalicelib.services.team import round_robin

    _team(away=None)
    assert api.put("/api/routing", {"assignment": {"billing": "round_robin"}})[0] == 200

    def broken(old, new):
        raise RuntimeError("the agent directory is unreadable")

    monkeypatch.setattr(round_robin, "on_ticket_changed", broken)
    results, invoke = [], stack.pump._invoke

    def recording(name, event):
        result = invoke(name, event)
        if name == "ticket_changed":
            results.append(result)
        return result

    monkeypatch.setattr(stack.pump, "_invoke", recording)
    created = new_ticket(api, email="broken-rr@example.com", department="billing")
    stack.pump.drain()
    # no record is failed back to the stream: the batch goes on to the next tickets
    assert results and all(r == {"batchItemFailures": []} for r in results), results
    ticket = Ticket.get(created["id"])
    assert ticket.assignee is None
    assert any(t["state"] == "armed" for t in ticket.timers.as_dict().values())  # SLA timers
