"""Which ticket an inbound email belongs to.

In order of trust (docs/email.md):
1. In-Reply-To / References naming a Message-ID we sent or received on a ticket
   (keys `msgid#<id>`, written in the same transaction as the message);
2. a signed reply address, `support+<ref>.<expiry>.<signature>@domain`, which every mail we
   send carries as Reply-To, so replies from clients that drop the headers still thread; it
   works for SETU_REPLY_ADDRESS_DAYS (default 180) after the mail, then counts for nothing;
3. a ticket ref in the subject (`[#1234]`, Bengali digits too), but only when the sender is
   a known identity of that ticket's customer: a ref is easy to guess, a Message-ID is not.
Headers and tokens prove the mail answers our mail, not who wrote it: a sender who is not the
ticket's customer is `held` for an agent (services/inbound/email.py decides).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from chalicelib import clock, config, ids
from chalicelib.db import keys
from chalicelib.db.connection import Transaction
from chalicelib.db.models import Key
from chalicelib.services.messaging import signing

MAX_ID_LENGTH = 500  # a DynamoDB key is at most 2 KB; real Message-IDs are far shorter
MAX_REFERENCES = 30  # the newest ones; long threads carry hundreds
SUBJECT_REF = re.compile(r"\[#\s*([0-9০-৯]{1,12})\]")
_TOKEN = re.compile(r"^(?P<local>[^+@]+)\+(?P<ref>[0-9]{1,12})\.(?P<exp>[0-9a-z]{1,8})"
                    r"\.(?P<sig>[a-z0-9]{10})@(?P<domain>.+)$")
DEFAULT_REPLY_DAYS = 180


@dataclass(frozen=True)
class Match:
    ticket_id: str
    how: str  # "headers" | "token" | "subject"


def msgid_pk(message_id: str) -> str:
    return f"msgid#{message_id}"


def usable_id(message_id: str | None) -> str | None:
    if not message_id:
        return None
    message_id = message_id.strip()
    if not (message_id.startswith("<") and message_id.endswith(">")) or len(message_id) > MAX_ID_LENGTH:
        return None
    return message_id


def index(tx: Transaction, message_id: str | None, ticket_id: str, *,
          first: bool = False) -> None:
    """Remember which ticket a Message-ID belongs to, in the caller's transaction. `first`:
    only if no message with that id was recorded before (else the transaction is cancelled
    with the label "extra": an inbound copy of a message we already have)."""
    message_id = usable_id(message_id)
    if message_id:
        tx.save(Key(pk=msgid_pk(message_id), sk=keys.NO_SORT, target=ticket_id),
                condition=Key.pk.does_not_exist() if first else None,
                label="extra" if first else "thread")


def referenced_ids(in_reply_to: Iterable[str], references: Iterable[str]) -> list[str]:
    """The usable Message-IDs a mail refers to, In-Reply-To first, then References newest
    first; at most MAX_REFERENCES."""
    wanted = [i for i in dict.fromkeys([*in_reply_to, *reversed(list(references))]) if usable_id(i)]
    return wanted[:MAX_REFERENCES]


def by_headers(in_reply_to: Iterable[str], references: Iterable[str],
               known: dict[str, str] | None = None) -> str | None:
    """The ticket of the newest referenced message we know: one BatchGetItem, or none when the
    caller has looked the `msgid#` keys up already (`known`: pk -> ticket id, e.g. in the same
    BatchGetItem as its other lookups)."""
    wanted = referenced_ids(in_reply_to, references)
    found = known if known is not None else keys.lookup([msgid_pk(i) for i in wanted])
    for message_id in wanted:
        if msgid_pk(message_id) in found:
            return found[msgid_pk(message_id)]
    return None


def known_id(message_id: str | None) -> bool:
    message_id = usable_id(message_id)
    return bool(message_id and keys.lookup([msgid_pk(message_id)]))


# ---- signed reply addresses ------------------------------------------------------------

def reply_address(ref: str, *, now: datetime | None = None) -> str:
    """support+<ref>.<expiry>.<sig>@domain: a reply to it threads even without In-Reply-To,
    until the expiry (base-36 epoch seconds) passes."""
    local, _, domain = config.settings().support_address.partition("@")
    expires = (now or clock.now()) + timedelta(days=reply_days())
    exp = ids.base36(int(expires.timestamp()))
    return f"{local}+{ref}.{exp}.{_sign(f'{ref}.{exp}')}@{domain}"


def ref_from_addresses(addresses: Iterable[str], *, now: datetime | None = None) -> str | None:
    """The ticket ref in a correctly signed, unexpired plus-address among `addresses`, if any.
    An expired one proves nothing (a leaked address stops working); the mail is then threaded
    by its headers or subject like any other."""
    support_domain = config.settings().support_address.rpartition("@")[2].lower()
    epoch = (now or clock.now()).timestamp()
    for address in addresses:
        found = _TOKEN.match((address or "").strip().lower())
        if found and found["domain"] == support_domain and signing.same(
                found["sig"], _sign(f"{found['ref']}.{found['exp']}")) \
                and int(found["exp"], 36) > epoch:
            return found["ref"]
    return None


def reply_days() -> int:
    raw = os.environ.get("SETU_REPLY_ADDRESS_DAYS", "").strip()
    return max(1, int(raw)) if raw.isdigit() else DEFAULT_REPLY_DAYS


def ref_from_subject(subject: str) -> str | None:
    found = SUBJECT_REF.search(subject or "")
    return found.group(1).translate(ids.BENGALI_DIGITS).lstrip("0") if found else None


def _sign(ref: str) -> str:
    digest = signing.mac(f"reply:{ref}")
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % 36] for b in digest[:10])

