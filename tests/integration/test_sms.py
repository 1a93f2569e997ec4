"""SMS as a channel against the emulated AWS: two-way SMS JSON published to the inbound topic,
delivered by the pump to the app's handler, exactly as CONTRACT.md describes."""
from __future__ import annotations

import json
import uuid

import boto3
import pytest

from chalicelib.db.models import Key
from tests.integration.helpers import Api, new_ticket, timeline

BUSINESS = "+8809610000000"


def sms(stack, body, *, sender="01711000001", message_id=None) -> str:
    message_id = message_id or str(uuid.uuid4())
    boto3.client("sns").publish(TopicArn=stack.outputs["InboundSmsTopicArn"], Message=json.dumps({
        "originationNumber": sender, "destinationNumber": BUSINESS, "messageBody": body,
        "inboundMessageId": message_id, "messageKeyword": "KEYWORD_123456789012",
        "previousPublishedMessageId": None}))
    return message_id


def outcome(message_id):
    return Key.get(f"inbound#sms#{message_id}", "_").data.as_dict()["outcome"]


@pytest.fixture
def api(stack):
    return Api(stack.client)


def _only_ticket(api, phone):
    status, page = api.get(f"/api/tickets?q={phone}")
    assert status == 200
    assert len(page["items"]) == 1, page["items"]
    return page["items"][0]


def test_new_number_opens_a_ticket_with_an_sms_ack(stack, api):
    first = sms(stack, "আমার বিল ভুল এসেছে", sender="+8801711000001")
    stack.pump.drain()
    assert outcome(first) == "created"
    ticket = _only_ticket(api, "01711000001")
    items = timeline(api, ticket["id"])
    inbound = [i for i in items if i.get("direction") == "in"]
    assert inbound[0]["channel"] == "sms" and inbound[0]["body"] == "আমার বিল ভুল এসেছে"
    ack = [i for i in items if i.get("kind") == "ack"][0]
    assert ack["channel"] == "sms" and ack["recipient"] == "+8801711000001"
    assert ack["status"] == "sent" and ack["segments"] >= 1
    assert ticket["lang"] == "bn"


def test_follow_up_joins_the_only_open_ticket_and_redelivery_changes_nothing(stack, api):
    sms(stack, "Internet is down", sender="01711000002")
    stack.pump.drain()
    again = sms(stack, "Still down", sender="01711000002")
    sms(stack, "Still down", sender="01711000002", message_id=again)  # redelivered
    stack.pump.drain()
    ticket = _only_ticket(api, "01711000002")
    bodies = [i["body"] for i in timeline(api, ticket["id"]) if i.get("direction") == "in"]
    assert bodies == ["Internet is down", "Still down"]


def test_ref_in_bengali_digits_picks_that_ticket(stack, api):
    first = new_ticket(api, phone="01711000003", email="", message="প্রথম সমস্যা")
    second = new_ticket(api, phone="01711000003", email="", message="দ্বিতীয় সমস্যা")
    ref_bn = first["ref"].translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯"))
    reply = sms(stack, f"টিকিট #{ref_bn} এর আপডেট কী?", sender="01711000003")
    stack.pump.drain()
    assert outcome(reply) == "appended"
    on_first = [i for i in timeline(api, first["id"]) if i.get("direction") == "in"]
    on_second = [i for i in timeline(api, second["id"]) if i.get("direction") == "in"]
    assert len(on_first) == 2 and len(on_second) == 1


def _inbound_events(api, ticket_id):
    return [i for i in timeline(api, ticket_id)
            if i.get("type") in ("message.received", "ticket.created")]


def _bengali(ref: str) -> str:
    return ref.translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯"))


def test_two_open_tickets_and_no_ref_joins_the_most_recent_and_says_so(stack, api):
    older = new_ticket(api, phone="01711000004", email="", message="one")
    newer = new_ticket(api, phone="01711000004", email="", message="two")
    third = sms(stack, "which one?", sender="01711000004")
    stack.pump.drain()
    assert outcome(third) == "appended"
    on_newer = [i for i in timeline(api, newer["id"]) if i.get("direction") == "in"]
    assert [i["body"] for i in on_newer] == ["two", "which one?"]
    event = [e for e in _inbound_events(api, newer["id"]) if e["type"] == "message.received"][-1]
    # both acks were texted: the newer one last, so that is the conversation it answers
    assert event["data"]["chosen"] == "last_texted"
    assert [c["ref"] for c in event["data"]["candidates"]] == [newer["ref"], older["ref"]]
    status, page = api.get("/api/tickets?q=01711000004")
    assert len(page["items"]) == 2  # no third ticket


@pytest.mark.parametrize("template", [
    "{bn} নম্বর টিকেট নিয়ে কথা ছিল",
    "টিকেট নং {bn} এর কী হলো?",
    "about ticket no. {ref}, still waiting",
    "#{ref} update please",
    "রেফ {bn}",
    "{ref} নং টিকেটের ব্যাপারে জানতে চাই",
    "{bn} নং টিকেটের ব্যাপারে জানতে চাই",
    "TICKET #{ref}",
])
def test_ticket_references_in_bengali_and_english_word_order(stack, api, template):
    phone = "0171100" + str(abs(hash(template)) % 10000).zfill(4)
    first = new_ticket(api, phone=phone, email="", message="প্রথম")
    new_ticket(api, phone=phone, email="", message="দ্বিতীয়")  # the most recent one
    text = template.format(ref=first["ref"], bn=_bengali(first["ref"]))
    reply = sms(stack, text, sender=phone)
    stack.pump.drain()
    assert outcome(reply) == "appended"
    bodies = [i["body"] for i in timeline(api, first["id"]) if i.get("direction") == "in"]
    assert bodies == ["প্রথম", text]
    event = [e for e in _inbound_events(api, first["id"]) if e["type"] == "message.received"][-1]
    assert event["data"]["chosen"] == "ref" and event["data"]["ref"] == first["ref"]


def test_a_bare_number_joins_only_when_it_is_one_of_their_refs(stack, api):
    first = new_ticket(api, phone="01711000041", email="", message="one")
    new_ticket(api, phone="01711000041", email="", message="two")
    bare = sms(stack, f"{_bengali(first['ref'])} এর কী খবর", sender="01711000041")
    stack.pump.drain()
    assert outcome(bare) == "appended"
    event = [e for e in _inbound_events(api, first["id"]) if e["type"] == "message.received"][-1]
    assert event["data"] == {**event["data"], "chosen": "own_ref", "ref": first["ref"]}


def test_a_reference_to_another_customers_ticket_is_never_followed(stack, api):
    victim = new_ticket(api, phone="01711000042", email="", message="victim's problem")
    mine = new_ticket(api, phone="01711000043", email="", message="my problem")
    for text in (f"ticket no. {victim['ref']}", f"{_bengali(victim['ref'])} নম্বর টিকেট",
                 f"{victim['ref']}"):
        sms(stack, text, sender="01711000043")
    stack.pump.drain()
    on_victim = [i for i in timeline(api, victim["id"]) if i.get("direction") == "in"]
    assert [i["body"] for i in on_victim] == ["victim's problem"]
    on_mine = [i["body"] for i in timeline(api, mine["id"]) if i.get("direction") == "in"]
    assert len(on_mine) == 4  # their own only open ticket
    events = [e for e in _inbound_events(api, mine["id"]) if e["type"] == "message.received"]
    chosen = [e["data"] for e in events if "chosen" in e["data"]]
    assert [d["chosen"] for d in chosen] == ["only_open"] * 3
    ignored = [d.get("ignored_refs") for d in chosen]
    assert ignored.count([victim["ref"]]) == 2 and ignored.count(None) == 1
    # a stranger naming the ref opens their own ticket
    stranger = sms(stack, f"টিকেট নং {_bengali(victim['ref'])}", sender="01711000044")
    stack.pump.drain()
    assert outcome(stranger) == "created"
    assert len([i for i in timeline(api, victim["id"]) if i.get("direction") == "in"]) == 1


def test_stop_opts_out_and_the_next_notice_goes_by_email(stack, api):
    created = new_ticket(api, phone="01711000005", email="optout@example.com")
    stop = sms(stack, "STOP", sender="01711000005")
    stack.pump.drain()
    assert outcome(stop) == "opted_out"
    status, ticket = api.get(f"/api/tickets/{created['id']}")
    assert "sms" in ticket["customer"]["opted_out"]
    # a new ticket from the same person: the ack goes by email, never SMS
    again = new_ticket(api, phone="01711000005", email="optout@example.com")
    ack = [i for i in timeline(api, again["id"]) if i.get("kind") == "ack"][0]
    assert ack["channel"] == "email"
    # an agent cannot text an opted-out number
    status, error = api.post(f"/api/tickets/{created['id']}/replies", {"body": "hi", "channel": "sms"})
    assert status == 422 and "channel" in error["error"]["fields"]
    # START opts back in
    start = sms(stack, "START", sender="01711000005")
    stack.pump.drain()
    assert outcome(start) == "opted_in"
    status, ticket = api.get(f"/api/tickets/{created['id']}")
    assert "sms" not in ticket["customer"]["opted_out"]


def test_opted_out_number_without_email_has_its_ack_suppressed(stack, api):
    sms(stack, "বন্ধ", sender="01711000006")
    stack.pump.drain()
    sms(stack, "but I have a problem", sender="01711000006")
    stack.pump.drain()
    ticket = _only_ticket(api, "01711000006")
    ack = [i for i in timeline(api, ticket["id"]) if i.get("kind") == "ack"][0]
    assert ack["status"] == "suppressed" and "opt-out" in ack["error"]


def test_agent_sms_reply_reports_segments_and_enforces_the_maximum(stack, api):
    created = new_ticket(api, phone="01711000007", email="")
    status, sent = api.post(f"/api/tickets/{created['id']}/replies", {"body": "ধন্যবাদ" * 19})
    assert status == 201 and sent["channel"] == "sms"
    assert sent["sms"] == {"encoding": "UCS-2", "units": 133, "segments": 2}
    stack.pump.drain()
    reply = [i for i in timeline(api, created["id"]) if i.get("kind") == "reply"][0]
    assert reply["segments"] == 2 and reply["status"] == "sent"
    status, error = api.post(f"/api/tickets/{created['id']}/replies", {"body": "ক" * 1600})
    assert status == 422 and "segments" in error["error"]["fields"]["body"]


@pytest.mark.parametrize("payload,reason", [
    ("{not json", "not JSON"),
    (json.dumps({"originationNumber": "12", "messageBody": "hi", "inboundMessageId": "x1"}), "not a valid number"),
    (json.dumps({"originationNumber": "+8801711000008", "messageBody": "hi"}), "inboundMessageId"),
    (json.dumps({"originationNumber": "+8801711000008", "inboundMessageId": "x2"}), "messageBody"),
])
def test_bad_notifications_are_recorded_rejections(stack, payload, reason):
    published = boto3.client("sns").publish(TopicArn=stack.outputs["InboundSmsTopicArn"], Message=payload)
    stack.pump.drain()
    stored = Key.get(f"inbound#sms-rejected#{published['MessageId']}", "_").data.as_dict()
    assert stored["outcome"] == "rejected" and reason in stored["reason"]


def test_empty_body_and_long_body(stack, api):
    empty = sms(stack, "   ", sender="01711000009")
    long_one = sms(stack, "ক" * 2000, sender="01711000010")
    stack.pump.drain()
    assert outcome(empty) == "rejected"
    assert outcome(long_one) == "created"
    ticket = _only_ticket(api, "01711000010")
    body = [i for i in timeline(api, ticket["id"]) if i.get("direction") == "in"][0]["body"]
    assert len(body) == 1600


def test_reordered_delivery_is_shown_in_provider_order(stack, api):
    import app

    def record(message_id, body, timestamp):
        return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:x",
                             "Sns": {"Type": "Notification", "MessageId": str(uuid.uuid4()),
                                     "TopicArn": stack.outputs["InboundSmsTopicArn"], "Subject": None,
                                     "Message": json.dumps({"originationNumber": "+8801711000011",
                                                            "messageBody": body, "inboundMessageId": message_id}),
                                     "Timestamp": timestamp, "MessageAttributes": {}}}]}

    app.inbound_sms(record("o1", "first", "2026-11-23T01:00:00.000Z"), None)
    app.inbound_sms(record("o3", "third", "2026-11-23T01:00:02.000Z"), None)
    app.inbound_sms(record("o2", "second", "2026-11-23T01:00:01.000Z"), None)
    ticket = _only_ticket(api, "01711000011")
    bodies = [i["body"] for i in timeline(api, ticket["id"]) if i.get("direction") == "in"]
    assert bodies == ["first", "second", "third"]


def test_agent_starts_an_sms_conversation_with_a_new_number(stack, api):
    status, started = api.post("/api/tickets", {"phone": "01711000012", "name": "Sumi",
                                                "body": "আপনার অর্ডার পাঠানো হয়েছে।"})
    assert status == 201, started
    assert started["ticket"]["status"] == "pending" and started["sms"]["encoding"] == "UCS-2"
    from chalicelib.services.team import audit

    found, _ = audit.day(audit.today(), limit=200)
    [entry] = [e for e in found if e["target"] == f"ticket:{started['ticket']['id']}"
               and e["action"] == "ticket.started"]
    assert entry["action"] == "ticket.started" and entry["after"]["phone"] == "+8801711000012"
    stack.pump.drain()
    items = timeline(api, started["ticket"]["id"])
    [message] = [i for i in items if i.get("type") == "message"]
    assert (message["direction"], message["channel"], message["status"]) == ("out", "sms", "sent")
    assert message["recipient"] == "+8801711000012"
    assert "sla.breached" not in [i.get("type") for i in items]
    # the customer's answer joins that ticket and reopens it
    answer = sms(stack, "ধন্যবাদ, পেয়েছি", sender="01711000012")
    stack.pump.drain()
    assert outcome(answer) == "appended"
    status, ticket = api.get(f"/api/tickets/{started['ticket']['id']}")
    assert ticket["status"] == "open"


@pytest.mark.parametrize("body,field", [
    ({"body": "hi"}, "phone"), ({"phone": "123", "body": "hi"}, "phone"),
    ({"phone": "01711000013"}, "body"), ({"phone": "01711000013", "body": "x", "channel": "fax"}, "channel"),
    ({"email": "a@example.com", "body": "x", "channel": "sms"}, "phone"),
    ({"phone": "01711000013", "body": "x", "colour": "red"}, "colour"),
])
def test_bad_conversation_starts_are_422(api, body, field):
    status, error = api.post("/api/tickets", body)
    assert status == 422 and field in error["error"]["fields"], error


def test_help_keyword_answers_and_is_recorded_once(stack, api):
    created = new_ticket(api, phone="01711000020", email="")
    first = sms(stack, "HELP", sender="01711000020")
    sms(stack, "HELP", sender="01711000020", message_id=first)  # redelivered
    stranger = sms(stack, "সাহায্য", sender="01711000021")  # no ticket: answered directly
    stack.pump.drain()
    assert outcome(first) == "help" and outcome(stranger) == "help"
    helps = [i for i in timeline(api, created["id"]) if i.get("kind") == "help"]
    assert len(helps) == 1 and helps[0]["status"] == "sent" and "STOP" in helps[0]["body"]


def delivery_event(stack, message_id, event_type, *, final=True, envelope=False, **extra) -> None:
    """An End User Messaging SMS event, as its configuration set's SNS destination publishes it."""
    event = {"eventType": event_type, "eventVersion": "1.0", "eventTimestamp": 1764000000000,
             "isFinal": final, "originationPhoneNumber": BUSINESS, "messageId": message_id,
             "messageEncoding": "UCS2", "messageType": "TRANSACTIONAL",
             "messageStatus": event_type.removeprefix("TEXT_"),
             "messageStatusDescription": extra.pop("description", "carrier report"),
             "carrierName": "Grameenphone", "totalMessageParts": 2, "totalMessagePrice": 0.0415,
             "totalCarrierFee": 0.0, **extra}
    if envelope:  # the EventBridge shape: the same event under "detail"
        event = {"version": "0", "detail-type": "Text Message Delivery Status Updated",
                 "source": "aws.sms-voice", "detail": event}
    boto3.client("sns").publish(TopicArn=stack.outputs["SmsEventsTopicArn"],
                                Message=json.dumps(event))


def _sms_ack(api, ticket_id):
    return [i for i in timeline(api, ticket_id) if i.get("kind") == "ack" and i["channel"] == "sms"][0]


def test_delivery_events_mark_the_sms_delivered_once_in_any_order(stack, api):
    created = new_ticket(api, phone="01711000030", email="", message="বিল")
    stack.pump.drain()
    ack = _sms_ack(api, created["id"])
    assert ack["status"] == "sent" and ack["provider_id"]
    delivery_event(stack, ack["provider_id"], "TEXT_QUEUED", final=False)
    delivery_event(stack, ack["provider_id"], "TEXT_DELIVERED", envelope=True)
    delivery_event(stack, ack["provider_id"], "TEXT_DELIVERED")  # published twice
    delivery_event(stack, ack["provider_id"], "TEXT_UNREACHABLE")  # late, after the final state
    stack.pump.drain()
    assert _sms_ack(api, created["id"])["status"] == "delivered"
    items = timeline(api, created["id"])
    delivered = [i for i in items if i.get("type") == "message.delivered"]
    assert len(delivered) == 1
    assert delivered[0]["data"]["carrier"] == "Grameenphone" and delivered[0]["data"]["parts"] == 2
    assert not [i for i in items if i.get("type") == "message.failed"]
    marker = Key.get(f"inbound#sms-event#{ack['provider_id']}#TEXT_UNREACHABLE", "_")
    assert marker.data.as_dict()["outcome"] == "ignored"


def test_failed_sms_reply_is_marked_and_an_invalid_number_is_suppressed(stack, api):
    created = new_ticket(api, phone="01711000031", email="both@example.com", message="help",
                         lang="en")
    stack.pump.drain()
    # the web form acks by email; an agent texts the customer
    status, sent = api.post(f"/api/tickets/{created['id']}/replies",
                            {"body": "We called you", "channel": "sms"})
    assert status == 201, sent
    stack.pump.drain()
    reply = [i for i in timeline(api, created["id"]) if i.get("kind") == "reply"][0]
    delivery_event(stack, reply["provider_id"], "TEXT_INVALID", description="Invalid number")
    stack.pump.drain()
    items = timeline(api, created["id"])
    reply = [i for i in items if i.get("kind") == "reply"][0]
    assert reply["status"] == "failed" and "TEXT_INVALID" in reply["error"]
    failed = [i for i in items if i.get("type") == "message.failed"]
    assert len(failed) == 1 and failed[0]["data"]["reason"] == "failed"
    # an agent reply is not rerouted (the agent chooses), but the number is now suppressed
    assert not [i for i in items if i.get("type") == "message.fallback"]
    assert Key.get("suppress#sms#+8801711000031", "_").target == "undeliverable"


def test_failed_automatic_sms_notice_is_rerouted_to_email(stack, api):
    first = sms(stack, "My bill is wrong", sender="01711000032")
    stack.pump.drain()
    ticket = _only_ticket(api, "01711000032")
    assert outcome(first) == "created"
    # the customer's email became known later (editing customers is issue 7's API)
    from chalicelib.db.models import Customer

    status, full = api.get(f"/api/tickets/{ticket['id']}")
    Customer.get(full["customer"]["id"]).update(actions=[Customer.emails.add({"late@example.com"})])
    ack = _sms_ack(api, ticket["id"])
    delivery_event(stack, ack["provider_id"], "TEXT_CARRIER_UNREACHABLE")
    stack.pump.drain()
    items = timeline(api, ticket["id"])
    assert _sms_ack(api, ticket["id"])["status"] == "failed"
    [rerouted] = [i for i in items if i.get("kind") == "ack" and i["channel"] == "email"]
    assert rerouted["recipient"] == "late@example.com" and rerouted["status"] == "sent"
    assert rerouted["fallback"][0]["channel"] == "sms"
    # a temporary failure does not suppress the number
    with pytest.raises(Key.DoesNotExist):
        Key.get("suppress#sms#+8801711000032", "_")


@pytest.mark.parametrize("payload,outcome_", [
    ("not json", "rejected"),
    (json.dumps({"eventType": "EMAIL_SENT", "messageId": "x"}), "rejected"),
    (json.dumps({"eventType": "TEXT_DELIVERED"}), "rejected"),
    (json.dumps(["TEXT_DELIVERED"]), "rejected"),
    (json.dumps({"eventType": "TEXT_DELIVERED", "messageId": "never-sent"}), "unmatched"),
])
def test_bad_or_unknown_delivery_events_are_recorded(stack, payload, outcome_):
    from chalicelib.events import inbound

    assert inbound.sms_delivery_event(payload, "sns-" + uuid.uuid4().hex) == outcome_
    published = boto3.client("sns").publish(TopicArn=stack.outputs["SmsEventsTopicArn"],
                                             Message=payload)
    stack.pump.drain()  # the handler does not raise: nothing is retried or lost
    key = (f"inbound#sms-event#never-sent#TEXT_DELIVERED" if outcome_ == "unmatched"
           else f"inbound#sms-event#{published['MessageId']}")
    assert Key.get(key, "_").data.as_dict()["outcome"] == outcome_


def test_a_fresh_event_for_an_unknown_message_is_retried_not_dropped(stack):
    import time

    from chalicelib.events import inbound
    from chalicelib.services.inbound import sms_events

    fresh = json.dumps({"eventType": "TEXT_DELIVERED", "messageId": "not-recorded-yet",
                        "eventTimestamp": int(time.time() * 1000), "isFinal": True})
    with pytest.raises(sms_events.NotYetKnown):
        inbound.sms_delivery_event(fresh, "sns-fresh")
    with pytest.raises(Key.DoesNotExist):  # no marker: a later try can still apply it
        Key.get("inbound#sms-event#not-recorded-yet#TEXT_DELIVERED", "_")
