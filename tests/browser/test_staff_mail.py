"""Staff mail as agents see it: the HTML part of every kind of staff mail, and a digest, in
Bengali and English, opened in headless Chromium (JavaScript off) and saved as screenshots
(build/screenshots/staff-<kind>-<lang>.png). What is visible is checked: the ref (Bengali
digits in bn), Dhaka time with the zone named, the customer, the way to open the ticket, and
never an /api/ link. The mails are rendered by the real templates (services/messaging/staff.py);
no stack is needed, so this file starts only a browser."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chalicelib.db.models import StaffDigest, Ticket
from chalicelib.services.messaging import staff
from tests import offline
from tests.browser.conftest import chromium

BN_DIGITS = "০১২৩৪৫৬৭৮৯"
DUE = "2026-12-07T05:19:00.000Z"  # 11:19 in Dhaka
KINDS = {
    "assigned": {},
    "customer_replied": {"reopened": True, "from_status": "pending",
                         "excerpt": "রাউটার এখনো লাল আলো দিচ্ছে / The router still blinks red."},
    "callback_due": {"callback_at": "2026-12-07T09:00:00.000Z", "note": "ask about the refund"},
    "sla_warning": {"target": "first_response", "target_due": DUE},
    "decision_requested": {"question": "Refund 5,000 taka for the broken router?",
                           "decision_due": "2026-12-07T07:16:44.010Z"},
    "decision_decided": {"outcome": "approved", "comment": "within the goodwill budget"},
    "escalation": {"level": 2, "target": "first_response"},
}


@pytest.fixture(autouse=True)
def builtin_departments():
    """Rendered without a stack: the built-in departments, no DynamoDB, no console address
    (tests/offline.py)."""
    with offline.builtin_departments(), offline.no_console_address():
        yield


@pytest.fixture(scope="module")
def mail_browser(browser_available, shop):
    yield from chromium(shop.url)


def _ticket() -> Ticket:
    now = datetime(2026, 12, 7, 4, 0, tzinfo=timezone.utc)
    return Ticket(id="t_01browser", ref="1042", subject="রাউটার কাজ করছে না", status="pending",
                  priority="high", department="technical", customer_id="c_1", channel="sms",
                  created_at=now, updated_at=now, queue_sort="x",
                  timers={"resolution": {"state": "armed", "due_at": DUE, "generation": 1}})


def _visible(page) -> str:
    return page.find("body").text


@pytest.mark.parametrize("lang", ["bn", "en"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_each_staff_mail_reads_well_in_chromium(mail_browser, shop, kind, lang):
    n = staff.facts(_ticket(), kind, lang, recipient="Nusrat", customer_name="রহিম উদ্দিন",
                    actor_name="Karim", **KINDS[kind])
    subject, text, html, headline = staff.render(n, lang)
    page = mail_browser.open(shop.page(f"/staff-{kind}-{lang}.html", html))
    seen = _visible(page)
    page.screenshot(f"staff-{kind}-{lang}")
    assert page.find("html").get_attribute("lang") == lang
    assert headline.split("#")[0].strip() in seen
    assert "রহিম উদ্দিন" in seen and "রাউটার কাজ করছে না" in seen
    if lang == "bn":
        assert "#১০৪২" in seen and "#1042" not in seen
        assert "৭ ডিসেম্বর ২০২৬, ১১:১৯ (ঢাকা)" in seen  # the SLA due time, Dhaka
        assert "অপেক্ষমাণ" in seen  # the status in plain words
    else:
        assert "#1042" in seen and "7 Dec 2026, 11:19 (Dhaka time)" in seen
        assert "pending, waiting for the customer" in seen
    assert "setu tickets --q 1042" in seen
    assert "/api/" not in seen and "/api/" not in html and "t_01browser" not in html
    assert "/api/" not in text


@pytest.mark.parametrize("lang", ["bn", "en"])
def test_a_digest_groups_by_ticket(mail_browser, shop, lang):
    lines = [("1042", "t_a", "assigned", "2026-12-07T16:05:00.000Z"),
             ("1043", "t_b", "customer_replied", "2026-12-07T16:20:00.000Z"),
             ("1042", "t_a", "callback_due", "2026-12-07T17:00:00.000Z")]
    digest = StaffDigest("staff-digest", "2026-12-08T02:00:00.000Z#ag_1#quiet", lang=lang,
                         quiet=True, after=0, agent="arn:aws:iam::123456789012:user/nusrat",
                         recipient="nusrat@example.com",
                         entries=[{"ref": ref, "ticket_id": tid, "kind": kind, "at": at,
                                   "line": f"line {kind}", "subject": f"Subject {ref}"}
                                  for ref, tid, kind, at in lines])
    subject, text, html = staff.render_digest(digest, {"t_a": "open", "t_b": "pending"}, "Nusrat")
    page = mail_browser.open(shop.page(f"/staff-digest-{lang}.html", html))
    seen = _visible(page)
    page.screenshot(f"staff-digest-{lang}")
    headings = [h.text for h in page.all("h3")]
    if lang == "bn":
        assert headings == ["#১০৪২ Subject 1042", "#১০৪৩ Subject 1043"]
        assert "৮ ডিসেম্বর ২০২৬, ০৮:০০ (ঢাকা)" in seen  # quiet hours ended 08:00 Dhaka
        assert subject == "২টি টিকেটে ৩টি নোটিফিকেশন"
    else:
        assert headings == ["#1042 Subject 1042", "#1043 Subject 1043"]
        assert "8 Dec 2026, 08:00 (Dhaka time)" in seen
        assert subject == "3 notifications on 2 tickets"
    assert seen.index("line assigned") < seen.index("line callback_due") < seen.index("line customer_replied")
    assert "/api/" not in html
