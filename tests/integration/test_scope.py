"""Department scope (issue 20, attack 5): an agent of one department tries every ticket and
customer route on another department's ticket and customer; each answers 404 (exactly like a
ticket that does not exist), the queue and search never list them, and customer merge and
unmerge need a lead. Leads and admins keep seeing everything."""
from __future__ import annotations

import pytest

from chalicelib.db.models import Ticket
from chalicelib.services.team import agents
from tests.integration.helpers import Api, new_ticket

BILLING = "arn:aws:iam::123456789012:user/billing-bina"
SALES = "arn:aws:iam::123456789012:user/sales-sami"
NOBODY = "arn:aws:iam::123456789012:user/no-department"
LEAD = "arn:aws:iam::123456789012:user/lead-lima"


@pytest.fixture
def world(stack):
    agents.ensure_agent(BILLING, role="agent", display_name="Bina", departments={"billing"})
    agents.ensure_agent(SALES, role="agent", display_name="Sami", departments={"sales"})
    agents.ensure_agent(NOBODY, role="agent", display_name="Nobody")
    agents.ensure_agent(LEAD, role="lead", display_name="Lima", departments={"sales"})
    admin = Api(stack.client)
    billing_ticket = new_ticket(admin, email="bill.payer@example.com", phone="",
                                subject="Invoice twice charged", department="billing")
    sales_ticket = new_ticket(admin, email="sales.buyer@example.com", phone="",
                              subject="Quote request", department="sales")
    for made in (billing_ticket, sales_ticket):
        assert Ticket.get(made["id"]).department in ("billing", "sales")
    status, found = admin.get(f"/api/tickets/{billing_ticket['id']}")
    assert status == 200 and found["department"] == "billing", found
    customer = found["customer_id"]
    return {"admin": admin, "billing": admin.as_principal(BILLING),
            "sales": admin.as_principal(SALES), "nobody": admin.as_principal(NOBODY),
            "lead": admin.as_principal(LEAD), "ticket": billing_ticket, "customer": customer,
            "sales_ticket": sales_ticket, "timeline": found["timeline"]}


def _soon() -> str:
    from datetime import timedelta

    from chalicelib import clock

    return clock.iso(clock.now() + timedelta(days=2))


def _inbound_uid(timeline: list[dict]) -> str:
    return next(e["id"] for e in timeline if e.get("entry") == "message" and e.get("direction") == "in")


def test_every_ticket_route_answers_404_outside_the_agents_departments(world):
    sales, ticket = world["sales"], world["ticket"]
    tid, ref = ticket["id"], ticket["ref"]
    version = Ticket.get(tid).version
    attempts = [
        ("GET", f"/api/tickets/{tid}", None),
        ("GET", f"/api/tickets/{ref}", None),
        ("PATCH", f"/api/tickets/{tid}", {"status": "closed"}),
        ("PATCH", f"/api/tickets/{tid}", {"department": "sales"}),
        ("POST", f"/api/tickets/{tid}/replies", {"body": "Hello from sales"}),
        ("POST", f"/api/tickets/{tid}/notes", {"body": "peek"}),
        ("POST", f"/api/tickets/{tid}/callbacks", {"at": _soon()}),
        ("POST", f"/api/tickets/{tid}/decisions", {"question": "Refund?"}),
        ("POST", f"/api/tickets/{tid}/take", {}),
        ("POST", f"/api/tickets/{tid}/merge", {"into": world["sales_ticket"]["id"]}),
        ("POST", f"/api/tickets/{world['sales_ticket']['id']}/merge", {"into": tid}),
        ("POST", f"/api/tickets/{tid}/split", {"message": _inbound_uid(world["timeline"])}),
        ("POST", f"/api/tickets/{tid}/preview", {"template": "{{ ticket.subject }}"}),
    ]
    for method, path, body in attempts:
        status, answer = sales.post(path, body) if method == "POST" else (
            sales.patch(path, body) if method == "PATCH" else sales.get(path))
        if path.endswith(f"{world['sales_ticket']['id']}/merge"):
            assert status == 422, (path, answer)  # the target is "no such ticket"
            continue
        assert status == 404, (method, path, status, answer)
        assert answer["error"]["message"] == "No such ticket.", answer
    # nothing changed: same version, no note, no assignee
    after = Ticket.get(tid)
    assert after.version == version and after.assignee is None and after.department == "billing"
    # a ticket that does not exist answers the very same
    status, missing = sales.get("/api/tickets/t_doesnotexist")
    assert (status, missing["error"]["message"]) == (404, "No such ticket.")
    # an agent without departments sees nothing at all
    assert world["nobody"].get(f"/api/tickets/{tid}")[0] == 404
    assert world["nobody"].get("/api/tickets")[1]["items"] == []


def test_own_department_and_leads_still_work(world):
    tid = world["ticket"]["id"]
    status, got = world["billing"].get(f"/api/tickets/{tid}")
    assert status == 200, got
    status, noted = world["billing"].post(f"/api/tickets/{tid}/notes", {"body": "mine"})
    assert status == 201, noted
    # a lead of sales sees billing's ticket (leads and admins: every department)
    assert world["lead"].get(f"/api/tickets/{tid}")[0] == 200


def test_queue_and_search_list_only_the_agents_departments(world):
    sales, billing = world["sales"], world["billing"]
    listed = {t["id"] for t in sales.get("/api/tickets")[1]["items"]}
    assert world["sales_ticket"]["id"] in listed and world["ticket"]["id"] not in listed
    listed = {t["id"] for t in billing.get("/api/tickets?status=new")[1]["items"]}
    assert world["ticket"]["id"] in listed and world["sales_ticket"]["id"] not in listed
    # a filter naming another department: 403
    status, refused = sales.get("/api/tickets?department=billing")
    assert status == 403, refused
    # search by ref, email and subject words finds nothing of billing's
    for q in (world["ticket"]["ref"], "bill.payer@example.com", "Invoice"):
        status, found = sales.get(f"/api/tickets?q={q}")
        assert status == 200 and found["items"] == [], (q, found)
        assert [t["id"] for t in billing.get(f"/api/tickets?q={q}")[1]["items"]] == [world["ticket"]["id"]]
    # the lead and the admin see both
    both = {t["id"] for t in world["lead"].get("/api/tickets")[1]["items"]}
    assert {world["ticket"]["id"], world["sales_ticket"]["id"]} <= both


def test_customers_outside_scope_are_404_and_not_found(world):
    sales, billing, cid = world["sales"], world["billing"], world["customer"]
    assert sales.get(f"/api/customers/{cid}")[0] == 404
    status, answer = sales.patch(f"/api/customers/{cid}", {"add_emails": ["thief@example.com"]})
    assert status == 404, answer
    for q in ("bill.payer@example.com", cid, world["ticket"]["ref"]):
        status, found = sales.get(f"/api/customers?q={q}")
        assert status == 200 and found["items"] == [], (q, found)
    status, mine = billing.get(f"/api/customers/{cid}")
    assert status == 200 and [t["id"] for t in mine["tickets"]["items"]] == [world["ticket"]["id"]]
    assert billing.get("/api/customers?q=bill.payer@example.com")[1]["items"][0]["id"] == cid
    # the same customer writes to sales too: sales sees the customer, but only sales' ticket
    new_ticket(world["admin"], email="bill.payer@example.com", phone="", subject="Buy more",
               department="sales")
    status, shared = sales.get(f"/api/customers/{cid}")
    assert status == 200
    assert {t["department"] for t in shared["tickets"]["items"]} == {"sales"}


def test_customer_merge_and_unmerge_need_a_lead(world):
    admin = world["admin"]
    other_ticket = new_ticket(admin, email="bill.payer2@example.com", phone="", subject="Again",
                              department="billing")
    other = admin.get(f"/api/tickets/{other_ticket['id']}")[1]["customer_id"]
    cid = world["customer"]
    status, refused = world["billing"].post(f"/api/customers/{cid}/merge", {"other": other})
    assert status == 403, refused
    status, refused = world["billing"].post(f"/api/customers/{cid}/unmerge", {"other": other})
    assert status == 403, refused
    status, merged = world["lead"].post(f"/api/customers/{cid}/merge", {"other": other})
    assert status == 200, merged
    assert world["billing"].post(f"/api/customers/{cid}/unmerge", {"other": other})[0] == 403
    assert world["lead"].post(f"/api/customers/{cid}/unmerge", {"other": other})[0] == 200


def test_agent_starts_conversations_only_in_their_departments(world):
    status, refused = world["sales"].post("/api/tickets", {
        "email": "someone@example.com", "body": "Hello", "department": "billing"})
    assert status == 403, refused
    status, started = world["sales"].post("/api/tickets", {
        "email": "someone@example.com", "body": "Hello"})
    assert status == 201, started
    assert Ticket.get(started["ticket"]["id"]).department == "sales"
