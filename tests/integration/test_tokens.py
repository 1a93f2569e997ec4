"""Tokens (issue 20, attack 6): satisfaction links expire; the status page's reply nonce is
Setu's (signed, bound to the ticket, single use) and replies per ticket per hour are limited,
so 40 posts no longer make 41 messages; agents see signed links in stored bodies masked."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

from chalicelib import clock
from chalicelib.db.models import Ticket
from chalicelib.services.followup import checkin
from chalicelib.services.messaging import links, signing
from tests.integration.helpers import Api, new_ticket, stored_body, timeline
from tests.integration.test_pages import BROWSER, http, status_path

import pytest


@pytest.fixture
def api(stack):
    return Api(stack.client)


def _web_messages(api, ticket_id: str) -> list[dict]:
    return [e for e in timeline(api, ticket_id) if e.get("direction") == "in" and e.get("channel") == "web"
            and e.get("kind") == "message" and "status" in e and e.get("body", "").startswith("spam")]


def _nonce(stack, path: str) -> str:
    return re.search(r'name="nonce" value="([^"]+)"', http(stack, "GET", path)[1]).group(1)


def test_a_client_chosen_nonce_is_refused(api, stack):
    created = new_ticket(api)
    path = status_path(api, created["id"])
    for n in range(5):  # the attack: a new made-up nonce per post
        status, page, _ = http(stack, "POST", path, headers=BROWSER,
                               body=urlencode({"body": f"spam {n}", "nonce": f"attacker{n:012d}"}))
        assert status == 422, page
    assert _web_messages(api, created["id"]) == []
    # another ticket's page nonce does not work here either
    other = new_ticket(api, email="other@example.com")
    foreign = _nonce(stack, status_path(api, other["id"]))
    status, _, _ = http(stack, "POST", path, headers=BROWSER,
                        body=urlencode({"body": "spam foreign", "nonce": foreign}))
    assert status == 422
    assert _web_messages(api, created["id"]) == []


def test_replies_per_ticket_per_hour_are_limited(api, stack, monkeypatch):
    monkeypatch.setenv("SETU_STATUS_REPLIES_PER_HOUR", "3")
    created = new_ticket(api)
    path = status_path(api, created["id"])
    answers = []
    for n in range(6):  # reload the page for a fresh nonce each time, and post
        body = urlencode({"body": f"spam {n}", "nonce": _nonce(stack, path), "lang": "en"})
        status, page, _ = http(stack, "POST", path, headers=BROWSER, body=body)
        answers.append(status)
        if status == 429:
            assert "অনেকগুলো বার্তা" in page  # the page in the ticket's language
    assert answers == [303, 303, 303, 429, 429, 429]
    assert len(_web_messages(api, created["id"])) == 3


def test_satisfaction_links_expire(api, stack):
    created = new_ticket(api)
    old = checkin.token(created["id"], now=clock.now() - timedelta(days=checkin.csat_days() + 2))
    status, page, _ = http(stack, "GET", f"/csat/{old}?score=5")
    assert status == 403 and 'data-reason="expired"' in page
    status, _, _ = http(stack, "POST", f"/csat/{old}", headers=BROWSER, body="score=1")
    assert status == 403
    assert Ticket.get(created["id"]).sla.as_dict().get("csat") is None
    fresh = checkin.token(created["id"])
    assert http(stack, "GET", f"/csat/{fresh}?score=5")[0] == 200
    # the expiry is signed: a later expiry with the old signature is refused
    tid, _, kid, sig = old.split(".")
    later = clock.now() + timedelta(days=400)
    from chalicelib import ids

    assert http(stack, "GET", f"/csat/{tid}.{ids.base36(int(later.timestamp()))}.{kid}.{sig}")[0] == 404


def _legacy_secret() -> bytes:
    """The secret of a stage from before key ids (made on first use in the settings table):
    tokens without a kid are checked with it (signing.py)."""
    from chalicelib.db.models import Setting

    key = "ab" * 32
    Setting("secret", "reply-signing", data={"hex": key}).save()
    signing.reset()
    return bytes.fromhex(key)


def test_links_sent_before_expiry_work_only_for_the_days_after_the_check_in(api, stack):
    created = new_ticket(api)
    _legacy_secret()
    legacy = f"{created['id']}.{signing.mac('csat:' + created['id'], None).hex()[:16]}"
    # no check-in was sent on this ticket: refused
    assert http(stack, "GET", f"/csat/{legacy}?score=4")[0] == 403
    ticket = Ticket.get(created["id"])
    sla = ticket.sla.as_dict()
    sla["followup"] = {"sent_at": clock.iso(clock.now() - timedelta(days=2)), "channel": "email"}
    ticket.update(actions=[Ticket.sla.set(sla)])
    assert http(stack, "GET", f"/csat/{legacy}?score=4")[0] == 200
    sla["followup"]["sent_at"] = clock.iso(clock.now() - timedelta(days=checkin.csat_days() + 1))
    ticket.update(actions=[Ticket.sla.set(sla)])
    assert http(stack, "GET", f"/csat/{legacy}?score=4")[0] == 403


def test_agents_see_signed_links_masked(api, stack):
    created = new_ticket(api)
    ack = [e for e in timeline(api, created["id"]) if e.get("kind") == "ack"][0]
    stored = stored_body(created["id"], ack)
    token = status_path(api, created["id"]).rsplit("/", 1)[1]
    assert token in stored
    assert token not in ack["body"] and f"/s/{links.MASK}" in ack["body"]
    unsubscribe = re.search(r"/unsubscribe/([^\s?]+)", stored)
    if unsubscribe:
        assert unsubscribe.group(1) not in ack["body"]


def test_mask_hides_every_signed_link():
    text = ("Status: https://help.example.com/s/1042.abc123.AAAAAAAAAAAAAAAAAAAA\n"
            "Rate: https://help.example.com/csat/t_01abc.k9z.0123456789abcdef?score=5\n"
            "Stop: https://help.example.com/unsubscribe/cmFoaW0.zz.BBBBBBBBBBBBBBBBBBBB?lang=bn\n"
            "FAQ: https://help.example.com/help/faq")
    masked = links.mask(text)
    assert "AAAA" not in masked and "0123456789abcdef" not in masked and "BBBB" not in masked
    assert "https://help.example.com/help/faq" in masked and "?score=5" in masked
