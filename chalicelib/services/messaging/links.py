"""Signed links for customer pages: the ticket status page, the form's thank-you page and the
unsubscribe page (docs/pages.md).

A token carries what it names and an HMAC-SHA256 over it with the install's signing secret
(services/messaging/signing.py: the key its kid names), each purpose under its own label so
a token made for one page never opens another:

  status  <ref>.<expiry>.<kid>.<sig>  sig over "status|<ticket id>|<expiry>"; expires
  thanks  <ref>.<expiry>.<kid>.<sig>  sig over "thanks|<ticket id>|<expiry>"; expires (a day)
  unsub   <address b64url>.<expiry>.<kid>.<sig>
                                    sig over "unsub|<address>|<expiry>"; expires after a year
                                    (SETU_UNSUBSCRIBE_LINK_DAYS): far past the 30 days an
                                    opt-out must keep working, and RFC 8058's one-click from
                                    any mail still in an inbox

The ref keeps status links short enough for an SMS; the signature covers the ticket *id* the
ref resolves to, so a link is bound to one ticket and cannot be re-pointed by editing the ref.
Expiry is seconds since the epoch in base 36. 120 bits of signature: not guessable. The kid
(k1, k2, ...) names the signing key; tokens made before key ids have no kid field and are
verified with the legacy key (signing.py); a kid the secret no longer holds is refused.

The URLs (status_url, unsubscribe_url) go into mail, SMS and the List-Unsubscribe header, so
they are absolute, on SETU_PUBLIC_URL; without an absolute http(s) public URL (the committed
dev and prod setting until the first deploy) there is no URL (None) and the message goes
without the link rather than carry one that leads nowhere.

`mask` hides the tokens of such links in stored message bodies shown to agents.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode, urlsplit

from chalicelib import clock, config, ids
from chalicelib.services.messaging import signing
from chalicelib.services.tickets import store as ticket_store

SIGNATURE_CHARS = 20  # base64url: 120 bits
DEFAULT_STATUS_DAYS = 60
DEFAULT_UNSUBSCRIBE_DAYS = 365
THANKS_LIFETIME = timedelta(days=1)
MAX_TOKEN = 400
_KID = r"(?:(?P<kid>k[0-9]{1,6})\.)?"
_REF_TOKEN = re.compile(r"^(?P<ref>[0-9]{1,12})\.(?P<exp>[0-9a-z]{1,10})\." + _KID + r"(?P<sig>[A-Za-z0-9_-]{%d})$"
                        % SIGNATURE_CHARS)
# A signed customer-page link anywhere in a text: its path and the token after it.
_SIGNED_LINK = re.compile(r"(/(?:s|csat|unsubscribe|form/thanks)/)[A-Za-z0-9._~%-]{8,}")
MASK = "[link hidden]"
_UNSUB_TOKEN = re.compile(r"^(?P<addr>[A-Za-z0-9_-]{4,360})\.(?P<exp>[0-9a-z]{1,10})"
                          r"\." + _KID + r"(?P<sig>[A-Za-z0-9_-]{%d})$" % SIGNATURE_CHARS)


class LinkInvalid(Exception):
    """The token is malformed, its signature does not match, or it names nothing."""

    reason = "invalid"


class LinkExpired(LinkInvalid):
    """Authentic, but past its expiry."""

    reason = "expired"

    def __init__(self, ticket_id: str = ""):
        super().__init__(ticket_id)
        self.ticket_id = ticket_id  # "" for a link that names no ticket (unsubscribe)


@dataclass(frozen=True)
class Opened:
    ticket_id: str
    ref: str
    expires_at: datetime


def status_days() -> int:
    """How long a status link works: SETU_STATUS_LINK_DAYS (default 60)."""
    return _days("SETU_STATUS_LINK_DAYS", DEFAULT_STATUS_DAYS)


def unsubscribe_days() -> int:
    """How long an unsubscribe link works: SETU_UNSUBSCRIBE_LINK_DAYS (default 365)."""
    return _days("SETU_UNSUBSCRIBE_LINK_DAYS", DEFAULT_UNSUBSCRIBE_DAYS)


def _days(variable: str, default: int) -> int:
    return config.env_int(variable, default, minimum=1)


# ---- status and thank-you links ------------------------------------------------------------

def status_token(ticket_id: str, ref: str, *, now: datetime | None = None,
                 expires_at: datetime | None = None) -> str:
    expires_at = expires_at or (now or clock.now()) + timedelta(days=status_days())
    return _ref_token("status", ticket_id, ref, expires_at)


def status_url(ticket_id: str, ref: str, *, now: datetime | None = None) -> str | None:
    """The ticket's status page, or None without an absolute public URL."""
    base = public_base()
    return f"{base}/s/{status_token(ticket_id, ref, now=now)}" if base else None


def open_status(token: str, *, now: datetime | None = None) -> Opened:
    return _open_ref_token("status", token, now)


def thanks_token(ticket_id: str, ref: str, *, now: datetime | None = None) -> str:
    return _ref_token("thanks", ticket_id, ref, (now or clock.now()) + THANKS_LIFETIME)


def open_thanks(token: str, *, now: datetime | None = None) -> Opened:
    return _open_ref_token("thanks", token, now)


def _ref_token(purpose: str, ticket_id: str, ref: str, expires_at: datetime) -> str:
    expiry = ids.base36(int(expires_at.timestamp()))
    kid = signing.current_kid()
    return f"{ref}.{expiry}.{kid}.{_sign(kid, purpose, ticket_id, expiry)}"


def _open_ref_token(purpose: str, token: str, now: datetime | None) -> Opened:
    found = _REF_TOKEN.match(token or "") if len(token or "") <= MAX_TOKEN else None
    if not found:
        raise LinkInvalid("malformed")

    ticket_id = ticket_store.id_for_ref(found["ref"])
    if not ticket_id or not signing.same(
            found["sig"], _sign(found["kid"], purpose, ticket_id, found["exp"])):
        raise LinkInvalid("signature")
    expires_at = _instant(found["exp"])
    if expires_at <= (now or clock.now()):
        raise LinkExpired(ticket_id)
    return Opened(ticket_id=ticket_id, ref=found["ref"], expires_at=expires_at)


# ---- unsubscribe links ---------------------------------------------------------------------

def unsubscribe_token(address: str, *, now: datetime | None = None) -> str:
    encoded = base64.urlsafe_b64encode(address.encode()).decode().rstrip("=")
    # the expiry is a UTC midnight, so a mail's header and footer (and a day's mails) carry
    # the same link
    day = (now or clock.now()).astimezone(timezone.utc).replace(hour=0, minute=0, second=0,
                                                                microsecond=0)
    expiry = ids.base36(int((day + timedelta(days=unsubscribe_days() + 1)).timestamp()))
    kid = signing.current_kid()
    return f"{encoded}.{expiry}.{kid}.{_sign(kid, 'unsub', address.casefold(), expiry)}"


def unsubscribe_url(address: str, lang: str | None = None) -> str | None:
    """The unsubscribe page (and RFC 8058 one-click target) for `address`, in `lang` when
    given, or None without an absolute public URL. The one helper for the footer link of
    every automatic mail and its List-Unsubscribe header."""
    base = public_base()
    if not base:
        return None
    query = f"?{urlencode({'lang': lang})}" if lang else ""
    return f"{base}/unsubscribe/{unsubscribe_token(address)}{query}"


def open_unsubscribe(token: str, *, now: datetime | None = None) -> str:
    """The email address the token was made for; LinkInvalid, or LinkExpired when authentic
    but past its expiry."""
    found = _UNSUB_TOKEN.match(token or "")
    if not found:
        raise LinkInvalid("malformed")
    raw = found["addr"]
    try:
        address = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise LinkInvalid("malformed") from None
    if "@" not in address or not signing.same(
            found["sig"], _sign(found["kid"], "unsub", address.casefold(), found["exp"])):
        raise LinkInvalid("signature")
    if _instant(found["exp"]) <= (now or clock.now()):
        raise LinkExpired()
    return address


# ---- plumbing ------------------------------------------------------------------------------

def _instant(expiry: str) -> datetime:
    """A token's expiry field (epoch seconds in base 36) as a UTC instant."""
    return datetime.fromtimestamp(int(expiry, 36), tz=timezone.utc)


def _sign(kid: str | None, purpose: str, *parts: str) -> str:
    """The signature under the key `kid` names; "" (matching nothing) for an unknown kid."""
    message = "|".join((purpose, *parts)).encode()
    try:
        digest = signing.mac(message, kid)
    except signing.UnknownKey:
        return ""
    return base64.urlsafe_b64encode(digest).decode()[:SIGNATURE_CHARS]


def mask(text: str | None) -> str | None:
    """`text` with the token of every signed customer-page link (status, satisfaction,
    unsubscribe, thank-you) replaced by MASK: what agents and exports see of stored message
    bodies, so nobody but the customer can act as the customer through them."""
    if not text or "/" not in text:
        return text
    return _SIGNED_LINK.sub(lambda m: m.group(1) + MASK, text)


def public_base() -> str | None:
    """SETU_PUBLIC_URL when it is an absolute http(s) URL (no trailing slash), else None."""
    base = (config.settings().public_url or "").rstrip("/")
    parts = urlsplit(base)
    return base if parts.scheme in ("http", "https") and parts.netloc else None
