"""Customer pages without a browser, against the emulated AWS: the HTML form's errors and
thank-you page, cross-origin posting, and the security of the signed links: tampered,
expired and other-ticket tokens answer 403, internal notes never reach the status page, a
status-page reply is added once per form, a rating and an unsubscribe are recorded once."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from chalicelib import clock
from chalicelib.db.models import Key
from chalicelib.services.messaging import links
from chalicelib.services.messaging import suppression
from tests.integration.helpers import Api, new_ticket, stored_body, timeline

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
           "content-type": "application/x-www-form-urlencoded"}
BN = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")


@pytest.fixture
def api(stack):
    return Api(stack.client)


def http(stack, method: str, path: str, *, headers: dict | None = None, body: str | bytes = ""):
    response = getattr(stack.client.http, method.lower())(path, headers=headers or {}, body=body)
    text = response.body.decode() if isinstance(response.body, bytes) else (response.body or "")
    return response.status_code, text, response.headers


def form_post(stack, fields: dict, headers: dict | None = None):
    return http(stack, "POST", "/tickets", headers={**BROWSER, **(headers or {})},
                body=urlencode(fields))


def status_path(api, ticket_id: str) -> str:
    """The status link the acknowledgement carries, as a path."""
    ack = [e for e in timeline(api, ticket_id) if e.get("kind") == "ack"][0]
    found = re.search(r"https?://[^/\s]+(/s/[0-9]+\.[0-9a-z]+\.k[0-9]+\.[A-Za-z0-9_-]+)",
                      stored_body(ticket_id, ack))
    assert found, ack["body"]
    return found.group(1)


# ---- the HTML form -------------------------------------------------------------------------

def test_html_form_errors_come_back_in_bengali_next_to_the_fields_with_input_kept(api, stack):
    status, page, headers = form_post(stack, {"lang": "bn", "name": "রহিম <b>", "email": "not-an-address",
                                              "message": "", "department": "billing"})
    assert status == 422 and headers["Content-Type"].startswith("text/html")
    assert '<html lang="bn">' in page
    assert 'id="email-error"' in page and "ইমেইল ঠিকানাটি সঠিক নয়" in page
    assert 'id="message-error"' in page and "এটি লিখতে হবে" in page
    assert re.search(r'id="email"[^>]*aria-describedby="contact-hint email-error"[^>]*aria-invalid="true"', page)
    assert 'value="not-an-address"' in page and 'value="রহিম &lt;b&gt;"' in page  # kept, escaped
    assert '<option value="billing" selected>' in page
    status, listing = api.get("/api/tickets")
    assert listing["items"] == []  # nothing was created


def test_html_form_in_english_names_the_missing_contact(stack):
    status, page, _ = form_post(stack, {"lang": "en", "message": "Where is my order?"})
    assert status == 422 and '<html lang="en">' in page
    assert 'id="phone-error"' in page and "email or phone is required" in page
    assert ">Where is my order?</textarea>" in page


def test_html_form_success_redirects_to_a_thank_you_page_with_ref_and_due_time(api, stack):
    status, _, headers = form_post(stack, {"lang": "bn", "phone": "01711-000000", "message": "বিল ভুল"})
    assert status == 303 and headers["Location"].startswith("form/thanks/")
    created = api.get("/api/tickets")[1]["items"][0]
    status, page, headers = http(stack, "GET", "/" + headers["Location"])
    assert status == 200 and '<html lang="bn">' in page
    assert f"#{created['ref'].translate(BN)}" in page  # the ref in Bengali digits
    due = clock.parse_iso(created["sla"]["first_response_due"])
    from chalicelib.services.messaging import templates

    assert templates.local_time(due, "bn") in page  # Dhaka time, Bengali digits
    assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]


def test_thank_you_token_is_no_status_link(api, stack):
    created = new_ticket(api)
    thanks = links.thanks_token(created["id"], created["ref"])
    assert http(stack, "GET", f"/s/{thanks}")[0] == 403
    assert http(stack, "GET", f"/form/thanks/{thanks}")[0] == 200


def test_json_clients_keep_the_json_contract(stack):
    status, body, headers = http(stack, "POST", "/tickets", headers={
        "content-type": "application/x-www-form-urlencoded"}, body=urlencode({"message": ""}))
    assert status == 422 and headers["Content-Type"].startswith("application/json")
    assert '"validation_failed"' in body and '"message": "required"' in body


def test_cross_origin_posts_only_from_allowed_origins_with_cors(stack, monkeypatch):
    evil = {"origin": "http://evil.example"}
    status, body, _ = http(stack, "POST", "/tickets", headers={
        "content-type": "application/json", **evil}, body='{"email": "a@b.co", "message": "hi"}')
    assert status == 403 and '"forbidden"' in body
    status, page, _ = form_post(stack, {"email": "a@b.co", "message": "hi", "lang": "en"}, evil)
    assert status == 403 and "may not be sent from that web site" in page
    assert http(stack, "OPTIONS", "/tickets", headers=evil)[0] == 403

    monkeypatch.setenv("SETU_FORM_ORIGINS", "https://shop.example.com.bd, http://evil.example")
    status, _, headers = http(stack, "OPTIONS", "/tickets", headers={
        "origin": "https://shop.example.com.bd", "access-control-request-method": "POST"})
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "https://shop.example.com.bd"
    assert "Idempotency-Key" in headers["Access-Control-Allow-Headers"]
    status, body, headers = http(stack, "POST", "/tickets", headers={
        "content-type": "application/json", **evil}, body='{"email": "a@b.co", "message": "hi"}')
    assert status == 201 and headers["Access-Control-Allow-Origin"] == "http://evil.example"
    # the honeypot still applies to an allowed origin, and the error is readable by its script
    status, body, headers = http(stack, "POST", "/tickets", headers={
        "content-type": "application/json", **evil},
        body='{"email": "a@b.co", "message": "hi", "website": "http://spam"}')
    assert status == 422 and headers["Access-Control-Allow-Origin"] == "http://evil.example"
    page_headers = http(stack, "GET", "/form?embed=1")[2]
    assert "frame-ancestors 'self' https://shop.example.com.bd http://evil.example" in \
        page_headers["Content-Security-Policy"]


def test_rate_limit_still_applies_to_the_html_form(stack, monkeypatch):
    monkeypatch.setenv("SETU_FORM_LIMIT_PER_HOUR", "1")
    from chalicelib import config

    config.reload()
    assert form_post(stack, {"email": "a@b.co", "message": "one", "lang": "en"})[0] == 303
    status, page, headers = form_post(stack, {"email": "a@b.co", "message": "two", "lang": "en"})
    assert status == 429 and "Too many messages" in page and headers.get("Retry-After")
    assert ">two</textarea>" in page


# ---- the status page -----------------------------------------------------------------------

def test_status_page_shows_the_public_conversation_but_never_internal_notes(api, stack):
    created = new_ticket(api, lang="en")
    assert api.post(f"/api/tickets/{created['id']}/notes", {"body": "SECRET: customer is rude"})[0] == 201
    assert api.post(f"/api/tickets/{created['id']}/replies", {"body": "Your order ships today."})[0] == 201
    path = status_path(api, created["id"])
    status, page, headers = http(stack, "GET", path)
    assert status == 200 and '<html lang="en">' in page
    assert "আমার অর্ডার আসেনি" in page and "Your order ships today." in page
    assert "SECRET" not in page and "rahim@example.com" not in page and created["id"] not in page
    assert headers["Referrer-Policy"] == "no-referrer" and "frame-ancestors 'none'" in \
        headers["Content-Security-Policy"]
    assert 'data-status="open"' in page


def test_tampered_other_ticket_and_expired_status_links_answer_403(api, stack):
    first, second = new_ticket(api), new_ticket(api, email="other@example.com")
    path = status_path(api, first["id"])
    ref, expiry, kid, signature = path.rsplit("/", 1)[1].split(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for bad in (f"/s/{ref}.{expiry}.{kid}.{flipped}",             # tampered signature
                f"/s/{second['ref']}.{expiry}.{kid}.{signature}",  # another ticket's ref
                f"/s/{ref}.{'zzzzzz'}.{kid}.{signature}",        # a later expiry
                f"/s/{ref}.{expiry}.k9.{signature}",             # a key the secret lacks
                f"/s/{ref}.{expiry}.{signature}",                # no kid, and no legacy key
                "/s/1.1.x", "/s/%3Cscript%3E"):
        status, page, _ = http(stack, "GET", bad)
        assert status == 403, bad
        assert 'data-reason="invalid"' in page and "<script>" not in page
    expired = links.status_token(first["id"], first["ref"],
                                 expires_at=clock.now() - timedelta(seconds=1))
    status, page, _ = http(stack, "GET", f"/s/{expired}")
    assert status == 403 and 'data-reason="expired"' in page and '<html lang="bn">' in page
    assert http(stack, "POST", f"/s/{expired}", headers=BROWSER,
                body=urlencode({"body": "hi", "nonce": "n" * 20}))[0] == 403


def test_status_page_reply_joins_the_ticket_once_per_form(api, stack):
    created = new_ticket(api)
    path = status_path(api, created["id"])
    page = http(stack, "GET", path)[1]
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    body = urlencode({"body": "আরেকটি তথ্য: অর্ডার নম্বর ৫৫", "nonce": nonce, "lang": "bn"})
    for _ in range(2):  # a double click, or the browser resending the form
        status, _, headers = http(stack, "POST", path, headers=BROWSER, body=body)
        assert status == 303 and headers["Location"].endswith("?sent=1&lang=bn")
    web = [e for e in timeline(api, created["id"])
           if e.get("direction") == "in" and e.get("channel") == "web" and "৫৫" in e.get("body", "")]
    assert len(web) == 1 and web[0]["status"] == "received"
    received = [e for e in timeline(api, created["id"]) if e.get("type") == "message.received"
                and e["data"].get("via") == "status_page"]
    assert len(received) == 1
    page = http(stack, "GET", path + "?sent=1")[1]
    assert 'id="sent"' in page and "অর্ডার নম্বর ৫৫" in page
    status, page, _ = http(stack, "POST", path, headers=BROWSER, body=urlencode({"body": " ", "nonce": "x" * 24}))
    assert status == 422 and 'id="body-error"' in page


# ---- satisfaction --------------------------------------------------------------------------

def _csat_events(api, ticket_id: str) -> list[dict]:
    return [e for e in timeline(api, ticket_id) if str(e.get("type", "")).startswith("csat.")]


def test_a_score_link_preselects_the_score_and_records_nothing(api, stack):
    """Mail scanners open every link in a mail: a GET of a score link shows the page with that
    score chosen and a button; only the POST records."""
    from chalicelib.services.followup import checkin
    from chalicelib.services.followup import satisfaction

    created = new_ticket(api)
    token = checkin.token(created["id"])
    for raw, score in (("4", 4), ("1", 1), ("৫", 5), ("4", 4)):
        status, page, headers = http(stack, "GET", f"/csat/{token}?score={raw}")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert re.search(rf'<input type="radio" id="score-{score}" name="score" value="{score}" checked>', page)
        assert page.count(" checked>") == 1 and 'id="score"' not in page
        assert '<form method="post"' in page and '<button type="submit">' in page
        assert "আগেই উত্তর" not in page
    assert satisfaction.current(created["id"]).score is None
    assert _csat_events(api, created["id"]) == []


def test_rating_and_comment_are_recorded_once(api, stack):
    from chalicelib.services.followup import checkin

    created = new_ticket(api)
    token = checkin.token(created["id"])
    status, page, _ = http(stack, "GET", f"/csat/{token}")
    assert status == 200 and 'name="score"' in page and " checked>" not in page  # the form, nothing chosen
    status, page, _ = http(stack, "GET", f"/csat/{token}?score=4")  # the mail's link for 4
    assert status == 200 and 'value="4" checked>' in page
    status, _, headers = http(stack, "POST", f"/csat/{token}", headers=BROWSER,
                              body=urlencode({"score": "4", "lang": "bn"}))
    assert status == 303 and headers["Location"] == f"{token}?sent=1&lang=bn"
    status, page, _ = http(stack, "GET", f"/csat/{token}?sent=1&lang=bn")
    assert status == 200 and 'id="score"><strong>৪</strong>' in page and "আগেই উত্তর" not in page
    status, page, _ = http(stack, "GET", f"/csat/{token}?score=1")  # another link from the mail
    assert status == 200 and 'id="score"><strong>৪</strong>' in page and "আগেই উত্তর" in page
    assert 'name="score"' not in page
    assert http(stack, "POST", f"/csat/{token}", headers=BROWSER,
                body=urlencode({"score": "1", "lang": "bn"}))[0] == 303  # a second rating: unchanged
    body = urlencode({"comment": "দ্রুত সমাধান, ধন্যবাদ", "lang": "bn"})
    assert http(stack, "POST", f"/csat/{token}", headers=BROWSER, body=body)[0] == 303
    assert http(stack, "POST", f"/csat/{token}", headers=BROWSER,
                body=urlencode({"comment": "changed my mind", "score": "1"}))[0] == 303
    page = http(stack, "GET", f"/csat/{token}")[1]
    assert "দ্রুত সমাধান" in page and "changed my mind" not in page
    assert 'id="score"><strong>৪</strong>' in page
    entries = timeline(api, created["id"])
    assert [e["data"] for e in entries if e.get("type") == "csat.received"] == [{"score": 4, "via": "link"}]
    assert [e["data"] for e in entries if e.get("type") == "csat.commented"] == [
        {"comment": "দ্রুত সমাধান, ধন্যবাদ"}]
    assert http(stack, "GET", f"/csat/{token}x")[0] == 404
    assert http(stack, "POST", f"/csat/{token}x", headers=BROWSER, body="score=4")[0] == 404


def test_rating_with_a_comment_in_one_post(api, stack):
    from chalicelib.services.followup import checkin

    created = new_ticket(api, lang="en")
    token = checkin.token(created["id"])
    status, page, _ = http(stack, "POST", f"/csat/{token}", headers=BROWSER,
                           body=urlencode({"score": "9", "comment": "Great", "lang": "en"}))
    assert status == 422 and "Please choose a score" in page and ">Great</textarea>" in page
    assert _csat_events(api, created["id"]) == []
    status, _, headers = http(stack, "POST", f"/csat/{token}", headers=BROWSER,
                              body=urlencode({"score": "5", "comment": "Great", "lang": "en"}))
    assert status == 303
    page = http(stack, "GET", f"/csat/{token}?sent=1&lang=en")[1]
    assert 'id="score"><strong>5</strong>' in page and ">Great</dd>" in page
    assert [e["data"] for e in _csat_events(api, created["id"])] == [
        {"score": 5, "via": "link", "comment": "Great"}]


# ---- unsubscribe ---------------------------------------------------------------------------

def test_unsubscribe_is_one_post_recorded_once_and_automatic_mail_skips_the_address(api, stack):
    earlier = new_ticket(api, phone="01711000555")
    token = links.unsubscribe_token("rahim@example.com")
    status, page, _ = http(stack, "GET", f"/unsubscribe/{token}?lang=en")
    assert status == 200 and "rahim@example.com" in page and 'name="List-Unsubscribe"' in page
    assert suppression.reason("rahim@example.com") is None  # a GET (a mail scanner) changes nothing

    status, body, _ = http(stack, "POST", f"/unsubscribe/{token}", headers={
        "content-type": "application/x-www-form-urlencoded"}, body="List-Unsubscribe=One-Click")
    assert status == 200 and '"new": true' in body
    first = Key.get(suppression.pk("rahim@example.com"), "_")
    assert first.target == "unsubscribe" and first.data.as_dict()["at"]
    status, page, _ = http(stack, "POST", f"/unsubscribe/{token}", headers=BROWSER,
                           body="List-Unsubscribe=One-Click&lang=en")
    assert status == 200 and 'data-new="no"' in page and "already unsubscribed" in page
    assert Key.get(suppression.pk("rahim@example.com"), "_").data.as_dict() == first.data.as_dict()

    # a new ticket from the address: the acknowledgement is not mailed, a person's reply is
    created = new_ticket(api, phone="01711000555", message="again")
    assert created["id"] != earlier["id"]
    entries = timeline(api, created["id"])
    ack = [e for e in entries if e.get("kind") == "ack"][0]
    assert ack["channel"] == "sms"
    assert api.post(f"/api/tickets/{created['id']}/replies", {"body": "Hello", "channel": "email"})[0] == 201
    status, ticket = api.get(f"/api/tickets/{created['id']}")
    assert "email" in ticket["customer"]["opted_out"]

    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), "bm90LWFuLWFkZHJlc3M.xxxxxxxxxxxxxxxxxxxx",
                links.unsubscribe_token("rahim@example.com", now=clock.now() - timedelta(days=400))):
        assert http(stack, "GET", f"/unsubscribe/{bad}")[0] == 403
        assert http(stack, "POST", f"/unsubscribe/{bad}", body="List-Unsubscribe=One-Click",
                    headers={"content-type": "application/x-www-form-urlencoded"})[0] == 403


def test_automatic_mail_carries_one_click_list_unsubscribe(api, stack, monkeypatch):
    from chalicelib.integrations import email_out

    sent = []
    real = email_out.send
    monkeypatch.setattr(email_out, "send", lambda message, **kw: sent.append(message) or real(message, **kw))
    created = new_ticket(api, lang="en")
    assert api.post(f"/api/tickets/{created['id']}/replies", {"body": "Answer"})[0] == 201
    stack.pump.drain()
    by_kind = {("ack" if m["Auto-Submitted"] else "reply"): m for m in sent}
    ack, reply = by_kind["ack"], by_kind["reply"]
    assert ack["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = ack["List-Unsubscribe"].strip("<>")
    assert "/unsubscribe/" in url and url.endswith("?lang=en")  # the footer link's URL
    assert url in ack.get_body(("plain",)).get_content()
    assert reply["List-Unsubscribe"] is None  # a person's reply is not bulk mail
    status, body, _ = http(stack, "POST", url.split("127.0.0.1:8000", 1)[1].split("?")[0], headers={
        "content-type": "application/x-www-form-urlencoded"}, body="List-Unsubscribe=One-Click")
    assert status == 200 and suppression.reason("rahim@example.com") == "unsubscribe"


def test_sms_acknowledgement_carries_the_status_link_when_short_enough(api, stack):
    from chalicelib.services.messaging import outbound

    created = new_ticket(api, email="", phone="01711000888", lang="bn")
    ack = [e for e in timeline(api, created["id"]) if e.get("kind") == "ack"][0]
    assert ack["channel"] == "sms" and "/s/" in ack["body"]
    assert ack["segments"] <= outbound.SMS_LINK_MAX_SEGMENTS
    path = re.search(r"(/s/\S+)", stored_body(created["id"], ack)).group(1)
    assert http(stack, "GET", path)[0] == 200


def test_without_a_public_url_mail_and_sms_carry_no_page_links(api, stack, monkeypatch):
    """SETU_PUBLIC_URL is "" in the committed dev and prod config until the first deploy: a
    link without a host goes nowhere in a mail or an SMS, so the status and unsubscribe links
    (and the List-Unsubscribe header) are left out."""
    from chalicelib import config
    from chalicelib.db.models import Ticket
    from chalicelib.integrations import email_out
    from chalicelib.services.followup import notices

    monkeypatch.setenv("SETU_PUBLIC_URL", "")
    config.reload()
    assert links.status_url("t_x", "1") is None and links.unsubscribe_url("a@example.com", "bn") is None
    sent = []
    real = email_out.send
    monkeypatch.setattr(email_out, "send", lambda message, **kw: sent.append(message) or real(message, **kw))
    by_mail = new_ticket(api, lang="en")
    by_sms = new_ticket(api, email="", phone="01711000889", lang="bn")
    stack.pump.drain()
    mail = [e for e in timeline(api, by_mail["id"]) if e.get("kind") == "ack"][0]
    sms = [e for e in timeline(api, by_sms["id"]) if e.get("kind") == "ack"][0]
    assert mail["channel"] == "email" and sms["channel"] == "sms" and sms["status"] == "sent"
    assert "To add anything, just reply to this email." in mail["body"]
    [message] = sent
    assert message["Auto-Submitted"] and message["List-Unsubscribe"] is None
    assert message["List-Unsubscribe-Post"] is None
    notice = notices.message_fields(Ticket.get(by_mail["id"]), None, "email", "rahim@example.com",
                                    kind="reminder")
    texts = [mail["body"], message.get_body(("plain",)).get_content(),
             message.get_body(("html",)).get_content(), sms["body"], notice["body"], notice["html"]]
    for text in texts:
        assert "/s/" not in text and "/unsubscribe/" not in text, text
