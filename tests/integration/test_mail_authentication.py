"""Issue 20, attack 4: mail that fails authentication is not treated as the customer it
claims to be. DMARC failed (or SPF and DKIM both failed where the domain has no DMARC): the
mail is held for an admin (GET /api/held, release or discard), gets no acknowledgement and
cannot change a ticket (services/inbound/email.unauthenticated)."""
from datetime import datetime
from email.utils import format_datetime, make_msgid

import pytest

from chalicelib.services.inbound.email import unauthenticated
from tests.integration.helpers import Api, new_ticket, timeline
from tests.integration.test_email import mail, outcome, ses_deliver


@pytest.fixture
def api(stack):
    return Api(stack.client)


@pytest.mark.parametrize("verdicts,held", [
    ({"dmarc": "FAIL", "spf": "PASS", "dkim": "PASS"}, True),
    ({"dmarc": "GRAY", "spf": "FAIL", "dkim": "FAIL"}, True),  # no DMARC: both failed
    ({"dmarc": "GRAY", "spf": "FAIL", "dkim": "PASS"}, False),  # DKIM vouches for it
    ({"dmarc": "PASS", "spf": "FAIL", "dkim": "FAIL"}, False),  # DMARC decides when present
    ({"dmarc": "GRAY", "spf": "GRAY", "dkim": "GRAY"}, False),  # nothing checked
])
def test_the_rule(verdicts, held):
    assert (unauthenticated(verdicts) is not None) == held


def _held(api, sender):
    status, page = api.get("/api/held?kind=email")
    assert status == 200, page
    return [i for i in page["items"] if i["sender"] == sender]


def test_a_forged_reply_from_a_customers_address_changes_nothing(stack, api):
    created = new_ticket(api, email="customer@example.com", subject="Refund 1042")
    stack.pump.drain()
    before = timeline(api, created["id"])
    ses_id = ses_deliver(stack, mail(sender="customer@example.com",
                                     subject=f"Re: [#{created['ref']}] Refund 1042",
                                     body="Please send the refund to account 99999").as_bytes(),
                         source="customer@example.com", verdicts={"dmarc": "FAIL"})
    stack.pump.drain()
    assert outcome(ses_id)["outcome"] == "rejected"
    assert timeline(api, created["id"]) == before  # not appended, not reopened, nothing sent
    [item] = _held(api, "customer@example.com")
    assert item["reason"] == "unauthenticated" and "DMARC" in item["detail"]
    status, tickets = api.get("/api/tickets?q=customer@example.com")
    assert [t["id"] for t in tickets["items"]] == [created["id"]]  # no new ticket, no ack


def test_a_forged_new_mail_opens_nothing_and_an_admin_can_release_it(stack, api):
    ses_id = ses_deliver(stack, mail(sender="spoofed@example.com", subject="Hello",
                                     body="I am really the customer").as_bytes(),
                         source="spoofed@example.com",
                         verdicts={"dmarc": "GRAY", "spf": "FAIL", "dkim": "FAIL"})
    stack.pump.drain()
    assert outcome(ses_id)["outcome"] == "rejected"
    status, tickets = api.get("/api/tickets?q=spoofed@example.com")
    assert tickets["items"] == []
    [item] = _held(api, "spoofed@example.com")
    # an admin who checked it (a phone call) releases it: then it is a ticket
    status, released = api.post(f"/api/held/{item['id']}/release", {"email": "spoofed@example.com"})
    assert status in (200, 201), released


def test_authenticated_mail_is_the_customer(stack, api):
    ses_id = ses_deliver(stack, mail(sender="genuine@example.com", subject="Hello",
                                     body="A real question").as_bytes(),
                         source="genuine@example.com")
    stack.pump.drain()
    assert outcome(ses_id)["outcome"] == "created"
    assert _held(api, "genuine@example.com") == []


def test_forged_mail_over_the_local_smtp_ingress_is_held(stack):
    """End to end through the SMTP ingress: its test header sets the verdict SES would."""
    import smtplib

    from local import stack as local_stack
    from local.smtp import SmtpIngress

    api = Api(stack.client)
    with SmtpIngress(local_stack.free_port(), stack.endpoint, stack.outputs) as ingress:
        with smtplib.SMTP("127.0.0.1", ingress.port, timeout=10) as client:
            client.sendmail("boss@example.com", ["support@setu.local"], (
                "From: Boss <boss@example.com>\r\nTo: support@setu.local\r\n"
                f"Subject: Urgent transfer\r\nMessage-ID: {make_msgid(domain='example.com')}\r\n"
                f"Date: {format_datetime(datetime.now().astimezone())}\r\n"
                "X-Setu-Test-Verdict: dmarc\r\n\r\nPay the invoice today.\r\n").encode())
    stack.pump.drain()
    [item] = _held(api, "boss@example.com")
    assert item["reason"] == "unauthenticated"
