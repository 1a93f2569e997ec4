"""Ticket references in an SMS, as customers write them, in Bengali and English word order:

  before the number   "ticket no. 1001", "ticket #1001", "Ref: 1001", "টিকেট নং ১০০১",
                      "টিকিট #১০০১", "রেফ ১০০১", "রেফারেন্স নম্বর ১০০১"
  after the number    "১০০১ নম্বর টিকেট", "1001 নং টিকেটের ব্যাপারে", "1001-এর টিকিট", "1001 ticket"
  alone               "#1001", "# ১০০১"

ASCII or Bengali digits (০-৯), leading zeros dropped. `explicit` finds these; `numbers` finds
every standalone number, which services/inbound/sms.py compares with the customer's own refs
only (a bare number is a ref only when it is one of theirs). A reference is a claim, not a
proof: it never joins a ticket of another customer. Pure: no AWS calls.
"""
from __future__ import annotations

import re

from chalicelib.ids import BENGALI_DIGITS

_DIGITS = r"(?<![0-9০-৯])([0-9০-৯]{3,12})(?![0-9০-৯])"
_TICKET_WORD = (r"(?:(?<![A-Za-z])(?:tickets?|tkt|ref(?:erence)?|case)(?![A-Za-z])"
                r"|টিকেট|টিকিট|টিকেটের|টিকিটের|রেফারেন্স|রেফ)")
_NUMBER_WORD = r"(?:(?<![A-Za-z])(?:no|nr|num|number)(?![A-Za-z])\.?|নং|নম্বর|নাম্বার|নম্বরঃ)"
_SEPARATORS = rf"\s*+(?:(?:{_NUMBER_WORD}|[:#.\-–ঃ])\s*+)*+"  # possessive: linear time
_BEFORE = rf"{_TICKET_WORD}{_SEPARATORS}{_DIGITS}"
_AFTER = rf"{_DIGITS}\s*+(?:-\s*+)?(?:(?:এর|এ)\s*+)?(?:{_NUMBER_WORD}\s*+)?{_TICKET_WORD}"
_HASH = rf"#\s*+{_DIGITS}"
EXPLICIT = re.compile(rf"{_BEFORE}|{_AFTER}|{_HASH}", re.IGNORECASE)
NUMBER = re.compile(_DIGITS)


def _ref(digits: str) -> str:
    return digits.translate(BENGALI_DIGITS).lstrip("0")


def explicit(text: str) -> list[str]:
    """Refs the text names with a ticket word or '#', in order, without repeats."""
    found = [_ref(next(g for g in match.groups() if g)) for match in EXPLICIT.finditer(text or "")]
    return [ref for ref in dict.fromkeys(found) if ref]


def numbers(text: str) -> list[str]:
    """Every standalone number of 3 to 12 digits, as a ref would be written."""
    return [ref for ref in dict.fromkeys(_ref(m.group(1)) for m in NUMBER.finditer(text or "")) if ref]
