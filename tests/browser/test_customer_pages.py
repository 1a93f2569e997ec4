"""The customer pages in a real browser (headless Chromium, JavaScript off), in Bengali and
English: the form with its field errors and thank-you page, the status page opened from the
acknowledgement with a reply added, the satisfaction survey from the check-in mail, the
unsubscribe page, the friendly 403 for tampered and expired links, and the form embedded in
and posted from another site. Every page is also saved as a screenshot (build/screenshots/)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from tests.browser.conftest import link_in

BN_DIGITS = str.maketrans("০১২৩৪৫৬৭৮৯", "0123456789")
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
TEXT = {
    "bn": {"name": "আপনার নাম", "email": "ইমেইল", "phone": "মোবাইল নম্বর", "subject": "বিষয়",
           "message": "বার্তা", "files": "ফাইল সংযুক্ত করুন", "reply": "আপনার বার্তা"},
    "en": {"name": "Your name", "email": "Email", "phone": "Mobile number", "subject": "Subject",
           "message": "Message", "files": "Attach files", "reply": "Your message"},
}


def new_ticket(stack, lang: str, **fields) -> dict:
    body = {"name": "Rahim", "email": f"rahim.{lang}@example.com", "subject": "Order late",
            "message": "আমার অর্ডার আসেনি" if lang == "bn" else "My order has not arrived",
            "lang": lang, **fields}
    response = requests.post(f"{stack.url}/tickets", json=body, timeout=15)
    assert response.status_code == 201, response.text
    return response.json()


def ack_of(stack, ticket_id: str) -> dict:
    ticket = stack.ticket_by_ref(ticket_id)
    ack = [m for m in ticket["timeline"] if m.get("kind") == "ack"][0]
    return {**ack, "body": stack.stored_body(ticket["id"], ack)}  # unmasked links


def _labelled_controls(page) -> None:
    """Every visible control has a label; every aria-describedby names elements on the page."""
    for control in page.all("input:not([type=hidden]), select, textarea"):
        ident = control.get_attribute("id")
        if control.get_attribute("tabindex") == "-1":
            continue  # the honeypot, hidden from people and screen readers
        assert ident and page.all(f"label[for='{ident}']"), control.get_attribute("name")
        for described in (control.get_attribute("aria-describedby") or "").split():
            assert page.all(f"#{described}"), described


@pytest.mark.parametrize("lang", ["bn", "en"])
def test_form_shows_field_errors_then_thanks_with_ref_and_reply_time(page, pages_stack, lang, tmp_path):
    text = TEXT[lang]
    page.open(f"/form?lang={lang}&department=billing")
    assert page.find("html").get_attribute("lang") == lang
    assert page.find("#department option[selected]").get_attribute("value") == "billing"
    _labelled_controls(page)
    page.screenshot(f"form-{lang}")

    page.fill(text["name"], "রহিম উদ্দিন" if lang == "bn" else "Rahim Uddin")
    page.fill(text["phone"], "01711-00")
    if lang == "en":
        page.fill(text["email"], "rahim@example")
    page.submit()
    assert page.status_code() == 422
    phone_error = page.text("#phone-error")
    assert ("মোবাইল নম্বরটি সঠিক নয়" if lang == "bn" else "not a valid phone number") in phone_error
    assert page.text("#message-error") == ("এটি লিখতে হবে" if lang == "bn" else "required")
    if lang == "en":
        assert "not a valid email address" in page.text("#email-error")
    assert "phone-error" in page.field(text["phone"]).get_attribute("aria-describedby")
    assert page.field(text["phone"]).get_attribute("aria-invalid") == "true"
    assert page.field(text["name"]).get_attribute("value").startswith("রহিম" if lang == "bn" else "Rahim")
    assert page.find(".summary[role=alert]")
    page.screenshot(f"form-errors-{lang}")

    page.fill(text["phone"], "+880 1711-000000" if lang == "en" else "০১৭১১-০০০০০০")
    if lang == "en":
        page.fill(text["email"], "rahim.form@example.com")
    page.fill(text["message"], "আমার বিল ভুল এসেছে" if lang == "bn" else "My bill is wrong")
    photo = tmp_path / "bill.png"
    photo.write_bytes(PNG)
    page.field(text["files"]).send_keys(str(photo))
    page.submit()
    assert "/form/thanks/" in page.url and page.status_code() == 200
    shown_ref = page.text("#ref").lstrip("#")
    assert (re.fullmatch("[০-৯]+", shown_ref) if lang == "bn" else shown_ref.isdigit())
    ticket = pages_stack.ticket_by_ref(shown_ref.translate(BN_DIGITS))
    due = datetime.fromisoformat(ticket["sla"]["first_response_due"].replace("Z", "+00:00"))
    from chalicelib.services.messaging import templates

    assert page.text("#due") == templates.local_time(due, lang)  # Dhaka time; Bengali digits in bn
    assert ticket["customer"]["phone"] == "+8801711000000"
    message = [m for m in ticket["timeline"] if m.get("direction") == "in"][0]
    assert [a["filename"] for a in message["attachments"]] == ["bill.png"]
    page.screenshot(f"thanks-{lang}")


@pytest.mark.parametrize("lang", ["bn", "en"])
def test_status_link_from_the_ack_shows_the_conversation_and_takes_a_reply(page, pages_stack, lang):
    created = new_ticket(pages_stack, lang)
    pages_stack.api("POST", f"/api/tickets/{created['id']}/notes", json={"body": "INTERNAL: check the warehouse"})
    answer = "আপনার অর্ডার আজ পাঠানো হবে।" if lang == "bn" else "Your order ships today."
    pages_stack.api("POST", f"/api/tickets/{created['id']}/replies", json={"body": answer})
    status_url = link_in(ack_of(pages_stack, created["id"])["body"], "/s/")

    page.open(status_url)
    assert page.status_code() == 200 and page.find("html").get_attribute("lang") == lang
    conversation = page.text("ol.conversation")
    assert answer in conversation and "INTERNAL" not in page.html
    assert page.find("#state").get_attribute("data-status") == "open"
    page.screenshot(f"status-{lang}")

    reply = "অর্ডার নম্বর ৪৫৬৭" if lang == "bn" else "Order number 4567"
    page.fill(TEXT[lang]["reply"], reply)
    page.submit()
    assert page.status_code() == 200 and page.find("#sent")
    assert reply in page.text("ol.conversation")
    page.open(page.url)  # a reload shows the message once
    assert page.text("ol.conversation").count(reply) == 1
    page.screenshot(f"status-replied-{lang}")
    timeline = pages_stack.ticket_by_ref(created["id"])["timeline"]
    web = [m for m in timeline if m.get("channel") == "web" and m.get("body") == reply]
    assert len(web) == 1 and web[0]["direction"] == "in"


@pytest.mark.parametrize("lang", ["bn", "en"])
def test_rating_from_the_checkin_mail_is_recorded_once(page, pages_stack, lang):
    pages_stack.api("PUT", "/api/sla-policies/technical",
                    json={"first_response": "PT1H", "checkin_after": "PT1S"})
    created = new_ticket(pages_stack, lang, department="technical")
    pages_stack.api("POST", f"/api/tickets/{created['id']}/replies", json={"body": "Fixed."})
    pages_stack.api("PATCH", f"/api/tickets/{created['id']}", json={"status": "resolved"})
    followup = pages_stack.wait_for(lambda: next((
        m for m in pages_stack.ticket_by_ref(created["id"])["timeline"]
        if m.get("kind") == "followup"), None))
    score_link = link_in(pages_stack.stored_body(created["id"], followup), "/csat/")  # the first: ?score=1
    survey = score_link.split("?")[0]

    def ratings() -> list[dict]:
        return [e for e in pages_stack.ticket_by_ref(created["id"])["timeline"]
                if e.get("type") == "csat.received"]

    if lang == "en":  # the survey page itself: choose a score and write a comment
        page.open(survey)
        page.screenshot(f"csat-{lang}")
        page.find("label[for=score-4]").click()
        page.fill("Anything you want to tell us?", "Quick and kind, thank you")
        page.submit()
        assert page.text("#score").startswith("4") and "Quick and kind" in page.text("#comment")
    else:  # a score link from the mail opens the page with that score chosen, then the button
        page.open(survey + "?score=5")
        assert page.status_code() == 200 and page.find("#score-5").is_selected()
        assert not page.all("#score") and ratings() == []  # opening a link records nothing
        page.screenshot(f"csat-{lang}")
        page.fill("আর কিছু বলতে চান?", "খুব দ্রুত সমাধান, ধন্যবাদ")
        page.submit()
        assert page.text("#score").startswith("৫") and "খুব দ্রুত" in page.text("#comment")
    page.screenshot(f"csat-thanks-{lang}")

    page.open(score_link)  # another score link from the same mail: shows what was recorded
    assert page.text("#score").startswith("4" if lang == "en" else "৫")
    page.screenshot(f"csat-again-{lang}")
    assert [e["data"]["score"] for e in ratings()] == [4 if lang == "en" else 5]


@pytest.mark.parametrize("lang", ["bn", "en"])
def test_unsubscribe_from_the_ack_in_one_click(page, pages_stack, lang):
    created = new_ticket(pages_stack, lang, email=f"leave.{lang}@example.com")
    unsubscribe = link_in(ack_of(pages_stack, created["id"])["body"], "/unsubscribe/")
    page.open(unsubscribe)
    assert page.find("html").get_attribute("lang") == lang
    assert page.text("#address") == f"leave.{lang}@example.com"
    page.screenshot(f"unsubscribe-{lang}")
    page.submit()
    assert page.status_code() == 200 and page.find("#outcome").get_attribute("data-new") == "yes"
    page.screenshot(f"unsubscribed-{lang}")
    customer = pages_stack.ticket_by_ref(created["id"])["customer"]
    assert customer["opt_outs"]["email"]["source"] == "unsubscribe" and customer["opt_outs"]["email"]["at"]
    page.open(unsubscribe)
    assert page.find("#outcome").get_attribute("data-new") == "no"  # recorded once


@pytest.mark.parametrize("lang", ["bn", "en"])
def test_tampered_and_expired_links_get_a_friendly_403(page, pages_stack, lang):
    created = new_ticket(pages_stack, lang)
    status_url = link_in(ack_of(pages_stack, created["id"])["body"], "/s/")
    signature = status_url[-1]
    page.open(status_url[:-1] + ("A" if signature != "A" else "B") + f"?lang={lang}")
    assert page.status_code() == 403
    assert page.find("#reason").get_attribute("data-reason") == "invalid"
    assert page.find("html").get_attribute("lang") == lang and page.all("main a[href]")
    page.screenshot(f"link-invalid-{lang}")

    from chalicelib.services.messaging import links
    from chalicelib.services.messaging import signing

    current, keys = signing.parse(pages_stack.signing_secret())
    signing.use(keys, current)
    try:
        expired = links.status_token(created["id"], created["ref"],
                                     expires_at=datetime.now(timezone.utc) - timedelta(minutes=1))
    finally:
        signing.reset()
    page.open(f"/s/{expired}")
    assert page.status_code() == 403
    assert page.find("#reason").get_attribute("data-reason") == "expired"
    assert page.find("html").get_attribute("lang") == lang  # the ticket's language
    page.screenshot(f"link-expired-{lang}")


def test_form_embedded_in_and_posted_from_another_site(page, pages_stack, shop):
    api = pages_stack.url
    host = shop.page("/contact", f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Shop</title></head><body><h1>Shop: contact</h1>
<iframe id="setu" title="Contact form" src="{api}/form?lang=en&amp;department=sales&amp;embed=1"
 style="width:100%;height:1300px;border:0"></iframe></body></html>""")
    page.open(host)
    page.driver.switch_to.frame(page.find("#setu"))
    assert page.find("h1").text == "Contact us" and not page.all("header")
    page.driver.switch_to.default_content()
    page.screenshot("embed-iframe-en")
    page.driver.switch_to.frame(page.find("#setu"))
    page.fill("Email", "iframe@example.com")
    page.fill("Message", "Sent from the shop's page")
    page.submit()
    assert page.find("h1").text == "Thank you" and page.text("#ref").lstrip("#").isdigit()
    assert not page.all("header")  # still the embedded look
    page.driver.switch_to.default_content()

    snippet = Path(__file__).resolve().parents[2] / "docs" / "embed-snippet.html"
    html = snippet.read_text().replace("https://help.example.com", api)
    page.open(shop.page("/snippet", html))
    page.fill("আপনার নাম", "করিম")
    page.fill("মোবাইল নম্বর", "01811-000000")
    page.fill("বার্তা", "দোকানের পাতা থেকে পাঠানো")
    page.screenshot("embed-snippet-bn")
    page.submit()
    assert page.url.startswith(api + "/form/thanks/") and page.status_code() == 200
    assert re.fullmatch("#[০-৯]+", page.text("#ref"))
