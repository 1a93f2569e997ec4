"""Issue 24 points 8 and 9: a customer's answer to an agent-started conversation joins it (SMS
and email), the agent-started ticket is the agent's, and STOP/START show where agents look."""
from __future__ import annotations

import pytest

from chalicelib import clock
from chalicelib.services.team import agents, audit
from tests.integration.helpers import Api, new_ticket, timeline
from tests.integration.test_email import mail, outcome as mail_outcome, ses_deliver
from tests.integration.test_sms import outcome, sms

NUSRAT = "arn:aws:iam::123456789012:user/nusrat"
KARIM = "arn:aws:iam::123456789012:user/karim"


@pytest.fixture
def api(stack):
    agents.ensure_agent(NUSRAT, role="agent", display_name="Nusrat", departments={"general"})
    agents.ensure_agent(KARIM, role="agent", display_name="Karim", departments={"general"})
    return Api(stack.client).as_principal(NUSRAT)


def _inbound(api, ticket_id):
    return [i["body"] for i in timeline(api, ticket_id) if i.get("direction") == "in"]


def _texts_to(api, ticket_id, number):
    return [i for i in timeline(api, ticket_id)
            if i.get("direction") == "out" and i.get("recipient") == number]


def _tickets(api, q):
    status, page = api.get(f"/api/tickets?q={q}")
    assert status == 200, page
    return page["items"]


def test_sms_answer_joins_the_agent_started_conversation_not_the_busier_ticket(stack, api):
    """The issue's scenario: the customer has another open ticket (theirs, by SMS, acked and
    then worked on, so it is the most recently active); an agent starts an SMS conversation;
    the customer's answer joins the agent's ticket, with no acknowledgement, and that ticket
    is the agent's."""
    number = "+8801711000301"
    first = sms(stack, "আমার বিল ভুল এসেছে", sender=number)
    stack.pump.drain()
    assert outcome(first) == "created"
    [other] = _tickets(api, number)
    status, started = api.post("/api/tickets", {"phone": "01711000301",
                                                "body": "আপনার অর্ডার পাঠানো হয়েছে। পেয়েছেন?"})
    assert status == 201, started
    ticket = started["ticket"]
    assert ticket["assignee"] == NUSRAT  # the agent who started it
    stack.pump.drain()
    # the other ticket is worked on afterwards: it is now the most recently active one
    status, _ = api.as_principal(KARIM).post(f"/api/tickets/{other['id']}/notes",
                                             {"body": "checking the bill"})
    assert status == 201
    answer = sms(stack, "হ্যাঁ, পেয়েছি। ধন্যবাদ", sender=number)
    stack.pump.drain()
    assert outcome(answer) == "appended"
    assert _inbound(api, ticket["id"]) == ["হ্যাঁ, পেয়েছি। ধন্যবাদ"]
    assert _inbound(api, other["id"]) == ["আমার বিল ভুল এসেছে"]
    assert len(_tickets(api, number)) == 2  # no new ticket
    # no acknowledgement for the answer: the only SMS on the agent's ticket is the agent's
    assert [m["kind"] for m in _texts_to(api, ticket["id"], number)] == ["reply"]
    assert [m["kind"] for m in _texts_to(api, other["id"], number)] == ["ack"]
    status, view = api.get(f"/api/tickets/{ticket['id']}")
    assert view["assignee"] == NUSRAT and view["status"] == "open"
    [chosen] = [e for e in view["timeline"] if e.get("type") == "message.received"]
    assert chosen["data"]["chosen"] == "last_texted"
    assert [c["id"] for c in chosen["data"]["candidates"]] == [ticket["id"], other["id"]]
    [assigned] = [e for e in view["timeline"] if e.get("type") == "ticket.assigned"]
    assert assigned["actor"] == NUSRAT and assigned["data"] == {"from": None, "to": NUSRAT}
    found, _ = audit.day(clock.now().date().isoformat(), limit=200)
    assert any(e["action"] == "ticket.updated" and e["target"] == f"ticket:{ticket['id']}"
               and e["after"] == {"assignee": NUSRAT} for e in found)


def test_the_conversation_we_last_texted_from_wins_and_a_ref_still_wins(stack, api):
    number, phone = "+8801711000302", "01711000302"
    starts = []
    for text in ("Your parcel left Dhaka.", "Your refund is approved."):
        status, started = api.post("/api/tickets", {"phone": phone, "body": text})
        assert status == 201, started
        starts.append(started["ticket"])
        stack.pump.drain()
    parcel, refund = starts
    answer = sms(stack, "ok thanks", sender=number)  # we texted last from the refund ticket
    stack.pump.drain()
    assert outcome(answer) == "appended" and _inbound(api, refund["id"]) == ["ok thanks"]
    status, _ = api.post(f"/api/tickets/{parcel['id']}/replies", {"body": "It arrives today."})
    assert status == 201
    stack.pump.drain()
    answer = sms(stack, "great", sender=number)  # now the parcel ticket is the last we texted from
    stack.pump.drain()
    assert _inbound(api, parcel["id"]) == ["great"]
    # a ref the customer names still wins over the conversation we last texted from
    answer = sms(stack, f"about #{refund['ref']}: when?", sender=number)
    stack.pump.drain()
    assert _inbound(api, refund["id"]) == ["ok thanks", f"about #{refund['ref']}: when?"]
    assert len(_tickets(api, number)) == 2


def test_a_failed_text_does_not_make_its_ticket_the_conversation(stack, api, monkeypatch):
    number = "+8801711000303"
    own = new_ticket(api, phone="01711000303", email="", message="my own question")
    stack.pump.drain()  # its ack is texted: the number's conversation is that ticket
    from chalicelib.services.messaging import channels

    def refuse(*_a, **_k):
        raise RuntimeError("carrier refused")

    with monkeypatch.context() as patched:
        patched.setattr(channels.Sms, "send", refuse)
        status, started = api.post("/api/tickets", {"phone": "01711000303", "body": "Hello?"})
        assert status == 201
        stack.pump.drain()
    assert [m["status"] for m in _texts_to(api, started["ticket"]["id"], number)] == ["failed"]
    sms(stack, "what about my question", sender=number)
    stack.pump.drain()
    assert _inbound(api, own["id"])[-1] == "what about my question"
    assert _inbound(api, started["ticket"]["id"]) == []


def test_conversation_assignee_can_be_another_agent_or_nobody(stack, api):
    status, started = api.post("/api/tickets", {"phone": "01711000304", "body": "Hi",
                                                "assignee": KARIM})
    assert status == 201 and started["ticket"]["assignee"] == KARIM
    status, started = api.post("/api/tickets", {"phone": "01711000305", "body": "Hi",
                                                "assignee": None})
    assert status == 201 and started["ticket"]["assignee"] is None
    assert "ticket.assigned" not in [e.get("type") for e in timeline(api, started["ticket"]["id"])]
    status, error = api.post("/api/tickets", {"phone": "01711000306", "body": "Hi",
                                              "assignee": "arn:aws:iam::123456789012:user/ghost"})
    assert status == 422 and "assignee" in error["error"]["fields"]
    assert _tickets(api, "+8801711000306") == []


def test_email_answer_joins_the_agent_started_conversation(stack, api):
    address = "mitu@example.com"
    other = new_ticket(api, email=address, phone="", message="my earlier problem")
    stack.pump.drain()
    status, started = api.post("/api/tickets", {"email": address, "subject": "Your order",
                                                "body": "Your order has shipped. Got it?"})
    assert status == 201, started
    ticket = started["ticket"]
    assert ticket["assignee"] == NUSRAT
    stack.pump.drain()
    [ours] = [i for i in timeline(api, ticket["id"]) if i.get("direction") == "out"]
    assert ours["status"] == "sent" and ours["message_id"] and ours["reply_to"]
    # a mail client's answer: In-Reply-To our Message-ID
    by_headers = ses_deliver(stack, mail(
        sender=address, subject="Re: " + ours["subject"], body="Yes, it came.",
        headers={"In-Reply-To": ours["message_id"], "References": ours["message_id"]}).as_bytes(),
        source=address)
    # a client that drops the headers: sent to our signed Reply-To
    by_token = ses_deliver(stack, mail(sender=address, to=ours["reply_to"], subject="thanks",
                                       body="And thanks.").as_bytes(),
                           recipients=[ours["reply_to"]], source=address)
    stack.pump.drain()
    assert [mail_outcome(i)["outcome"] for i in (by_headers, by_token)] == ["appended"] * 2
    assert _inbound(api, ticket["id"]) == ["Yes, it came.", "And thanks."]
    assert _inbound(api, other["id"]) == ["my earlier problem"]
    assert [i["kind"] for i in timeline(api, ticket["id"]) if i.get("direction") == "out"] == ["reply"]
    assert len(_tickets(api, address)) == 2
