"""Departments as data on the local stack: the list routes, admin writes and agent reads,
audit, a new department used end to end (web form, routing, mail to its address), delete =
deactivate when in use; SLA policies that inherit from the default, `urgent` for every
department, unused names reported."""
from __future__ import annotations

import pytest

from chalicelib import clock
from chalicelib.db.models import Ticket
from chalicelib.services.team import agents, audit
from tests.integration.helpers import Api, events, new_ticket, wait_for
from tests.integration.test_email import mail, ses_deliver

AGENT = "arn:aws:iam::123456789012:user/agent-tanvir"
REPAIRS = {"labels": {"bn": "মেরামত", "en": "Repairs"}, "order": 5,
           "links": [{"label": {"bn": "মেরামতের নিয়ম", "en": "Repair terms"}, "path": "/help/repairs"}]}


@pytest.fixture
def api(stack):
    agents.ensure_agent(AGENT, role="agent", display_name="Tanvir", departments={"general"})
    return Api(stack.client)


def _audit(target: str) -> list[dict]:
    items, _ = audit.day(clock.now().date().isoformat(), limit=200)
    return [e for e in items if e["target"] == target]


def test_list_routes_answer_every_agent_with_the_builtins(api):
    agent = api.as_principal(AGENT)
    status, found = agent.get("/api/departments")
    assert status == 200
    assert [d["name"] for d in found["items"]] == ["billing", "general", "sales", "technical"]
    general = next(d for d in found["items"] if d["name"] == "general")
    assert general["builtin"] and general["active"] and general["effective_address"] == "support@setu.local"
    status, policies = agent.get("/api/sla-policies")
    assert status == 200 and [p["name"] for p in policies["items"]] == ["default"]
    default = policies["items"][0]
    assert default["builtin"] and default["checkin_after"] == "P1D" and default["calendar"] == "default"
    assert "general/normal" in default["used_by"]
    status, calendars = agent.get("/api/calendars")
    assert status == 200 and {"24x7", "default"} <= {c["name"] for c in calendars["items"]}


def test_admins_write_agents_read_and_every_write_is_audited(api):
    agent = api.as_principal(AGENT)
    assert agent.put("/api/departments/repairs", REPAIRS)[0] == 403
    assert agent.call("DELETE", "/api/departments/sales")[0] == 403
    status, error = api.put("/api/departments/Repairs_1", REPAIRS)
    assert status == 422 and "name" in error["error"]["fields"]
    status, error = api.put("/api/departments/repairs", {"order": 3})
    assert status == 422 and "labels" in error["error"]["fields"]
    status, error = api.put("/api/departments/repairs", {**REPAIRS, "calendar": "mars",
                                                          "default_policy": "nope",
                                                          "address": "repairs@elsewhere.example"})
    assert status == 422 and {"calendar", "default_policy", "address"} <= set(error["error"]["fields"])
    assert api.get("/api/departments/repairs")[0] == 404
    status, created = api.put("/api/departments/repairs", REPAIRS)
    assert status == 200 and created["effective_address"] == "repairs@setu.local" and created["active"]
    status, changed = api.put("/api/departments/repairs", {"labels": {"bn": "মেরামত", "en": "Repair desk"}})
    assert status == 200 and changed["labels"]["en"] == "Repair desk" and changed["order"] == 5
    status, shown = agent.get("/api/departments/repairs")
    assert status == 200 and shown["links"] == REPAIRS["links"]
    entries = _audit("department:repairs")
    assert [e["action"] for e in entries] == ["department.created", "department.updated"]
    assert entries[0]["before"] is None and entries[0]["after"]["labels"]["en"] == "Repairs"
    assert entries[1]["before"]["labels"]["en"] == "Repairs"
    assert entries[1]["after"]["labels"]["en"] == "Repair desk"
    # the agent's department list takes it; an unknown one is a 422 that lists the departments
    status, error = api.post("/api/agents", {"principal": "arn:aws:iam::123456789012:user/mitu",
                                             "role": "agent", "departments": ["mars"]})
    assert status == 422 and "repairs" in error["error"]["fields"]["departments[0]"]
    assert api.post("/api/agents", {"principal": "arn:aws:iam::123456789012:user/mitu",
                                    "role": "agent", "departments": ["repairs"]})[0] == 201


def test_a_new_department_is_on_the_form_routable_and_reachable_by_mail(api, stack):
    assert api.put("/api/departments/repairs", REPAIRS)[0] == 200
    page = stack.client.http.get("/form?lang=en")
    text = page.body.decode() if isinstance(page.body, bytes) else page.body
    assert page.status_code == 200 and 'value="repairs"' in text and "Repairs" in text
    assert text.index('value="general"') < text.index('value="repairs"') < text.index('value="sales"')
    # a web-form ticket lands in it, its acknowledgement carries its links
    created = new_ticket(api, department="repairs", subject="Broken screen")
    ticket = Ticket.get(created["id"])
    assert ticket.department == "repairs"
    stack.pump.drain()
    _, shown = api.get(f"/api/tickets/{created['id']}")
    [ack] = [m for m in shown["timeline"] if m.get("kind") == "ack"]
    assert "/help/repairs" in ack["body"] or "মেরামতের নিয়ম" in ack["body"]
    # a routing rule sends to it
    rules = {"rules": [{"name": "screens", "when": {"keywords": ["ডিসপ্লে"]},
                        "then": {"department": "repairs", "priority": "high"}}]}
    assert api.put("/api/routing", rules)[0] == 200
    ses_deliver(stack, mail(sender="Karim <karim@example.com>", subject="ডিসপ্লে ভেঙে গেছে",
                            body="ফোনের ডিসপ্লে কাজ করছে না").as_bytes(), source="karim@example.com")
    # mail to its own address lands in it
    ses_deliver(stack, mail(sender="Mitu <mitu@example.com>", to="repairs@setu.local",
                            subject="Warranty", body="Is my phone under warranty?").as_bytes(),
                recipients=("repairs@setu.local",), source="mitu@example.com")
    stack.pump.drain()
    status, page = api.get("/api/tickets?department=repairs")
    assert status == 200
    by_subject = {t["subject"]: (t["department"], t["priority"]) for t in page["items"]}
    assert by_subject == {"Broken screen": ("repairs", "normal"),
                          "ডিসপ্লে ভেঙে গেছে": ("repairs", "high"),
                          "Warranty": ("repairs", "normal")}
    # the reply to the mailed ticket goes out from the department's address
    warranty = next(t for t in page["items"] if t["subject"] == "Warranty")
    assert api.post(f"/api/tickets/{warranty['id']}/replies", {"body": "Yes, it is."})[0] == 201
    stack.pump.drain()
    sent = [m for m in api.get(f"/api/tickets/{warranty['id']}")[1]["timeline"]
            if m.get("kind") == "reply"]
    assert sent and sent[-1]["status"] in ("sent", "delivered")
    # an unknown department is a 422 that lists the real ones
    status, error = api.patch(f"/api/tickets/{warranty['id']}", {"department": "mars"})
    assert status == 422 and "repairs" in error["error"]["fields"]["department"]


def test_delete_removes_an_unused_department_and_deactivates_one_in_use(api, stack):
    assert api.put("/api/departments/repairs", REPAIRS)[0] == 200
    assert api.put("/api/departments/spare", {"labels": {"bn": "অতিরিক্ত", "en": "Spare"}})[0] == 200
    new_ticket(api, department="repairs")
    status, answer = api.call("DELETE", "/api/departments/repairs")[:2]
    assert status == 200 and answer["deactivated"] and not answer["active"]
    assert answer["in_use"] == ["tickets"]
    status, answer = api.call("DELETE", "/api/departments/spare")[:2]
    assert status == 200 and answer["deleted"]
    assert api.get("/api/departments/spare")[0] == 404
    status, error = api.call("DELETE", "/api/departments/general")[:2]
    assert status == 409
    # a built-in one nobody uses is deactivated too (it would come back from the seeds)
    status, answer = api.call("DELETE", "/api/departments/sales")[:2]
    assert status == 200 and answer["deactivated"]
    status, listed = api.get("/api/departments")
    assert {d["name"]: d["active"] for d in listed["items"]} == {
        "billing": True, "general": True, "repairs": False, "sales": False, "technical": True}
    # gone from the form; a form ticket for it is refused with the choices
    page = stack.client.http.get("/form?lang=en").body
    text = page.decode() if isinstance(page, bytes) else page
    assert 'value="repairs"' not in text and 'value="sales"' not in text
    status, error = api.post("/tickets", {"email": "a@example.com", "message": "hi",
                                          "department": "repairs"})
    assert status == 422 and "department" in error["error"]["fields"]
    # its tickets can still be listed
    assert api.get("/api/tickets?department=repairs")[1]["items"]
    actions = [e["action"] for e in _audit("department:repairs")]
    assert actions == ["department.created", "department.deactivated"]
    assert [e["action"] for e in _audit("department:spare")] == ["department.created", "department.deleted"]
    # an admin can bring it back
    status, back = api.put("/api/departments/repairs", {"active": True})
    assert status == 200 and back["active"]


def test_a_policy_saved_with_only_targets_still_checks_in_and_urgent_applies_everywhere(api, stack):
    assert api.put("/api/sla-policies/default", {"first_response": "PT1H", "checkin_after": "PT2S",
                                                  "remind_after": "PT2S"})[0] == 200
    status, urgent = api.put("/api/sla-policies/urgent", {"first_response": "PT30M"})
    assert status == 200 and urgent["warnings"] == []
    assert urgent["checkin_after"] == "PT2S" and "checkin_after" in urgent["inherited"]
    assert urgent["set"] == {"calendar": "24x7", "first_response": "PT30M"}
    assert "billing/urgent" in urgent["used_by"] and "general/urgent" in urgent["used_by"]
    status, foo = api.put("/api/sla-policies/foo", {"first_response": "PT30M"})
    assert status == 200 and foo["warnings"] and "no ticket uses policy 'foo'" in foo["warnings"][0]
    _, listed = api.get("/api/sla-policies")
    used = {p["name"]: p["used_by"] for p in listed["items"]}
    assert used["foo"] == [] and "technical/urgent" in used["urgent"]
    # an urgent ticket of any department gets `urgent`; its check-in is the default's
    created = new_ticket(api, department="technical")
    assert api.patch(f"/api/tickets/{created['id']}", {"priority": "urgent"})[0] == 200
    assert Ticket.get(created["id"]).sla.as_dict()["policy"] == "urgent"
    assert api.post(f"/api/tickets/{created['id']}/replies", {"body": "Fixed."})[0] == 201
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "resolved"})[0] == 200
    wait_for(lambda: "followup.sent" in events(api, created["id"]), stack.pump, timeout=30)
    # a pending ticket under it is reminded (remind_after inherited too)
    pending = new_ticket(api, email="", phone="01711000999", department="billing")
    assert api.patch(f"/api/tickets/{pending['id']}", {"priority": "urgent"})[0] == 200
    assert api.post(f"/api/tickets/{pending['id']}/replies", {"body": "ছবি পাঠান।"})[0] == 201
    assert api.patch(f"/api/tickets/{pending['id']}", {"status": "pending"})[0] == 200
    wait_for(lambda: "reminder.sent" in events(api, pending["id"]), stack.pump, timeout=30)
    stack.pump.drain()


def test_off_switches_an_inherited_follow_up_off(api, stack):
    assert api.put("/api/sla-policies/default", {"first_response": "PT1H", "checkin_after": "PT2S"})[0] == 200
    status, quiet = api.put("/api/sla-policies/general", {"first_response": "PT1H", "checkin_after": "off"})
    assert status == 200 and quiet["checkin_after"] is None and quiet["set"]["checkin_after"] == "off"
    assert "checkin_after" not in quiet["inherited"] and quiet["remind_after"] == "P2D"
    created = new_ticket(api)
    assert api.post(f"/api/tickets/{created['id']}/replies", {"body": "Done."})[0] == 201
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "resolved"})[0] == 200
    stack.pump.drain()
    assert "checkin" not in Ticket.get(created["id"]).timers.as_dict()


def test_a_department_default_policy_is_used_for_its_normal_tickets(api, stack):
    assert api.put("/api/sla-policies/gold", {"first_response": "PT10M"})[0] == 200
    assert api.put("/api/departments/billing", {"default_policy": "gold"})[0] == 200
    _, gold = api.get("/api/sla-policies/gold")
    assert "billing/normal" in gold["used_by"]
    created = new_ticket(api, department="billing")
    assert Ticket.get(created["id"]).sla.as_dict()["policy"] == "gold"
    status, error = api.put("/api/departments/billing", {"default_policy": "platinum"})
    assert status == 422 and "default_policy" in error["error"]["fields"]


def test_the_setu_command_lists_creates_and_removes_departments(api, capsys):
    from setu_cli.main import main

    assert main(["departments", "put", "repairs", "--label-bn", "মেরামত", "--label-en", "Repairs",
                 "--form", "no"]) == 0
    assert "repairs@setu.local" in capsys.readouterr().out
    assert main(["departments", "list"]) == 0
    listed = capsys.readouterr().out
    assert "repairs" in listed and "Repairs" in listed and "general" in listed
    status, shown = api.get("/api/departments/repairs")
    assert status == 200 and shown["form"] is False
    assert main(["departments", "put", "nope"]) == 2
    assert "labels" in capsys.readouterr().err
    assert main(["departments", "delete", "repairs", "--json"]) == 0
    assert '"deleted": true' in capsys.readouterr().out
    [entry, gone] = _audit("department:repairs")
    assert entry["actor"].startswith("cli:") and gone["action"] == "department.deleted"


def test_departments_past_the_items_400_kb_are_refused_with_a_4xx_not_a_500(api):
    # Every department lives in one settings item (DynamoDB: 400 KB). Each field is within
    # its own limit, yet 100 departments of ten full links each would not fit: the write
    # that would pass the item's size is a 422 naming the size, and nothing is half-written.
    label = {"bn": "ক" * 100, "en": "e" * 100}
    link = {"label": label, "url": "https://example.com/" + "p" * 281}
    full = {"labels": label, "links": [link] * 10}
    statuses = []
    for n in range(100):
        status, body = api.put(f"/api/departments/d{n:03}", full)
        statuses.append(status)
        if status != 200:
            break
    assert statuses[-1] == 422, (statuses[-1], body)
    assert "size" in str(body["error"]["fields"]).lower(), body
    assert set(statuses[:-1]) == {200}
    status, found = api.get("/api/departments")
    assert status == 200 and len(found["items"]) == 4 + len(statuses) - 1
    assert api.get(f"/api/departments/d{len(statuses) - 1:03}")[0] == 404


def test_a_routing_rule_never_puts_new_work_in_a_deactivated_department(api, stack):
    # Deactivated: "its tickets keep it, nothing new goes there". A rule written while it
    # was active still names it: the rule is passed over, the contact goes where it would
    # have gone without it.
    assert api.put("/api/departments/repairs", REPAIRS)[0] == 200
    rules = {"rules": [{"name": "screens", "when": {"keywords": ["display"]},
                        "then": {"department": "repairs", "priority": "high"}}]}
    assert api.put("/api/routing", rules)[0] == 200
    assert api.put("/api/departments/repairs", {"active": False})[0] == 200
    created = new_ticket(api, subject="Display broken", message="the display is dark")
    assert Ticket.get(created["id"]).department == "general"
    ses_deliver(stack, mail(sender="Karim <karim@example.com>", subject="display broken",
                            body="my display is dark").as_bytes(), source="karim@example.com")
    stack.pump.drain()
    status, page = api.get("/api/tickets?department=repairs")
    assert status == 200 and page["items"] == []
    # active again, the rule applies again
    assert api.put("/api/departments/repairs", {"active": True})[0] == 200
    again = new_ticket(api, subject="Display broken again", message="the display is dark")
    assert Ticket.get(again["id"]).department == "repairs"


def test_a_department_cannot_take_another_departments_address(api, stack):
    # The address decides where new mail lands (departments.for_address): billing set to the
    # support address would take every contact of general, the first of two equal addresses
    # silently wins, and a new department's default address may already be another's.
    status, error = api.put("/api/departments/billing", {"address": "support@setu.local"})
    assert status == 422 and "general" in error["error"]["fields"]["address"]
    status, error = api.put("/api/departments/billing", {"address": "Sales@setu.local"})
    assert status == 422 and "sales" in error["error"]["fields"]["address"]
    assert api.put("/api/departments/billing", {"address": "accounts@setu.local"})[0] == 200
    status, error = api.put("/api/departments/accounts", {"labels": {"bn": "হিসাব", "en": "Accounts"}})
    assert status == 422 and "billing" in error["error"]["fields"]["address"]
    assert api.put("/api/departments/accounts", {"labels": {"bn": "হিসাব", "en": "Accounts"},
                                                "address": "ledger@setu.local"})[0] == 200
    # mail to the support address still lands in general
    ses_deliver(stack, mail(sender="Mitu <mitu@example.com>", to="support@setu.local",
                            subject="Hello", body="A question").as_bytes(),
                recipients=("support@setu.local",), source="mitu@example.com")
    stack.pump.drain()
    [found] = api.get("/api/tickets?q=mitu@example.com")[1]["items"]
    assert found["department"] == "general"
