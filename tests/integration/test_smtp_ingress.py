"""The local SMTP ingress (local/smtp.py) against the emulator: mail sent by SMTP is stored in the
mail bucket and announced on the inbound-email topic exactly as SES receiving does with an S3
action. The notification is read from an SQS queue of our own subscribed to the topic."""
from __future__ import annotations

import json
import random
import re
import smtplib
import time
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTPUTF8
from email.utils import format_datetime, make_msgid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from local import stack as local_stack
from local.smtp import MAX_MESSAGE_BYTES, SmtpIngress

SUPPORT = "support@setu.local"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SES_ID = re.compile(r"^[a-z0-9]{20,32}$")
ADDED = ("Return-Path", "Received", "X-SES-Spam-Verdict", "X-SES-Virus-Verdict")


@pytest.fixture
def ingress(stack):
    with SmtpIngress(local_stack.free_port(), stack.endpoint, stack.outputs) as running:
        yield running


@pytest.fixture
def inbox(stack):
    """An SQS queue subscribed to the inbound-email topic: SNS envelopes as Lambda gets them."""
    sqs = local_stack.client("sqs", stack.endpoint)
    sns = local_stack.client("sns", stack.endpoint)
    url = sqs.create_queue(QueueName=f"setu-{stack.stage}-test-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=stack.outputs["InboundEmailTopicArn"], Protocol="sqs", Endpoint=arn)

    def receive(expected: int = 1, timeout: float = 5.0) -> list[dict]:
        """SNS envelopes (Message parsed into `notification`): waits for `expected` of them,
        then takes whatever else is there (the ingress publishes before it answers 250, and
        the emulator's SNS hands the message to SQS during the publish)."""
        envelopes: list[dict] = []
        deadline = time.monotonic() + timeout
        while True:
            enough = len(envelopes) >= expected
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=0 if enough else 1).get("Messages", [])
            for message in messages:
                envelope = json.loads(message["Body"])
                envelope["notification"] = json.loads(envelope["Message"])
                envelopes.append(envelope)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if (enough and not messages) or time.monotonic() > deadline:
                return envelopes

    return receive


def _objects(stack) -> dict[str, bytes]:
    s3 = local_stack.client("s3", stack.endpoint)
    bucket = stack.outputs["MailBucket"]
    listing = s3.list_objects_v2(Bucket=bucket, Prefix="inbound/").get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listing}


def _split_added(stored: bytes, sent: bytes) -> list[str]:
    """The stored object is SES's header lines followed by exactly what was sent."""
    assert stored.endswith(sent)
    prefix = stored[:len(stored) - len(sent)].decode("utf-8")
    assert prefix.endswith("\r\n")
    lines = prefix[:-2].split("\r\n")
    assert [line.split(":", 1)[0] for line in lines] == list(ADDED)
    return lines


def _smtp(ingress) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", ingress.port, timeout=10)


def _mail(**headers) -> bytes:
    lines = [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\nHello,\r\nmy order has not arrived.\r\n").encode()


def test_smtplib_mail_is_stored_raw_and_notified_in_the_ses_shape(stack, ingress, inbox):
    message_id = make_msgid(domain="mail.example.com")
    date = format_datetime(datetime.now().astimezone())
    sent = (
        "From: Rahim Uddin <rahim@example.com>\r\n"
        f"To: {SUPPORT}\r\n"
        "Subject: Order 1042 has not arrived\r\n"
        f"Date: {date}\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "X-Long: a folded\r\n"
        "\theader value\r\n"
        "\r\n"
        ".a line that starts with a dot (dot-stuffed on the wire)\r\n"
        "..two dots\r\n"
        "\r\n"
        "Thanks\r\n"
    ).encode()
    with _smtp(ingress) as client:
        assert client.sendmail("rahim@example.com", [SUPPORT], sent) == {}

    (envelope,) = inbox()
    assert envelope["Type"] == "Notification"
    assert envelope["TopicArn"] == stack.outputs["InboundEmailTopicArn"]
    assert envelope["Subject"] == "Amazon SES Email Receipt Notification"
    notification = envelope["notification"]
    assert set(notification) == {"notificationType", "mail", "receipt"}  # no content: S3 action
    assert notification["notificationType"] == "Received"

    mail, receipt = notification["mail"], notification["receipt"]
    ses_id = mail["messageId"]
    assert SES_ID.match(ses_id), ses_id
    assert set(mail) == {"timestamp", "source", "messageId", "destination", "headersTruncated",
                         "headers", "commonHeaders"}
    assert ISO.match(mail["timestamp"]) and ISO.match(receipt["timestamp"])
    assert mail["source"] == "rahim@example.com"
    assert mail["destination"] == [SUPPORT]
    assert mail["headersTruncated"] is False
    names = [h["name"] for h in mail["headers"]]
    assert names == [*ADDED, "From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
                     "Content-Type", "X-Long"]
    assert all(set(h) == {"name", "value"} for h in mail["headers"])
    values = {h["name"]: h["value"] for h in mail["headers"]}
    assert values["Return-Path"] == "<rahim@example.com>"
    assert values["X-Long"] == "a folded\theader value"  # unfolded
    assert f" id {ses_id} for {SUPPORT}; " in values["Received"]
    assert values["X-SES-Spam-Verdict"] == values["X-SES-Virus-Verdict"] == "PASS"
    assert mail["commonHeaders"] == {
        "returnPath": "rahim@example.com",
        "from": ["Rahim Uddin <rahim@example.com>"],
        "to": [SUPPORT],
        "date": date,
        "messageId": message_id,
        "subject": "Order 1042 has not arrived",
    }

    assert isinstance(receipt["processingTimeMillis"], int)
    assert receipt["recipients"] == [SUPPORT]
    assert receipt["spamVerdict"] == receipt["virusVerdict"] == {"status": "PASS"}
    for verdict in ("spfVerdict", "dkimVerdict", "dmarcVerdict"):
        assert receipt[verdict] == {"status": "GRAY"}
    assert receipt["action"] == {
        "type": "S3",
        "topicArn": stack.outputs["InboundEmailTopicArn"],
        "bucketName": stack.outputs["MailBucket"],
        "objectKeyPrefix": "inbound/",
        "objectKey": f"inbound/{ses_id}",
    }

    objects = _objects(stack)
    assert list(objects) == [f"inbound/{ses_id}"]
    added = _split_added(objects[f"inbound/{ses_id}"], sent)  # byte-identical after SES's lines
    assert added[0] == "Return-Path: <rahim@example.com>"
    assert added[1] == f"Received: {values['Received']}"
    assert " with ESMTP id " in added[1]


def test_helo_only_client_null_sender_and_the_data_reply(stack, ingress, inbox):
    sent = _mail(From="Mail Delivery System <MAILER-DAEMON@mx.example.com>", To=SUPPORT,
                 Subject="Undelivered Mail Returned to Sender")
    with _smtp(ingress) as client:
        assert client.helo()[0] == 250  # plain SMTP: no EHLO, no extensions
        assert client.mail("")[0] == 250  # MAIL FROM:<>, as bounces are sent
        assert client.rcpt(SUPPORT)[0] == 250
        code, reply = client.data(sent)
    assert code == 250
    (envelope,) = inbox()
    mail = envelope["notification"]["mail"]
    assert reply.decode() == f"Ok {mail['messageId']}"
    assert mail["source"] == ""
    assert mail["commonHeaders"]["returnPath"] == ""
    assert mail["headers"][0] == {"name": "Return-Path", "value": "<>"}
    assert " with SMTP id " in mail["headers"][1]["value"]
    (stored,) = _objects(stack).values()
    assert stored.startswith(b"Return-Path: <>\r\n")
    _split_added(stored, sent)


def test_recipients_outside_the_support_domain_are_refused_with_550(stack, ingress, inbox):
    with _smtp(ingress) as client:
        client.ehlo()
        client.mail("rahim@example.com")
        code, reply = client.rcpt("someone@example.com")
        assert code == 550, reply
        assert client.rcpt("support@setu.local.example.com")[0] == 550
        assert client.rcpt("support@sub.setu.local")[0] == 550
        client.rset()
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("rahim@example.com", ["other@example.org"], _mail(Subject="x"))
        # a mixed list: the outside recipient is refused, the mail goes to ours only
        refused = client.sendmail("rahim@example.com", ["other@example.org", "Support@SETU.LOCAL"],
                                  _mail(To="other@example.org, Support@SETU.LOCAL", Subject="y"))
    assert set(refused) == {"other@example.org"} and refused["other@example.org"][0] == 550
    (envelope,) = inbox()
    notification = envelope["notification"]
    assert notification["receipt"]["recipients"] == ["Support@SETU.LOCAL"]
    assert notification["mail"]["destination"] == ["other@example.org", "Support@SETU.LOCAL"]
    assert len(_objects(stack)) == 1


def test_several_recipients_of_the_domain_make_one_message_and_one_notification(
        stack, ingress, inbox):
    recipients = [SUPPORT, "billing@setu.local", "support+t1042.ab12cd34ef@setu.local"]
    sent = _mail(From="rahim@example.com", To="support@setu.local, billing@setu.local",
                 Cc="Karim <karim@example.com>", Subject="Invoice")
    with _smtp(ingress) as client:
        assert client.sendmail("rahim@example.com", recipients, sent) == {}
    (envelope,) = inbox()
    notification = envelope["notification"]
    assert notification["receipt"]["recipients"] == recipients
    assert notification["mail"]["destination"] == [SUPPORT, "billing@setu.local",
                                                   "karim@example.com"]
    assert notification["mail"]["commonHeaders"]["cc"] == ["Karim <karim@example.com>"]
    received = notification["mail"]["headers"][1]["value"]
    assert " for " not in received  # SES names the recipient only when there is one
    objects = _objects(stack)
    assert list(objects) == [notification["receipt"]["action"]["objectKey"]]
    _split_added(objects[notification["receipt"]["action"]["objectKey"]], sent)


def test_size_is_advertised_and_a_larger_message_gets_552(stack, inbox):
    with SmtpIngress(local_stack.free_port(), stack.endpoint, stack.outputs,
                     size_limit=4096) as small:
        big = _mail(Subject="big") + b"x" * 76 + b"\r\n" * 1 + (b"y" * 76 + b"\r\n") * 80
        with _smtp(small) as client:
            client.ehlo()
            assert client.esmtp_features["size"] == "4096"
            # smtplib declares SIZE=..., refused at MAIL FROM
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                client.sendmail("rahim@example.com", [SUPPORT], big)
            assert refused.value.smtp_code == 552
        with _smtp(small) as client:
            client.helo()  # no SIZE declared: refused after DATA
            client.mail("rahim@example.com")
            client.rcpt(SUPPORT)
            code, _ = client.data(big)
            assert code == 552
            # the session goes on: a small one still gets through
            assert client.sendmail("rahim@example.com", [SUPPORT], _mail(Subject="small")) == {}
    (envelope,) = inbox()
    assert envelope["notification"]["mail"]["commonHeaders"]["subject"] == "small"
    assert len(_objects(stack)) == 1


def test_the_default_limit_is_ses_s3_actions_40_mb(stack):
    assert MAX_MESSAGE_BYTES == 40 * 1024 * 1024
    with SmtpIngress(local_stack.free_port(), stack.endpoint, stack.outputs) as ingress:
        with _smtp(ingress) as client:
            client.ehlo()
            assert client.esmtp_features["size"] == str(40 * 1024 * 1024)


def _garbage(seed: int, size: int) -> bytes:
    """Random bytes in CRLF lines (NULs, 8-bit, lone dots, junk first line, no headers)."""
    rng = random.Random(seed)
    lines = [b"\x00\xff\xfe junk first line: not a header"]
    while sum(map(len, lines)) < size:
        line = bytes(b for b in rng.randbytes(rng.randint(0, 200)) if b not in (10, 13))
        lines.append(rng.choice([b"", b".", b".."]) + line)
    lines.append(b".")
    return b"\r\n".join(lines) + b"\r\n"


UNPARSEABLE = {
    "random-bytes": _garbage(1, 20_000),
    "empty": b"",
    "no-headers": b"\r\n\r\nno headers at all\r\n",
    "broken-headers": b"Subject: =?x-unknown?B?!!!?= =?utf-8?q?broken=ZZ?=\r\n"
                      b"From: \xff\xfe <@@>,,\r\nTo: <<<\r\nFrom: second@example.com\r\n"
                      b"Date: not a date\r\n\r\nbody\r\n",
    "mbox-from-line": b"From rahim@example.com Mon Jan  1 00:00:00 2024\r\n"
                      b"From: x@example.com\r\n\r\nmbox line\r\n",
    "long-line": b"X" * 5000 + b": a 5000-byte header name\r\n\r\nbody\r\n",
}


def test_messages_that_cannot_be_parsed_are_still_stored_and_notified(stack, ingress, inbox):
    for case, sent in UNPARSEABLE.items():
        with _smtp(ingress) as client:
            assert client.sendmail("rahim@example.com", [SUPPORT], sent) == {}, case
        (envelope,) = inbox()
        notification = envelope["notification"]
        mail = notification["mail"]
        assert [h["name"] for h in mail["headers"][:4]] == list(ADDED), case
        assert mail["commonHeaders"]["returnPath"] == "rahim@example.com", case
        assert notification["receipt"]["recipients"] == [SUPPORT], case
        stored = _objects(stack)[notification["receipt"]["action"]["objectKey"]]
        expected = sent if sent.endswith(b"\r\n") else sent + b"\r\n"  # smtplib ends the line
        _split_added(stored, expected)
    assert len(_objects(stack)) == len(UNPARSEABLE)


def test_unreadable_header_values_are_replaced_not_fatal(stack, ingress, inbox):
    sent = (b"Subject: =?x-unknown?B?!!!?=\r\nFrom: \xff\xfe Rahim <rahim@example.com>\r\n"
            b"From: second@example.com\r\n\r\nbody\r\n")
    with _smtp(ingress) as client:
        client.sendmail("rahim@example.com", [SUPPORT], sent)
    (envelope,) = inbox()
    common = envelope["notification"]["mail"]["commonHeaders"]
    assert common["subject"] == "=?x-unknown?B?!!!?="
    assert common["from"] == ["\ufffd\ufffd Rahim <rahim@example.com>", "second@example.com"]


def test_huge_header_blocks_are_truncated_in_the_notification(stack, ingress, inbox):
    filler = "".join(f"X-Filler-{i}: {'v' * 100}\r\n" for i in range(200))
    sent = (filler + "Subject: at the end\r\n\r\nbody\r\n").encode()
    with _smtp(ingress) as client:
        client.sendmail("rahim@example.com", [SUPPORT], sent)
    (envelope,) = inbox()
    mail = envelope["notification"]["mail"]
    assert mail["headersTruncated"] is True
    assert 4 < len(mail["headers"]) < 204
    assert sum(len(h["name"]) + len(h["value"]) for h in mail["headers"]) <= 10 * 1024
    assert mail["commonHeaders"]["subject"] == "at the end"  # from every header
    _split_added(_objects(stack)[envelope["notification"]["receipt"]["action"]["objectKey"]], sent)


def test_smtputf8_bengali_addresses_and_headers(stack, ingress, inbox):
    msg = EmailMessage(policy=SMTPUTF8)
    msg["From"] = "রহিম উদ্দিন <রহিম@উদাহরণ.বাংলা>"
    msg["To"] = "সহায়তা <সাহায্য@setu.local>"
    msg["Subject"] = "অর্ডার আসেনি"
    msg["Message-ID"] = make_msgid(domain="mail.example.com")
    msg.set_content("আমার অর্ডার ৩ দিন হলো আসেনি।\n")
    with _smtp(ingress) as client:
        client.ehlo()
        assert client.has_extn("smtputf8") and client.has_extn("8bitmime")
        assert client.send_message(msg) == {}  # smtplib adds SMTPUTF8 and BODY=8BITMIME
    (envelope,) = inbox()
    notification = envelope["notification"]
    mail = notification["mail"]
    assert mail["source"] == "রহিম@উদাহরণ.বাংলা"
    assert notification["receipt"]["recipients"] == ["সাহায্য@setu.local"]
    assert mail["destination"] == ["সাহায্য@setu.local"]
    assert mail["commonHeaders"]["from"] == ["রহিম উদ্দিন <রহিম@উদাহরণ.বাংলা>"]
    assert mail["commonHeaders"]["to"] == ["সহায়তা <সাহায্য@setu.local>"]
    assert mail["commonHeaders"]["subject"] == "অর্ডার আসেনি"
    assert mail["commonHeaders"]["returnPath"] == "রহিম@উদাহরণ.বাংলা"
    assert " with UTF8SMTP id " in mail["headers"][1]["value"]
    stored = _objects(stack)[notification["receipt"]["action"]["objectKey"]]
    assert stored.startswith("Return-Path: <রহিম@উদাহরণ.বাংলা>\r\n".encode())
    _split_added(stored, msg.as_bytes(policy=SMTPUTF8.clone(linesep="\r\n")))


def test_encoded_display_names_and_subjects_are_decoded_in_common_headers(stack, ingress, inbox):
    msg = EmailMessage()  # default policy: RFC 2047 encoded words, 7-bit on the wire
    msg["From"] = "রহিম উদ্দিন <rahim@example.com>"
    msg["To"] = SUPPORT
    msg["Subject"] = "অর্ডার আসেনি [#১০৪২]"
    msg.set_content("body\n")
    with _smtp(ingress) as client:
        client.send_message(msg)
    (envelope,) = inbox()
    mail = envelope["notification"]["mail"]
    raw_subject = next(h["value"] for h in mail["headers"] if h["name"] == "Subject")
    assert raw_subject.startswith("=?utf-8?")  # headers: as in the message
    assert mail["commonHeaders"]["subject"] == "অর্ডার আসেনি [#১০৪২]"  # commonHeaders: decoded
    assert mail["commonHeaders"]["from"] == ["রহিম উদ্দিন <rahim@example.com>"]


def test_the_local_verdict_header_fails_spam_or_virus(stack, ingress, inbox):
    for flag, spam, virus in [("spam", "FAIL", "PASS"), ("virus", "PASS", "FAIL"),
                              ("Spam, Virus", "FAIL", "FAIL"), ("nothing", "PASS", "PASS")]:
        sent = _mail(From="rahim@example.com", To=SUPPORT, Subject="verdicts",
                     X_Setu_Test_Verdict=flag)
        with _smtp(ingress) as client:
            client.sendmail("rahim@example.com", [SUPPORT], sent)
        (envelope,) = inbox()
        receipt = envelope["notification"]["receipt"]
        assert receipt["spamVerdict"] == {"status": spam}, flag
        assert receipt["virusVerdict"] == {"status": virus}, flag
        lines = _split_added(_objects(stack)[receipt["action"]["objectKey"]], sent)
        assert lines[2:] == [f"X-SES-Spam-Verdict: {spam}", f"X-SES-Virus-Verdict: {virus}"]


def test_the_pump_hands_the_notification_to_the_inbound_email_handler(stack, ingress,
                                                                       monkeypatch):
    """SMTP -> topic -> the pump's Lambda-shaped SNS record -> app.inbound_email."""
    import app

    events = []
    monkeypatch.setattr(app, "inbound_email", lambda event, context: events.append(event))
    with _smtp(ingress) as client:
        client.sendmail("rahim@example.com", [SUPPORT], _mail(Subject="via the pump"))
    deadline = time.monotonic() + 10
    while not events and time.monotonic() < deadline:
        stack.pump.poll_once()
        time.sleep(0.05)
    (event,) = events
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["Sns"]["TopicArn"] == stack.outputs["InboundEmailTopicArn"]
    notification = json.loads(record["Sns"]["Message"])
    assert notification["notificationType"] == "Received"
    assert notification["mail"]["commonHeaders"]["subject"] == "via the pump"
    key = notification["receipt"]["action"]["objectKey"]
    assert key in _objects(stack)


def test_delivery_failure_is_a_temporary_error(stack, inbox):
    """If the bucket cannot be written the client gets 451 and keeps the message."""
    outputs = {**stack.outputs, "MailBucket": "no-such-bucket-" + stack.stage}
    with SmtpIngress(local_stack.free_port(), stack.endpoint, outputs) as broken:
        with _smtp(broken) as client:
            with pytest.raises(smtplib.SMTPDataError) as failed:
                client.sendmail("rahim@example.com", [SUPPORT], _mail(Subject="x"))
    assert failed.value.smtp_code == 451
    assert inbox(expected=0, timeout=1) == []


def test_stop_frees_the_port(stack):
    port = local_stack.free_port()
    ingress = SmtpIngress(port, stack.endpoint, stack.outputs).start()
    assert ingress.port == port and not local_stack.port_free(port)
    ingress.stop()
    ingress.stop()  # idempotent
    assert local_stack.port_free(port)


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=3000),
    st.lists(st.one_of(st.binary(max_size=80), st.sampled_from([
        b"From: ", b"To: ", b"Subject: =?utf-8?b?", b"?=", b"=?", b"Cc: <", b">", b"\t", b" ",
        b"\r\n", b"\n", b"\r", b":", b"@", b",", b'"', b"\xff", b"\xe0\xa6", b"\x00",
        b"Message-ID: ", b"Reply-To: ", b"X-Setu-Test-Verdict: spam"])), max_size=60)
    .map(b"".join)))
def test_reading_headers_never_fails_and_always_gives_json_sns_takes(raw):
    """No stack needed: the notification's header-derived parts for arbitrary bytes."""
    from local.smtp import common_headers, destination, read_headers, verdict_flags

    headers = read_headers(raw)
    parts = {"headers": headers, "common": common_headers(headers, "rahim@example.com"),
             "destination": destination(headers), "flags": sorted(verdict_flags(headers))}
    json.dumps(parts, ensure_ascii=False).encode("utf-8")  # no lone surrogates


def test_mail_from_a_dotless_domain_over_smtp_is_held_for_an_admin(stack, ingress):
    """End to end: SMTP -> bucket + topic -> pump -> handler -> a held item in GET /api/held,
    never only a log line."""
    from tests.integration.helpers import Api

    message_id = make_msgid(domain="localhost")
    with _smtp(ingress) as client:
        client.sendmail("rahim@localhost", [SUPPORT], _mail(
            From="Rahim <rahim@localhost>", To=SUPPORT, Subject="order missing",
            Message_ID=message_id, Date=format_datetime(datetime.now().astimezone())))
    stack.pump.drain()
    api = Api(stack.client)
    status, page = api.get("/api/held?kind=email")
    assert status == 200
    [item] = [i for i in page["items"] if i["sender"] == "rahim@localhost"]
    assert item["reason"] == "no_sender" and item["subject"] == "order missing"
    assert item["snippet"].startswith("Hello,") and item["raw"]["key"].startswith("inbound/")
    assert item["raw"]["key"] in _objects(stack)
