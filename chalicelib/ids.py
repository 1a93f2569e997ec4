"""Identifiers: time-ordered ticket/customer ids and ticket refs."""
from __future__ import annotations

import os
import time

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def new_id(prefix: str) -> str:
    """A ULID-style id (48-bit ms time + 80 random bits, Crockford base32), e.g. t_01jd...

    Time-ordered to the millisecond: an id made in a later millisecond sorts later (within
    one millisecond the random part decides); random enough to never collide.
    """
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(_CROCKFORD[rem])
    return f"{prefix}_{''.join(reversed(chars))}"


def base36(number: int) -> str:
    """Short lowercase digits for expiry instants in signed tokens and addresses."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rem = divmod(number, 36)
        out = digits[rem] + out
        if not number:
            return out


BENGALI = "০১২৩৪৫৬৭৮৯"
BENGALI_DIGITS = str.maketrans(BENGALI, "0123456789")  # read: ১০৪২ -> 1042
TO_BENGALI_DIGITS = str.maketrans("0123456789", BENGALI)  # write: 1042 -> ১০৪২
