"""Log lines carry no email address, phone number or message text (issue 20, data
protection): a representative flow on the local stack (web form, email in, SMS in, agent
replies by email and SMS, a bounce, a status-page reply, the queued messages sent) runs while
every log record of the app (and the libraries it uses, at the app's INFO level) is captured;
none may contain the addresses, numbers or texts used."""
from __future__ import annotations

import json
import logging
import re
from urllib.parse import urlencode

import boto3
import pytest

from tests.integration.helpers import Api, new_ticket, stored_body, timeline
from tests.integration.test_email import mail, ses_deliver
from tests.integration.test_pages import BROWSER, http
from tests.integration.test_sms import sms

EMAIL, OTHER_EMAIL = "private.person@example.com", "second.private@example.org"
PHONE, SMS_PHONE = "01711000555", "01811000666"
WORDS = ("Nargis Confidential", "lost my passport 4455", "by mail 7788 secret",
         "sms secret 6699", "agent answer 3311", "via status page 2277")


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record):
        try:
            self.lines.append(record.getMessage() + " " + json.dumps(
                {k: str(v) for k, v in record.__dict__.items() if k not in ("msg", "args")}))
        except Exception:  # noqa: BLE001
            self.lines.append(str(record.msg))


@pytest.fixture
def captured():
    """Chalice's app logger (`setu`, every `setu.*` module logs through it) does not
    propagate: listen there, and on the root for the libraries."""
    handler = _Capture()
    loggers = [logging.getLogger("setu"), logging.getLogger()]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    yield handler
    for lg, level in zip(loggers, levels):
        lg.removeHandler(handler)
        lg.setLevel(level)


def test_a_whole_flow_logs_no_addresses_numbers_or_text(stack, captured, capsys):
    api = Api(stack.client)
    created = new_ticket(api, name=WORDS[0], email=EMAIL, phone=PHONE, message=WORDS[1],
                         subject="Passport help")
    ses_deliver(stack, mail(sender=f"Someone <{OTHER_EMAIL}>", subject="Question",
                            body=WORDS[2]).as_bytes(), source=OTHER_EMAIL)
    sms(stack, WORDS[3], sender=SMS_PHONE)
    stack.pump.drain()
    assert api.post(f"/api/tickets/{created['id']}/replies", {"body": WORDS[4]})[0] == 201
    assert api.post(f"/api/tickets/{created['id']}/replies",
                    {"body": WORDS[4] + " sms", "channel": "sms"})[0] == 201
    stack.pump.drain()
    ack = [e for e in timeline(api, created["id"]) if e.get("kind") == "ack"][0]
    found = re.search(r"https?://[^/\s]+(/s/[0-9]+\.[0-9a-z]+\.k[0-9]+\.[A-Za-z0-9_-]+)",
                      stored_body(created["id"], ack))
    if found:
        path = found.group(1)
        nonce = re.search(r'name="nonce" value="([^"]+)"', http(stack, "GET", path)[1]).group(1)
        http(stack, "POST", path, headers=BROWSER, body=urlencode({"body": WORDS[5], "nonce": nonce}))
    # refused notifications, and a bounce of our mail, log their reasons
    ses_deliver(stack, b"not a mail at all", source=OTHER_EMAIL)
    boto3.client("sns").publish(TopicArn=stack.outputs["InboundSmsTopicArn"], Message=json.dumps({
        "originationNumber": "+88017110005559999", "destinationNumber": "+8809000000000",
        "messageBody": WORDS[3], "inboundMessageId": "bad-number-1"}))
    stack.pump.drain()
    acks = [e for e in timeline(api, created["id"]) if e.get("kind") == "ack" and e.get("provider_id")]
    for ack in acks:
        if ack["channel"] == "email":
            boto3.client("sns").publish(TopicArn=stack.outputs["SesEventsTopicArn"], Message=json.dumps({
                "notificationType": "Bounce", "mail": {"messageId": ack["provider_id"]},
                "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                           "bouncedRecipients": [{"emailAddress": EMAIL,
                                                  "diagnosticCode": f"550 {EMAIL} unknown"}]}}))
    stack.pump.drain()

    out = capsys.readouterr()
    text = "\n".join(captured.lines) + "\n" + out.out + "\n" + out.err
    assert captured.lines, "nothing was logged: the capture is not working"
    secrets = [EMAIL, OTHER_EMAIL, PHONE, SMS_PHONE, "8801711000555", "8801811000666",
               "1711000555", "1811000666", "17110005559999", *WORDS]
    leaks = {s: line for s in secrets for line in text.splitlines() if s.casefold() in line.casefold()}
    assert not leaks, leaks
