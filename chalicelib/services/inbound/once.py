"""Exactly-once for inbound provider events: every event (an SES receipt, an inbound SMS, an
SES or SMS delivery event, an SNS notification nobody could read) ends in one recorded outcome,
a marker `inbound#<source>#<provider id>` in the keys table. A marker is written either inside
the transaction that applies the event (`mark`, label "extra": a redelivery processed at the
same moment cancels it) or alone (`record`); a redelivered event finds it (`seen`) and stops.

Sources: email, email-rejected, sms, sms-rejected, ses-event, sms-event.
AWS calls: `seen` one Query (Select COUNT, limit 1); `record` one TransactWriteItems.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib import clock, config
from chalicelib.db import keys
from chalicelib.db.connection import Cancelled, Transaction, transaction
from chalicelib.db.models import Key

DUPLICATE = "duplicate"
DEFAULT_REJECTED_DAYS = 30


def seen(source: str, provider_id: str) -> bool:
    return bool(Key.count(keys.inbound_pk(source, provider_id), limit=1))


def marker(source: str, provider_id: str, outcome: str, /, *, ticket_id: str | None = None,
           **data: Any) -> Key:
    """A rejected notification's record (`<source>-rejected`, its raw payload inside) expires
    after SETU_RETENTION_REJECTED_DAYS (default 30; 0: kept) through the keys table's TTL."""
    days = _rejected_days() if source.endswith("-rejected") else 0
    return Key(pk=keys.inbound_pk(source, provider_id), sk=keys.NO_SORT, target=ticket_id,
               expires_at=int((clock.now() + timedelta(days=days)).timestamp()) if days else None,
               data={"outcome": outcome, "received_at": clock.iso(clock.now()),
                     **({"ticket_id": ticket_id} if ticket_id else {}), **data})


def _rejected_days() -> int:
    return config.env_int("SETU_RETENTION_REJECTED_DAYS", DEFAULT_REJECTED_DAYS)


def mark(tx: Transaction, source: str, provider_id: str, outcome: str, /, *,
         ticket_id: str | None = None, **data: Any) -> None:
    """The marker, in the caller's transaction: it fails (label "extra") if one exists."""
    tx.save(marker(source, provider_id, outcome, ticket_id=ticket_id, **data),
            condition=Key.pk.does_not_exist(), label="extra")


def record(source: str, provider_id: str, outcome: str, /, *, ticket_id: str | None = None,
           **data: Any) -> str:
    """An outcome that changes nothing else: `outcome`, or "duplicate" if one was recorded."""
    try:
        with transaction() as tx:
            mark(tx, source, provider_id, outcome, ticket_id=ticket_id, **data)
    except Cancelled:
        return DUPLICATE
    return outcome
