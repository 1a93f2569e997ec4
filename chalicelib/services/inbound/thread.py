"""Which ticket an inbound email belongs to.

In order of trust (docs/email.md):
1. In-Reply-To / References naming a Message-ID we sent or received on a ticket
   (keys `msgid#<id>`, written in the same transaction as the message);
2. a signed reply address (services/messaging/reply_address.py), which every mail we send
   carries as Reply-To, so replies from clients that drop the headers still thread;
3. a ticket ref in the subject (`[#1234]`, Bengali digits too), but only when the sender is
   a known identity of that ticket's customer: a ref is easy to guess, a Message-ID is not.
Headers and tokens prove the mail answers our mail, not who wrote it: a sender who is not the
ticket's customer is `held` for an agent (services/inbound/email.py decides).
A Message-ID that two different messages used (`reused` on its `msgid#` record, set by
services/inbound/email.py) is not followed: it cannot say which of them a reply answers.
"""
from __future__ import annotations

import re
from typing import Iterable

from chalicelib import ids
from chalicelib.db import keys

MAX_REFERENCES = 30  # the newest ones; long threads carry hundreds
SUBJECT_REF = re.compile(r"\[#\s*([0-9০-৯]{1,12})\]")


def referenced_ids(in_reply_to: Iterable[str], references: Iterable[str]) -> list[str]:
    """The usable Message-IDs a mail refers to, In-Reply-To first, then References newest
    first; at most MAX_REFERENCES."""
    wanted = [i for i in dict.fromkeys([*in_reply_to, *reversed(list(references))]) if keys.usable_message_id(i)]
    return wanted[:MAX_REFERENCES]


def by_headers(in_reply_to: Iterable[str], references: Iterable[str],
               known: dict[str, str] | None = None) -> str | None:
    """The ticket of the newest referenced message we know: one BatchGetItem, or none when the
    caller has looked the `msgid#` keys up already (`known`: pk -> ticket id, e.g. in the same
    BatchGetItem as its other lookups)."""
    wanted = referenced_ids(in_reply_to, references)
    found = known if known is not None else keys.lookup([keys.msgid_pk(i) for i in wanted])
    for message_id in wanted:
        if keys.msgid_pk(message_id) in found:
            return found[keys.msgid_pk(message_id)]
    return None


def ref_from_subject(subject: str) -> str | None:
    found = SUBJECT_REF.search(subject or "")
    return found.group(1).translate(ids.BENGALI_DIGITS).lstrip("0") if found else None
