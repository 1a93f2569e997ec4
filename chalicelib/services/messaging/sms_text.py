"""SMS encoding and segment counts, and the keywords customers send.

GSM 03.38: a message in the GSM-7 alphabet fits 160 characters in one segment, 153 per segment
when split (the UDH takes 7); extension characters (^{}\\[~]|€ and form feed) cost two. Anything
else (Bengali always) is UCS-2: 70 in one segment, 67 per segment when split, counted in UTF-16
code units (an emoji is two).
"""
from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

from chalicelib import config
from chalicelib.errors import ValidationFailed

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

# keyword -> action. AWS End User Messaging handles STOP/HELP on its own for some routes; we
# honour them regardless so the opt-out is recorded on the customer and in our outcome.
KEYWORDS = {
    "STOP": "opt_out", "STOPALL": "opt_out", "UNSUBSCRIBE": "opt_out", "CANCEL": "opt_out",
    "END": "opt_out", "QUIT": "opt_out", "বন্ধ": "opt_out", "বাতিল": "opt_out",
    "START": "opt_in", "UNSTOP": "opt_in", "YES": "opt_in", "চালু": "opt_in", "শুরু": "opt_in",
    "HELP": "help", "INFO": "help", "সাহায্য": "help",
}


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" | "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int

    def to_dict(self) -> dict:
        return {"encoding": self.encoding, "units": self.units, "segments": self.count}


def segments(text: str) -> Segments:
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    count = 1 if units <= single else math.ceil(units / multi)
    return Segments(encoding, units, count)


def keyword(body: str) -> str | None:
    """The keyword action when the whole message is one keyword ("stop", " STOP. ", "বন্ধ")."""
    word = unicodedata.normalize("NFC", body).strip().strip(".!।").strip()
    return KEYWORDS.get(word.upper()) if word and " " not in word else None


def check_length(text: str, field: str = "body") -> Segments:
    """The segments of `text`; ValidationFailed naming `field` past SETU_SMS_MAX_SEGMENTS."""

    limit = config.settings().sms_max_segments
    count = segments(text)
    if count.count > limit:
        raise ValidationFailed(
            f"Too long for SMS: {count.count} segments ({count.encoding}), at most {limit}.",
            {field: f"{count.count} SMS segments; at most {limit}"})
    return count
