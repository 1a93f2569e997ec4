"""Addresses we must not email: hard bounces and complaints (from SES event notifications and
from bounce mail about our own messages). Kept in the keys table as
`suppress#email#<address key>` with the reason as target, so the identity lookup on the create
path reads it in the same BatchGetItem (services/customers.py)."""
from __future__ import annotations

from chalicelib import clock
from chalicelib.db import keys
from chalicelib.db.connection import Transaction
from chalicelib.db.models import Key
from chalicelib.services import contacts


def pk(email: str) -> str:
    return f"suppress#email#{contacts.email_key(email)}"


def reason(email: str) -> str | None:
    """Why `email` is suppressed, or None."""
    return keys.target(pk(email)) if email else None


def add_to(tx: Transaction, email: str, why: str, detail: str = "") -> None:
    if email:
        tx.save(Key(pk=pk(email), sk=keys.NO_SORT, target=why,
                    data={"at": clock.iso(clock.now()), "detail": detail[:500]}), label="suppress")


def add(email: str, why: str, detail: str = "") -> None:
    Key(pk=pk(email), sk=keys.NO_SORT, target=why,
        data={"at": clock.iso(clock.now()), "detail": detail[:500]}).save()
