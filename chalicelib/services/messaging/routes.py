"""The one channel-choice rule: which channel, and which address, reach a customer.

A ticket that came by SMS is answered by SMS while the customer has a phone to send to;
otherwise by email while they have an address; otherwise by SMS. Within a channel the first
address in sorted order. Replies (services/tickets/work.py), reply previews
(services/authoring/macros.py), automatic notices (services/followup/notices.py) and channel
fallback (services/messaging/fallback.py) all choose here; each passes the addresses it may
use (notices drop suppressed ones first). Pure: no AWS.
"""
from __future__ import annotations

from typing import Any, Sequence


def addresses(customer: Any) -> tuple[list[str], list[str]]:
    """(emails, phones) of a customer record (or None), each sorted."""
    if customer is None:
        return [], []
    return sorted(customer.emails or ()), sorted(customer.phones or ())


def channel_for(ticket_channel: str | None, emails: Sequence[str], phones: Sequence[str]) -> str:
    """The channel to use when the caller names none."""
    return "sms" if (ticket_channel == "sms" and phones) or not emails else "email"


def choose(ticket_channel: str | None, emails: Sequence[str],
           phones: Sequence[str]) -> tuple[str, str] | None:
    """(channel, address), or None when there is no address at all."""
    channel = channel_for(ticket_channel, emails, phones)
    pool = emails if channel == "email" else phones
    return (channel, pool[0]) if pool else None
