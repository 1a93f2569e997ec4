"""Key ids on every signed token (services/messaging/signing.py): new tokens carry the current
kid; after a rotation a token signed with a kept older key still verifies, a dropped or
unknown kid is refused, a tampered kid is refused, and a token without a kid is checked with the
legacy (settings-table) key only. No AWS: the keys are set with signing.use."""
import hmac
import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import config
from chalicelib.services.followup import checkin
from chalicelib.services.messaging import links, reply_address, signing
from chalicelib.services.portal import status_page
from chalicelib.services.tickets import store as ticket_store

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)
K1, K2, LEGACY = b"1" * 64, b"2" * 64, b"L" * 32


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    monkeypatch.setattr(ticket_store, "id_for_ref", {"1042": "t_a"}.get)
    monkeypatch.setenv("SETU_SUPPORT_ADDRESS", "support@setu.example.com")
    config.reload()
    signing.use({"k1": K1}, "k1")
    yield
    signing.reset()
    config.reload()


def _makers():
    return {
        "status": (lambda: links.status_token("t_a", "1042", now=NOW),
                   lambda t: links.open_status(t, now=NOW).ticket_id == "t_a"),
        "unsub": (lambda: links.unsubscribe_token("a@example.com", now=NOW),
                  lambda t: links.open_unsubscribe(t, now=NOW) == "a@example.com"),
        "reply": (lambda: reply_address.address("1042", now=NOW),
                  lambda t: reply_address.ref_from([t], now=NOW) == "1042"),
        "csat": (lambda: checkin.token("t_a", now=NOW),
                 lambda t: checkin.ticket_from_token(t, now=NOW) == "t_a"),
        "nonce": (lambda: status_page.new_nonce("t_a", now=NOW),
                  lambda t: status_page.nonce_valid("t_a", t, now=NOW)),
    }


def _ok(check, token) -> bool:
    try:
        return bool(check(token))
    except links.LinkInvalid:
        return False


FORMATS = sorted(_makers())


@pytest.mark.parametrize("name", FORMATS)
def test_a_rotation_keeps_old_tokens_while_their_key_is_kept(name):
    make, check = _makers()[name]
    old = make()
    assert ".k1." in old
    signing.use({"k1": K1, "k2": K2}, "k2")  # rotated: k2 current, k1 kept
    new = make()
    assert ".k2." in new and _ok(check, new) and _ok(check, old)
    signing.use({"k2": K2}, "k2")  # k1 dropped
    assert _ok(check, new) and not _ok(check, old)


@pytest.mark.parametrize("name", FORMATS)
def test_a_tampered_or_unknown_kid_is_refused(name):
    make, check = _makers()[name]
    signing.use({"k1": K1, "k2": K2}, "k2")
    token = make()
    # (a reply address is read case-insensitively, as mail may change its case)
    for kid in ("k1", "k3", "k0", "kx") + (("K2",) if name != "reply" else ()):
        assert not _ok(check, token.replace(".k2.", f".{kid}.", 1)), kid


@pytest.mark.parametrize("name", FORMATS)
def test_a_token_without_kid_is_checked_with_the_legacy_key_only(name):
    make, check = _makers()[name]
    signing.use({"k1": LEGACY}, "k1")  # a token made with the legacy secret ...
    legacy = make().replace(".k1.", ".", 1)  # ... in the format from before key ids
    signing.use({"k1": K1}, "k1", legacy=LEGACY)
    assert _ok(check, legacy)
    signing.use({"k1": K1}, "k1")  # no legacy item in the settings table: refused
    assert not _ok(check, legacy)
    signing.use({"k1": LEGACY}, "k1")  # and not verified with k1 even if it had the same key
    assert not _ok(check, legacy)


def test_the_secret_shape_is_parsed_and_checked():
    current, keys = signing.parse(json.dumps({"current": "k2", "k1": "a" * 64, "k2": "b" * 64}))
    assert current == "k2" and keys == {"k1": b"a" * 64, "k2": b"b" * 64}
    for bad in ({"current": "k3", "k1": "a" * 64}, {"k1": "a" * 64}, ["k1"],
                {"current": "k1", "k1": "short"}):
        with pytest.raises(ValueError):
            signing.parse(json.dumps(bad))


def test_mac_is_plain_hmac_sha256_under_the_named_key():
    signing.use({"k1": K1, "k2": K2}, "k2")
    assert signing.mac("x", "k1") == hmac.new(K1, b"x", hashlib.sha256).digest()
    with pytest.raises(signing.UnknownKey):
        signing.mac("x", "k9")
    with pytest.raises(signing.UnknownKey):
        signing.mac("x", None)


def test_rotation_adds_the_next_key_and_keeps_or_drops_old_ones():
    from setu_cli.main import rotated

    one = {"current": "k1", "k1": "a" * 64}
    two = rotated(one, new_key="b" * 64)
    assert two == {"current": "k2", "k1": "a" * 64, "k2": "b" * 64}
    three = rotated(two, keep=1, new_key="c" * 64)
    assert three == {"current": "k3", "k2": "b" * 64, "k3": "c" * 64}
    assert len(rotated(three)["k4"]) == 64 and rotated(three)["k4"] != rotated(three)["k4"]
    assert rotated(three, drop="k2") == {"current": "k3", "k3": "c" * 64}
    for drop in ("k3", "k1"):  # the current key; a key the secret lacks
        with pytest.raises(ValueError):
            rotated(three, drop=drop)
