"""Inbound notifications that could not be understood at all: each is recorded once, raw,
keyed by its SNS message id, so nothing that arrives is lost (services/inbound/once.py), and
listed for admins as a held item (services/inbound/held.py)."""
from __future__ import annotations

from chalicelib.services.inbound import held, once

MAX_STORED = 300_000  # stay well under DynamoDB's 400 KB item limit


def record_raw(source: str, provider_id: str, payload: str, reason: str = "") -> bool:
    """Store the raw event; False when this provider id was recorded before (redelivery)."""
    item = held.Held(kind="event", reason="unreadable_event",
                     detail=f"{source}: {reason or 'not the provider shape'}",
                     snippet=payload[:held.SNIPPET])
    outcome = held.record(source, provider_id, "rejected", item, payload=payload[:MAX_STORED],
                          truncated=len(payload) > MAX_STORED)
    return outcome != once.DUPLICATE
