"""Issue 20, attacks 2 and 3: the web form is not a spam relay and not an SMS pump.

- An acknowledgement to an address that has not written to us from it repeats nothing the
  sender typed (no name, subject or message): a neutral subject with the ref.
- Acknowledgements to one address are capped per hour across channels, and SMS
  acknowledgements per sender IP; over a cap the ticket is still created and the ack goes by
  the other channel or is recorded `suppressed` with the reason (never silently dropped).
"""
import pytest

from tests.integration.helpers import Api, new_ticket, timeline, write_in

SPAM_SUBJECT = "You won 1,000,000 BDT - http://evil.example/claim"
SPAM_BODY = "Claim your prize now at http://evil.example/claim before midnight"


@pytest.fixture
def api(stack):
    return Api(stack.client)


def _ack(api, ticket_id):
    [ack] = [e for e in timeline(api, ticket_id) if e.get("kind") == "ack"]
    return ack


def test_an_ack_to_a_typed_address_repeats_nothing_the_stranger_wrote(stack, api):
    created = new_ticket(api, email="victim@example.com", name="Prize Office", lang="en",
                         subject=SPAM_SUBJECT, message=SPAM_BODY)
    stack.pump.drain()
    ack = _ack(api, created["id"])
    assert ack["recipient"] == "victim@example.com" and ack["status"] == "sent"
    assert ack["subject"] == f"[#{created['ref']}] We received your request"
    for text in (ack["body"], ack.get("html") or ""):
        assert "evil.example" not in text and "1,000,000" not in text
        assert "Prize Office" not in text


def test_an_sms_ack_to_a_typed_number_repeats_nothing_either(stack, api):
    created = new_ticket(api, email="", phone="01711000501", lang="en", name="Prize Office",
                         subject=SPAM_SUBJECT, message=SPAM_BODY)
    stack.pump.drain()
    ack = _ack(api, created["id"])
    assert ack["channel"] == "sms" and "evil" not in ack["body"] and "Prize" not in ack["body"]


def test_an_address_that_wrote_to_us_gets_its_words_back(stack, api):
    write_in(stack, "regular@example.com")
    created = new_ticket(api, email="regular@example.com", name="Rahim", lang="en",
                         subject="Order 1042 late", message="Where is order 1042?")
    stack.pump.drain()
    ack = _ack(api, created["id"])
    assert ack["subject"].endswith(": Order 1042 late")
    assert "Where is order 1042?" in ack["body"] and "Rahim" in ack["body"]


def test_acks_to_one_address_are_capped_and_the_tickets_still_made(stack, api):
    made = [new_ticket(api, email="flooded@example.com", message=f"post {n}") for n in range(5)]
    stack.pump.drain()
    acks = [_ack(api, created["id"]) for created in made]
    assert [a["status"] for a in acks[:3]] == ["sent"] * 3
    for ack in acks[3:]:  # recorded, not sent, with the reason
        assert ack["status"] == "suppressed" and "acknowledgement cap" in ack["error"]


def test_sms_acks_per_sender_ip_are_capped_and_email_acks_are_not(stack, api):
    numbers = [f"017110006{n:02d}" for n in range(5)]
    made = [new_ticket(api, email="", phone=number, message="hello") for number in numbers[:3]]
    over = new_ticket(api, email="", phone=numbers[3], message="hello")
    with_email = new_ticket(api, email="has.mail@example.com", phone=numbers[4], message="hi")
    stack.pump.drain()
    assert all(_ack(api, created["id"])["channel"] == "sms" for created in made)
    capped = _ack(api, over["id"])
    assert capped["status"] == "suppressed" and "SMS acknowledgement cap" in capped["error"]
    # a web form ack goes by email first anyway; the cap never blocks an email ack
    assert _ack(api, with_email["id"])["channel"] == "email"


@pytest.mark.parametrize("phone,why", [
    ("+448712345678", "we text numbers in BD only"),  # a UK premium-rate number
    ("+88213000000", "we text numbers in BD only"),  # an international network (+882)
    ("+19005550123", "we text numbers in BD only"),
    ("+88029876543", "not a mobile number"),  # a Dhaka landline
])
def test_the_form_refuses_numbers_we_would_pay_to_text(api, phone, why):
    status, body = api.post("/tickets", {"phone": phone, "message": "call me", "lang": "en"})
    assert status == 422, body
    assert why in body["error"]["fields"]["phone"]


def _sms_replies(api, ticket_id):
    return [e for e in timeline(api, ticket_id) if e.get("kind") == "reply"]


def test_the_outbox_refuses_a_destination_whoever_asked(stack, api):
    created = new_ticket(api, email="", phone="01711000701", message="hello")
    status, customer = api.get(f"/api/tickets/{created['id']}")
    status, _ = api.patch(f"/api/customers/{customer['customer']['id']}",
                          {"remove_phones": ["+8801711000701"], "add_phones": ["+448712345678"]})
    assert status == 200
    status, sent = api.post(f"/api/tickets/{created['id']}/replies",
                            {"body": "Hello", "channel": "sms"})
    assert status == 201, sent
    stack.pump.drain()
    [reply] = _sms_replies(api, created["id"])
    assert reply["status"] == "failed" and "SMS destination refused" in reply["error"]


@pytest.fixture
def two_texts_an_hour(monkeypatch):
    from chalicelib import config

    monkeypatch.setenv("SETU_SMS_CAP_PER_NUMBER", "2")
    config.reload()
    yield
    monkeypatch.delenv("SETU_SMS_CAP_PER_NUMBER")
    config.reload()


def test_texts_to_one_number_are_capped_per_hour(stack, api, two_texts_an_hour, capsys):
    created = new_ticket(api, email="", phone="01711000702", message="hello")
    stack.pump.drain()  # the acknowledgement is the first text
    for n in range(2):
        assert api.post(f"/api/tickets/{created['id']}/replies", {"body": f"reply {n}"})[0] == 201
    stack.pump.drain()
    first, second = _sms_replies(api, created["id"])
    assert first["status"] == "sent"
    assert second["status"] == "failed" and "SMS cap: 2 an hour to one number" in second["error"]
    assert '"SmsCapHit": 1' in capsys.readouterr().out  # the metric an alarm watches


# ---- the optional CAPTCHA, against a stand-in `siteverify` on 127.0.0.1 -----------------------

@pytest.fixture
def captcha_on(monkeypatch):
    """Turnstile's siteverify, played on 127.0.0.1: `good-token` passes, anything else fails;
    every request is kept to check what Setu sent."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from urllib.parse import parse_qs

    from chalicelib import config

    seen = []

    class Verify(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            seen.append(form)
            body = json.dumps({"success": form.get("response") == ["good-token"]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Verify)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for name, value in (("SETU_CAPTCHA_PROVIDER", "turnstile"), ("SETU_CAPTCHA_SECRET", "s3cret"),
                        ("SETU_CAPTCHA_SITE_KEY", "site-key"),
                        ("SETU_CAPTCHA_VERIFY_URL", f"http://127.0.0.1:{server.server_port}/")):
        monkeypatch.setenv(name, value)
    config.reload()
    yield seen
    server.shutdown()
    for name in ("SETU_CAPTCHA_PROVIDER", "SETU_CAPTCHA_SECRET", "SETU_CAPTCHA_SITE_KEY",
                 "SETU_CAPTCHA_VERIFY_URL"):
        monkeypatch.delenv(name)
    config.reload()


def test_with_the_captcha_on_a_post_without_a_passing_token_creates_nothing(api, captcha_on):
    from chalicelib.db.models import Key

    for extra in ({}, {"captcha": "bad-token"}):
        status, body = api.post("/tickets", {"email": "bot@example.com", "message": "x", **extra})
        assert status == 422 and "captcha" in body["error"]["fields"], body
    assert Key.count("email#bot@example.com") == 0  # nothing written
    status, created = api.post("/tickets", {"email": "bot@example.com", "message": "hi",
                                            "captcha": "good-token"})
    assert status == 201, created
    assert captcha_on[-1]["secret"] == ["s3cret"] and captcha_on[-1]["response"] == ["good-token"]


def test_with_the_captcha_on_the_form_page_shows_the_widget(api, captcha_on):
    response = api.client.http.get("/form?lang=en")
    page = response.body.decode()
    assert 'class="cf-turnstile" data-sitekey="site-key"' in page
    policy = response.headers["Content-Security-Policy"]
    assert "script-src https://challenges.cloudflare.com" in policy


def test_the_captcha_is_off_by_default(api):
    page = api.client.http.get("/form?lang=en")
    assert "cf-turnstile" not in page.body.decode()
    assert "script-src" not in page.headers["Content-Security-Policy"]


@pytest.mark.parametrize("raw", ["[" * 200_000, '{"message": 1e999}', "9" * 5000])
def test_parser_bombs_answer_4xx(api, raw):
    created = new_ticket(api, email="bomb@example.com")
    for path in ("/tickets", f"/api/tickets/{created['id']}/notes", f"/api/tickets/{created['id']}"):
        method = "PATCH" if path.endswith(created["id"]) else "POST"
        status, body, _ = api.call(method, path, raw=raw)
        assert 400 <= status < 500, (path, status, body)
        assert body["error"]["fields"]
