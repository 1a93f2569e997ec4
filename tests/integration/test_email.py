"""The email channel against the emulated AWS: mail arrives as SES delivers it (raw MIME in the
bucket, the receipt notification on the topic), the pump hands it to the app's handler."""
from __future__ import annotations

import json
import secrets
import uuid
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import boto3
import pytest

from chalicelib.db.models import Key
from tests.integration.helpers import Api, new_ticket, timeline

SUPPORT = "support@setu.local"


def ses_deliver(stack, raw: bytes, *, recipients=(SUPPORT,), source="rahim@example.com",
                verdicts=None, ses_id=None) -> str:
    """Do what SES receiving does: store the raw mail, publish the receipt notification."""
    ses_id = ses_id or secrets.token_hex(16)
    key = f"inbound/{ses_id}"
    boto3.client("s3").put_object(Bucket=stack.outputs["MailBucket"], Key=key, Body=raw)
    verdict = {"spam": "PASS", "virus": "PASS", "spf": "PASS", "dkim": "PASS", "dmarc": "PASS",
               **(verdicts or {})}
    notification = {
        "notificationType": "Received",
        "mail": {"timestamp": "2026-11-23T08:00:00.000Z", "source": source, "messageId": ses_id,
                 "destination": list(recipients), "headersTruncated": False, "headers": [],
                 "commonHeaders": {}},
        "receipt": {"timestamp": "2026-11-23T08:00:00.000Z", "processingTimeMillis": 10,
                    "recipients": list(recipients),
                    "spamVerdict": {"status": verdict["spam"]},
                    "virusVerdict": {"status": verdict["virus"]},
                    "spfVerdict": {"status": verdict["spf"]},
                    "dkimVerdict": {"status": verdict["dkim"]},
                    "dmarcVerdict": {"status": verdict["dmarc"]},
                    "action": {"type": "S3", "topicArn": stack.outputs["InboundEmailTopicArn"],
                               "bucketName": stack.outputs["MailBucket"],
                               "objectKeyPrefix": "inbound/", "objectKey": key}}}
    boto3.client("sns").publish(TopicArn=stack.outputs["InboundEmailTopicArn"],
                                Message=json.dumps(notification))
    return ses_id


def mail(*, sender="Rahim Uddin <rahim@example.com>", to=SUPPORT, subject="অর্ডার আসেনি",
         body="আমার অর্ডার ৩ দিন হলো আসেনি।", headers=None, message_id=None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = format_datetime(__import__("datetime").datetime.now().astimezone())
    msg["Message-ID"] = message_id or make_msgid(domain="mail.example.com")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg


DSN = """From: Mail Delivery Subsystem <mailer-daemon@example.com>
To: support@setu.local
Subject: Delivery Status Notification (Failure)
Message-ID: <dsn-1@example.com>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Your message to gone@example.com could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; gone@example.com
Action: failed
Status: 5.1.1

--b1
Content-Type: message/rfc822

Message-ID: {original_id}
From: support@setu.local
To: gone@example.com
Subject: {subject}

ack
--b1--
"""


def outcome(ses_id: str) -> dict:
    return Key.get(f"inbound#email#{ses_id}", "_").data.as_dict()


@pytest.fixture
def api(stack):
    return Api(stack.client)


def _tickets(api, q):
    status, page = api.get(f"/api/tickets?q={q}")
    assert status == 200
    return page["items"]


def test_new_mail_creates_a_ticket_with_a_threaded_ack(stack, api):
    original = mail()
    ses_id = ses_deliver(stack, original.as_bytes())
    stack.pump.drain()
    assert outcome(ses_id)["outcome"] == "created"
    [ticket] = _tickets(api, "rahim@example.com")
    items = timeline(api, ticket["id"])
    received = [i for i in items if i.get("direction") == "in"][0]
    assert received["channel"] == "email" and received["message_id"] == original["Message-ID"]
    assert received["body"] == "আমার অর্ডার ৩ দিন হলো আসেনি।"
    assert received["raw_key"] == f"inbound/{ses_id}"
    ack = [i for i in items if i.get("kind") == "ack"][0]
    assert ack["status"] == "sent" and ack["in_reply_to"] == original["Message-ID"]
    assert ack["reply_to"].startswith("support+") and ack["reply_to"].endswith("@setu.local")
    assert ticket["lang"] == "bn" and ticket["channel"] == "email"


def test_same_notification_twice_is_one_message(stack, api):
    raw = mail(sender="dup@example.com").as_bytes()
    ses_id = ses_deliver(stack, raw)
    ses_deliver(stack, raw, ses_id=ses_id)
    stack.pump.drain()
    [ticket] = _tickets(api, "dup@example.com")
    assert len([i for i in timeline(api, ticket["id"]) if i.get("direction") == "in"]) == 1


def test_the_same_message_delivered_again_or_twice_at_once_is_one_message(stack, api, monkeypatch):
    from dataclasses import replace

    from chalicelib.services.inbound import email as email_in

    # an MTA retrying after a lost "250 OK", or one mail sent to two of our addresses: SES gives
    # each copy its own receipt; the Message-ID is the same
    raw = mail(sender="copy@example.com").as_bytes()
    first = ses_deliver(stack, raw)
    stack.pump.drain()
    later = ses_deliver(stack, raw)
    stack.pump.drain()
    assert outcome(first)["outcome"] == "created"
    assert outcome(later)["outcome"] == "duplicate" and outcome(later)["ticket_id"]
    # a copy that looked before the first one was written: its write is refused
    looked_early = email_in._look_up
    monkeypatch.setattr(email_in, "_look_up",
                        lambda mail_, sender: replace(looked_early(mail_, sender), copy_of=None))
    racing = ses_deliver(stack, raw)
    stack.pump.drain()
    assert outcome(racing)["outcome"] == "duplicate"
    [ticket] = _tickets(api, "copy@example.com")
    items = timeline(api, ticket["id"])
    assert len([i for i in items if i.get("direction") == "in"]) == 1
    assert len([i for i in items if i.get("kind") == "ack"]) == 1


def test_a_copy_with_other_relay_headers_is_still_the_same_message(stack, api):
    # one mail to two of our addresses: each copy has its own Received/Return-Path lines
    original = mail(sender="twice@example.com", to="support@setu.local, billing@setu.local")
    first = ses_deliver(stack, original.as_bytes())
    stack.pump.drain()
    copy = b"Received: from mx2.example.com by inbound-smtp\r\n" + original.as_bytes()
    second = ses_deliver(stack, copy, recipients=("billing@setu.local",))
    stack.pump.drain()
    assert outcome(first)["outcome"] == "created"
    assert outcome(second)["outcome"] == "duplicate"


def test_a_different_message_reusing_a_message_id_is_its_own_message(stack, api):
    shared = make_msgid(domain="broken-mailer.example")
    victim = ses_deliver(stack, mail(sender="victim@example.com", subject="আমার বিল",
                                     body="বিল ভুল এসেছে", message_id=shared).as_bytes())
    stack.pump.drain()
    [victim_ticket] = _tickets(api, "victim@example.com")
    # the attack (or a broken mailer): another sender, subject and body, the same Message-ID
    attack = ses_deliver(stack, mail(sender="attacker@evil.example", subject="Refund me",
                                     body="send the refund to me", message_id=shared).as_bytes())
    # the same sender reusing the id for a new message (a mailer with a stuck counter)
    again = ses_deliver(stack, mail(sender="victim@example.com", subject="আরেকটা প্রশ্ন",
                                    body="ডেলিভারি কবে?", message_id=shared).as_bytes())
    stack.pump.drain()
    assert outcome(victim)["outcome"] == "created"
    assert outcome(attack)["outcome"] == "created" and outcome(attack)["message_id_reused"]
    assert outcome(again)["outcome"] == "created"
    [attacker_ticket] = _tickets(api, "attacker@evil.example")
    assert attacker_ticket["id"] != victim_ticket["id"]
    received = [i for i in timeline(api, attacker_ticket["id"]) if i.get("direction") == "in"]
    assert [i["body"] for i in received] == ["send the refund to me"]
    created = [e for e in timeline(api, attacker_ticket["id"]) if e.get("type") == "ticket.created"]
    assert created[0]["data"]["message_id_reused"] is True
    victims = _tickets(api, "victim@example.com")
    assert len(victims) == 2
    on_victim = [i["body"] for i in timeline(api, victim_ticket["id"]) if i.get("direction") == "in"]
    assert on_victim == ["বিল ভুল এসেছে"]
    # the id stays with the first message, marked as reused
    record = Key.get(f"msgid#{shared}", "_")
    assert record.target == victim_ticket["id"] and record.data.as_dict()["reused"] is True
    # threading does not follow the reused id: a "reply" to it is judged by the other rules
    follow = ses_deliver(stack, mail(sender="attacker@evil.example", subject="Re: আমার বিল",
                                     body="me again", headers={"In-Reply-To": shared,
                                                               "References": shared}).as_bytes())
    stack.pump.drain()
    assert outcome(follow)["outcome"] == "created"
    assert outcome(follow)["ticket_id"] not in (victim_ticket["id"],)
    on_victim = [i for i in timeline(api, victim_ticket["id"]) if i.get("direction") == "in"]
    assert len(on_victim) == 1 and not [i for i in on_victim if i.get("status") == "held"]
    # a real reply to our acknowledgement still threads by its own (unique) id
    ack = _ack_of(api, victim_ticket["id"])
    reply = ses_deliver(stack, mail(sender="victim@example.com", subject="Re: ack", body="ok",
                                    headers={"In-Reply-To": ack["message_id"],
                                             "References": f"{shared} {ack['message_id']}"}).as_bytes())
    stack.pump.drain()
    assert outcome(reply)["outcome"] == "appended"
    assert outcome(reply)["ticket_id"] == victim_ticket["id"]


def test_a_reused_message_id_racing_the_first_message_is_still_its_own(stack, api, monkeypatch):
    from dataclasses import replace

    from chalicelib.services.inbound import email as email_in

    shared = make_msgid(domain="race.example")
    ses_deliver(stack, mail(sender="first@example.com", body="first", message_id=shared).as_bytes())
    stack.pump.drain()
    looked_early = email_in._look_up  # looked before the first one was written
    monkeypatch.setattr(email_in, "_look_up", lambda mail_, sender: replace(
        looked_early(mail_, sender), copy_of=None, copy_data=None))
    racing = ses_deliver(stack, mail(sender="second@example.com", body="second",
                                     message_id=shared).as_bytes())
    stack.pump.drain()
    assert outcome(racing)["outcome"] == "created"
    [ticket] = _tickets(api, "second@example.com")
    assert [i["body"] for i in timeline(api, ticket["id"]) if i.get("direction") == "in"] == ["second"]


def _ack_of(api, ticket_id):
    return [i for i in timeline(api, ticket_id) if i.get("kind") == "ack"][0]


def test_reply_by_headers_token_and_subject_joins_the_ticket(stack, api):
    ses_deliver(stack, mail(sender="karim@example.com", subject="Refund").as_bytes())
    stack.pump.drain()
    [ticket] = _tickets(api, "karim@example.com")
    ack = _ack_of(api, ticket["id"])
    # 1. a mail client's reply: In-Reply-To and References, quoted text below
    reply = mail(sender="karim@example.com", subject="Re: " + ack["subject"],
                 body="Thanks, still waiting.\n\nOn Mon, 23 Nov 2026 at 10:00, Setu <support@setu.local> wrote:\n> We received your request\n",
                 headers={"In-Reply-To": ack["message_id"], "References": ack["message_id"]})
    by_headers = ses_deliver(stack, reply.as_bytes())
    # 2. no threading headers, but sent to the signed Reply-To
    by_token = ses_deliver(stack, mail(sender="karim@example.com", to=ack["reply_to"],
                                       subject="another thing", body="Token reply").as_bytes(),
                           recipients=[ack["reply_to"]])
    # 3. only the ref in the subject, from the customer's own address
    by_subject = ses_deliver(stack, mail(sender="karim@example.com",
                                         subject=f"about [#{ticket['ref']}]", body="Subject reply").as_bytes())
    stack.pump.drain()
    assert [outcome(i)["outcome"] for i in (by_headers, by_token, by_subject)] == ["appended"] * 3
    bodies = [i["body"] for i in timeline(api, ticket["id"]) if i.get("direction") == "in"]
    assert bodies[1:] == ["Thanks, still waiting.", "Token reply", "Subject reply"]
    assert len(_tickets(api, "karim@example.com")) == 1


def test_forged_token_and_stranger_subject_ref_open_new_tickets(stack, api):
    created = new_ticket(api, email="owner@example.com")
    forged = ses_deliver(stack, mail(sender="owner@example.com", to=f"support+{created['ref']}.aaaaaaaaaa@setu.local",
                                     subject="hi", body="forged").as_bytes(),
                         recipients=[f"support+{created['ref']}.aaaaaaaaaa@setu.local"])
    stranger = ses_deliver(stack, mail(sender="stranger@example.com",
                                       subject=f"[#{created['ref']}] hello", body="x").as_bytes())
    stack.pump.drain()
    assert outcome(forged)["outcome"] == "created"
    assert outcome(stranger)["outcome"] == "created"
    assert outcome(stranger)["ticket_id"] != created["id"]


def test_unknown_sender_replying_by_headers_is_held(stack, api):
    created = new_ticket(api, email="owner2@example.com")
    stack.pump.drain()
    ack = _ack_of(api, created["id"])
    ses_id = ses_deliver(stack, mail(sender="someone.else@example.com", subject="Re: x",
                                     body="I am not the customer",
                                     headers={"In-Reply-To": ack["message_id"]}).as_bytes())
    stack.pump.drain()
    assert outcome(ses_id)["outcome"] == "held"
    held = [i for i in timeline(api, created["id"]) if i.get("status") == "held"]
    assert [h["sender"] for h in held] == ["someone.else@example.com"]
    assert "message.held" in [i.get("type") for i in timeline(api, created["id"])]


def test_out_of_office_reply_gets_no_ack(stack, api):
    ses_id = ses_deliver(stack, mail(sender="ooo@example.com", subject="Automatic reply: your request",
                                     body="I am out of the office until Monday.",
                                     headers={"Auto-Submitted": "auto-replied",
                                              "X-Auto-Response-Suppress": "All"}).as_bytes())
    stack.pump.drain()
    assert outcome(ses_id)["outcome"] == "created"
    [ticket] = _tickets(api, "ooo@example.com")
    items = timeline(api, ticket["id"])
    assert not [i for i in items if i.get("kind") == "ack"]
    assert "auto-submitted" in [i for i in items if i.get("direction") == "in"][0]["automatic"]


def test_spam_and_virus_verdicts_are_quarantined(stack, api):
    spam = ses_deliver(stack, mail(sender="spam@example.com").as_bytes(), verdicts={"spam": "FAIL"})
    virus = ses_deliver(stack, mail(sender="virus@example.com").as_bytes(), verdicts={"virus": "FAIL"})
    stack.pump.drain()
    assert outcome(spam)["outcome"] == outcome(virus)["outcome"] == "rejected"
    assert "virus" in outcome(virus)["reason"]
    assert _tickets(api, "spam@example.com") == []


def test_garbage_notification_and_missing_object_are_recorded_not_raised(stack):
    import app

    event = {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:x",
                          "Sns": {"Type": "Notification", "MessageId": str(uuid.uuid4()),
                                  "TopicArn": stack.outputs["InboundEmailTopicArn"], "Subject": None,
                                  "Message": "{not json", "Timestamp": "2026-11-23T00:00:00.000Z",
                                  "MessageAttributes": {}}}]}
    app.inbound_email(event, None)
    stored = list(Key.query(f"inbound#email-rejected#{event['Records'][0]['Sns']['MessageId']}"))
    assert len(stored) == 1
    ses_id = secrets.token_hex(8)
    ses_deliver(stack, b"x", ses_id=ses_id)
    boto3.client("s3").delete_object(Bucket=stack.outputs["MailBucket"], Key=f"inbound/{ses_id}")
    stack.pump.drain()
    assert outcome(ses_id)["outcome"] == "rejected"


def test_bounce_of_our_mail_marks_it_failed_and_suppresses_the_address(stack, api):
    created = new_ticket(api, email="gone@example.com", phone="01711000999")
    stack.pump.drain()
    ack = _ack_of(api, created["id"])
    dsn = DSN.format(original_id=ack["message_id"], subject=ack["subject"]).encode()
    ses_id = ses_deliver(stack, dsn, source="")
    stack.pump.drain()
    assert outcome(ses_id)["outcome"] == "bounced"
    assert _ack_of(api, created["id"])["status"] == "bounced"
    assert Key.get("suppress#email#gone@example.com", "_").target == "bounce"
    # the bounced acknowledgement goes again by SMS, and says why
    items = timeline(api, created["id"])
    [sms_ack] = [i for i in items if i.get("kind") == "ack" and i.get("channel") == "sms"]
    assert sms_ack["status"] == "sent" and sms_ack["fallback"][0]["channel"] == "email"
    assert "message.fallback" in [i.get("type") for i in items]
    # the next notification falls back to the phone
    status, sent = api.post(f"/api/tickets/{created['id']}/replies", {"body": "Calling you instead"})
    assert status == 201 and sent["channel"] == "sms"


def test_ses_bounce_and_complaint_notifications_suppress(stack, api):
    created = new_ticket(api, email="hard@example.com")
    stack.pump.drain()
    ack = _ack_of(api, created["id"])
    topic = stack.outputs["SesEventsTopicArn"]
    bounce = {"notificationType": "Bounce", "mail": {"messageId": ack["provider_id"]},
              "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                         "bouncedRecipients": [{"emailAddress": "hard@example.com"}]}}
    complaint = {"notificationType": "Complaint", "mail": {"messageId": "unknown-id"},
                 "complaint": {"complainedRecipients": [{"emailAddress": "angry@example.com"}],
                               "complaintFeedbackType": "abuse"}}
    sns = boto3.client("sns")
    for body in (bounce, bounce, complaint, "not json"):
        sns.publish(TopicArn=topic, Message=body if isinstance(body, str) else json.dumps(body))
    stack.pump.drain()
    assert Key.get("suppress#email#hard@example.com", "_").target == "bounce"
    assert Key.get("suppress#email#angry@example.com", "_").target == "complaint"
    items = timeline(api, created["id"])
    assert _ack_of(api, created["id"])["status"] == "bounced"
    assert len([i for i in items if i.get("type") == "message.failed"]) == 1
    # a new web ticket from the suppressed address records its ack as suppressed
    again = new_ticket(api, email="hard@example.com")
    assert _ack_of(api, again["id"])["status"] == "suppressed"


def test_agent_reply_is_threaded_mail(stack, api):
    original = mail(sender="thread@example.com", subject="Wifi down")
    ses_deliver(stack, original.as_bytes())
    stack.pump.drain()
    [ticket] = _tickets(api, "thread@example.com")
    status, sent = api.post(f"/api/tickets/{ticket['id']}/replies", {"body": "Restart the <router>."})
    assert status == 201 and sent["channel"] == "email"
    stack.pump.drain()
    reply = [i for i in timeline(api, ticket["id"]) if i.get("kind") == "reply"][0]
    assert reply["status"] == "sent" and reply["in_reply_to"]
    assert f"#{ticket['ref']}" in reply["subject"] or "#" in reply["subject"]
    from chalicelib.db.models import TimelineItem

    [stored] = [i for i in TimelineItem.query(ticket["id"]) if i.kind == "reply"]
    assert stored.body == "Restart the <router>." and "Restart the &lt;router&gt;." in stored.html


def test_agent_reply_with_attachments_and_bad_attachments(stack, api):
    import base64

    created = new_ticket(api, email="files@example.com")
    pdf = b"%PDF-1.4 receipt"
    status, sent = api.post(f"/api/tickets/{created['id']}/replies", {"body": "Your receipt.", "attachments": [
        {"filename": "রসিদ.pdf", "content_type": "application/pdf",
         "content_base64": base64.b64encode(pdf).decode()}]})
    assert status == 201, sent
    stack.pump.drain()
    reply = [i for i in timeline(api, created["id"]) if i.get("kind") == "reply"][0]
    assert reply["status"] == "sent" and reply["attachments"][0]["filename"] == "রসিদ.pdf"
    # the files the sender attaches come back from the bucket byte for byte
    from chalicelib.db.models import TimelineItem
    from chalicelib.services.messaging import channels

    [stored] = [i for i in TimelineItem.query(created["id"]) if i.kind == "reply"]
    assert channels._files(stored) == [("রসিদ.pdf", "application/pdf", pdf)]
    for body, field in (({"body": "x", "attachments": "nope"}, "attachments"),
                        ({"body": "x", "attachments": [{"filename": "a.exe", "content_type": "application/x-msdownload",
                                                        "content_base64": "TVqQ"}]}, "attachments.0"),
                        ({"body": "x", "attachments": [{"filename": "a.pdf"}]}, "attachments[0]"),
                        ({"body": "x", "channel": "sms", "attachments": [{"filename": "a.pdf", "content_type": "application/pdf",
                                                                          "content_base64": base64.b64encode(pdf).decode()}]}, "attachments")):
        status, error = api.post(f"/api/tickets/{created['id']}/replies", body)
        assert status == 422 and field in error["error"]["fields"], (body, error)
    assert len([i for i in timeline(api, created["id"]) if i.get("kind") == "reply"]) == 1


def test_provider_failure_reroutes_the_ack_once(stack, api, monkeypatch):
    from chalicelib.integrations import email_out, sms_out

    def ses_down(*args, **kwargs):
        raise ConnectionError("SES is unreachable")

    monkeypatch.setattr(email_out, "send", ses_down)
    created = new_ticket(api, email="outage@example.com", phone="01711000444")
    stack.pump.drain()
    acks = [i for i in timeline(api, created["id"]) if i.get("kind") == "ack"]
    assert [(a["channel"], a["status"]) for a in acks] == [("email", "failed"), ("sms", "sent")]
    assert "SES is unreachable" in acks[1]["fallback"][0]["failed"]

    # SMS down too: one hop only, no ping-pong back to email
    monkeypatch.setattr(sms_out, "send", ses_down)
    again = new_ticket(api, email="outage2@example.com", phone="01711000445")
    stack.pump.drain()
    acks = [i for i in timeline(api, again["id"]) if i.get("kind") == "ack"]
    assert [(a["channel"], a["status"]) for a in acks] == [("email", "failed"), ("sms", "failed")]


def test_ses_refusing_the_sender_fails_the_ack_once_and_reroutes_it(stack, api):
    """The emulator itself refuses (MessageRejected: no authority to send from an identity that
    is not verified, as SES answers before the domain is): a real botocore error from the
    emulated SES, not a patched function."""
    from local import stack as local_stack

    ses = boto3.client("ses")
    for identity in (local_stack.SUPPORT_DOMAIN, local_stack.SUPPORT_ADDRESS):
        ses.delete_identity(Identity=identity)
    try:
        created = new_ticket(api, email="unverified@example.com", phone="01711000446")
        stack.pump.drain()
        stack.pump.drain()  # a second pass sends nothing more
    finally:
        ses.verify_domain_identity(Domain=local_stack.SUPPORT_DOMAIN)
        ses.verify_email_identity(EmailAddress=local_stack.SUPPORT_ADDRESS)
    items = timeline(api, created["id"])
    acks = [i for i in items if i.get("kind") == "ack"]
    assert [(a["channel"], a["status"]) for a in acks] == [("email", "failed"), ("sms", "sent")]
    assert "MessageRejected" in acks[0]["error"] and "MessageRejected" in acks[1]["fallback"][0]["failed"]
    assert [i.get("type") for i in items].count("message.failed") == 1


def test_mail_attachments_follow_the_forms_file_policy_and_what_is_dropped_is_recorded(stack, api):
    """Issue 20: a file is judged by its content (not its declared type) and by the form's size
    and count limits; what is not kept is listed on the message with why."""
    from chalicelib.services.portal import webform

    limit = webform.limits_from_settings().max_attachment_bytes
    msg = mail(sender="files@example.com", subject="Invoice", body="Files attached")
    msg.add_attachment(b"%PDF-1.7\n" + b"0" * 100, maintype="application", subtype="octet-stream",
                       filename="invoice.pdf")  # generic type: the content says PDF
    msg.add_attachment(b"MZ\x90\x00\x03\x00\x00\x00" * 10, maintype="application",
                       subtype="x-msdownload", filename="setup.exe")
    msg.add_attachment(b"just text", maintype="image", subtype="png", filename="photo.png")
    msg.add_attachment(b"\x89PNG\r\n\x1a\n" + b"\x00" * limit, maintype="image", subtype="png",
                       filename="huge.png")
    ses_id = ses_deliver(stack, msg.as_bytes(), source="files@example.com")
    stack.pump.drain()
    assert outcome(ses_id)["outcome"] == "created"
    [ticket] = _tickets(api, "files@example.com")
    [received] = [i for i in timeline(api, ticket["id"]) if i.get("direction") == "in"]
    assert [(a["filename"], a["content_type"]) for a in received["attachments"]] == [
        ("invoice.pdf", "application/pdf")]
    assert {d["filename"]: d["why"] for d in received["dropped"]} == {
        "setup.exe": "file_type", "photo.png": "file_content", "huge.png": "file_too_large"}
