"""Search words for tickets: Unicode-aware tokens (Bengali vowel signs stay inside words).

Two indexes in the keys table, both written with the ticket (intake, split) and deleted by
erasure: `word#<word>` / ticket id for the subject's words (whole words), and the words of
the customer's name as given on the ticket under `name#<first two letters>` / `<word>#<ticket
id>` (db/keys.name_pk), so `q=রহিম` finds "রহিম উদ্দিন" and "রহিমা" with one Query per word
(a prefix match). Names are normalised as queries are (`name_words`): NFC, casefolded, no
zero-width (non-)joiners, which Bengali typing inserts or leaves out at will."""
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


MAX_NAME_WORDS = 4
_JOINERS = str.maketrans("", "", "\u200c\u200d")


def name_words(text: str | None, limit: int = MAX_NAME_WORDS) -> list[str]:
    """The words of a person's name (or of a query for one), normalised for prefix matching:
    no stop words are dropped (a name is all names), zero-width joiners removed."""
    found: list[str] = []
    current: list[str] = []
    for ch in unicodedata.normalize("NFC", text or "").translate(_JOINERS).casefold() + " ":
        if unicodedata.category(ch)[0] in "LMN":
            current.append(ch)
            continue
        word = "".join(current)
        current = []
        if MIN_LENGTH <= len(word) <= MAX_LENGTH and word not in found:
            found.append(word)
            if len(found) >= limit:
                break
    return found
