"""Held items (services/inbound/held.py, /api/held): nothing a customer sent is only in a log.
Mail Setu cannot turn into a ticket message, unreadable SMS and rejected events are kept with
the reason, listed for admins, released to a ticket by hand or discarded, each audited, and a
redelivered event never holds twice."""
from __future__ import annotations

import json
import secrets
import uuid
from email.message import EmailMessage

import boto3
import pytest

from chalicelib.db.models import Key
from tests.integration.helpers import Api, new_ticket, timeline
from tests.integration.test_email import mail, outcome, ses_deliver

AGENT = "arn:aws:iam::123456789012:user/held-agent"


@pytest.fixture
def api(stack):
    return Api(stack.client)


def held_items(api, **params) -> list[dict]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    status, page = api.get(f"/api/held?{query}")
    assert status == 200, page
    return page["items"]


def one_held(api, ses_or_provider_id: str, **params) -> dict:
    found = [i for i in held_items(api, **params) if i["provider_id"] == ses_or_provider_id]
    assert len(found) == 1, found
    return found[0]


def audit_actions(api) -> list[str]:
    status, page = api.get("/api/audit?limit=200")
    assert status == 200
    return [e["action"] for e in page["items"]]


def test_mail_from_an_address_the_validator_refuses_is_held_once_and_released(stack, api):
    raw = mail(sender="Rahim <rahim@localhost>", subject="অর্ডার কোথায়?",
               body="আমার অর্ডার ৫ দিন হলো আসেনি।").as_bytes()
    ses_id = ses_deliver(stack, raw, source="rahim@localhost")
    ses_deliver(stack, raw, source="rahim@localhost", ses_id=ses_id)  # redelivered
    stack.pump.drain()
    marker = outcome(ses_id)
    assert marker["outcome"] == "rejected" and "rahim@localhost" in marker["reason"]
    item = one_held(api, ses_id, kind="email")
    assert item["reason"] == "no_sender" and item["state"] == "held" and item["releasable"]
    assert item["sender"] == "rahim@localhost" and item["subject"] == "অর্ডার কোথায়?"
    assert item["snippet"].startswith("আমার অর্ডার") and item["at"]
    assert item["raw"] == {"bucket": stack.outputs["MailBucket"], "key": f"inbound/{ses_id}"}
    assert marker["held"] == item["id"]
    # released to a new ticket for the address the admin chose
    status, released = api.post(f"/api/held/{item['id']}/release",
                                {"email": "rahim@example.com", "name": "Rahim"})
    assert status == 200, released
    assert released["state"] == "released" and released["ticket_id"] and released["ref"]
    ticket_id = released["ticket_id"]
    received = [i for i in timeline(api, ticket_id) if i.get("direction") == "in"]
    assert [i["body"] for i in received] == ["আমার অর্ডার ৫ দিন হলো আসেনি।"]
    assert received[0]["channel"] == "email" and received[0]["subject"] == "অর্ডার কোথায়?"
    created = [e for e in timeline(api, ticket_id) if e.get("type") == "ticket.created"][0]
    assert created["data"]["released_from"] == item["id"]
    assert not [i for i in timeline(api, ticket_id) if i.get("kind") == "ack"]
    # retried: the same answer, nothing twice; no longer in the open list
    status, again = api.post(f"/api/held/{item['id']}/release", {"email": "rahim@example.com"})
    assert status == 200 and again["ticket_id"] == ticket_id
    assert [i for i in held_items(api) if i["id"] == item["id"]] == []
    assert [i["id"] for i in held_items(api, state="closed")].count(item["id"]) == 1
    status, error = api.post(f"/api/held/{item['id']}/discard")
    assert status == 409, error
    assert audit_actions(api).count("held.released") == 1


def test_held_mail_with_a_file_released_onto_an_existing_ticket_by_ref(stack, api):
    existing = new_ticket(api, email="karim@example.com")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "karim@intranet", "support@setu.local", "bill"
    message["Message-ID"] = f"<{uuid.uuid4().hex}@intranet>"
    message.set_content("the bill is attached")
    message.add_attachment(b"%PDF-1.4 bill", maintype="application", subtype="pdf",
                           filename="bill.pdf")
    ses_id = ses_deliver(stack, message.as_bytes(), source="karim@intranet")
    stack.pump.drain()
    item = one_held(api, ses_id)
    assert [a["filename"] for a in item["attachments"]] == ["bill.pdf"]
    status, error = api.post(f"/api/held/{item['id']}/release", {"ticket": "999999"})
    assert status == 422 and "ticket" in error["error"]["fields"]
    status, released = api.post(f"/api/held/{item['id']}/release", {"ticket": existing["ref"]})
    assert status == 200, released
    assert released["ticket_id"] == existing["id"] and released["ref"] == existing["ref"]
    received = [i for i in timeline(api, existing["id"]) if i.get("direction") == "in"]
    assert received[-1]["body"] == "the bill is attached"
    assert received[-1]["attachments"][0]["filename"] == "bill.pdf"
    event = [e for e in timeline(api, existing["id"]) if e.get("type") == "message.received"][-1]
    assert event["data"]["released_from"] == item["id"]
    assert event["data"]["held_sender"] == "karim@intranet"


def test_discard_is_audited_and_final(stack, api):
    ses_id = ses_deliver(stack, mail(sender="x@nodot", body="spam?").as_bytes(), source="x@nodot")
    stack.pump.drain()
    item = one_held(api, ses_id)
    status, discarded = api.post(f"/api/held/{item['id']}/discard")
    assert status == 200 and discarded["state"] == "discarded" and discarded["decided_by"]
    status, again = api.post(f"/api/held/{item['id']}/discard")
    assert status == 200 and again["state"] == "discarded"
    status, error = api.post(f"/api/held/{item['id']}/release", {"email": "x@example.com"})
    assert status == 409 and error["error"]["fields"]["state"] == "discarded"
    status, shown = api.get(f"/api/held/{item['id']}")
    assert status == 200 and shown["state"] == "discarded"
    assert "held.discarded" in audit_actions(api)
    # the raw mail stays where SES put it
    assert boto3.client("s3").get_object(Bucket=stack.outputs["MailBucket"],
                                         Key=f"inbound/{ses_id}")["Body"].read()


def test_unparseable_too_large_spam_virus_and_missing_mail_are_all_listed(stack, api, monkeypatch):
    from chalicelib.integrations import storage

    empty = ses_deliver(stack, b"\r\n \r\n", source="")  # nothing to read, no sender
    spam = ses_deliver(stack, mail(sender="promo@example.com").as_bytes(), verdicts={"spam": "FAIL"})
    virus = ses_deliver(stack, mail(sender="bad@example.com").as_bytes(), verdicts={"virus": "FAIL"})
    missing = secrets.token_hex(8)
    ses_deliver(stack, b"x", ses_id=missing)
    boto3.client("s3").delete_object(Bucket=stack.outputs["MailBucket"], Key=f"inbound/{missing}")
    stack.pump.drain()
    monkeypatch.setattr(storage, "MAX_RAW_BYTES", 200)
    large = ses_deliver(stack, mail(sender="big@example.com", body="x" * 500).as_bytes())
    stack.pump.drain()
    reasons = {i["provider_id"]: (i["reason"], i["releasable"]) for i in held_items(api, kind="email")}
    assert reasons[empty] == ("unparseable", False)
    assert reasons[spam] == ("spam", True)  # a false positive can be released
    assert reasons[virus] == ("virus", False)
    assert reasons[missing] == ("raw_missing", False)
    assert reasons[large] == ("too_large", False)
    for ses_id in (empty, spam, virus, missing, large):
        assert outcome(ses_id)["outcome"] == "rejected"
    status, error = api.post(f"/api/held/{one_held(api, virus)['id']}/release",
                             {"email": "bad@example.com"})
    assert status == 409


def sms_payload(stack, payload: str) -> str:
    return boto3.client("sns").publish(TopicArn=stack.outputs["InboundSmsTopicArn"],
                                       Message=payload)["MessageId"]


def test_unreadable_sms_is_held_and_released_to_a_number(stack, api):
    payload = json.dumps({"originationNumber": "12", "messageBody": "আমার লাইন কাটা",
                          "inboundMessageId": "bad-number-1"})
    notification = sms_payload(stack, payload)
    stack.pump.drain()
    item = one_held(api, notification, kind="sms")
    assert item["reason"] == "unreadable_sms" and "not a valid number" in item["detail"]
    assert item["sender"] == "12" and item["snippet"] == "আমার লাইন কাটা" and item["releasable"]
    assert item["raw"] == {"marker": f"inbound#sms-rejected#{notification}"}
    status, error = api.post(f"/api/held/{item['id']}/release", {"phone": "12"})
    assert status == 422 and "phone" in error["error"]["fields"]
    status, released = api.post(f"/api/held/{item['id']}/release", {"phone": "01711000077"})
    assert status == 200, released
    received = [i for i in timeline(api, released["ticket_id"]) if i.get("direction") == "in"]
    assert received[0]["body"] == "আমার লাইন কাটা" and received[0]["channel"] == "sms"


def test_empty_sms_and_rejected_events_are_listed_not_releasable(stack, api):
    empty = str(uuid.uuid4())
    for _ in range(2):  # redelivered: one held item
        sms_payload(stack, json.dumps({"originationNumber": "+8801711000078", "messageBody": "  ",
                                       "inboundMessageId": empty}))
    garbage = sms_payload(stack, "{not json")
    events = boto3.client("sns").publish(TopicArn=stack.outputs["SesEventsTopicArn"],
                                         Message="[1, 2")["MessageId"]
    stack.pump.drain()
    item = one_held(api, empty, kind="sms")
    assert item["reason"] == "empty_message" and not item["releasable"]
    assert item["sender"] == "+8801711000078"
    assert one_held(api, garbage, kind="sms")["releasable"] is False
    event = one_held(api, events, kind="event")
    assert event["reason"] == "unreadable_event" and event["source"] == "ses-event"
    status, error = api.post(f"/api/held/{item['id']}/release", {"phone": "01711000078"})
    assert status == 409


def test_a_json_bomb_on_the_sms_topic_is_held_not_retried(stack, api):
    bomb = sms_payload(stack, "[" * 200_000)
    stack.pump.drain()
    item = one_held(api, bomb, kind="sms")
    assert item["reason"] == "unreadable_sms" and "nested too deeply" in item["detail"]
    assert not item["releasable"]


def test_garbage_email_notification_is_listed_as_an_event(stack, api):
    import app

    notification = str(uuid.uuid4())
    app.inbound_email({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
                                    "EventSubscriptionArn": "arn:x", "Sns": {
                                        "Type": "Notification", "MessageId": notification,
                                        "TopicArn": stack.outputs["InboundEmailTopicArn"],
                                        "Subject": None, "Message": "{not json",
                                        "Timestamp": "2026-11-23T00:00:00.000Z",
                                        "MessageAttributes": {}}}]}, None)
    item = one_held(api, notification, kind="event")
    assert item["source"] == "email-rejected" and item["snippet"] == "{not json"
    assert Key.get(f"inbound#email-rejected#{notification}", "_").data.as_dict()["held"] == item["id"]


def test_the_held_routes_are_for_admins_and_refuse_bad_input(stack, api):
    status, _ = api.post("/api/agents", {"principal": AGENT, "role": "agent"})
    assert status == 201
    agent = api.as_principal(AGENT)
    assert agent.get("/api/held")[0] == 403
    assert agent.post("/api/held/20260101T000000000Z.00000000/discard")[0] == 403
    assert api.as_principal(None).get("/api/held")[0] == 401
    assert api.get("/api/held?kind=fax")[0] == 400
    assert api.get("/api/held?state=maybe")[0] == 400
    assert api.get("/api/held?cursor=%%%")[0] == 400
    assert api.get("/api/held?cursor=bm90LWFuLWlk")[0] == 400
    assert api.get("/api/held?limit=0")[0] == 400
    assert api.get("/api/held/nope")[0] == 404
    assert api.get("/api/held/20260101T000000000Z.00000000")[0] == 404
    assert api.post("/api/held/20260101T000000000Z.00000000/discard")[0] == 404
    ses_id = ses_deliver(stack, mail(sender="a@b").as_bytes(), source="a@b")
    stack.pump.drain()
    held_id = one_held(api, ses_id)["id"]
    for body, field in (({}, "ticket"), ({"email": "a@example.com", "phone": "01711000000"}, "ticket"),
                        ({"email": 5}, "email"), ({"ticket": "1", "colour": "red"}, "colour"),
                        ({"email": "not an address"}, "email")):
        status, error = api.post(f"/api/held/{held_id}/release", body)
        assert status == 422 and field in error["error"]["fields"], (body, error)
    status, error = api.call("POST", f"/api/held/{held_id}/release", raw="[1,")[:2]
    assert status == 400
    status, error = api.call("POST", f"/api/held/{held_id}/release", raw="[]")[:2]
    assert status == 400


def test_pages_of_held_items_follow_the_cursor(stack, api):
    ids = [ses_deliver(stack, mail(sender=f"p{n}@nodot", body=f"page {n}").as_bytes(),
                       source=f"p{n}@nodot") for n in range(3)]
    stack.pump.drain()
    seen, cursor = [], ""
    for _ in range(5):
        status, page = api.get(f"/api/held?kind=email&limit=1&cursor={cursor}")
        assert status == 200
        seen += [i["provider_id"] for i in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert set(ids) <= set(seen) and len(seen) == len(set(seen))
