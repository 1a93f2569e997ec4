"""The agent API against the emulated AWS: auth, listing and search, replies, notes, changes."""
import pytest

from chalicelib.services.team import agents
from tests.integration.helpers import Api, events, new_ticket, timeline

AGENT = "arn:aws:iam::123456789012:user/agent-rina"


@pytest.fixture
def api(stack):
    agents.ensure_agent(AGENT, role="agent", display_name="Rina", departments={"general"})
    return Api(stack.client)


def test_no_principal_is_401_and_unknown_is_403(api):
    status, error = api.as_principal(None).get("/api/tickets")
    assert status == 401 and error["error"]["code"] == "unauthenticated"
    status, error = api.as_principal("arn:aws:iam::123456789012:user/stranger").get("/api/tickets")
    assert status == 403 and error["error"]["code"] == "forbidden"


def test_assumed_role_session_maps_to_its_role(api):
    agents.ensure_agent("arn:aws:iam::123456789012:role/SupportTeam", role="agent")
    session = "arn:aws:sts::123456789012:assumed-role/SupportTeam/rina@example.com"
    assert api.as_principal(session).get("/api/tickets")[0] == 200


def test_admin_only_route_refuses_an_agent(api):
    status, error = api.as_principal(AGENT).put("/api/sla-policies/default", {"first_response": "PT1H"})
    assert status == 403
    assert api.put("/api/sla-policies/default", {"first_response": "PT1H"})[0] == 200


def test_policy_validation_and_read_back(api):
    status, error = api.put("/api/sla-policies/default", {"first_response": "soon", "calendar": "mars"})
    assert status == 422 and set(error["error"]["fields"]) == {"first_response", "calendar"}
    assert api.put("/api/sla-policies/vip", {"first_response": "PT15S", "resolution": "P1D"})[0] == 200
    status, policy = api.get("/api/sla-policies/vip")
    assert status == 200 and policy["first_response"] == "PT15S" and policy["resolution"] == "P1D"
    assert api.get("/api/sla-policies/nothing")[0] == 404
    assert api.put("/api/sla-policies/bad name!", {"first_response": "PT1H"})[0] == 400


def test_list_filters_and_cursor_pages(api):
    made = [new_ticket(api, email=f"p{n}@example.com", department="billing" if n % 2 else "general")
            for n in range(5)]
    seen, cursor = [], None
    while True:
        status, page = api.get("/api/tickets?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200 and len(page["items"]) <= 2
        seen += [t["id"] for t in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert sorted(seen) == sorted(t["id"] for t in made)
    status, page = api.get("/api/tickets?department=billing&status=new")
    assert status == 200 and {t["id"] for t in page["items"]} == {made[1]["id"], made[3]["id"]}


@pytest.mark.parametrize("query,field", [("status=lost", "status"), ("cursor=!!!", "cursor"),
                                         ("limit=0", "limit"), ("limit=x", "limit"),
                                         ("department=mars", "department")])
def test_bad_list_parameters_are_400(api, query, field):
    status, error = api.get(f"/api/tickets?{query}")
    assert status == 400 and field in error["error"]["fields"]


def test_search_by_ref_email_phone_and_subject_words(api):
    target = new_ticket(api, email="search@example.com", phone="+8801911000000", subject="ভাঙা মোবাইল স্ক্রিন")
    new_ticket(api, email="other@example.com", subject="Late delivery")
    bn_ref = target["ref"].translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯"))
    for q in (target["ref"], f"%23{bn_ref}", "search@example.com", "01911-000000", "মোবাইল", "স্ক্রিন ভাঙা"):
        status, page = api.get(f"/api/tickets?q={q}")
        assert status == 200 and [t["id"] for t in page["items"]] == [target["id"]], q
    assert api.get("/api/tickets?q=nothing-matches-this")[1]["items"] == []


def test_get_by_ref_and_404(api):
    created = new_ticket(api)
    status, ticket = api.get(f"/api/tickets/{created['ref']}")
    assert status == 200 and ticket["id"] == created["id"]
    assert set(ticket) >= {"id", "ref", "subject", "status", "priority", "version", "customer", "sla", "timeline"}
    assert api.get("/api/tickets/t_doesnotexist")[0] == 404
    assert api.get("/api/tickets/99999999")[0] == 404
    assert api.get("/api/tickets/" + "9" * 3000)[0] == 404  # never an oversized DynamoDB key
    assert api.get("/api/tickets?q=" + "9" * 3000)[0] == 200


def test_reply_by_email_is_threaded_sent_and_stops_first_response(api, stack):
    created = new_ticket(api)
    stack.pump.drain()
    status, result = api.post(f"/api/tickets/{created['id']}/replies", {"body": "We are on it."})
    assert status == 201 and result["channel"] == "email" and result["status"] == "queued"
    stack.pump.drain()
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    assert ticket["status"] == "open" and ticket["first_response_at"]
    reply = [e for e in ticket["timeline"] if e.get("kind") == "reply"][0]
    ack = [e for e in ticket["timeline"] if e.get("kind") == "ack"][0]
    assert reply["status"] == "sent" and reply["direction"] == "out" and reply["body"] == "We are on it."
    assert reply["in_reply_to"] == ack["message_id"]
    assert {"sla.met", "ticket.status_changed", "message.sent"} <= set(events(api, created["id"]))


def test_reply_validation(api):
    created = new_ticket(api, email="", phone="+8801711000001")
    assert api.post(f"/api/tickets/{created['id']}/replies", {"body": ""})[0] == 422
    assert api.post(f"/api/tickets/{created['id']}/replies", {"body": "x", "channel": "fax"})[0] == 422
    status, error = api.post(f"/api/tickets/{created['id']}/replies", {"body": "x", "channel": "email"})
    assert status == 422 and "channel" in error["error"]["fields"]
    status, error = api.post(f"/api/tickets/{created['id']}/replies", {"body": "x", "cc": "y"})
    assert status == 422 and error["error"]["fields"] == {"cc": "unknown field"}
    assert api.post(f"/api/tickets/{created['id']}/replies", raw="{oops")[0] == 400
    assert api.post(f"/api/tickets/{created['id']}/replies", raw="body=x",
                    content_type="application/x-www-form-urlencoded")[0] == 415
    assert api.post("/api/tickets/t_missing/replies", {"body": "x"})[0] == 404
    status, result = api.post(f"/api/tickets/{created['id']}/replies", {"body": "আমরা দেখছি"})
    assert status == 201 and result["channel"] == "sms"


def test_internal_note_is_not_sent(api, stack):
    created = new_ticket(api)
    status, _ = api.post(f"/api/tickets/{created['id']}/notes", {"body": "Customer called twice"})
    assert status == 201
    stack.pump.drain()
    note = [e for e in timeline(api, created["id"]) if e.get("kind") == "note"][0]
    assert note["direction"] == "internal" and note["status"] == "recorded"


def test_patch_status_priority_assignee_and_version_conflict(api):
    created = new_ticket(api)
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    status, updated = api.patch(f"/api/tickets/{created['id']}",
                                {"status": "pending", "priority": "high", "assignee": AGENT,
                                 "version": ticket["version"]})
    assert status == 200 and (updated["status"], updated["priority"], updated["assignee"]) == ("pending", "high", AGENT)
    status, error = api.patch(f"/api/tickets/{created['id']}", {"status": "open", "version": ticket["version"]})
    assert status == 409
    status, resolved = api.patch(f"/api/tickets/{created['id']}", {"status": "resolved"})
    assert status == 200 and resolved["resolved_at"]
    assert {"ticket.status_changed", "ticket.priority_changed", "ticket.assigned"} <= set(events(api, created["id"]))
    assert api.get(f"/api/tickets?assignee={AGENT}")[1]["items"][0]["id"] == created["id"]


@pytest.mark.parametrize("change,field", [({"status": "new"}, "status"), ({"priority": "meh"}, "priority"),
                                          ({"assignee": "arn:aws:iam::1:user/ghost"}, "assignee"),
                                          ({"colour": "red"}, "colour"), ({"version": "7"}, "version")])
def test_patch_bad_fields_are_422(api, change, field):
    created = new_ticket(api)
    status, error = api.patch(f"/api/tickets/{created['id']}", change)
    assert status == 422 and field in error["error"]["fields"]


def test_patch_empty_or_not_json(api):
    created = new_ticket(api)
    assert api.patch(f"/api/tickets/{created['id']}", {})[0] == 422  # nothing to change
    assert api.patch(f"/api/tickets/{created['id']}", raw="[1]")[0] == 400


def test_errors_from_chalice_itself_have_our_shape(api):
    status, error, headers = api.call("DELETE", "/api/tickets/x", None)
    assert status == 405 and error["error"]["code"] == "method_not_allowed"


def test_openapi_lists_every_route(api, stack):
    import app

    status, document = api.get("/api/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.")
    from chalicelib.api import console

    # the console's mirrors of /api/... (docs/console.md) are the same operations
    routes = {(path, method.lower()) for path, methods in app.app.routes.items() for method in methods
              if not console.is_console_path(path)}
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routes == documented


def _race_on_load(monkeypatch, times):
    """Make ticket_store.load hand out a copy that someone else saves over just after it was read."""
    from chalicelib.db.models import Ticket
    from chalicelib.services.tickets import store as ticket_store

    real, raced = ticket_store.load, []

    def load(ticket_id, agent=None):
        stale = real(ticket_id)
        if len(raced) < times:
            other = Ticket.get(stale.id, consistent_read=True)
            other.priority = "high" if other.priority != "high" else "low"
            other.save()  # the version attribute bumps: `stale` is now behind
            raced.append(stale.id)
        return stale

    monkeypatch.setattr(ticket_store, "load", load)
    return raced


def test_reply_that_loses_a_race_is_reapplied_not_409(api, monkeypatch):
    created = new_ticket(api)
    raced = _race_on_load(monkeypatch, times=1)
    status, sent = api.post(f"/api/tickets/{created['id']}/replies", {"body": "দেখছি"})
    assert status == 201, sent
    assert raced == [created["id"]]
    replies = [i for i in timeline(api, created["id"]) if i.get("kind") == "reply"]
    assert [r["body"] for r in replies] == ["দেখছি"]


def test_a_race_that_never_ends_is_409_and_writes_nothing(api, monkeypatch):
    created = new_ticket(api)
    _race_on_load(monkeypatch, times=99)
    status, error = api.post(f"/api/tickets/{created['id']}/notes", {"body": "note"})
    assert status == 409 and error["error"]["code"] == "conflict"
    assert not [i for i in timeline(api, created["id"]) if i.get("kind") == "note"]
