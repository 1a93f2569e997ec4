"""Inbound events not yet turned into tickets (email and SMS land in issues 4 and 5): each is
recorded once, keyed by the provider's id, so nothing that arrives is lost meanwhile."""
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
