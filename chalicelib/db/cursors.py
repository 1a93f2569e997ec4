"""Page cursors for the API, opaque base64url: a DynamoDB LastEvaluatedKey (and back, only
when it is exactly a key of the index and partition being paged), or one sort key as text
(agents by principal, audit entries by sort key). A cursor that does not decode is refused
before it reaches DynamoDB."""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from chalicelib.errors import BadRequest


def encode_cursor(key: dict | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


MAX_CURSOR_VALUE = 1024  # longer than any key we write; DynamoDB refuses keys past its limits


def decode_cursor(cursor: str, index: Any, partition: str) -> dict | None:
    """A cursor from a page of the same query: exactly this index's key, in this partition
    (anything else would reach DynamoDB as an invalid ExclusiveStartKey)."""
    if not cursor:
        return None
    try:
        key = json.loads(_unbase64(cursor))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadRequest("Invalid cursor.", {"cursor": "not a cursor from this API"}) from None
    hash_name = index._hash_key_attribute().attr_name
    valid = isinstance(key, dict) and set(key) == {hash_name, "queue_sort", "id"} and all(
        isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str)
        and 0 < len(v["S"]) <= MAX_CURSOR_VALUE for v in key.values()) \
        and key[hash_name]["S"] == partition
    if not valid:
        raise BadRequest("Invalid cursor.", {"cursor": "not a cursor from this API"})
    return key


def encode_text(text: str | None) -> str | None:
    """One sort key as a cursor (unpadded base64url), or None at the last page."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=") if text else None


def decode_text(cursor: str, max_length: int) -> str | None:
    """The text of `encode_text`, or None when it is not one (or longer than `max_length`)."""
    if len(cursor) > max_length * 4 // 3 + 4:
        return None
    try:
        text = _unbase64(cursor).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return text if len(text) <= max_length else None


def _unbase64(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4))
