"""Agents managed through the API (roles, self-service away, last-admin protection) and the
audit log, against the emulated AWS."""
import pytest

from chalicelib import clock
from chalicelib.services.team import agents
from tests.integration.helpers import ADMIN, Api

AGENT = "arn:aws:iam::123456789012:user/agent-rina"
LEAD = "arn:aws:iam::123456789012:user/lead-karim"
STRANGER = "arn:aws:iam::123456789012:user/stranger"
NEW = "arn:aws:iam::123456789012:user/new-hire"
ROLE = "arn:aws:iam::123456789012:role/SupportTeam"


@pytest.fixture
def api(stack):
    agents.ensure_agent(AGENT, role="agent", display_name="Rina", departments={"general"})
    agents.ensure_agent(LEAD, role="lead", display_name="Karim", departments={"billing"})
    return Api(stack.client)


def _id(principal: str) -> str:
    return agents.agent_id(principal)


def _audit(api, target: str, action: str | None = None) -> list[dict]:
    """Today's audit entries about `target`, oldest first (all pages)."""
    found, cursor = [], ""
    while True:
        status, page = api.get("/api/audit?limit=50" + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200, page
        found += [e for e in page["items"] if e["target"] == target
                  and (action is None or e["action"] == action)]
        cursor = page["next"]
        if not cursor:
            return found


# ---- auth ----------------------------------------------------------------------------------

ROUTES = [("GET", "/api/agents"), ("POST", "/api/agents"), ("GET", f"/api/agents/{_id(AGENT)}"),
          ("PATCH", f"/api/agents/{_id(AGENT)}"), ("GET", "/api/me"), ("GET", "/api/audit")]


@pytest.mark.parametrize("method,path", ROUTES)
def test_every_route_needs_a_principal_and_an_agent(api, method, path):
    body = {"away": True} if method == "PATCH" else {"principal": NEW, "role": "agent"}
    status, error, _ = api.as_principal(None).call(method, path, body if method != "GET" else None)
    assert status == 401 and error["error"]["code"] == "unauthenticated"
    status, error, _ = api.as_principal(STRANGER).call(method, path, body if method != "GET" else None)
    assert status == 403 and error["error"]["code"] == "forbidden"


@pytest.mark.parametrize("method,path,who", [
    ("POST", "/api/agents", AGENT), ("POST", "/api/agents", LEAD),
    ("GET", "/api/audit", AGENT)])
def test_role_needed(api, method, path, who):
    body = {"principal": NEW, "role": "agent"} if method == "POST" else None
    status, error, _ = api.as_principal(who).call(method, path, body)
    assert status == 403 and "role" in error["error"]["message"]


# ---- list and read -------------------------------------------------------------------------

def test_list_every_agent_with_filters_and_pages(api):
    assert api.patch(f"/api/agents/{_id(AGENT)}", {"active": False})[0] == 200
    status, page = api.as_principal(LEAD).get("/api/agents")
    assert status == 200 and page["next"] is None
    by_principal = {a["principal"]: a for a in page["items"]}
    assert set(by_principal) == {ADMIN, AGENT, LEAD}
    rina = by_principal[AGENT]
    assert (rina["id"], rina["role"], rina["departments"], rina["active"], rina["away"]) == (
        _id(AGENT), "agent", ["general"], False, False)
    assert set(rina) >= {"email", "lang", "display_name", "version", "created_at"}

    status, page = api.get("/api/agents?department=billing")
    assert status == 200 and [a["principal"] for a in page["items"]] == [LEAD]

    seen, cursor = [], ""
    while True:
        status, page = api.get("/api/agents?limit=1" + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200 and len(page["items"]) <= 1
        seen += [a["principal"] for a in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert sorted(seen) == sorted([ADMIN, AGENT, LEAD])


@pytest.mark.parametrize("query,field", [("department=mars", "department"), ("limit=0", "limit"),
                                         ("limit=501", "limit"), ("limit=x", "limit"),
                                         ("cursor=!!!", "cursor"), ("cursor=bm9wZQ", "cursor")])
def test_bad_list_parameters_are_400(api, query, field):
    status, error = api.get(f"/api/agents?{query}")
    assert status == 400 and field in error["error"]["fields"]


def test_get_one_agent(api):
    status, agent = api.get(f"/api/agents/{_id(LEAD)}")
    assert status == 200 and agent["principal"] == LEAD and agent["role"] == "lead"
    assert api.as_principal(LEAD).get(f"/api/agents/{_id(AGENT)}")[0] == 200
    # an agent reads their own record, not someone else's
    assert api.as_principal(AGENT).get(f"/api/agents/{_id(AGENT)}")[1]["principal"] == AGENT
    assert api.as_principal(AGENT).get(f"/api/agents/{_id(LEAD)}")[0] == 403
    assert api.get(f"/api/agents/{_id(STRANGER)}")[0] == 404
    status, error = api.get("/api/agents/rina")
    assert status == 400 and "agent_id" in error["error"]["fields"]


def test_me(api):
    status, me = api.as_principal(AGENT).get("/api/me")
    assert status == 200
    assert (me["id"], me["role"], me["departments"], me["away"]) == (_id(AGENT), "agent", ["general"], False)
    status, me = api.get("/api/me")
    assert status == 200 and me["role"] == "admin" and me["principal"] == ADMIN


def test_me_through_an_assumed_role_session_is_the_role(api):
    agents.ensure_agent(ROLE, role="lead")
    session = "arn:aws:sts::123456789012:assumed-role/SupportTeam/rina"
    status, me = api.as_principal(session).get("/api/me")
    assert status == 200 and me["principal"] == ROLE and me["role"] == "lead"


# ---- create --------------------------------------------------------------------------------

def test_admin_creates_an_agent_and_it_is_audited(api):
    status, created = api.post("/api/agents", {
        "principal": NEW, "role": "lead", "display_name": " Nadia ", "email": "Nadia@Example.com",
        "departments": ["sales", "billing"], "lang": "bn"})
    assert status == 201, created
    assert created["id"] == _id(NEW) and created["role"] == "lead"
    assert (created["display_name"], created["email"], created["departments"], created["lang"]) == (
        "Nadia", "Nadia@example.com", ["billing", "sales"], "bn")
    assert created["active"] is True and created["away"] is False and created["version"] == 1
    assert api.get(f"/api/agents/{created['id']}")[1] == created
    # the new agent can work at once, with their role
    assert api.as_principal(NEW).get("/api/agents")[0] == 200

    [entry] = _audit(api, f"agent:{NEW}")
    assert (entry["actor"], entry["action"], entry["before"]) == (ADMIN, "agent.created", None)
    assert entry["after"]["role"] == "lead" and entry["after"]["departments"] == ["billing", "sales"]
    assert entry["at"].startswith(clock.now().date().isoformat())


def test_create_the_smallest_body_and_an_assumed_role_session(api):
    session = "arn:aws:sts::123456789012:assumed-role/SupportTeam/rina@example.com"
    status, created = api.post("/api/agents", {"principal": session, "role": "agent"})
    assert status == 201 and created["departments"] == [] and created["email"] is None
    assert api.as_principal(session).get("/api/me")[1]["id"] == _id(session)


def test_create_an_existing_principal_is_409_and_not_audited(api):
    status, error = api.post("/api/agents", {"principal": AGENT, "role": "admin"})
    assert status == 409 and "principal" in error["error"]["fields"]
    assert agents.resolve(AGENT).role == "agent"
    assert _audit(api, f"agent:{AGENT}") == []


@pytest.mark.parametrize("body,field", [
    ({"principal": "rina", "role": "agent"}, "principal"),
    ({"principal": "arn:aws:iam::123456789012:root", "role": "agent"}, "principal"),
    ({"principal": "arn:aws:iam::123456789012:role/service-role/Support", "role": "agent"}, "principal"),
    ({"principal": 7, "role": "agent"}, "principal"),
    ({"role": "agent"}, "principal"),
    ({"principal": NEW}, "role"),
    ({"principal": NEW, "role": "boss"}, "role"),
    ({"principal": NEW, "role": "agent", "departments": ["mars"]}, "departments[0]"),
    ({"principal": NEW, "role": "agent", "departments": "sales"}, "departments"),
    ({"principal": NEW, "role": "agent", "email": "not-an-address"}, "email"),
    ({"principal": NEW, "role": "agent", "lang": "fr"}, "lang"),
    ({"principal": NEW, "role": "agent", "display_name": "x" * 201}, "display_name"),
])
def test_create_validation_is_422(api, body, field):
    status, error = api.post("/api/agents", body)
    assert status == 422 and field in error["error"]["fields"], error
    assert api.get(f"/api/agents/{_id(NEW)}")[0] == 404


def test_create_malformed_is_400_or_415_and_unknown_fields_422(api):
    assert api.post("/api/agents", raw="{oops")[0] == 400
    assert api.post("/api/agents", raw="[1]")[0] == 400
    status, error = api.post("/api/agents", {"principal": NEW, "role": "agent", "colour": "red"})
    assert status == 422 and "colour" in error["error"]["fields"]
    assert api.post("/api/agents", raw="principal=x", content_type="application/x-www-form-urlencoded")[0] == 415


# ---- change --------------------------------------------------------------------------------

def test_admin_changes_an_agent_with_audit_and_version(api):
    _, before = api.get(f"/api/agents/{_id(AGENT)}")
    status, changed = api.patch(f"/api/agents/{_id(AGENT)}", {
        "role": "lead", "departments": ["billing"], "email": "rina@example.com",
        "version": before["version"]})
    assert status == 200, changed
    assert (changed["role"], changed["departments"], changed["email"]) == ("lead", ["billing"], "rina@example.com")
    assert changed["version"] == before["version"] + 1
    assert agents.resolve(AGENT).role == "lead"  # the lookup cache was cleared
    [entry] = _audit(api, f"agent:{AGENT}", "agent.updated")
    assert entry["actor"] == ADMIN
    assert entry["before"] == {"role": "agent", "departments": ["general"], "email": None}
    assert entry["after"] == {"role": "lead", "departments": ["billing"], "email": "rina@example.com"}

    # the version read first is stale now
    status, error = api.patch(f"/api/agents/{_id(AGENT)}", {"role": "agent", "version": before["version"]})
    assert status == 409 and "version" in error["error"]["fields"]
    assert agents.resolve(AGENT).role == "lead"


def test_a_change_that_changes_nothing_writes_nothing(api):
    _, before = api.get(f"/api/agents/{_id(AGENT)}")
    status, same = api.patch(f"/api/agents/{_id(AGENT)}", {"role": "agent", "departments": ["general"]})
    assert status == 200 and same["version"] == before["version"]
    assert _audit(api, f"agent:{AGENT}") == []


def test_deactivated_agent_loses_access_and_can_be_reactivated(api):
    assert api.as_principal(AGENT).get("/api/tickets")[0] == 200
    status, changed = api.patch(f"/api/agents/{_id(AGENT)}", {"active": False})
    assert status == 200 and changed["active"] is False
    status, error = api.as_principal(AGENT).get("/api/tickets")
    assert status == 403 and error["error"]["code"] == "forbidden"
    assert api.as_principal(AGENT).get("/api/me")[0] == 403
    # still listed (tickets reference the ARN), and back with active=true
    assert _id(AGENT) in {a["id"] for a in api.get("/api/agents")[1]["items"]}
    assert api.patch(f"/api/agents/{_id(AGENT)}", {"active": True})[0] == 200
    assert api.as_principal(AGENT).get("/api/me")[0] == 200
    entries = _audit(api, f"agent:{AGENT}", "agent.updated")
    assert [(e["before"], e["after"]) for e in entries] == [
        ({"active": True}, {"active": False}), ({"active": False}, {"active": True})]


def test_a_deactivated_session_is_not_let_in_through_its_registered_role(api):
    session = "arn:aws:sts::123456789012:assumed-role/SupportTeam/rina"
    agents.ensure_agent(ROLE, role="agent")
    agents.ensure_agent(session, role="lead")
    assert api.as_principal(session).get("/api/me")[1]["role"] == "lead"
    assert api.patch(f"/api/agents/{_id(session)}", {"active": False})[0] == 200
    status, error = api.as_principal(session).get("/api/tickets")
    assert status == 403 and "deactivated" in error["error"]["message"]
    # another session of the same role still gets the role's record
    other = "arn:aws:sts::123456789012:assumed-role/SupportTeam/karim"
    assert api.as_principal(other).get("/api/me")[1]["principal"] == ROLE


def test_self_service_away_and_lang(api):
    mine = api.as_principal(AGENT)
    status, changed = mine.patch(f"/api/agents/{_id(AGENT)}", {"away": True, "lang": "en"})
    assert status == 200 and changed["away"] is True and changed["lang"] == "en"
    assert mine.get("/api/me")[1]["away"] is True
    [entry] = _audit(api, f"agent:{AGENT}")
    assert entry["actor"] == AGENT and entry["after"] == {"away": True, "lang": "en"}
    # but nothing else of their own, and nothing of anyone else's
    status, error = mine.patch(f"/api/agents/{_id(AGENT)}", {"role": "admin"})
    assert status == 403 and "role" in error["error"]["fields"]
    assert mine.patch(f"/api/agents/{_id(AGENT)}", {"away": False, "departments": ["sales"]})[0] == 403
    assert mine.patch(f"/api/agents/{_id(LEAD)}", {"away": True})[0] == 403
    assert api.as_principal(LEAD).patch(f"/api/agents/{_id(AGENT)}", {"away": False})[0] == 403
    assert api.as_principal(LEAD).patch(f"/api/agents/{_id(LEAD)}", {"away": True})[0] == 200
    assert agents.resolve(AGENT).role == "agent"


@pytest.mark.parametrize("body,status,field", [
    ({}, 422, "body"), ({"version": 1}, 400, "body"), ({"colour": "red"}, 422, "colour"),
    ({"role": "boss"}, 422, "role"), ({"active": "no"}, 422, "active"), ({"away": 1}, 422, "away"),
    ({"departments": ["mars"]}, 422, "departments[0]"), ({"email": "x@"}, 422, "email"),
    ({"lang": "de"}, 422, "lang"), ({"away": True, "version": "1"}, 422, "version"),
    ({"away": True, "version": True}, 422, "version")])
def test_change_validation(api, body, status, field):
    answer, error = api.patch(f"/api/agents/{_id(AGENT)}", body)
    assert answer == status and field in error["error"]["fields"], error


def test_change_errors_404_400_415(api):
    assert api.patch(f"/api/agents/{_id(STRANGER)}", {"away": True})[0] == 404
    assert api.patch("/api/agents/not-an-id", {"away": True})[0] == 400
    assert api.patch(f"/api/agents/{_id(AGENT)}", raw="[1]")[0] == 400
    assert api.patch(f"/api/agents/{_id(AGENT)}", raw="away=1",
                     content_type="application/x-www-form-urlencoded")[0] == 415


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(api):
    for change in ({"role": "lead"}, {"active": False}):
        status, error = api.patch(f"/api/agents/{_id(ADMIN)}", change)
        assert status == 409 and "last active admin" in error["error"]["message"]
    assert agents.resolve(ADMIN).role == "admin"
    assert _audit(api, f"agent:{ADMIN}") == []

    # with a second admin, the first may step down (even themselves) ...
    assert api.patch(f"/api/agents/{_id(LEAD)}", {"role": "admin"})[0] == 200
    status, changed = api.patch(f"/api/agents/{_id(ADMIN)}", {"role": "lead"})
    assert status == 200 and changed["role"] == "lead"
    # ... and now the other one is the last
    other = api.as_principal(LEAD)
    assert other.patch(f"/api/agents/{_id(LEAD)}", {"active": False})[0] == 409
    # an inactive admin does not count
    assert other.patch(f"/api/agents/{_id(ADMIN)}", {"role": "admin", "active": False})[0] == 200
    assert other.patch(f"/api/agents/{_id(LEAD)}", {"role": "agent"})[0] == 409


def test_concurrent_demotions_leave_an_admin(api, monkeypatch):
    """Two admins demoting each other at once: the check on the other admin is in the same
    transaction, so the second one to commit is refused."""
    assert api.patch(f"/api/agents/{_id(LEAD)}", {"role": "admin"})[0] == 200
    real, raced_once = agents._another_active_admin, []

    def raced(principal):
        other = real(principal)
        if other == ADMIN and not raced_once:  # LEAD demotes ADMIN between our check and write
            raced_once.append(principal)
            agents.update(agents.resolve(LEAD), _id(ADMIN), {"role": "lead"})
        return other

    monkeypatch.setattr(agents, "_another_active_admin", raced)
    status, error = api.patch(f"/api/agents/{_id(LEAD)}", {"role": "agent"})
    assert status == 409, error
    assert raced_once == [LEAD]
    monkeypatch.undo()
    roles = {a["principal"]: (a["role"], a["active"]) for a in api.as_principal(LEAD).get("/api/agents")[1]["items"]}
    assert roles[LEAD] == ("admin", True) and roles[ADMIN] == ("lead", True)


# ---- audit ---------------------------------------------------------------------------------

def test_audit_pages_and_dates(api):
    for n in range(3):
        assert api.patch(f"/api/agents/{_id(AGENT)}", {"away": n % 2 == 0})[0] == 200
    today = clock.now().astimezone(clock.business_zone()).date().isoformat()  # Dhaka's day
    status, page = api.get(f"/api/audit?date={today}&limit=2")
    assert status == 200 and page["date"] == today and len(page["items"]) == 2 and page["next"]
    status, rest = api.get(f"/api/audit?date={today}&limit=2&cursor={page['next']}")
    assert status == 200
    ids = [e["id"] for e in page["items"] + rest["items"]]
    assert len(ids) == len(set(ids)) >= 3 and ids == sorted(ids)
    entry = page["items"][0]
    assert set(entry) >= {"id", "at", "actor", "action", "target", "before", "after",
                          "target_label", "actor_name", "departments"}
    assert (entry["target_label"], entry["actor_name"]) == ("agent Rina", "Local admin")
    assert api.get("/api/audit?date=2001-01-01") == (200, {
        "date": "2001-01-01", "timezone": "Asia/Dhaka", "items": [], "next": None})
    assert api.get("/api/audit")[1]["date"] == today


@pytest.mark.parametrize("query,field", [
    ("date=yesterday", "date"), ("date=2026-02-30", "date"), ("date=20260101", "date"),
    ("cursor=abc", "cursor"), ("limit=0", "limit"), ("limit=201", "limit"), ("limit=x", "limit"),
    ("cursor=MjAyNi0wMS0wMVQxMDowMDowMC4wMDBaIzAwZmYwMGZm", "cursor"),  # another day's
    ("date=2026-01-01&cursor=MjAyNi0wMS0wMVQxMDowMDowMC4wMDBaIzAwZmYwMGY", "cursor")])
def test_bad_audit_query_is_400(api, query, field):
    status, error = api.get(f"/api/audit?{query}")
    assert status == 400 and field in error["error"]["fields"]


def test_an_agent_written_by_hand_is_found_by_id(api):
    """docs/packaging.md's put-item of the first admin writes no id key: found all the same,
    and the first change writes the key."""
    from chalicelib.db.models import Agent, Key

    hand = "arn:aws:iam::123456789012:role/SetuAdmins"
    Agent(kind="agent", name=hand, role="admin", display_name="First admin", active=True).save()
    assert api.get(f"/api/agents/{_id(hand)}")[1]["principal"] == hand
    assert api.patch(f"/api/agents/{_id(hand)}", {"away": True})[0] == 200
    assert Key.get(f"agent-id#{_id(hand)}", "_").target == hand


def test_a_lead_reads_the_audit_of_their_departments_only_with_ticket_refs(api):
    from tests.integration.helpers import new_ticket

    mine = new_ticket(api, department="billing", subject="Refund please")
    theirs = new_ticket(api, department="sales", subject="Price list")
    for ticket in (mine, theirs):
        assert api.post(f"/api/tickets/{ticket['id']}/notes", {"body": "checked"})[0] == 201
    assert api.patch(f"/api/agents/{_id(AGENT)}", {"away": True})[0] == 200  # admin-level
    lead = api.as_principal(LEAD)
    found, cursor = [], ""
    while True:
        status, page = lead.get("/api/audit?limit=200" + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200, page
        found += page["items"]
        cursor = page["next"]
        if not cursor:
            break
    assert found and all("billing" in e["departments"] for e in found)
    notes = [e for e in found if e["target"] == f"ticket:{mine['id']}"
             and e["action"] == "ticket.note_added"]
    assert len(notes) == 1
    assert notes[0]["target_label"] == f"ticket #{mine['ref']}"  # the ref, and the id beside it
    assert notes[0]["actor_name"] == "Local admin" and notes[0]["actor_id"] == _id(ADMIN)
    assert not [e for e in found if e["target"] == f"ticket:{theirs['id']}"]
    assert not [e for e in found if e["target"].startswith("agent:")]
    # an entry written without the ref (a conversation's start) reads it from the ticket
    status, started = api.post("/api/tickets", {"email": "x@example.com", "body": "Hello",
                                                "department": "billing"})
    assert status == 201, started
    (entry,) = _audit(api, f"ticket:{started['ticket']['id']}", "ticket.started")
    assert entry["target_label"] == f"ticket #{started['ticket']['ref']}"
    assert entry["departments"] == ["billing"]
    # the admin sees everything, the sales ticket and the agent change included
    everything = _audit(api, f"ticket:{theirs['id']}", "ticket.note_added")
    assert len(everything) == 1 and everything[0]["departments"] == ["sales"]
    assert _audit(api, f"agent:{AGENT}", "agent.updated")


def test_a_ticket_moved_between_departments_is_seen_by_both_leads(api):
    from tests.integration.helpers import new_ticket

    ticket = new_ticket(api, department="sales", subject="Wrong desk")
    status, moved = api.patch(f"/api/tickets/{ticket['id']}", {"department": "billing"})
    assert status == 200, moved
    (entry,) = _audit(api, f"ticket:{ticket['id']}", "ticket.updated")
    assert entry["departments"] == ["billing", "sales"]
    status, page = api.as_principal(LEAD).get("/api/audit?limit=200")
    assert any(e["id"] == entry["id"] for e in page["items"])
