"""Event handlers on redelivery: inbound notifications recorded once, a queued message sent once."""
import json

import boto3

from chalicelib.db.models import Key, TimelineItem
from chalicelib.services import dispatch
from tests.integration.helpers import Api, new_ticket, timeline


def test_inbound_sms_notification_recorded_once_even_if_delivered_twice(stack):
    import app

    sns_record = {"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:x",
                  "Sns": {"Type": "Notification", "MessageId": "11111111-2222-3333-4444-555555555555",
                          "TopicArn": stack.outputs["InboundSmsTopicArn"], "Subject": None,
                          "Message": json.dumps({"originationNumber": "+8801711000000",
                                                 "messageBody": "হ্যালো", "inboundMessageId": "abc"}),
                          "Timestamp": "2026-11-23T00:00:00.000Z", "MessageAttributes": {}}}
    for _ in range(3):
        app.inbound_sms({"Records": [sns_record]}, None)
    stored = list(Key.query("inbound#sms#11111111-2222-3333-4444-555555555555"))
    assert len(stored) == 1
    assert json.loads(stored[0].data.as_dict()["payload"])["messageBody"] == "হ্যালো"


def test_sms_published_to_the_topic_reaches_the_handler(stack):
    published = boto3.client("sns").publish(
        TopicArn=stack.outputs["InboundSmsTopicArn"],
        Message=json.dumps({"originationNumber": "+8801711000000", "messageBody": "STOP",
                            "inboundMessageId": "def"}))
    stack.pump.drain()
    assert list(Key.query(f"inbound#sms#{published['MessageId']}"))


def test_a_queued_message_is_sent_once_when_its_record_is_redelivered(stack):
    api = Api(stack.client)
    created = new_ticket(api)
    ack = [i for i in TimelineItem.query(created["id"]) if i.kind == "ack"][0]
    outcomes = [dispatch.dispatch(TimelineItem.get(created["id"], ack.sk)) for _ in range(1)]
    # the stored item is now `sent`; a redelivered stream record carries the old image (queued)
    outcomes.append(dispatch.dispatch(ack))
    stack.pump.drain()
    assert outcomes == ["sent", "already-claimed"]
    sent = [e for e in timeline(api, created["id"]) if e.get("type") == "message.sent"]
    assert len(sent) == 1
