"""The one channel-choice rule: which channel, and which address, reach a customer.

The conversation's own address first: the ticket's `contact`, where the customer wrote from
(or, for a web form, the form's address that belongs to the customer), while it is still one
of theirs and usable. Otherwise a ticket that came by SMS is answered by SMS while the
customer has a phone to send to; otherwise by email while they have an address; otherwise by
SMS; within a channel the first address in sorted order. Never an address the customer
record does not hold: a stranger's typed address is never "the first" one (docs/security.md).

Replies (services/tickets/work.py), reply previews (services/authoring/macros.py),
acknowledgements (services/tickets/intake.py), automatic notices
(services/followup/notices.py) and channel fallback (services/messaging/fallback.py) all
choose here; each passes the addresses it may use (notices drop suppressed ones first).
Pure: no AWS.
"""
from __future__ import annotations

from typing import Any, Sequence


def addresses(customer: Any) -> tuple[list[str], list[str]]:
    """(emails, phones) of a customer record (or None), each sorted."""
    if customer is None:
        return [], []
    return sorted(customer.emails or ()), sorted(customer.phones or ())


def channel_of(address: str) -> str:
    return "email" if "@" in address else "sms"


def channel_for(ticket_channel: str | None, emails: Sequence[str], phones: Sequence[str],
                contact: str | None = None) -> str:
    """The channel to use when the caller names none."""
    if contact and contact in (*emails, *phones):
        return channel_of(contact)
    return "sms" if (ticket_channel == "sms" and phones) or not emails else "email"


def address_on(pool: Sequence[str], contact: str | None = None) -> str | None:
    """The address to use within one channel's `pool`: the conversation's, else the first."""
    if contact and contact in pool:
        return contact
    return pool[0] if pool else None


def choose(ticket_channel: str | None, emails: Sequence[str], phones: Sequence[str],
           contact: str | None = None) -> tuple[str, str] | None:
    """(channel, address), or None when there is no address at all."""
    channel = channel_for(ticket_channel, emails, phones, contact)
    address = address_on(emails if channel == "email" else phones, contact)
    return (channel, address) if address else None
