"""Signed links (services/messaging/links.py) without AWS: the secret and the ref lookup are stubbed."""
import os
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from chalicelib.services.messaging import signing
from chalicelib import ids
from chalicelib.services.messaging import links
from chalicelib.services.tickets import store as ticket_store


NOW = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)
REFS = {"1042": "t_a", "1043": "t_b"}


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    signing.use({"k1": b"k" * 32}, "k1")
    monkeypatch.setattr(ticket_store, "id_for_ref", REFS.get)
    yield
    signing.reset()


def test_status_link_opens_its_ticket_until_it_expires():
    token = links.status_token("t_a", "1042", now=NOW)
    opened = links.open_status(token, now=NOW + timedelta(days=59))
    assert (opened.ticket_id, opened.ref) == ("t_a", "1042")
    with pytest.raises(links.LinkExpired) as info:
        links.open_status(token, now=NOW + timedelta(days=60, seconds=1))
    assert info.value.ticket_id == "t_a"


def test_links_are_short_enough_for_an_sms():
    assert len(links.status_token("t_a", "1042", now=NOW)) <= 37  # <ref>.<expiry>.<kid>.<sig>


@pytest.mark.parametrize("change", [
    lambda t: t.replace("1042.", "1043.", 1),                       # another ticket
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),              # tampered signature
    lambda t: "1042.zzzzzz." + t.rsplit(".", 1)[1],                 # a later expiry
    lambda t: t + "x", lambda t: "", lambda t: "1042..", lambda t: "9999." + t.split(".", 1)[1],
])
def test_edited_status_links_do_not_open(change):
    token = links.status_token("t_a", "1042", now=NOW)
    with pytest.raises(links.LinkInvalid) as info:
        links.open_status(change(token), now=NOW)
    assert not isinstance(info.value, links.LinkExpired)


def test_a_token_opens_only_its_own_page():
    thanks = links.thanks_token("t_a", "1042", now=NOW)
    assert links.open_thanks(thanks, now=NOW).ticket_id == "t_a"
    with pytest.raises(links.LinkInvalid):
        links.open_status(thanks, now=NOW)
    with pytest.raises(links.LinkInvalid):
        links.open_thanks(links.status_token("t_a", "1042", now=NOW), now=NOW)


def test_another_install_cannot_make_our_links(monkeypatch):
    token = links.status_token("t_a", "1042", now=NOW)
    signing.use({"k1": b"x" * 32}, "k1")
    with pytest.raises(links.LinkInvalid):
        links.open_status(token, now=NOW)


def test_unsubscribe_link_names_its_address_only():
    token = links.unsubscribe_token("Rahim@Example.com")
    assert links.open_unsubscribe(token) == "Rahim@Example.com"
    other = links.unsubscribe_token("karim@example.com")
    forged = other.split(".")[0] + "." + ".".join(token.split(".")[1:])
    with pytest.raises(links.LinkInvalid):
        links.open_unsubscribe(forged)


def test_unsubscribe_link_works_a_year_then_expires():
    token = links.unsubscribe_token("rahim@example.com", now=NOW)
    assert links.open_unsubscribe(token, now=NOW + timedelta(days=364)) == "rahim@example.com"
    with pytest.raises(links.LinkExpired):
        links.open_unsubscribe(token, now=NOW + timedelta(days=366))
    address, expiry, kid, sig = token.split(".")
    later = ids.base36(int((NOW + timedelta(days=9999)).timestamp()))
    with pytest.raises(links.LinkInvalid) as raised:  # a longer life is not for the taking
        links.open_unsubscribe(f"{address}.{later}.{kid}.{sig}", now=NOW)
    assert not isinstance(raised.value, links.LinkExpired)
    with pytest.raises(links.LinkInvalid):  # the old form, without an expiry, is refused
        links.open_unsubscribe(f"{address}.{sig}", now=NOW)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_garbage_is_just_invalid(text):
    for opener in (lambda t: links.open_status(t, now=NOW), links.open_unsubscribe):
        with pytest.raises(links.LinkInvalid):
            opener(text)


@contextmanager
def public_url(value: str):
    from chalicelib import config

    before = os.environ.get("SETU_PUBLIC_URL")
    os.environ["SETU_PUBLIC_URL"] = value
    config.reload()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SETU_PUBLIC_URL", None)
        else:
            os.environ["SETU_PUBLIC_URL"] = before
        config.reload()


@pytest.mark.parametrize("base", ["", "help.example.com", "/api", "ftp://help.example.com"])
def test_no_link_without_an_absolute_public_url(base):
    """Mail and SMS go to people: a link without a scheme and host goes nowhere, so none."""
    with public_url(base):
        assert links.status_url("t_a", "1042", now=NOW) is None
        assert links.unsubscribe_url("rahim@example.com") is None
        assert links.unsubscribe_url("rahim@example.com", "bn") is None


def test_page_links_on_the_public_url():
    with public_url("https://help.example.com/"):
        token = links.unsubscribe_token("rahim@example.com")
        assert links.unsubscribe_url("rahim@example.com") == f"https://help.example.com/unsubscribe/{token}"
        assert links.unsubscribe_url("rahim@example.com", "en") == \
            f"https://help.example.com/unsubscribe/{token}?lang=en"
        assert links.status_url("t_a", "1042", now=NOW) == \
            f"https://help.example.com/s/{links.status_token('t_a', '1042', now=NOW)}"
