"""The queue answers agents' questions (docs/agents.md, "The queue"), on the local stack:
assignee me/none/name/id, several statuses, SLA state and due times, waiting decisions,
customer-name search (Bengali), list items with names; unknown query parameters are 422;
agents list agents and assign by short name; times typed without an offset are Dhaka time."""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from chalicelib import clock
from chalicelib.db.models import Ticket
from chalicelib.services.team import agents
from tests.integration.helpers import Api, new_ticket

KARIM = "arn:aws:iam::123456789012:user/karim"
NUSRAT = "arn:aws:sts::123456789012:assumed-role/SupportAgents/nusrat"
LEAD = "arn:aws:iam::123456789012:user/lead-laila"
DHAKA = ZoneInfo("Asia/Dhaka")


@pytest.fixture
def api(stack):
    agents.ensure_agent(KARIM, role="agent", display_name="Karim Hasan", departments={"general"},
                        email="karim@example.com")
    agents.ensure_agent(NUSRAT, role="agent", display_name="Nusrat Jahan",
                        departments={"general", "billing"})
    agents.ensure_agent(LEAD, role="lead", display_name="Laila")
    return Api(stack.client)


def ids(page: dict) -> set[str]:
    return {t["id"] for t in page["items"]}


def listed(api: Api, query: str) -> dict:
    status, page = api.get(f"/api/tickets?{query}")
    assert status == 200, page
    return page


def test_assignee_me_none_short_name_and_id(api):
    mine = new_ticket(api, email="a@example.com")
    hers = new_ticket(api, email="b@example.com")
    nobodys = new_ticket(api, email="c@example.com")
    karim = api.as_principal(KARIM)
    assert karim.post(f"/api/tickets/{mine['id']}/take")[0] == 200
    assert api.patch(f"/api/tickets/{hers['id']}", {"assignee": "nusrat"})[0] == 200

    assert ids(listed(karim, "assignee=me")) == {mine["id"]}
    assert ids(listed(api.as_principal(NUSRAT), "assignee=me")) == {hers["id"]}
    assert ids(listed(api, "assignee=none")) == {nobodys["id"]}
    assert ids(listed(api, "assignee=karim")) == {mine["id"]}
    assert ids(listed(api, "assignee=Karim")) == {mine["id"]}  # case does not matter
    assert ids(listed(api, f"assignee={agents.agent_id(NUSRAT)}")) == {hers["id"]}
    assert ids(listed(api, f"assignee={quote(NUSRAT, safe='')}")) == {hers["id"]}
    status, error = api.get("/api/tickets?assignee=ghost")
    assert status == 422 and "assignee" in error["error"]["fields"]
    # the admin of the local stack is an agent too: "me" is theirs (none assigned)
    assert listed(api, "assignee=me")["items"] == []


def test_an_ambiguous_short_name_is_422_listing_the_candidates(api):
    other = "arn:aws:iam::123456789012:user/sales/karim"
    agents.ensure_agent(other, role="agent", display_name="Karim Sales")
    status, error = api.get("/api/tickets?assignee=karim")
    assert status == 422
    why = error["error"]["fields"]["assignee"]
    assert agents.agent_id(KARIM) in why and agents.agent_id(other) in why
    created = new_ticket(api)
    status, error = api.patch(f"/api/tickets/{created['id']}", {"assignee": "karim"})
    assert status == 422 and agents.agent_id(other) in error["error"]["fields"]["assignee"]
    # the id says which one
    status, ticket = api.patch(f"/api/tickets/{created['id']}", {"assignee": agents.agent_id(other)})
    assert status == 200 and ticket["assignee"] == other


def test_several_statuses_comma_separated_or_repeated(api):
    fresh = new_ticket(api, email="n@example.com")
    waiting = new_ticket(api, email="p@example.com")
    working = new_ticket(api, email="o@example.com")
    assert api.patch(f"/api/tickets/{waiting['id']}", {"status": "pending"})[0] == 200
    assert api.patch(f"/api/tickets/{working['id']}", {"status": "open"})[0] == 200
    both = {waiting["id"], working["id"]}
    assert ids(listed(api, "status=open,pending")) == both
    assert ids(listed(api, "status=open&status=pending")) == both
    assert ids(listed(api, "status=new")) == {fresh["id"]}
    assert ids(listed(api, "status=new,open&department=general")) == {fresh["id"], working["id"]}
    status, error = api.get("/api/tickets?status=open,later")
    assert status == 400 and "status" in error["error"]["fields"]


def test_sla_state_due_within_and_due_before(api):
    assert api.put("/api/sla-policies/default",
                   {"first_response": "PT1H", "resolution": "P3D", "calendar": "24x7"})[0] == 200
    soon = new_ticket(api, email="soon@example.com")
    late = new_ticket(api, email="late@example.com")
    stored = Ticket.get(late["id"], consistent_read=True)  # as the breach timer records it
    stored.update(actions=[Ticket.sla["breached"].set(["first_response"])])

    assert ids(listed(api, "sla=breached")) == {late["id"]}
    assert ids(listed(api, "breached=true")) == {late["id"]}
    assert ids(listed(api, "sla=on_track")) == {soon["id"]}
    assert ids(listed(api, "due_within=PT2H")) == {soon["id"], late["id"]}
    assert listed(api, "due_within=PT30M")["items"] == []
    # a time typed as people do: Dhaka time, no offset
    local = clock.now().astimezone(DHAKA)
    in_two_hours = (local + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    in_half_an_hour = (local + timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M")
    assert ids(listed(api, f"due_before={quote(in_two_hours)}")) == {soon["id"], late["id"]}
    assert listed(api, f"due_before={quote(in_half_an_hour)}")["items"] == []
    status, error = api.get("/api/tickets?due_within=soon")
    assert status == 400 and "due_within" in error["error"]["fields"]


def test_has_decision(api):
    asked = new_ticket(api, email="d@example.com")
    calm = new_ticket(api, email="e@example.com")
    status, _ = api.post(f"/api/tickets/{asked['id']}/decisions", {"question": "Refund 500 taka?"})
    assert status == 201
    assert ids(listed(api, "has_decision=true")) == {asked["id"]}
    assert ids(listed(api, "has_decision=false")) == {calm["id"]}


def test_customer_name_search_in_bengali_and_list_items(api):
    rahim = new_ticket(api, name="রহিম উদ্দিন", email="rahim.u@example.com", subject="অর্ডার")
    new_ticket(api, name="Karim Chowdhury", email="karim.c@example.com", subject="Order")
    for q in ("রহিম", "রহি", "উদ্দিন", "রহিম উদ্দ", "র\u200cহিম"):
        page = listed(api, f"q={quote(q)}")
        assert ids(page) == {rahim["id"]}, q
    assert ids(listed(api, "q=karim")) != {rahim["id"]}
    assert listed(api, f"q={quote('রহমান')}")["items"] == []

    page = listed(api, f"q={quote('রহিম')}")
    [item] = page["items"]
    assert item["customer_name"] == "রহিম উদ্দিন"
    assert item["last_activity_at"] and item["last_activity_at"].endswith("Z")
    assert item["next_due"]
    assert page["timezone"] == "Asia/Dhaka"
    assert listed(api, "")["items"][0]["customer_name"]


def test_an_agent_stays_in_scope_with_the_new_filters(api):
    billing = new_ticket(api, email="bill@example.com", department="billing")
    general = new_ticket(api, email="gen@example.com", department="general")
    karim = api.as_principal(KARIM)
    assert ids(listed(karim, "status=new,open")) == {general["id"]}
    assert ids(listed(karim, "assignee=none")) == {general["id"]}
    assert karim.get("/api/tickets?department=billing")[0] == 403
    assert ids(listed(api.as_principal(NUSRAT), "assignee=none")) == {billing["id"], general["id"]}


@pytest.mark.parametrize("path", ["/api/tickets?decision=requested", "/api/agents?role=lead",
                                  "/api/reports?colour=red", "/api/me?verbose=1"])
def test_unknown_query_parameters_are_422_naming_them(api, path):
    status, error = api.get(path)
    assert status == 422 and error["error"]["code"] == "validation_failed"
    unknown = path.split("?")[1].split("=")[0]
    assert unknown in error["error"]["fields"]
    assert "allowed" in error["error"]["fields"][unknown]


def test_unknown_query_parameter_on_a_ticket_and_a_write(api):
    created = new_ticket(api)
    status, error = api.get(f"/api/tickets/{created['id']}?expand=all")
    assert status == 422 and "expand" in error["error"]["fields"]
    status, error = api.post(f"/api/tickets/{created['id']}/notes?notify=1", {"body": "x"})
    assert status == 422 and "notify" in error["error"]["fields"]
    assert api.get(f"/api/tickets/{created['id']}")[0] == 200  # nothing written
    assert not [e for e in api.get(f"/api/tickets/{created['id']}")[1]["timeline"]
                if e.get("kind") == "note"]


def test_an_agent_lists_active_agents_without_arns_or_mail(api):
    gone = "arn:aws:iam::123456789012:user/gone"
    agents.ensure_agent(gone, role="agent", display_name="Gone")
    assert api.patch(f"/api/agents/{agents.agent_id(gone)}", {"active": False})[0] == 200
    status, page = api.as_principal(KARIM).get("/api/agents")
    assert status == 200
    by_name = {a["short_name"]: a for a in page["items"]}
    assert {"karim", "nusrat", "lead-laila"} <= set(by_name) and "gone" not in by_name
    nusrat = by_name["nusrat"]
    assert nusrat["id"] == agents.agent_id(NUSRAT) and nusrat["display_name"] == "Nusrat Jahan"
    assert nusrat["departments"] == ["billing", "general"] and nusrat["away"] is False
    assert not {"principal", "email"} & set(nusrat)
    # leads and admins read the full records, inactive ones included
    status, page = api.get("/api/agents")
    full = {a["short_name"]: a for a in page["items"]}
    assert full["karim"]["principal"] == KARIM and full["karim"]["email"] == "karim@example.com"
    assert full["gone"]["active"] is False


def test_assign_by_short_name_id_or_me(api):
    created = new_ticket(api)
    status, ticket = api.patch(f"/api/tickets/{created['id']}", {"assignee": "nusrat"})
    assert status == 200 and ticket["assignee"] == NUSRAT
    status, ticket = api.patch(f"/api/tickets/{created['id']}", {"assignee": agents.agent_id(KARIM)})
    assert status == 200 and ticket["assignee"] == KARIM
    status, ticket = api.as_principal(NUSRAT).patch(f"/api/tickets/{created['id']}", {"assignee": "me"})
    assert status == 200 and ticket["assignee"] == NUSRAT
    status, error = api.patch(f"/api/tickets/{created['id']}", {"assignee": "nobody-here"})
    assert status == 422 and "assignee" in error["error"]["fields"]


def test_a_callback_at_a_local_time_is_dhaka_time(api):
    created = new_ticket(api)
    tomorrow = (clock.now().astimezone(DHAKA) + timedelta(days=1)).date()
    status, result = api.post(f"/api/tickets/{created['id']}/callbacks",
                              {"at": f"{tomorrow.isoformat()} 15:00", "note": "call back"})
    assert status == 201, result
    expected = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 15, 0, tzinfo=DHAKA)
    assert clock.parse_iso(result["callback_at"]) == expected
    # an offset is still taken as given
    status, result = api.post(f"/api/tickets/{created['id']}/callbacks",
                              {"at": f"{tomorrow.isoformat()}T15:00:00+00:00"})
    assert status == 201 and result["callback_at"].startswith(f"{tomorrow.isoformat()}T15:00:00")
    status, error = api.post(f"/api/tickets/{created['id']}/callbacks", {"at": "tomorrow-ish"})
    assert status == 422 and "2026-12-07 15:00" in error["error"]["fields"]["at"]


def test_erasing_the_customer_removes_their_name_from_search(api):
    from chalicelib.db import keys
    from chalicelib.db.models import Key

    created = new_ticket(api, name="রহিম উদ্দিন", email="erase.me@example.com")
    assert ids(listed(api, f"q={quote('রহিম')}")) == {created["id"]}
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    status, result = api.post(f"/api/customers/{ticket['customer_id']}/erase")
    assert status == 200, result
    assert listed(api, f"q={quote('রহিম')}")["items"] == []
    assert list(Key.query(keys.name_pk("রহিম"))) == []
    assert Ticket.get(created["id"], consistent_read=True).name_words is None


def test_an_agent_told_a_name_is_ambiguous_reads_no_arn_or_email(api):
    # Agents read other agents as cards (no ARN, no email): the 422 for an ambiguous name
    # must not list the principals either.
    other = "arn:aws:iam::123456789012:user/sales/karim"
    agents.ensure_agent(other, role="agent", display_name="Karim Sales", departments={"general"})
    as_nusrat = api.as_principal(NUSRAT)
    status, error = as_nusrat.get("/api/tickets?assignee=karim")
    assert status == 422
    assert agents.agent_id(KARIM) in str(error) and agents.agent_id(other) in str(error)
    assert "arn:" not in str(error) and "@" not in str(error)
    created = new_ticket(api)
    status, error = as_nusrat.patch(f"/api/tickets/{created['id']}", {"assignee": "karim"})
    assert status == 422 and "arn:" not in str(error)
    status, page = as_nusrat.get("/api/agents")
    assert status == 200 and "arn:" not in str(page) and "@" not in str(page)
