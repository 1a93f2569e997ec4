"""The new text of a reply: quoted history and signatures removed.

Quote headers are found by mail-parser-reply (MIT, maintained; GitHub's email_reply_parser
ideas with per-language header patterns: "On ... wrote:", Outlook "From:/Sent:" blocks,
"-----Original Message-----", and the German, French, Spanish, ... forms). We register Bengali
with it ("... লিখেছেন:", "<date> তারিখে ... লিখেছেন:", Bengali Outlook header blocks) through
its language table, and replace its signature rule: it cuts at sign-offs such as "Thanks," or
"Best," and at any line starting "-x", which loses real text in a helpdesk ("Thanks, the
parcel arrived broken"). Here a signature is only the "-- " delimiter or a "Sent from my
iPhone" / "আমার আইফোন থেকে পাঠানো" style line, and what follows it.

The library strips every line; the lines it keeps are mapped back to the original lines, so
indentation (and every character: backslashes too) survives. Lines quoted with ">" are then
dropped wherever they are (inline answers keep the answers).
"""
from __future__ import annotations

import re
import unicodedata

from chalicelib.mail.text import LazyPattern

MAX_INPUT = 50_000  # characters looked at: the new text is at the top
# Longer lines are never quote headers; the library's header patterns backtrack badly on them,
# so it sees a placeholder instead (and the original line comes back through _map_back).
MAX_LINE = 300

_QUOTE = r"(?:> ?)*"
_YA = "(?:\u09af\u09bc|\u09df)"  # য় precomposed or with nukta
BENGALI = {
    "wrote_header": (
        # Gmail in Bengali, on one line or wrapped after the date: "<date> তারিখে <name> লিখেছেন:"
        rf"^({_QUOTE}[^\n]{{0,300}}?তারিখে[^\n]{{0,300}}\n{_QUOTE}[^\n]{{0,300}}?লিখেছেন ?:)[ \t]*$"
        rf"|^({_QUOTE}[^\n]{{0,300}}?লিখেছেন ?:)[ \t]*$"
    ),
    "from_header": (
        rf"((?:(?:^|\n|\n{_QUOTE})[* ]*(?:প্রেরক|থেকে|পাঠানো হ{_YA}েছে|প্রেরিত|প্রাপক|প্রতি|"
        rf"বিষ{_YA}|তারিখ|সিসি|অনুলিপি):[ *]*(?:\s{{,2}}).*){{2,}}(?:\n.*){{,1}})"
    ),
    "disclaimers": [],
    "signatures": [],
    "sent_from": "",
}
_SENT_FROM = (
    r"Sent from my\b|Sent from (?:Yahoo Mail|Outlook|Mail for Windows|Mail for iPad|Samsung|"
    r"my iPhone|my iPad|my Android|my mobile)|Get Outlook for\b|Sent with Proton Mail|"
    r"Sent via\b|Sent from Gmail\b|Enviado desde mi\b|Gesendet von meinem\b|"
    rf"আমার [^\n]{{0,30}}থেকে পাঠানো"
)
# The whole signature: from the delimiter or the "sent from" line to the end.
_SIGNATURE = LazyPattern(rf"^{_QUOTE}(?:--|(?:{_SENT_FROM})[^\n]{{0,80}})$[\s\S]*",
                        re.MULTILINE | re.IGNORECASE)
_QUOTED_LINE = LazyPattern(r"^[ \t]*>")
_BLANKS = LazyPattern(r"\n{3,}")
_LANGUAGES = ["bn", "de", "fr", "es"]  # English is always added by the library

_message_class = None


def _message_type():
    """mail-parser-reply's EmailMessage with Bengali registered and our signature rule."""
    global _message_class
    if _message_class is None:
        from mailparser_reply import parser as mpr  # deferred: cold start, only on first use
        from mailparser_reply.constants import MAIL_LANGUAGES  # deferred: as above

        MAIL_LANGUAGES.setdefault("bn", BENGALI)

        class _Message(mpr.EmailMessage):
            @property
            def SIGNATURE_REGEX(self):  # noqa: N802 - the library's name
                return _SIGNATURE

        _message_class = _Message
    return _message_class


def visible_text(text: str) -> str:
    """The reply's own new text. Never raises; never "" when the input had unquoted text."""
    try:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if not text.strip():
            return ""
        result = _visible(text)
        return result if result.strip() else text.strip()
    except Exception:  # noqa: BLE001 - a reply-parsing failure must not lose the text
        return text.strip() if isinstance(text, str) else ""


def _visible(text: str) -> str:
    original = text.replace("\r\n", "\n").replace("\r", "\n")[:MAX_INPUT]
    lines = unicodedata.normalize("NFC", original).split("\n")
    shown = [line if len(line) <= MAX_LINE else f"\u2026long line {i}\u2026"
             for i, line in enumerate(lines)]
    message = _message_type()(text="\n".join(shown), languages=list(_LANGUAGES),
                              keep_hyphen_lists=True).read()
    reply = message.replies[0] if message.replies else None
    body = reply.body if reply is not None else "\n".join(shown)
    kept = _map_back(body, shown, lines)
    kept = [line for line in kept if not _QUOTED_LINE.match(line)]
    result = "\n".join(kept)
    result = _SIGNATURE.sub("", result)  # a signature the library did not cut (after quotes)
    return _BLANKS.sub("\n\n", result).strip()


def _map_back(body: str, shown: list[str], lines: list[str]) -> list[str]:
    """The original lines (with their indentation) behind the library's stripped lines."""
    out = []
    position = 0
    for wanted in body.split("\n"):
        stripped = wanted.strip()
        for i in range(position, min(position + 200, len(shown))):
            if shown[i].strip() == stripped:
                out.append(lines[i].rstrip())
                position = i + 1
                break
        else:
            out.append(wanted)
    return out
