"""Where we must not send: email addresses that hard-bounced or complained (SES notifications,
bounce mail about our messages), addresses whose owner unsubscribed from automatic mail (the
unsubscribe page and RFC 8058 one-click POST, reason `unsubscribe`) and phone numbers that
opted out (STOP keywords).

`unsubscribe` stops automatic and bulk-type mail only (acknowledgements, check-ins, reminders,
notices): an agent's personal reply still goes (`reason(..., personal=True)` ignores it).

Kept in the keys table as `suppress#<channel>#<address key>` with the reason as target, so the
identity lookup on the create path reads them in the same BatchGetItem (services/customers/identities.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib import clock
from chalicelib.db import keys
from chalicelib.db.connection import Cancelled, Transaction, transaction
from chalicelib.db.models import Customer, Key
from chalicelib.services.customers import contacts

UNSUBSCRIBE = "unsubscribe"
AUTOMATIC_ONLY = (UNSUBSCRIBE,)  # reasons that stop automatic mail, not a person's reply


def pk(address: str, channel: str = "email") -> str:
    return keys.suppress_pk(channel, contacts.email_key(address) if channel == "email" else address)


def reason(address: str, channel: str = "email", *, personal: bool = False) -> str | None:
    """Why `address` must not get messages on `channel`, or None. `personal`: for an agent's
    own reply, which an unsubscribe from automatic mail does not stop."""
    why = keys.target(pk(address, channel)) if address else None
    return None if personal and why in AUTOMATIC_ONLY else why


@dataclass(frozen=True)
class Unsubscribed:
    address: str
    at: str  # ISO instant the address was (first) suppressed
    reason: str  # `unsubscribe`, or the earlier reason (bounce, complaint) that stays
    new: bool  # False: it was already suppressed; nothing was written


def unsubscribe(address: str, source: str = "link") -> Unsubscribed:
    """Opt `address` out of automatic and marketing mail, once: the suppression (reason
    `unsubscribe`, with the time) and the customer's `opted_out.email` in one transaction.
    An address already suppressed (an earlier unsubscribe, a bounce, a complaint) keeps its
    record and time; nothing is written again."""
    now = clock.iso(clock.now())
    item = Key(pk=pk(address), sk=keys.NO_SORT, target=UNSUBSCRIBE,
               data={"at": now, "detail": source[:500]})
    customer_id = keys.target(keys.email_pk(contacts.email_key(address)))
    for with_customer in (True, False):
        try:
            with transaction() as tx:
                tx.save(item, condition=Key.pk.does_not_exist(), label="suppress")
                if customer_id and with_customer:
                    tx.update(Customer(id=customer_id), actions=[Customer.opted_out["email"].set({
                        "at": now, "source": UNSUBSCRIBE, "scope": "automatic", "address": address})],
                        condition=Customer.id.exists(), label="customer")
            return Unsubscribed(address, now, UNSUBSCRIBE, True)
        except Cancelled as exc:
            if "suppress" in exc.labels:
                existing = Key.get(pk(address), keys.NO_SORT, consistent_read=True)
                data = existing.data.as_dict() if existing.data else {}
                return Unsubscribed(address, str(data.get("at") or ""), existing.target or "", False)
            if "customer" not in exc.labels:
                raise
    raise RuntimeError("unreachable")  # pragma: no cover


def unsubscribed(address: str, channel: str = "email") -> Unsubscribed | None:
    """The address's suppression record, if any (what the unsubscribe page shows; an agent's
    reply that cannot go says since when)."""
    try:
        existing = Key.get(pk(address, channel), keys.NO_SORT, consistent_read=True)
    except Key.DoesNotExist:
        return None
    data = existing.data.as_dict() if existing.data else {}
    return Unsubscribed(address, str(data.get("at") or ""), existing.target or "", False)


def states(emails: list[str], phones: list[str]) -> dict[str, dict[str, dict[str, str]]]:
    """{channel: {address: {"reason", "at"}}} for those of the addresses that are suppressed
    (one BatchGetItem): the channel state an agent sees on the ticket."""
    wanted = {pk(a, "email"): ("email", a) for a in emails}
    wanted.update({pk(a, "sms"): ("sms", a) for a in phones})
    out: dict[str, dict[str, dict[str, str]]] = {"email": {}, "sms": {}}
    for key, item in keys.lookup_items(list(wanted)).items():
        channel, address = wanted[key]
        data = item.data.as_dict() if item.data else {}
        out[channel][address] = {"reason": item.target or "", "at": str(data.get("at") or "")}
    return out


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
