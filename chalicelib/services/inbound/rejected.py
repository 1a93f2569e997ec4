"""Inbound notifications that could not be understood at all: each is recorded once, raw,
keyed by its SNS message id, so nothing that arrives is lost."""
from __future__ import annotations

from pynamodb.exceptions import PutError

from chalicelib import clock
from chalicelib.db.models import Key

MAX_STORED = 300_000  # stay well under DynamoDB's 400 KB item limit


def record_raw(source: str, provider_id: str, payload: str) -> bool:
    """Store the raw event; False when this provider id was recorded before (redelivery)."""
    item = Key(pk=f"inbound#{source}#{provider_id}", sk="_", data={
        "received_at": clock.iso(clock.now()), "payload": payload[:MAX_STORED],
        "truncated": len(payload) > MAX_STORED})
    try:
        item.save(condition=Key.pk.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
