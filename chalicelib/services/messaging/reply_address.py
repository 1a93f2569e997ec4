"""Signed reply addresses: `support+<ref>.<expiry>.<kid>.<signature>@domain` (kid: the signing
key's id, services/messaging/signing.py; addresses made before key ids have none and are checked
with the legacy key; a kid no longer kept counts for nothing). Every mail we send
carries one as Reply-To, so replies from clients that drop the threading headers still find
their ticket (services/inbound/thread.py); it works for SETU_REPLY_ADDRESS_DAYS (default 180)
after the mail, then counts for nothing. AWS calls: none (the secret: services/messaging/signing.py).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Iterable

from chalicelib import clock, config, ids
from chalicelib.services.messaging import signing

_TOKEN = re.compile(r"^(?P<local>[^+@]+)\+(?P<ref>[0-9]{1,12})\.(?P<exp>[0-9a-z]{1,8})"
                    r"\.(?:(?P<kid>k[0-9]{1,6})\.)?(?P<sig>[a-z0-9]{10})@(?P<domain>.+)$")
DEFAULT_REPLY_DAYS = 180


def address(ref: str, *, now: datetime | None = None) -> str:
    """support+<ref>.<expiry>.<kid>.<sig>@domain: a reply to it threads even without In-Reply-To,
    until the expiry (base-36 epoch seconds) passes."""
    local, _, domain = config.settings().support_address.partition("@")
    expires = (now or clock.now()) + timedelta(days=reply_days())
    exp = ids.base36(int(expires.timestamp()))
    kid = signing.current_kid()
    return f"{local}+{ref}.{exp}.{kid}.{_sign(kid, f'{ref}.{exp}')}@{domain}"


def ref_from(addresses: Iterable[str], *, now: datetime | None = None) -> str | None:
    """The ticket ref in a correctly signed, unexpired plus-address among `addresses`, if any.
    An expired one proves nothing (a leaked address stops working); the mail is then threaded
    by its headers or subject like any other."""
    support_domain = config.settings().support_address.rpartition("@")[2].lower()
    epoch = (now or clock.now()).timestamp()
    for candidate in addresses:
        found = _TOKEN.match((candidate or "").strip().lower())
        if found and found["domain"] == support_domain and signing.same(
                found["sig"], _sign(found["kid"], f"{found['ref']}.{found['exp']}")) \
                and int(found["exp"], 36) > epoch:
            return found["ref"]
    return None


def reply_days() -> int:
    return config.env_int("SETU_REPLY_ADDRESS_DAYS", DEFAULT_REPLY_DAYS, minimum=1)


def _sign(kid: str | None, ref: str) -> str:
    """The signature under the key `kid` names; "" (matching nothing) for an unknown kid."""
    try:
        digest = signing.mac(f"reply:{ref}", kid)
    except signing.UnknownKey:
        return ""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % 36] for b in digest[:10])

