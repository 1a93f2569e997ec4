"""Ticket actions against the emulated AWS: list filters, take, merge, split, the audit entry of
every ticket write, and two agents changing one ticket at the same moment."""
from __future__ import annotations

import threading
import uuid

import pytest

from chalicelib import clock
from chalicelib.db.models import Ticket, TimelineItem
from chalicelib.services.team import agents
from chalicelib.services.team import audit
from chalicelib.services.portal import status_page
from chalicelib.services.tickets import actions
from chalicelib.services.tickets import store as ticket_store
from chalicelib.db.values import as_dict
from chalicelib.services.tickets import work
from tests.integration.helpers import Api, events, new_ticket, timeline
from tests.integration.test_email import mail, outcome as mail_outcome, ses_deliver
from tests.integration.test_sms import outcome as sms_outcome, sms

AGENT = "arn:aws:iam::123456789012:user/agent-rina"
OTHER = "arn:aws:iam::123456789012:user/agent-karim"
LEAD = "arn:aws:iam::123456789012:user/lead-salma"


@pytest.fixture
def api(stack):
    agents.ensure_agent(AGENT, role="agent", display_name="Rina", departments={"general"})
    agents.ensure_agent(OTHER, role="agent", display_name="Karim", departments={"general"})
    agents.ensure_agent(LEAD, role="lead", display_name="Salma")
    return Api(stack.client)


def _get(api, ticket_id) -> dict:
    status, ticket = api.get(f"/api/tickets/{ticket_id}")
    assert status == 200, ticket
    return ticket


def _audit_actions(target: str) -> list[str]:
    entries, _ = audit.day(audit.today(), limit=200)
    return [e["action"] for e in entries if e["target"] == target]


def _ids(page) -> set[str]:
    return {t["id"] for t in page["items"]}


# ---- list filters ----------------------------------------------------------------------------

def _breach(ticket_id: str, target: str = "first_response") -> None:
    """What a fired timer records (services/sla/timers.py): the target in sla.breached."""
    ticket = Ticket.get(ticket_id, consistent_read=True)
    ticket.sla = {**as_dict(ticket.sla), "breached": [target]}
    ticket.save()


def test_list_filters_priority_channel_breached_and_combined(api):
    web = new_ticket(api, email="w1@example.com")
    web_urgent = new_ticket(api, email="w2@example.com")
    status, started = api.post("/api/tickets", {"phone": "+8801711000101", "body": "আপনার অর্ডার",
                                                "channel": "sms"})
    assert status == 201, started
    by_sms = started["ticket"]
    status, started = api.post("/api/tickets", {"email": "e1@example.com", "body": "Hello",
                                                "channel": "email"})
    by_email = started["ticket"]
    assert api.patch(f"/api/tickets/{web_urgent['id']}", {"priority": "urgent"})[0] == 200
    assert api.patch(f"/api/tickets/{by_sms['id']}", {"priority": "urgent"})[0] == 200
    _breach(web_urgent["id"])
    _breach(by_email["id"], "resolution")

    def listed(query):
        status, page = api.get(f"/api/tickets?{query}")
        assert status == 200, page
        return page

    assert _ids(listed("priority=urgent")) == {web_urgent["id"], by_sms["id"]}
    assert _ids(listed("channel=sms")) == {by_sms["id"]}
    assert _ids(listed("channel=email")) == {by_email["id"]}
    assert _ids(listed("channel=web")) == {web["id"], web_urgent["id"]}
    assert _ids(listed("breached=true")) == {web_urgent["id"], by_email["id"]}
    assert _ids(listed("breached=false")) == {web["id"], by_sms["id"]}
    assert _ids(listed("priority=urgent&channel=web&breached=true")) == {web_urgent["id"]}
    assert _ids(listed("priority=urgent&breached=false&status=pending")) == {by_sms["id"]}
    assert _ids(listed("priority=urgent&channel=email")) == set()
    # with the index filters (department: all are general) and with search
    assert _ids(listed("department=general&priority=urgent&channel=sms")) == {by_sms["id"]}
    assert _ids(listed("q=w2@example.com&breached=true")) == {web_urgent["id"]}
    assert _ids(listed("q=w2@example.com&breached=false")) == set()
    # still sorted by due time: the queue order of the unfiltered list, filtered
    everything = [t["id"] for t in listed("limit=100")["items"]]
    urgent = [t["id"] for t in listed("priority=urgent")["items"]]
    assert urgent == [i for i in everything if i in set(urgent)]
    # a page's summary says why it matched
    item = listed("breached=true&channel=web")["items"][0]
    assert item["sla"]["breached"] == ["first_response"] and item["channel"] == "web"


def test_filtered_pages_read_at_most_five_index_pages_and_carry_a_cursor(api, monkeypatch):
    made = [new_ticket(api, email=f"b{n}@example.com") for n in range(7)]
    pages = []
    real = Ticket.all_index.query

    def counting(*args, **kwargs):
        pages.append(kwargs.get("limit"))
        return real(*args, **kwargs)

    monkeypatch.setattr(Ticket.all_index, "query", counting)
    status, page = api.get("/api/tickets?limit=1&priority=urgent")  # nothing is urgent
    assert status == 200 and page["items"] == [] and page["next"]
    assert pages == [1] * 5  # five index pages of one ticket each, then the cursor
    pages.clear()
    seen, cursor = [], page["next"]
    while cursor:  # following the cursor walks on to the end
        status, page = api.get(f"/api/tickets?limit=1&priority=normal&cursor={cursor}")
        assert status == 200 and len(pages) <= 5
        pages.clear()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next"]
    assert len(set(seen)) == len(made) - 5  # the two the first five pages did not reach


@pytest.mark.parametrize("query,field", [("priority=meh", "priority"), ("channel=fax", "channel"),
                                         ("breached=yes", "breached"), ("breached=1", "breached")])
def test_bad_filter_values_are_400_with_field_errors(api, query, field):
    status, error = api.get(f"/api/tickets?{query}&channel=pigeon")
    assert status == 400 and {field, "channel"} <= set(error["error"]["fields"])


# ---- take ----------------------------------------------------------------------------------

def test_take_assigns_to_me_idempotently_and_refuses_someone_elses(api):
    created = new_ticket(api)
    rina, karim, lead = api.as_principal(AGENT), api.as_principal(OTHER), api.as_principal(LEAD)
    status, taken = rina.post(f"/api/tickets/{created['id']}/take")
    assert status == 200 and taken["assignee"] == AGENT
    status, again = rina.post(f"/api/tickets/{created['id']}/take", {})
    assert status == 200 and again["assignee"] == AGENT and again["version"] == taken["version"]

    status, error = karim.post(f"/api/tickets/{created['id']}/take")
    assert status == 409 and error["error"]["fields"] == {"assignee": AGENT}
    status, error = karim.post(f"/api/tickets/{created['id']}/take", {"force": True})
    assert status == 403
    status, error = lead.post(f"/api/tickets/{created['id']}/take",
                              {"force": True, "version": taken["version"] - 1})
    assert status == 409 and "version" in error["error"]["fields"]
    status, forced = lead.post(f"/api/tickets/{created['id']}/take",
                               {"force": True, "version": taken["version"]})
    assert status == 200 and forced["assignee"] == LEAD

    assigned = [e for e in timeline(api, created["id"]) if e.get("type") == "ticket.assigned"]
    assert [(e["data"]["from"], e["data"]["to"], e["actor"]) for e in assigned] == [
        (None, AGENT, AGENT), (AGENT, LEAD, LEAD)]
    assert assigned[1]["data"]["forced"] is True
    assert _audit_actions(f"ticket:{created['id']}").count("ticket.taken") == 2
    assert _ids(api.get(f"/api/tickets?assignee={LEAD}")[1]) == {created["id"]}


def test_take_errors(api):
    created = new_ticket(api)
    path = f"/api/tickets/{created['id']}/take"
    assert api.as_principal(None).post(path)[0] == 401
    assert api.as_principal("arn:aws:iam::123456789012:user/nobody").post(path)[0] == 403
    assert api.post("/api/tickets/t_missing/take")[0] == 404
    assert api.post(path, {"colour": "red"})[0] == 422
    assert api.post(path, raw="{oops")[0] == 400
    assert api.post(path, raw="[]")[0] == 400
    status, error = api.post(path, {"force": "yes", "version": "3"})
    assert status == 422 and set(error["error"]["fields"]) == {"force", "version"}
    assert _get(api, created["id"])["assignee"] is None


# ---- merge ---------------------------------------------------------------------------------

def _busy_ticket(api, stack, email="rahim@example.com", subject="Order late") -> dict:
    created = new_ticket(api, email=email, subject=subject)
    assert api.post(f"/api/tickets/{created['id']}/notes", {"body": "called the courier"})[0] == 201
    assert api.post(f"/api/tickets/{created['id']}/replies", {"body": "We are on it."})[0] == 201
    stack.pump.drain()
    return created


def test_merge_copies_the_whole_timeline_and_closes_the_source(api, stack):
    source = _busy_ticket(api, stack)
    target = new_ticket(api, subject="Second mail about the order")
    assert api.patch(f"/api/tickets/{source['id']}", {"priority": "high"})[0] == 200
    before = _get(api, source["id"])
    assert any(t["state"] == "armed" for t in as_dict(
        Ticket.get(source["id"]).timers).values())

    status, merged = api.post(f"/api/tickets/{source['id']}/merge",
                              {"into": f"#{target['ref']}", "version": before["version"]})
    assert status == 200, merged
    assert merged["ticket"]["id"] == target["id"] and merged["ticket"]["merged_from"] == [source["id"]]
    assert merged["merged"]["status"] == "closed" and merged["merged"]["merged_into"] == target["id"]
    assert merged["copied"] == len(before["timeline"])

    after = _get(api, target["id"])
    copies = [i for i in after["timeline"] if i.get("origin")]
    assert [c["origin"]["sk"] for c in copies] == [i["sk"] for i in before["timeline"]]
    assert {c["origin"]["ticket"] for c in copies} == {source["id"]}
    assert [(c["entry"], c.get("type"), c.get("body")) for c in copies] == [
        (i["entry"], i.get("type"), i.get("body")) for i in before["timeline"]]
    assert after["timeline"] == sorted(after["timeline"], key=lambda i: i["sk"])
    merged_event = [i for i in after["timeline"] if i.get("type") == "ticket.merged"][0]
    assert merged_event["data"]["from"] == source["id"] and merged_event["actor"]

    closed = _get(api, source["id"])
    assert closed["status"] == "closed" and closed["merged_into"] == target["id"]
    assert {"ticket.merged_into", "ticket.status_changed"} <= set(events(api, source["id"]))
    timers = as_dict(Ticket.get(source["id"]).timers)
    assert timers and not [k for k, t in timers.items() if t["state"] == "armed"]
    assert closed["sla"]["next_reply_due"] is None
    assert "ticket.merged" in _audit_actions(f"ticket:{source['id']}")

    stack.pump.drain()  # the copies' stream records send nothing again
    replies = [i for i in _get(api, target["id"])["timeline"] if i.get("kind") == "reply"]
    assert len(replies) == 1 and replies[0]["origin"]["ticket"] == source["id"]

    # the same merge again answers the merged state and writes nothing
    status, again = api.post(f"/api/tickets/{source['id']}/merge", {"into": target["id"]})
    assert status == 200 and again["copied"] == 0
    items = _get(api, target["id"])["timeline"]
    assert len([i for i in items if i.get("origin")]) == len(copies)
    assert [i.get("type") for i in items].count("ticket.merged") == 1

    # the merged ticket stays closed: changes go to the ticket it went into (notes still work)
    for path, body in ((f"/api/tickets/{source['id']}", {"status": "open"}),
                       (f"/api/tickets/{source['id']}/replies", {"body": "again"}),
                       (f"/api/tickets/{source['id']}/callbacks", {"at": _in_a_month()}),
                       (f"/api/tickets/{source['id']}/decisions", {"question": "Refund?"}),
                       (f"/api/tickets/{source['id']}/take", {})):
        call = api.patch if "/api/tickets/" + source["id"] == path else api.post
        status, error = call(path, body)
        assert status == 409 and error["error"]["fields"]["merged_into"] == target["id"], (path, error)
    assert api.post(f"/api/tickets/{source['id']}/notes", {"body": "for the record"})[0] == 201


def test_a_merge_retried_after_a_crash_writes_no_duplicates(api, stack, monkeypatch):
    source = _busy_ticket(api, stack)
    target = new_ticket(api)
    count = len(_get(api, source["id"])["timeline"])
    real, crashes = actions.save, []

    def crash_once(*args, **kwargs):
        if not crashes:
            crashes.append(1)
            raise RuntimeError("the Lambda died after copying")
        return real(*args, **kwargs)

    monkeypatch.setattr(actions, "save", crash_once)
    # a Lambda that dies runs no clean-up: the copies stay until the merge is retried
    monkeypatch.setattr(actions, "_undo_copies", lambda copies: None)
    status, _ = api.post(f"/api/tickets/{source['id']}/merge", {"into": target["id"]})
    assert status == 500
    half = [i for i in _get(api, target["id"])["timeline"] if i.get("origin")]
    assert len(half) == count and _get(api, source["id"])["merged_into"] is None

    status, merged = api.post(f"/api/tickets/{source['id']}/merge", {"into": target["id"]})
    assert status == 200, merged
    items = _get(api, target["id"])["timeline"]
    copies = [i for i in items if i.get("origin")]
    assert len(copies) == count and len({c["sk"] for c in copies}) == count
    assert [i.get("type") for i in items].count("ticket.merged") == 1


@pytest.mark.parametrize("failure,answer", [(ticket_store.Raced, 409),
                                            (lambda: RuntimeError("DynamoDB is down"), 500)])
def test_a_merge_that_finally_fails_removes_its_copies(api, stack, monkeypatch, failure, answer):
    source = _busy_ticket(api, stack)
    target = new_ticket(api)

    def fails(*args, **kwargs):
        raise failure()

    monkeypatch.setattr(actions, "save", fails)
    status, error = api.post(f"/api/tickets/{source['id']}/merge", {"into": target["id"]})
    assert status == answer
    assert not [i for i in _get(api, target["id"])["timeline"] if i.get("origin")]
    assert _get(api, source["id"])["status"] != "closed"


def test_merge_refusals(api, stack):
    a = new_ticket(api)
    b = new_ticket(api)
    c = new_ticket(api)
    stranger = new_ticket(api, email="someone-else@example.com")
    path = f"/api/tickets/{a['id']}/merge"
    assert api.as_principal(None).post(path, {"into": b["id"]})[0] == 401
    assert api.as_principal("arn:aws:iam::123456789012:user/nobody").post(path, {"into": b["id"]})[0] == 403
    assert api.post("/api/tickets/t_missing/merge", {"into": b["id"]})[0] == 404
    assert api.post(path, {"into": b["id"], "cc": 1})[0] == 422
    assert api.post(path)[0] == 400  # no body
    status, error = api.post(path, {})
    assert status == 422 and "into" in error["error"]["fields"]
    status, error = api.post(path, {"into": a["ref"]})
    assert status == 422 and "itself" in error["error"]["message"]
    status, error = api.post(path, {"into": "t_missing"})
    assert status == 422 and error["error"]["fields"] == {"into": "no such ticket"}
    status, error = api.post(path, {"into": b["id"], "version": 999})
    assert status == 409 and "version" in error["error"]["fields"]
    # different customers: a lead's force, recorded with both customers
    status, error = api.post(f"/api/tickets/{stranger['id']}/merge", {"into": b["id"]})
    assert status == 422 and "customer" in error["error"]["message"]
    status, _ = api.as_principal(AGENT).post(f"/api/tickets/{stranger['id']}/merge",
                                              {"into": b["id"], "force": True})
    assert status == 403

    assert api.post(path, {"into": b["id"]})[0] == 200  # a -> b
    status, error = api.post(path, {"into": c["id"]})  # a is merged already
    assert status == 409 and error["error"]["fields"] == {"merged_into": b["id"]}
    status, error = api.post(f"/api/tickets/{c['id']}/merge", {"into": a["id"]})
    assert status == 409 and "merged into another" in error["error"]["message"]
    status, error = api.post(f"/api/tickets/{b['id']}/merge", {"into": c["id"]})
    assert status == 409 and error["error"]["fields"] == {"into": "merge the other way round"}
    assert api.patch(f"/api/tickets/{c['id']}", {"status": "closed"})[0] == 200
    status, error = api.post(f"/api/tickets/{stranger['id']}/merge", {"into": c["id"]})
    assert status == 409 and "closed" in error["error"]["message"]

    status, merged = api.as_principal(LEAD).post(f"/api/tickets/{stranger['id']}/merge",
                                                  {"into": b["id"], "force": True})
    assert status == 200, merged
    event = [i for i in _get(api, b["id"])["timeline"]
             if i.get("type") == "ticket.merged" and i["data"]["from"] == stranger["id"]][0]
    customers = {_get(api, stranger["id"])["customer_id"], _get(api, b["id"])["customer_id"]}
    assert len(customers) == 2 and event["data"]["customers"] == sorted(customers)
    assert sorted(_get(api, b["id"])["merged_from"]) == sorted([a["id"], stranger["id"]])


def test_replies_to_a_merged_ticket_land_on_the_target(api, stack):
    source = new_ticket(api, email="karim@example.com", phone="+8801711000202", subject="Refund")
    target = new_ticket(api, email="karim@example.com", subject="Refund again")
    stack.pump.drain()
    ack = [i for i in timeline(api, source["id"]) if i.get("kind") == "ack"][0]
    assert api.post(f"/api/tickets/{source['id']}/merge", {"into": target["id"]})[0] == 200

    # email by In-Reply-To (the msgid# key names the source), SMS naming the source's ref,
    # and the source's status page
    by_mail = ses_deliver(stack, mail(sender="karim@example.com", subject="Re: " + ack["subject"],
                                      body="Any news?", headers={"In-Reply-To": ack["message_id"]}
                                      ).as_bytes(), source="karim@example.com")
    by_sms = sms(stack, f"#{source['ref']} any news by SMS?", sender="01711000202")
    stack.pump.drain()
    assert status_page.add_reply(source["id"], "News from the status page?",
                                 status_page.new_nonce(source["id"]))
    assert mail_outcome(by_mail)["outcome"] == "appended" and sms_outcome(by_sms) == "appended"

    landed = [i for i in timeline(api, target["id"]) if i.get("direction") == "in" and not i.get("origin")]
    assert sorted(i["body"] for i in landed[1:]) == sorted([
        "Any news?", "#" + source["ref"] + " any news by SMS?", "News from the status page?"])
    received = [i for i in timeline(api, target["id"])
                if i.get("type") == "message.received" and i["data"].get("via_merged")]
    assert len(received) == 3 and {e["data"]["via_merged"] for e in received} == {source["id"]}
    still = _get(api, source["id"])
    assert still["status"] == "closed" and len(
        [i for i in still["timeline"] if i.get("direction") == "in"]) == 1


# ---- split ---------------------------------------------------------------------------------

def _second_message(api, stack, ticket_id, text="আরেকটা বিষয়: আমার বিল ভুল") -> str:
    assert status_page.add_reply(ticket_id, text, status_page.new_nonce(ticket_id))
    return [i for i in timeline(api, ticket_id) if i.get("direction") == "in"][-1]["id"]


def test_split_makes_a_new_ticket_once(api, stack):
    created = new_ticket(api, email="split@example.com", department="billing")
    assert api.patch(f"/api/tickets/{created['id']}", {"priority": "high"})[0] == 200
    uid = _second_message(api, stack, created["id"])
    original = _get(api, created["id"])

    status, result = api.post(f"/api/tickets/{created['id']}/split",
                              {"message": uid, "subject": "Wrong bill"})
    assert status == 201, result
    new = result["ticket"]
    assert new["id"] != created["id"] and new["ref"] != created["ref"]
    assert (new["customer_id"], new["department"], new["priority"], new["channel"]) == (
        original["customer_id"], "billing", "high", "web")
    assert new["status"] == "new" and new["subject"] == "Wrong bill"
    assert new["sla"]["first_response_due"] and new["sla"]["resolution_due"]

    fresh = _get(api, new["id"])
    assert [i.get("type") or i.get("kind") for i in fresh["timeline"]] == ["ticket.created", "message"]
    copy = fresh["timeline"][1]
    assert copy["body"] == "আরেকটা বিষয়: আমার বিল ভুল" and copy["direction"] == "in"
    assert copy["origin"] == {"ticket": created["id"], "ref": created["ref"],
                              "sk": [i for i in original["timeline"] if i.get("id") == uid][0]["sk"],
                              "via": "split"}
    assert fresh["timeline"][0]["data"]["split_from"]["message"] == uid

    after = _get(api, created["id"])
    marked = [i for i in after["timeline"] if i.get("id") == uid][0]
    assert marked["split_to"] == {"ticket": new["id"], "ref": new["ref"]}
    split_event = [i for i in after["timeline"] if i.get("type") == "ticket.split"][0]
    assert split_event["data"] == {"message": uid, "ticket": new["id"], "ref": new["ref"]}
    assert "ticket.split" in _audit_actions(f"ticket:{created['id']}")

    # retried: the same new ticket, nothing written
    status, again = api.post(f"/api/tickets/{created['id']}/split", {"message": uid})
    assert status == 200 and again["ticket"]["id"] == new["id"]
    assert [i.get("type") for i in _get(api, created["id"])["timeline"]].count("ticket.split") == 1
    # found like any ticket: by subject words and in the customer's tickets
    assert new["id"] in _ids(api.get("/api/tickets?q=bill")[1])
    assert _ids(api.get("/api/tickets?q=split@example.com")[1]) == {created["id"], new["id"]}
    stack.pump.drain()  # its timers start like any new ticket's
    assert as_dict(Ticket.get(new["id"]).timers)["first_response"]["state"] == "armed"


def test_split_at_the_same_time_is_one_new_ticket(api, stack):
    created = new_ticket(api)
    uid = _second_message(api, stack, created["id"])
    agent = agents.resolve(AGENT)
    results, errors = [], []
    barrier = threading.Barrier(2)
    real, calls = actions._split_before, []

    def late_check(ticket_id, message):  # both look for the marker before either writes it
        found = real(ticket_id, message)
        calls.append(message)
        if len(calls) <= 2:
            barrier.wait(timeout=10)
        return found

    actions._split_before, restore = late_check, real
    try:
        threads = [threading.Thread(target=lambda: _run(results, errors, actions.split,
                                                        created["id"], agent, {"message": uid}))
                   for _ in range(2)]
        [t.start() for t in threads]
        [t.join(30) for t in threads]
    finally:
        actions._split_before = restore
    assert not errors, errors
    assert len({r[0]["ticket"]["id"] for r in results}) == 1
    assert sorted(r[1] for r in results) == [False, True]
    assert [i.get("type") for i in _get(api, created["id"])["timeline"]].count("ticket.split") == 1


def test_split_errors(api, stack):
    created = new_ticket(api)
    stack.pump.drain()
    items = timeline(api, created["id"])
    ack = [i for i in items if i.get("kind") == "ack"][0]
    status, note = api.post(f"/api/tickets/{created['id']}/notes", {"body": "internal"})
    path = f"/api/tickets/{created['id']}/split"
    first = [i for i in items if i.get("direction") == "in"][0]["id"]
    assert api.as_principal(None).post(path, {"message": first})[0] == 401
    assert api.as_principal("arn:aws:iam::123456789012:user/nobody").post(path, {"message": first})[0] == 403
    assert api.post("/api/tickets/t_missing/split", {"message": first})[0] == 404
    assert api.post(path, {"message": first, "to": "x"})[0] == 422
    assert api.post(path, raw="nope")[0] == 400
    for body, field in (({}, "message"), ({"message": 5}, "message"), ({"message": "m_nothing"}, "message"),
                        ({"message": ack["id"]}, "message"), ({"message": note["id"]}, "message"),
                        ({"message": first, "subject": "  "}, "subject"),
                        ({"message": first, "subject": "x" * 201}, "subject")):
        status, error = api.post(path, body)
        assert status == 422 and field in error["error"]["fields"], (body, error)
    assert "ticket.split" not in events(api, created["id"])


# ---- audit -----------------------------------------------------------------------------------

def test_every_ticket_write_leaves_an_audit_entry(api, stack):
    created = new_ticket(api)
    target = f"ticket:{created['id']}"
    rina = api.as_principal(AGENT)
    assert rina.patch(f"/api/tickets/{created['id']}", {"priority": "urgent"})[0] == 200
    assert rina.post(f"/api/tickets/{created['id']}/replies", {"body": "Looking"})[0] == 201
    assert rina.post(f"/api/tickets/{created['id']}/notes", {"body": "n"})[0] == 201
    assert rina.post(f"/api/tickets/{created['id']}/callbacks",
                     {"at": "2099-01-01T10:00:00+06:00"})[0] == 422  # too far: nothing written
    at = clock.iso(clock.now() + __import__("datetime").timedelta(days=1))
    assert rina.post(f"/api/tickets/{created['id']}/callbacks", {"at": at})[0] == 201
    assert rina.post(f"/api/tickets/{created['id']}/take")[0] == 200
    assert rina.post(f"/api/tickets/{created['id']}/take")[0] == 200  # no change, no entry
    entries, _ = audit.day(audit.today(), limit=200)
    mine = [e for e in entries if e["target"] == target]
    assert [e["action"] for e in mine] == ["ticket.updated", "ticket.replied", "ticket.note_added",
                                           "ticket.callback_scheduled", "ticket.taken"]
    assert {e["actor"] for e in mine} == {AGENT}
    assert mine[0]["before"] == {"priority": "normal"} and mine[0]["after"] == {"priority": "urgent"}


# ---- concurrency -----------------------------------------------------------------------------

def _run(results, errors, fn, *args):
    try:
        results.append(fn(*args))
    except Exception as exc:  # noqa: BLE001 - collected for the assertion
        errors.append(exc)


def _together(monkeypatch, n=2):
    """ticket_store.load hands each of the first `n` callers its copy only when all have read: the
    writes that follow race for real."""
    real, barrier, calls = ticket_store.load, threading.Barrier(n), []

    def load(ticket_id, agent=None):
        found = real(ticket_id, agent)
        calls.append(ticket_id)
        if len(calls) <= n:
            barrier.wait(timeout=10)
        return found

    monkeypatch.setattr(ticket_store, "load", load)


def test_two_agents_patch_the_same_version_one_wins_the_other_is_409(api, monkeypatch):
    from chalicelib.errors import Conflict

    created = new_ticket(api)
    version = _get(api, created["id"])["version"]
    rina, karim = agents.resolve(AGENT), agents.resolve(OTHER)
    _together(monkeypatch)
    results, errors = [], []
    threads = [threading.Thread(target=_run, args=(results, errors, work.update, created["id"],
                                                   who, {"status": status, "version": version}))
               for who, status in ((rina, "pending"), (karim, "resolved"))]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert len(results) == 1 and len(errors) == 1, (results, errors)
    assert isinstance(errors[0], Conflict) and "version" in errors[0].fields
    winner = results[0]
    ticket = _get(api, created["id"])
    assert ticket["status"] == winner["status"] and ticket["version"] == version + 1
    changes = [e for e in ticket["timeline"] if e.get("type") == "ticket.status_changed"]
    assert [c["data"]["to"] for c in changes] == [winner["status"]]
    assert len([e for e in audit.day(audit.today(), limit=200)[0]
                if e["target"] == f"ticket:{created['id']}"]) == 1


def test_a_patch_racing_a_reply_both_land_without_half_writes(api, monkeypatch):
    created = new_ticket(api)
    rina, karim = agents.resolve(AGENT), agents.resolve(OTHER)
    version = _get(api, created["id"])["version"]
    _together(monkeypatch)
    results, errors = [], []
    threads = [
        threading.Thread(target=_run, args=(results, errors, work.update, created["id"], rina,
                                            {"priority": "urgent"})),
        threading.Thread(target=_run, args=(results, errors, work.reply, created["id"], karim,
                                            "We are on it")),
    ]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert not errors and len(results) == 2  # the loser re-read the ticket and applied again
    ticket = _get(api, created["id"])
    assert ticket["priority"] == "urgent" and ticket["status"] == "open"
    assert ticket["first_response_at"] and ticket["version"] == version + 2
    assert [i.get("kind") for i in ticket["timeline"]].count("reply") == 1
    assert [i.get("type") for i in ticket["timeline"]].count("ticket.priority_changed") == 1
    entries = [e for e in audit.day(audit.today(), limit=200)[0]
               if e["target"] == f"ticket:{created['id']}"]
    assert sorted(e["action"] for e in entries) == ["ticket.replied", "ticket.updated"]


def test_a_pinned_patch_racing_a_reply_is_409_or_applied(api, monkeypatch):
    created = new_ticket(api)
    version = _get(api, created["id"])["version"]
    _together(monkeypatch)
    results, errors = [], []
    threads = [
        threading.Thread(target=_run, args=(results, errors, work.update, created["id"],
                                            agents.resolve(AGENT), {"status": "pending",
                                                                    "version": version})),
        threading.Thread(target=_run, args=(results, errors, work.reply, created["id"],
                                            agents.resolve(OTHER), "Checking")),
    ]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    ticket = _get(api, created["id"])
    replies = [i for i in ticket["timeline"] if i.get("kind") == "reply"]
    assert len(replies) == 1  # the reply always lands, once
    pending = [e for e in ticket["timeline"] if e.get("type") == "ticket.status_changed"
               and e["data"]["to"] == "pending"]
    if errors:  # the reply won: the pinned change is refused, nothing of it written
        assert len(errors) == 1 and errors[0].status == 409 and not pending
    else:  # the change won: the reply was re-applied on top of it
        assert len(pending) == 1
    assert len(results) + len(errors) == 2
    # the timeline and the ticket agree: nothing half-written
    assert TimelineItem.count(created["id"], consistent_read=True) == len(ticket["timeline"])


def _in_a_month() -> str:
    from datetime import datetime, timedelta, timezone

    return (datetime.now(timezone.utc) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
