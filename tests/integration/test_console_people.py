"""Agents without an IAM principal (services/team/identities.py): created by email alone, keyed
console:<short name>, invited to the console and signed in with Cognito; the IAM path (SigV4,
the local X-Setu-Principal) never reaches them; the audit log names them."""
from __future__ import annotations


import pytest

from chalicelib.services.team import agents
from setu_cli.main import main
from tests.integration.helpers import ADMIN, Api, bearer, console_front_door, new_ticket

PASSWORD = "Correct-Horse-9-Battery"
KARIM_ARN = "arn:aws:iam::123456789012:user/karim"


@pytest.fixture
def world(stack):
    api, idp = console_front_door(stack)
    return stack, api, idp


def _audit(api: Api) -> list[dict]:
    found, cursor = [], ""
    while True:
        status, page = api.get("/api/audit?limit=100" + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200, page
        found += page["items"]
        cursor = page["next"]
        if not cursor:
            return found


def test_an_agent_is_created_by_email_alone_with_a_unique_short_name(world):
    _, api, _ = world
    agents.ensure_agent(KARIM_ARN, role="agent", display_name="Karim (IAM)")

    status, nusrat = api.post("/api/agents", {"email": "Nusrat.Jahan@Shop.Example",
                                              "role": "lead", "departments": ["billing"],
                                              "display_name": "নুসরাত জাহান"})
    assert status == 201, nusrat
    assert nusrat["principal"] == "console:nusrat.jahan"
    assert nusrat["short_name"] == "nusrat.jahan" and nusrat["id"] == agents.agent_id(
        "console:nusrat.jahan")
    assert (nusrat["role"], nusrat["departments"], nusrat["email"], nusrat["console_user"]) == (
        "lead", ["billing"], "Nusrat.Jahan@shop.example", None)
    assert api.get(f"/api/agents/{nusrat['id']}") == (200, nusrat)

    # the local part is taken: by an IAM agent's short name, then by the first console agent
    status, karim = api.post("/api/agents", {"email": "karim@shop.example", "role": "agent"})
    assert status == 201 and karim["short_name"] == "karim2", karim
    status, other = api.post("/api/agents", {"email": "karim@elsewhere.example",
                                             "role": "agent"})
    assert status == 201 and other["short_name"] == "karim3", other
    # Bengali addresses keep their letters and vowel signs; "me" is never a short name
    status, bengali = api.post("/api/agents", {"email": "করিম.মিয়া@shop.example",
                                               "role": "agent"})
    assert status == 201 and bengali["short_name"] == "করিম.মিয়া", bengali
    status, me = api.post("/api/agents", {"email": "me@shop.example", "role": "agent"})
    assert status == 201 and me["short_name"] == "me2", me

    # and people name them by it, as any agent
    assert agents.find_reference("KARIM2") == "console:karim2"
    assert agents.find_reference("করিম.মিয়া") == bengali["principal"]
    assert agents.find_reference(karim["principal"]) == karim["principal"]
    ticket = new_ticket(api, department="billing")
    status, changed = api.patch(f"/api/tickets/{ticket['id']}", {"assignee": "nusrat.jahan"})
    assert status == 200 and changed["assignee"] == nusrat["principal"], changed

    # a directory page ending on a console agent goes on past it
    seen, cursor = [], ""
    while True:
        status, page = api.get("/api/agents?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200, page
        seen += [a["principal"] for a in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7 and "console:me2" in seen


def test_the_same_email_twice_is_409_and_a_principal_or_email_is_needed(world):
    _, api, _ = world
    status, first = api.post("/api/agents", {"email": "rina@shop.example", "role": "agent"})
    assert status == 201, first
    for email in ("rina@shop.example", "RINA@shop.example"):
        status, body = api.post("/api/agents", {"email": email, "role": "lead"})
        assert status == 409 and "email" in body["error"]["fields"], body
    # deactivated, the address is still theirs (PATCH reactivates)
    assert api.patch(f"/api/agents/{first['id']}", {"active": False})[0] == 200
    assert api.post("/api/agents", {"email": "rina@shop.example", "role": "agent"})[0] == 409
    # an IAM agent's address too
    agents.ensure_agent(KARIM_ARN, role="agent", email="karim@shop.example")
    assert api.post("/api/agents", {"email": "karim@shop.example", "role": "agent"})[0] == 409

    for body in ({"role": "agent"}, {"role": "agent", "email": None},
                 {"role": "agent", "email": ""}):
        status, error = api.post("/api/agents", body)
        assert status == 422 and "principal" in error["error"]["fields"], (body, error)
    # a console identity is no principal to register
    status, error = api.post("/api/agents", {"principal": "console:rina2", "role": "agent"})
    assert status == 422 and "principal" in error["error"]["fields"], error
    # a console-only agent keeps its address (the one way to invite it)
    status, error = api.patch(f"/api/agents/{first['id']}", {"email": None})
    assert status == 422 and "email" in error["error"]["fields"], error


def test_invited_it_signs_in_works_and_is_audited_by_name_but_iam_never_reaches_it(world):
    stack, api, idp = world
    status, bina = api.post("/api/agents", {"email": "bina@shop.example", "role": "agent",
                                            "display_name": "Bina", "departments": ["billing"]})
    assert status == 201, bina
    status, invited = api.post(f"/api/agents/{bina['id']}/invite")
    assert status == 200 and invited["invitation"] == "sent", invited
    assert invited["agent"]["console_user"] == "bina@shop.example"
    idp.admin_set_user_password(UserPoolId=stack.outputs["UserPoolId"],
                                Username="bina@shop.example", Password=PASSWORD, Permanent=True)
    auth = idp.initiate_auth(ClientId=stack.outputs["UserPoolClientId"],
                             AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": "bina@shop.example",
                                             "PASSWORD": PASSWORD})
    token = auth["AuthenticationResult"]["IdToken"]

    status, me = bearer(stack.client, token, "GET", "/console/api/me")
    assert status == 200, me
    assert (me["id"], me["principal"], me["role"]) == (bina["id"], "console:bina", "agent")
    ticket = new_ticket(api, department="billing", email="a@example.com")
    status, changed = bearer(stack.client, token, "PATCH", f"/console/api/tickets/{ticket['id']}",
                              {"assignee": "me"})
    assert status == 200 and changed["assignee"] == "console:bina", changed
    status, prefs = bearer(stack.client, token, "PUT", "/console/api/me/notifications",
                            {"digest_after": 2})
    assert status == 200, prefs

    # the audit log names the agent: as actor and as target
    log = _audit(api)
    mine = [e for e in log if e["action"] == "agent.updated" and e["actor"] == "console:bina"]
    assert mine and (mine[-1]["actor_name"], mine[-1]["actor_id"]) == ("Bina", bina["id"])
    created = [e for e in log if e["action"] == "agent.created"
               and e["target"] == "agent:console:bina"]
    assert created and created[0]["actor"] == ADMIN
    assert created[0]["target_label"] == "agent Bina"
    invites = [e for e in log if e["action"] == "agent.invited"
               and e["target"] == "agent:console:bina"]
    assert invites and invites[0]["after"]["console_user"] == "bina@shop.example"

    # the IAM path never resolves a console identity, active as it is
    for path in ("/api/me", "/api/tickets", f"/api/agents/{bina['id']}"):
        status, body = api.as_principal("console:bina").get(path)
        assert status == 403 and body["error"]["code"] == "forbidden", (path, body)
        assert "console" in body["error"]["message"]


def test_the_cli_adds_an_agent_by_email(stack, capsys):
    assert main(["agents", "add", "--email", "sumi@shop.example", "--role", "agent",
                 "--name", "Sumi", "--departments", "billing,sales", "--lang", "bn"]) == 0
    out = capsys.readouterr().out
    agent = agents.find(agents.agent_id("console:sumi"))
    assert (agent.role, agent.display_name, set(agent.departments), agent.lang) == (
        "agent", "Sumi", {"billing", "sales"}, "bn")
    assert "console:sumi" in out and f"setu agents invite {agents.agent_id('console:sumi')}" in out
    assert main(["agents", "add", "--email", "sumi@shop.example", "--role", "agent"]) == 2
    assert "already has this email" in capsys.readouterr().err
    assert main(["agents", "add", "--email", "x@shop.example"]) == 2  # no role
    # the other commands that take a principal take this identity too
    assert main(["notifications", "--principal", "console:sumi", "--digest-after", "4"]) == 0
    assert agents.find(agents.agent_id("console:sumi")).notifications["digest_after"] == 4
    from chalicelib.services.team import audit

    items, _ = audit.day(audit.today(), limit=200)
    assert [(e["action"], e["actor"].startswith("cli:")) for e in items
            if e["target"] == "agent:console:sumi"] == [("agent.created", True),
                                                        ("agent.updated", True)]
