"""Customers through the agent API against the emulated AWS: find, read with consent state and
tickets, edit, merge two records of one person and undo it, a merge stopped half-way and
completed by its retry, and mail after a merge reaching the survivor."""
from __future__ import annotations

import pytest

from chalicelib import clock
from chalicelib.db import keys
from chalicelib.db.models import Customer, Key, Ticket
from chalicelib.services.team import agents
from chalicelib.services.team import audit
from chalicelib.services.customers import admin
from chalicelib.services.messaging import suppression
from chalicelib.db.values import as_dict
from tests.integration.helpers import Api, new_ticket

AGENT = "arn:aws:iam::123456789012:user/agent-rina"
STRANGER = "arn:aws:iam::123456789012:user/stranger"


@pytest.fixture
def api(stack):
    # merge and unmerge need a lead; an agent's department scope: tests/integration/test_scope.py
    agents.ensure_agent(AGENT, role="lead", display_name="Rina")
    return Api(stack.client).as_principal(AGENT)


def _customer_of(api, ticket: dict) -> str:
    status, found = api.get(f"/api/tickets/{ticket['id']}")
    assert status == 200, found
    return found["customer_id"]


def _email_person(api, n=1, email="rahim@example.com"):
    made = [new_ticket(api, email=email, phone="", subject=f"Order {i}") for i in range(n)]
    return _customer_of(api, made[0]), made


def _phone_person(api, n=1, phone="01711000001"):
    made = [new_ticket(api, email="", phone=phone, subject=f"Call {i}") for i in range(n)]
    return _customer_of(api, made[0]), made


def _audit_actions(target: str) -> list[str]:
    entries, _ = audit.day(audit.today(), limit=200)
    return [e["action"] for e in entries if e["target"] == target]


def _snapshot(customer_ids: list[str], ticket_ids: list[str]) -> dict:
    """Everything a merge touches, as stored (the revision counter aside: it only grows)."""
    out = {}
    for cid in customer_ids:
        c = Customer.get(cid, consistent_read=True)
        identities = ([keys.email_pk(e.casefold()) for e in c.emails or ()]
                      + [keys.phone_pk(p) for p in c.phones or ()])
        out[cid] = {
            "name": c.name, "lang": c.lang, "emails": sorted(c.emails or ()),
            "phones": sorted(c.phones or ()), "opted_out": as_dict(c.opted_out),
            "ticket_count": c.ticket_count, "merged_into": c.merged_into,
            "merge": as_dict(c.merge), "merged_from": as_dict(c.merged_from),
            "created_at": c.created_at, "last_contact_at": c.last_contact_at,
            "keys": {pk: keys.target(pk) for pk in identities},
            "markers": [k.sk for k in Key.query(admin.marker_pk(cid), consistent_read=True)],
        }
    out["tickets"] = {t.id: t.customer_id for t in Ticket.batch_get(ticket_ids, consistent_read=True)}
    return out


# ---- find ------------------------------------------------------------------------------------

def test_find_by_email_phone_ref_and_id(api):
    email_id, [by_mail] = _email_person(api, email="Find.Me@Example.com")
    phone_id, _ = _phone_person(api, phone="01811000002")
    bn_ref = by_mail["ref"].translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯"))
    for q, expected in (("find.me@example.com", email_id), ("FIND.ME@example.com", email_id),
                        ("%2B8801811000002", phone_id), ("01811-000002", phone_id),
                        (by_mail["ref"], email_id), (f"%23{bn_ref}", email_id),
                        (phone_id, phone_id)):
        status, found = api.get(f"/api/customers?q={q}")
        assert status == 200 and [c["id"] for c in found["items"]] == [expected], (q, found)
    status, found = api.get("/api/customers?q=find.me@example.com")
    assert found["items"][0]["emails"] == ["Find.Me@example.com"] and found["items"][0]["version"] == 0
    for q in ("nobody@example.com", "01911999999", "999999", "c_nothing"):
        status, found = api.get(f"/api/customers?q={q}")
        assert status == 200 and found["items"] == [], q


@pytest.mark.parametrize("q,status", [("", 400), ("%20", 400), ("x" * 321, 400),
                                      ("not@valid@", 422), ("hello", 422), ("12345678901234", 422),
                                      ("c_bad!id", 422)])
def test_find_bad_queries(api, q, status):
    got, error = api.get(f"/api/customers?q={q}")
    assert got == status and "q" in error["error"]["fields"]
    assert api.get("/api/customers")[0] == 400


def test_customer_routes_need_an_agent(api):
    customer_id, _ = _email_person(api)
    calls = [("GET", "/api/customers?q=rahim@example.com", None),
             ("GET", f"/api/customers/{customer_id}", None),
             ("PATCH", f"/api/customers/{customer_id}", {"name": "X"}),
             ("POST", f"/api/customers/{customer_id}/merge", {"other": "c_x"}),
             ("POST", f"/api/customers/{customer_id}/unmerge", {"other": "c_x"})]
    for method, path, body in calls:
        assert api.as_principal(None).call(method, path, body)[0] == 401, path
        assert api.as_principal(STRANGER).call(method, path, body)[0] == 403, path


# ---- read ------------------------------------------------------------------------------------

def test_get_shows_channels_with_consent_and_pages_tickets(api, stack):
    from tests.integration.test_sms import sms

    customer_id, made = _email_person(api, n=3, email="pages@example.com")
    assert api.patch(f"/api/customers/{customer_id}",
                     {"add_phones": ["01711000009"], "add_emails": ["second@example.com"]})[0] == 200
    stop = sms(stack, "STOP", sender="01711000009")  # the real inbound path: an SMS opt-out
    stack.pump.drain()
    suppression.add("second@example.com", "bounce", "550 no such user")
    status, customer = api.get(f"/api/customers/{customer_id}?limit=2")
    assert status == 200, customer
    assert stop and customer["ticket_count"] == 3 and customer["version"] == 1
    states = {c["address"]: c for c in customer["channels"]}
    assert states["pages@example.com"]["state"] == "ok"
    assert states["second@example.com"]["state"] == "suppressed"
    assert states["second@example.com"]["reason"] == "bounce"
    assert states["second@example.com"]["detail"] == "550 no such user" and states["second@example.com"]["at"]
    phone = states["+8801711000009"]
    assert phone["state"] == "opted_out" and phone["reason"] == "opt-out" and phone["channel"] == "sms"
    assert phone["at"] and phone["source"].startswith("sms keyword")
    assert set(customer["opted_out"]) == {"sms"}
    seen = [t["id"] for t in customer["tickets"]["items"]]
    assert len(seen) == 2 and customer["tickets"]["next"]
    status, rest = api.get(f"/api/customers/{customer_id}?limit=2&cursor={customer['tickets']['next']}")
    assert status == 200 and rest["tickets"]["next"] is None
    seen += [t["id"] for t in rest["tickets"]["items"]]
    assert sorted(seen) == sorted(t["id"] for t in made)
    # an unsubscribe from automatic mail: opted out, for automatic messages only
    suppression.unsubscribe("pages@example.com")
    status, customer = api.get(f"/api/customers/{customer_id}")
    states = {c["address"]: c for c in customer["channels"]}
    assert states["pages@example.com"]["state"] == "opted_out"
    assert states["pages@example.com"]["scope"] == "automatic"


def test_get_errors(api):
    customer_id, _ = _email_person(api)
    assert api.get("/api/customers/c_doesnotexist")[0] == 404
    assert api.get("/api/customers/not!an!id")[0] == 404
    for query in ("limit=0", "limit=x", "limit=101", "cursor=!!!"):
        status, error = api.get(f"/api/customers/{customer_id}?{query}")
        assert status == 400, query
    # a cursor of another customer's tickets is not this customer's
    other_id, _ = _email_person(api, n=2, email="other@example.com")
    _, other = api.get(f"/api/customers/{other_id}?limit=1")
    status, error = api.get(f"/api/customers/{customer_id}?cursor={other['tickets']['next']}")
    assert status == 400 and "cursor" in error["error"]["fields"]


# ---- edit ------------------------------------------------------------------------------------

def test_patch_edits_identities_in_one_transaction_with_audit(api):
    customer_id, [ticket] = _email_person(api, email="edit@example.com")
    status, customer = api.patch(f"/api/customers/{customer_id}", {
        "name": "  Rahim Uddin ", "lang": "en", "add_emails": ["New.Address@Example.com"],
        "add_phones": ["০১৭১১০০০০১২"], "version": 0})
    assert status == 200, customer
    assert customer["name"] == "Rahim Uddin" and customer["lang"] == "en" and customer["version"] == 1
    assert customer["emails"] == ["New.Address@example.com", "edit@example.com"]
    assert customer["phones"] == ["+8801711000012"]
    assert keys.target("email#new.address@example.com") == customer_id
    assert keys.target("phone#+8801711000012") == customer_id
    # remove the old address (matched without case); the key goes with it
    status, customer = api.patch(f"/api/customers/{customer_id}",
                                 {"remove_emails": ["EDIT@example.com"], "version": 1})
    assert status == 200 and customer["emails"] == ["New.Address@example.com"]
    assert keys.target("email#edit@example.com") is None
    assert api.get("/api/customers?q=edit@example.com")[1]["items"] == []
    # tickets stay the customer's
    assert [t["id"] for t in customer["tickets"]["items"]] == [ticket["id"]]
    actions = _audit_actions(f"customer:{customer_id}")
    assert actions.count("customer.updated") == 2
    entries, _ = audit.day(audit.today(), limit=200)
    first = [e for e in entries if e["target"] == f"customer:{customer_id}"][0]
    assert first["actor"] == AGENT and first["before"]["emails"] == ["edit@example.com"]
    assert first["after"]["phones"] == ["+8801711000012"] and first["after"]["lang"] == "en"
    # the same values again change nothing and write nothing
    status, same = api.patch(f"/api/customers/{customer_id}", {"lang": "en"})
    assert status == 200 and same["version"] == 2
    assert _audit_actions(f"customer:{customer_id}").count("customer.updated") == 2


def test_patch_conflicts(api):
    customer_id, _ = _email_person(api, email="mine@example.com")
    other_id, _ = _phone_person(api, phone="01711000013")
    # an address of another customer: 409 naming that customer (merge them instead)
    status, error = api.patch(f"/api/customers/{customer_id}", {"add_phones": ["+8801711000013"]})
    assert status == 409 and error["error"]["fields"]["customer"] == other_id
    assert "merge" in error["error"]["message"]
    assert keys.target("phone#+8801711000013") == other_id
    # a stale version
    assert api.patch(f"/api/customers/{customer_id}", {"name": "A"})[0] == 200
    status, error = api.patch(f"/api/customers/{customer_id}", {"name": "B", "version": 0})
    assert status == 409 and "version" in error["error"]["fields"]
    assert api.get(f"/api/customers/{customer_id}")[1]["name"] == "A"
    assert api.patch("/api/customers/c_missing", {"name": "A"})[0] == 404


@pytest.mark.parametrize("body,status,field", [
    ({}, 422, "body"), ({"colour": "red"}, 422, "colour"),
    ({"add_emails": ["not-an-address"]}, 422, "add_emails"),
    ({"add_phones": ["12"]}, 422, "add_phones"),
    ({"add_emails": "x@example.com"}, 422, "add_emails"),
    ({"lang": "fr"}, 422, "lang"), ({"name": 7}, 422, "name"), ({"version": "1"}, 422, "version"),
    ({"remove_emails": ["someone@example.com"]}, 422, "remove_emails"),
    ({"remove_emails": ["keep@example.com"]}, 422, "remove_emails"),  # the last channel
    ({"add_emails": ["a@example.com"], "remove_emails": ["A@example.com"]}, 422, "add_emails"),
    ({"add_emails": [f"a{n}@example.com" for n in range(21)]}, 422, "add_emails"),
    ({"add_emails": [f"a{n}@example.com" for n in range(11)],
      "add_phones": [f"+88017110000{n:02}" for n in range(10)]}, 422, "body"),
])
def test_patch_validation(api, body, status, field):
    customer_id, _ = _email_person(api, email="keep@example.com")
    got, error = api.patch(f"/api/customers/{customer_id}", body)
    assert got == status and field in error["error"]["fields"], error
    assert api.get(f"/api/customers/{customer_id}")[1]["emails"] == ["keep@example.com"]


def test_patch_malformed_bodies(api):
    customer_id, _ = _email_person(api)
    assert api.patch(f"/api/customers/{customer_id}", raw="{oops")[0] == 400
    assert api.patch(f"/api/customers/{customer_id}", raw="[1]")[0] == 400
    assert api.patch(f"/api/customers/{customer_id}", raw="name=x",
                     content_type="application/x-www-form-urlencoded")[0] == 415


# ---- merge and unmerge -----------------------------------------------------------------------

def test_merge_and_unmerge_round_trip(api, stack):
    from tests.integration.test_sms import sms

    email_id, mailed = _email_person(api, n=2, email="person@example.com")
    phone_id, called = _phone_person(api, n=1, phone="01711000021")
    sms(stack, "STOP", sender="01711000021")
    stack.pump.drain()
    ticket_ids = [t["id"] for t in mailed + called]
    before = _snapshot([email_id, phone_id], ticket_ids)

    status, result = api.post(f"/api/customers/{email_id}/merge", {"other": phone_id})
    assert status == 200, result
    assert result["state"] == "done" and result["moved"] == {"identities": 1, "tickets": 1}
    survivor = result["survivor"]
    assert survivor["emails"] == ["person@example.com"] and survivor["phones"] == ["+8801711000021"]
    assert survivor["ticket_count"] == 3
    assert sorted(t["id"] for t in survivor["tickets"]["items"]) == sorted(ticket_ids)
    # the phone's opt-out came along, per channel
    assert {c["address"]: c["state"] for c in survivor["channels"]} == {
        "person@example.com": "ok", "+8801711000021": "opted_out"}
    assert survivor["opted_out"]["sms"]["from_customer"] == phone_id
    assert [m["id"] for m in survivor["merged_from"]] == [phone_id]
    assert survivor["merged_from"][0]["phones"] == ["+8801711000021"]
    # the customer merged away answers 200 and points at the survivor
    status, merged = api.get(f"/api/customers/{phone_id}")
    assert status == 200 and merged["merged_into"] == email_id
    assert merged["merge"]["state"] == "done" and merged["tickets"]["items"] == []
    assert merged["ticket_count"] == 0
    assert api.get("/api/customers?q=01711000021")[1]["items"][0]["id"] == email_id
    status, ticket = api.get(f"/api/tickets/{called[0]['id']}")
    assert ticket["customer"]["id"] == email_id
    # the merged-away customer cannot be edited, merged again, or merged into
    assert api.patch(f"/api/customers/{phone_id}", {"name": "x"})[0] == 409
    assert api.post(f"/api/customers/{email_id}/merge", {"other": phone_id})[0] == 409
    assert api.post(f"/api/customers/{phone_id}/merge", {"other": email_id})[0] == 409
    assert "customer.merge.started" in _audit_actions(f"customer:{email_id}")
    assert "customer.merged" in _audit_actions(f"customer:{email_id}")

    status, result = api.post(f"/api/customers/{email_id}/unmerge", {"other": phone_id})
    assert status == 200, result
    assert result["state"] == "done" and result["moved"] == {"identities": 1, "tickets": 1}
    assert _snapshot([email_id, phone_id], ticket_ids) == before
    assert {"customer.unmerge.started", "customer.unmerged"} <= set(_audit_actions(f"customer:{email_id}"))
    assert api.post(f"/api/customers/{email_id}/unmerge", {"other": phone_id})[0] == 409
    # and they can be merged again (the other way round this time)
    status, result = api.post(f"/api/customers/{phone_id}/merge", {"other": email_id})
    assert status == 200 and result["survivor"]["ticket_count"] == 3


def test_merge_and_unmerge_errors(api):
    one, _ = _email_person(api, email="one@example.com")
    two, _ = _email_person(api, email="two@example.com")
    status, error = api.post(f"/api/customers/{one}/merge", {"other": one})
    assert status == 409 and "itself" in error["error"]["message"]
    assert api.post(f"/api/customers/{one}/merge", {"other": "c_missing"})[0] == 404
    assert api.post("/api/customers/c_missing/merge", {"other": one})[0] == 404
    for body in ({}, {"other": ""}, {"other": 7}, {"other": two, "extra": 1}):
        assert api.post(f"/api/customers/{one}/merge", body)[0] == 422, body
    assert api.post(f"/api/customers/{one}/merge", raw="{oops")[0] == 400
    assert api.post(f"/api/customers/{one}/merge", raw="[]")[0] == 400
    assert api.post(f"/api/customers/{one}/unmerge", {"other": two})[0] == 409  # never merged
    assert api.post(f"/api/customers/{one}/unmerge", {"other": one})[0] == 409
    assert api.post(f"/api/customers/{one}/unmerge", {"other": "c_missing"})[0] == 404
    assert api.post(f"/api/customers/{one}/unmerge", {})[0] == 422
    # nothing changed
    assert api.get(f"/api/customers/{one}")[1]["merged_from"] == []
    assert api.get(f"/api/customers/{two}")[1]["merged_into"] is None


def test_merge_stopped_half_way_is_completed_by_its_retry(api, monkeypatch):
    email_id, mailed = _email_person(api, n=1, email="crash@example.com")
    phone_id, called = _phone_person(api, n=5, phone="01711000031")
    ticket_ids = [t["id"] for t in mailed + called]
    before = _snapshot([email_id, phone_id], ticket_ids)
    monkeypatch.setattr(admin, "TICKET_BATCH", 2)
    real, calls = admin._move_ticket_batch, []

    def crash_after_one(*args, **kwargs):
        if calls:
            raise RuntimeError("the Lambda died here")
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(admin, "_move_ticket_batch", crash_after_one)
    status, error = api.post(f"/api/customers/{email_id}/merge", {"other": phone_id})
    assert status == 500 and error["error"]["code"] == "internal_error"
    # half-way: the plan recorded, the identity moved, two of five tickets moved
    other = Customer.get(phone_id, consistent_read=True)
    assert other.merged_into == email_id and as_dict(other.merge)["state"] == "moving"
    assert keys.target("phone#+8801711000031") == email_id
    half = {t.id: t.customer_id for t in Ticket.batch_get(ticket_ids, consistent_read=True)}
    assert list(half.values()).count(email_id) == 3
    assert Customer.get(email_id).ticket_count + Customer.get(phone_id).ticket_count == 6
    # unmerging a merge that is not finished: finish it first
    assert api.post(f"/api/customers/{email_id}/unmerge", {"other": phone_id})[0] == 409
    # the retry (the same POST) finishes what is left, and only that
    monkeypatch.setattr(admin, "_move_ticket_batch", real)
    status, result = api.post(f"/api/customers/{email_id}/merge", {"other": phone_id})
    assert status == 200 and result["state"] == "done", result
    assert result["moved"] == {"identities": 0, "tickets": 3}
    after = {t.id: t.customer_id for t in Ticket.batch_get(ticket_ids, consistent_read=True)}
    assert set(after.values()) == {email_id}
    markers = [k.sk for k in Key.query(admin.marker_pk(phone_id), consistent_read=True)]
    assert sorted(markers) == sorted(t["id"] for t in called)  # one each, no duplicates
    survivor = result["survivor"]
    assert survivor["ticket_count"] == 6 and result["other"]["ticket_count"] == 0
    page_ids = [t["id"] for t in api.get(f"/api/customers/{email_id}?limit=100")[1]["tickets"]["items"]]
    assert sorted(page_ids) == sorted(ticket_ids)
    # and it still undoes exactly
    assert api.post(f"/api/customers/{email_id}/unmerge", {"other": phone_id})[0] == 200
    assert _snapshot([email_id, phone_id], ticket_ids) == before


def test_a_long_merge_answers_202_and_continues(api, monkeypatch):
    email_id, _ = _email_person(api, n=1, email="long@example.com")
    phone_id, called = _phone_person(api, n=3, phone="01711000041")
    monkeypatch.setattr(admin, "TICKET_BATCH", 1)
    monkeypatch.setattr(admin, "MAX_TICKETS_PER_REQUEST", 2)
    status, result = api.post(f"/api/customers/{email_id}/merge", {"other": phone_id})
    assert status == 202 and result["state"] == "moving" and result["moved"]["tickets"] == 2
    status, result = api.post(f"/api/customers/{email_id}/merge", {"other": phone_id})
    assert status == 200 and result["state"] == "done" and result["moved"]["tickets"] == 1
    status, result = api.post(f"/api/customers/{email_id}/unmerge", {"other": phone_id})
    assert status == 202 and result["state"] == "unmerging"
    status, result = api.post(f"/api/customers/{email_id}/unmerge", {"other": phone_id})
    assert status == 200 and result["other"]["ticket_count"] == 3
    assert result["other"]["merged_into"] is None


def test_intake_adds_nothing_to_a_customer_merged_away(api):
    """A contact planned before the merge re-pointed the identities cannot land on the loser."""
    from chalicelib.db.connection import Cancelled, transaction
    from chalicelib.services.customers import identities as customers

    email_id, _ = _email_person(api, email="late@example.com")
    phone_id, _ = _phone_person(api, phone="01711000051")
    planned = customers.plan("", "+8801711000051")
    assert planned.customer_id == phone_id
    assert api.post(f"/api/customers/{email_id}/merge", {"other": phone_id})[0] == 200
    with pytest.raises(Cancelled) as cancelled:
        with transaction() as tx:
            planned.add_to(tx, name="", lang="bn", now=clock.now())
    assert "customer" in cancelled.value.labels
    assert customers.plan("", "+8801711000051").customer_id == email_id


# ---- inbound after a merge -------------------------------------------------------------------

def test_mail_and_sms_after_a_merge_reach_the_survivor(api, stack):
    from tests.integration.test_email import mail, outcome, ses_deliver
    from tests.integration.test_sms import outcome as sms_outcome, sms

    email_id, [old] = _email_person(api, email="moved@example.com")
    phone_id, _ = _phone_person(api, phone="01711000061")
    stack.pump.drain()
    # the phone person survives: the email person's address now leads to them
    assert api.post(f"/api/customers/{phone_id}/merge", {"other": email_id})[0] == 200
    fresh = ses_deliver(stack, mail(sender="moved@example.com", subject="A new question",
                                    body="Something else").as_bytes(), source="moved@example.com")
    reply = ses_deliver(stack, mail(sender="moved@example.com", subject=f"Re: [#{old['ref']}]",
                                    body="About my order").as_bytes(), source="moved@example.com")
    text = sms(stack, f"#{old['ref']} any news?", sender="01711000061")
    stack.pump.drain()
    assert outcome(fresh)["outcome"] == "created"
    assert outcome(reply)["outcome"] == "appended"  # the old ticket is the survivor's: not held
    assert sms_outcome(text) == "appended"
    new_ticket_id = outcome(fresh)["ticket_id"]
    assert Ticket.get(new_ticket_id).customer_id == phone_id
    survivor = Customer.get(phone_id, consistent_read=True)
    assert survivor.ticket_count == 3 and Customer.get(email_id).ticket_count == 0
    status, customer = api.get(f"/api/customers/{phone_id}")
    assert new_ticket_id in [t["id"] for t in customer["tickets"]["items"]]


def test_contacts_during_a_merge_stopped_after_its_first_step_reach_the_survivor(
        api, stack, monkeypatch):
    """Step 1 marked the other customer merged, its identities still point at it (step 2
    did not run): a web form and a mail from its address land on the survivor, not a 409
    nor a dead letter; the merge's retry then completes as usual."""
    from tests.integration.test_email import mail, outcome, ses_deliver

    survivor_id, kept = _phone_person(api, phone="01711000071")
    other_id, [old] = _email_person(api, email="stopped@example.com")
    stack.pump.drain()

    def crash(*args, **kwargs):
        raise RuntimeError("the Lambda died after step 1")

    real = admin._run_merge
    monkeypatch.setattr(admin, "_run_merge", crash)
    status, error = api.post(f"/api/customers/{survivor_id}/merge", {"other": other_id})
    assert status == 500, error
    assert Customer.get(other_id, consistent_read=True).merged_into == survivor_id
    assert keys.target("email#stopped@example.com") == other_id  # step 2 did not run

    # the web form from the other's address, with a phone nobody has yet: the ticket lands on
    # the survivor; the form's new phone is not linked to anyone (a form proves nothing)
    web = new_ticket(api, email="Stopped@example.com", phone="01711000072", subject="Still late")
    assert _customer_of(api, web) == survivor_id
    assert keys.target("phone#+8801711000072") is None
    # and inbound mail from it
    ses_id = ses_deliver(stack, mail(sender="stopped@example.com", subject="Another question",
                                    body="Hello again").as_bytes(), source="stopped@example.com")
    stack.pump.drain()
    assert outcome(ses_id)["outcome"] == "created", outcome(ses_id)
    mailed = outcome(ses_id)["ticket_id"]
    assert Ticket.get(mailed, consistent_read=True).customer_id == survivor_id
    other = Customer.get(other_id, consistent_read=True)
    assert other.ticket_count == 1  # nothing added to the customer merged away
    assert Customer.get(survivor_id, consistent_read=True).ticket_count == 3

    # the retry completes the merge: the address and the old ticket move, counts add up
    monkeypatch.setattr(admin, "_run_merge", real)
    status, result = api.post(f"/api/customers/{survivor_id}/merge", {"other": other_id})
    assert status == 200 and result["state"] == "done", result
    assert result["moved"] == {"identities": 1, "tickets": 1}
    assert keys.target("email#stopped@example.com") == survivor_id
    survivor = result["survivor"]
    assert survivor["ticket_count"] == 4 and result["other"]["ticket_count"] == 0
    assert sorted(survivor["emails"]) == ["stopped@example.com"]
    assert sorted(survivor["phones"]) == ["+8801711000071"]  # the form's phone was never linked
    assert sorted(t["id"] for t in survivor["tickets"]["items"]) == sorted(
        [kept[0]["id"], old["id"], web["id"], mailed])
