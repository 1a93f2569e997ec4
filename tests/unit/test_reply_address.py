"""Signed reply addresses (support+<ref>.<expiry>.<sig>@domain): they thread a reply until
they expire, and a forged, altered or expired one counts for nothing. No AWS: the signing
secret is fixed for the test."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import config
from chalicelib.services.inbound import thread
from chalicelib.services.messaging import reply_address, signing

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def fixed_secret(monkeypatch):
    signing.use({"k1": b"k" * 32}, "k1")
    monkeypatch.setenv("SETU_SUPPORT_ADDRESS", "support@setu.example.com")
    monkeypatch.delenv("SETU_REPLY_ADDRESS_DAYS", raising=False)
    config.reload()
    yield
    config.reload()
    signing.reset()


def test_a_fresh_address_threads_until_it_expires():
    address = reply_address.address("1042", now=NOW)
    assert address.startswith("support+1042.") and address.endswith("@setu.example.com")
    assert reply_address.ref_from([address], now=NOW + timedelta(days=179)) == "1042"
    assert reply_address.ref_from([address.upper()], now=NOW) == "1042"  # case-insensitive
    assert reply_address.ref_from([address], now=NOW + timedelta(days=181)) is None


def test_the_lifetime_is_configurable(monkeypatch):
    monkeypatch.setenv("SETU_REPLY_ADDRESS_DAYS", "7")
    address = reply_address.address("1042", now=NOW)
    assert reply_address.ref_from([address], now=NOW + timedelta(days=6)) == "1042"
    assert reply_address.ref_from([address], now=NOW + timedelta(days=8)) is None


def test_altered_forged_or_foreign_addresses_count_for_nothing():
    address = reply_address.address("1042", now=NOW)
    local, domain = address.split("@")
    _, ref_exp_sig = local.split("+")
    ref, exp, kid, sig = ref_exp_sig.split(".")
    assert kid == "k1"
    later = thread.ids.base36(int(exp, 36) + 10**8)
    for bad in (f"support+1043.{exp}.{kid}.{sig}@{domain}",        # another ticket
                f"support+{ref}.{later}.{kid}.{sig}@{domain}",      # a longer life
                f"support+{ref}.{exp}.{kid}.aaaaaaaaaa@{domain}",   # forged signature
                f"support+{ref}.{exp}.k2.{sig}@{domain}",           # another (unknown) key
                f"support+{ref}.{exp}.{sig}@{domain}",              # no kid, no legacy key
                f"support+{ref}.{sig}@{domain}",                    # the old form, without expiry
                f"support+{ref}.{exp}.{kid}.{sig}@evil.example"):   # not our domain
        assert reply_address.ref_from([bad], now=NOW) is None, bad
    assert reply_address.ref_from(["x@y.z", address], now=NOW) == "1042"
