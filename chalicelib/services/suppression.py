"""Where we must not send: email addresses that hard-bounced or complained (SES notifications,
bounce mail about our messages) and phone numbers that opted out (STOP keywords).

Kept in the keys table as `suppress#<channel>#<address key>` with the reason as target, so the
identity lookup on the create path reads them in the same BatchGetItem (services/customers.py).
"""
from __future__ import annotations

from chalicelib import clock
from chalicelib.db import keys
from chalicelib.db.connection import Transaction
from chalicelib.db.models import Key
from chalicelib.services import contacts


def pk(address: str, channel: str = "email") -> str:
    return f"suppress#{channel}#{contacts.email_key(address) if channel == 'email' else address}"


def reason(address: str, channel: str = "email") -> str | None:
    """Why `address` must not get messages on `channel`, or None."""
    return keys.target(pk(address, channel)) if address else None


def add_to(tx: Transaction, address: str, why: str, detail: str = "", channel: str = "email") -> None:
    if address:
        tx.save(_item(address, why, detail, channel), label="suppress")


def add(address: str, why: str, detail: str = "", channel: str = "email") -> None:
    _item(address, why, detail, channel).save()


def remove_from(tx: Transaction, address: str, channel: str) -> None:
    tx.delete(Key(pk=pk(address, channel), sk=keys.NO_SORT), label="suppress")


def _item(address: str, why: str, detail: str, channel: str) -> Key:
    return Key(pk=pk(address, channel), sk=keys.NO_SORT, target=why,
               data={"at": clock.iso(clock.now()), "detail": detail[:500]})
