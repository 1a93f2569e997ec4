"""The install's signing secret, and the one HMAC every signed token and address uses:
reply addresses (services/inbound/thread.py), customer-page links (services/messaging/links.py)
and satisfaction links (services/followup/checkin.py). Each caller keeps its own message
format and encoding, so links already sent stay valid.

The secret is random, made on first use and kept in the settings table: nothing to configure
and nothing in the repo. It is created with a conditional put, so every container agrees.
AWS calls: one GetItem per container (a PutItem, and on a lost race one more GetItem, the
first time ever); none after that.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from pynamodb.exceptions import PutError

from chalicelib.db.models import Setting

_secret: bytes | None = None


def secret() -> bytes:
    global _secret
    if _secret is None:
        try:
            _secret = bytes.fromhex(Setting.get("secret", "reply-signing").data.as_dict()["hex"])
        except Setting.DoesNotExist:
            candidate = secrets.token_hex(32)
            try:
                Setting("secret", "reply-signing", data={"hex": candidate}).save(
                    condition=Setting.name.does_not_exist())
                _secret = bytes.fromhex(candidate)
            except PutError:
                _secret = bytes.fromhex(Setting.get("secret", "reply-signing",
                                                    consistent_read=True).data.as_dict()["hex"])
    return _secret


def mac(message: str | bytes) -> bytes:
    """HMAC-SHA256 of `message` under the install's secret."""
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(secret(), data, hashlib.sha256).digest()


def same(expected: str, given: str) -> bool:
    """Constant-time comparison of a signature with the one it should be."""
    return hmac.compare_digest(expected, given)


def reset() -> None:
    """Forget the cached secret (chalicelib/runtime.py: a fresh container)."""
    global _secret
    _secret = None
