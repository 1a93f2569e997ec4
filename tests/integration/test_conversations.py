"""Issue 24 points 8 and 9: a customer's answer to an agent-started conversation joins it (SMS
and email), the agent-started ticket is the agent's, and STOP/START show where agents look."""
from __future__ import annotations

import pytest

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
    found, _ = audit.day(audit.today(), limit=200)
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


def _opt_entries(items):
    return [(i.get("type"), i.get("kind"), i.get("body")) for i in items
            if i.get("type") in ("opted_out", "opted_in") or i.get("kind") in ("opt_out", "opt_in")]


@pytest.mark.parametrize("keyword", ["STOP", "বন্ধ"])
def test_stop_shows_on_the_timelines_and_a_reply_says_when_and_what_is_left(stack, api, keyword):
    """The issue's scenario: a customer who writes only by SMS says বন্ধ (or STOP)."""
    phone = "01711000310" if keyword == "STOP" else "01711000311"
    number = "+88" + phone
    sms(stack, "আমার বিল ভুল এসেছে", sender=number)  # their own ticket, acknowledged by SMS
    stack.pump.drain()
    [other] = _tickets(api, number)
    status, started = api.post("/api/tickets", {"phone": phone, "body": "Your order shipped."})
    assert status == 201
    stack.pump.drain()
    stop = sms(stack, keyword, sender=number)
    sms(stack, keyword, sender=number, message_id=stop)  # redelivered: nothing twice
    stack.pump.drain()
    sms(stack, keyword, sender=number, message_id=stop)  # and again, later
    stack.pump.drain()
    assert outcome(stop) == "opted_out"
    ours = started["ticket"]["id"]
    # the message and the event on the conversation it answers; the event on the other one
    assert _opt_entries(timeline(api, ours)) == [("message", "opt_out", keyword),
                                                 ("opted_out", None, None)]
    assert _opt_entries(timeline(api, other["id"])) == [("opted_out", None, None)]
    [stop_message] = [i for i in timeline(api, ours) if i.get("kind") == "opt_out"]
    assert (stop_message["direction"], stop_message["status"]) == ("in", "recorded")
    [event] = [i for i in timeline(api, ours) if i.get("type") == "opted_out"]
    assert event["data"]["channel"] == "sms" and event["data"]["keyword"] == keyword
    assert event["data"]["chosen"] == "last_texted"
    status, view = api.get(f"/api/tickets/{ours}")
    assert view["status"] == "pending"  # STOP asks for silence, not an answer
    assert view["channels"]["sms"]["usable"] is False and view["channels"]["sms"]["opted_out_at"]
    assert view["channels"]["sms"]["blocked"][0]["reason"] == "opt-out"
    # no email either: nowhere to reply, and the agent sees it before typing
    assert view["reply_channel"] is None and view["channels"]["email"]["addresses"] == []
    status, error = api.post(f"/api/tickets/{ours}/replies", {"body": "Did it arrive?"})
    assert status == 422, error
    message = error["error"]["message"]
    assert message.startswith("The customer opted out of SMS on ") and "(Asia/Dhaka)" in message
    assert "has no phone" not in message and error["error"]["channels"] == []
    from chalicelib import clock

    today = clock.now().astimezone(clock.business_zone())
    assert f"{today.day} {today:%B %Y}" in message
    # START: shown the same way, and SMS can be used again
    again = "START" if keyword == "STOP" else "চালু"
    start = sms(stack, again, sender=number)
    sms(stack, again, sender=number, message_id=start)
    stack.pump.drain()
    assert outcome(start) == "opted_in"
    assert [t for t, _, _ in _opt_entries(timeline(api, ours))] == [
        "message", "opted_out", "message", "opted_in"]
    assert [t for t, _, _ in _opt_entries(timeline(api, other["id"]))] == ["opted_out", "opted_in"]
    status, view = api.get(f"/api/tickets/{ours}")
    assert view["channels"]["sms"] == {"addresses": [number], "usable": True, "opted_out_at": None}
    assert view["reply_channel"] == "sms" and view["status"] == "pending"
    status, sent = api.post(f"/api/tickets/{ours}/replies", {"body": "Did it arrive?"})
    assert status == 201 and sent["channel"] == "sms"


def test_after_stop_a_reply_goes_by_email_and_asking_for_sms_says_reply_by_email(stack, api):
    phone, number = "01711000313", "+8801711000313"
    created = new_ticket(api, phone=phone, email="mail313@example.com", message="by form")
    stack.pump.drain()
    sms(stack, "Stop", sender=number)
    stack.pump.drain()
    assert _opt_entries(timeline(api, created["id"])) == [("message", "opt_out", "Stop"),
                                                          ("opted_out", None, None)]
    status, view = api.get(f"/api/tickets/{created['id']}")
    assert view["reply_channel"] == "email" and view["channels"]["email"]["usable"] is True
    status, sent = api.post(f"/api/tickets/{created['id']}/replies", {"body": "By mail then."})
    assert status == 201 and sent["channel"] == "email"
    status, error = api.post(f"/api/tickets/{created['id']}/replies",
                             {"body": "x", "channel": "sms"})
    assert status == 422 and error["error"]["message"].endswith("; reply by email.")
    assert error["error"]["channels"] == ["email"]
    assert "opted out (STOP) on" in error["error"]["fields"]["channel"]


def test_stop_from_a_number_without_tickets_is_recorded_without_a_timeline(stack, api):
    stop = sms(stack, "stop.", sender="01711000312")
    stack.pump.drain()
    assert outcome(stop) == "opted_out"
    assert _tickets(api, "+8801711000312") == []  # recorded, no ticket opened for it
    from chalicelib.services.messaging import suppression

    assert suppression.reason("+8801711000312", "sms") == "opt-out"


def test_never_texted_two_open_tickets_the_most_recently_active_one_takes_it(stack, api):
    phone, number = "01711000314", "+8801711000314"
    older = new_ticket(api, phone=phone, email="m314@example.com", message="one")
    newer = new_ticket(api, phone=phone, email="m314@example.com", message="two")
    stack.pump.drain()  # both acknowledged by email: we never texted this number
    sms(stack, "which one?", sender=number)
    stack.pump.drain()
    assert _inbound(api, newer["id"]) == ["two", "which one?"]
    [event] = [e for e in timeline(api, newer["id"])
               if e.get("type") == "message.received" and e["data"].get("chosen")]
    assert event["data"]["chosen"] == "most_recent"
    assert [c["id"] for c in event["data"]["candidates"]] == [newer["id"], older["id"]]


def test_yes_from_a_number_that_never_opted_out_answers_the_question(stack, api):
    phone, number = "01711000315", "+8801711000315"
    status, started = api.post("/api/tickets", {"phone": phone, "body": "Shall we send it today?"})
    assert status == 201
    stack.pump.drain()
    answer = sms(stack, "Yes", sender=number)
    stack.pump.drain()
    assert outcome(answer) == "appended"
    assert _inbound(api, started["ticket"]["id"]) == ["Yes"]
    status, view = api.get(f"/api/tickets/{started['ticket']['id']}")
    assert view["status"] == "open"  # an answer: the agent's turn


def test_a_number_the_carrier_blocks_shows_as_blocked_and_the_reply_says_so(stack, api):
    from tests.integration.test_sms import delivery_event

    phone, number = "01711000316", "+8801711000316"
    status, started = api.post("/api/tickets", {"phone": phone, "body": "Your order shipped."})
    assert status == 201
    stack.pump.drain()
    [sent] = _texts_to(api, started["ticket"]["id"], number)
    delivery_event(stack, sent["provider_id"], "TEXT_BLOCKED", description="Blocked by carrier")
    stack.pump.drain()
    status, view = api.get(f"/api/tickets/{started['ticket']['id']}")
    sms_state = view["channels"]["sms"]
    assert sms_state["usable"] is False and sms_state["opted_out_at"] is None  # not a STOP
    assert [b["reason"] for b in sms_state["blocked"]] == ["undeliverable"]
    status, error = api.post(f"/api/tickets/{started['ticket']['id']}/replies", {"body": "Hello?"})
    assert status == 422 and error["error"]["channels"] == []
    assert "cannot receive SMS (undeliverable)" in error["error"]["message"]
