"""The install's signing keys, and the one HMAC every signed token and address uses:
reply addresses (services/messaging/reply_address.py), customer-page links
(services/messaging/links.py), satisfaction links (services/followup/checkin.py) and the
status page's nonces (services/portal/status_page.py).

The keys live in one Secrets Manager secret, created by the template at deploy time
(`SigningSecret`, its ARN in SETU_SIGNING_SECRET_ARN) and read-only for the functions:

    {"current": "k2", "k1": "<64 random chars>", "k2": "<64 random chars>"}

Every new token is signed with the current key and carries its key id (`kid`, k<n>); a token is
verified with the key its kid names, so after `setu rotate-signing-key` (docs/security.md) links
signed with a kept older key still work, and a dropped or unknown kid is refused (UnknownKey).
docs/security.md says how long a key must be kept.

Legacy rule: a token *without* a kid was made before key ids, with the secret that used to be
created on first use in the settings table (kind "secret", name "reply-signing"). It is verified
against that item, read (GetItem, never written) only when such a token arrives; when there is
none, the token is refused.

AWS calls: one GetSecretValue per container (runtime.reset forgets it); a GetItem on the
settings table the first time a container sees a token without a kid.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re

from chalicelib.db.models import Setting
from chalicelib.integrations import aws

KID = re.compile(r"^k[1-9][0-9]{0,5}$")
ENV = "SETU_SIGNING_SECRET_ARN"

_keys: dict[str, bytes] | None = None  # kid -> key
_current: str | None = None
_legacy: bytes | None = None
_legacy_read = False


class UnknownKey(Exception):
    """The token names a key id the secret does not hold (dropped, or never made)."""


def parse(secret_string: str) -> tuple[str, dict[str, bytes]]:
    """The current kid and every key of the secret's JSON; ValueError if it is not usable."""
    data = json.loads(secret_string)
    if not isinstance(data, dict):
        raise ValueError("the signing secret is not a JSON object")
    keys = {kid: value.encode() for kid, value in data.items()
            if KID.match(kid) and isinstance(value, str) and len(value) >= 32}
    current = data.get("current")
    if current not in keys:
        raise ValueError("the signing secret's current key is missing or too short")
    return current, keys


def _load() -> None:
    global _keys, _current
    if _keys is not None:
        return
    arn = os.environ.get(ENV, "").strip()
    if not arn:
        raise RuntimeError(f"{ENV} is not set: the template's SigningSecret is not wired in")
    value = aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    _current, _keys = parse(value)


def current_kid() -> str:
    """The key id new tokens are signed with."""
    _load()
    assert _current is not None
    return _current


def key(kid: str | None) -> bytes:
    """The key `kid` names; None or "" is the legacy settings-table secret. UnknownKey if
    there is no such key."""
    if not kid:
        return _legacy_key()
    if not KID.match(kid):
        raise UnknownKey(kid)
    _load()
    assert _keys is not None
    try:
        return _keys[kid]
    except KeyError:
        raise UnknownKey(kid) from None


def _legacy_key() -> bytes:
    global _legacy, _legacy_read
    if not _legacy_read:
        try:
            _legacy = bytes.fromhex(Setting.get("secret", "reply-signing").data.as_dict()["hex"])
        except Setting.DoesNotExist:
            _legacy = None
        _legacy_read = True
    if _legacy is None:
        raise UnknownKey("")
    return _legacy


def mac(message: str | bytes, kid: str | None) -> bytes:
    """HMAC-SHA256 of `message` under the key `kid` names (UnknownKey if none)."""
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(key(kid), data, hashlib.sha256).digest()


def same(expected: str, given: str) -> bool:
    """Constant-time comparison of a signature with the one it should be."""
    return hmac.compare_digest(expected, given)


def use(keys: dict[str, bytes], current: str, legacy: bytes | None = None) -> None:
    """Tests: sign with these keys (no AWS)."""
    global _keys, _current, _legacy, _legacy_read
    _keys, _current, _legacy, _legacy_read = dict(keys), current, legacy, True


def reset() -> None:
    """Forget the cached keys (chalicelib/runtime.py: a fresh container)."""
    global _keys, _current, _legacy, _legacy_read
    _keys, _current, _legacy, _legacy_read = None, None, None, False
