"""Search words for tickets: Unicode-aware tokens (Bengali vowel signs stay inside words)."""
from __future__ import annotations

import unicodedata

MAX_WORDS = 15
MIN_LENGTH = 2
MAX_LENGTH = 40  # longer "words" (hashes, base64, URLs' tails) are not searched for, nor indexed
STOP_WORDS = frozenset("""a an and are as at be by for from has have i in is it my of on or
our the to was we with you your এবং ও এর কি না যে আমি আমার আমাদের করে হয় থেকে""".split())


def words(text: str, limit: int = MAX_WORDS) -> list[str]:
    """Distinct casefolded words of `text`, in order, without stop words."""
    found: list[str] = []
    current: list[str] = []
    for ch in unicodedata.normalize("NFC", text).casefold() + " ":
        if unicodedata.category(ch)[0] in "LMN" or ch in "\u200c\u200d":
            current.append(ch)
            continue
        word = "".join(current)
        current = []
        if MIN_LENGTH <= len(word) <= MAX_LENGTH and word not in STOP_WORDS and word not in found:
            found.append(word)
            if len(found) >= limit:
                break
    return found
