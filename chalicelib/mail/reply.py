"""The new text of a reply: quoted history and signatures removed. Never raises.

Quote headers are found in two passes. `quotes.headers` finds them in every language by their
shape, also when a client wrapped them over two or three lines (Gmail's "On ... wrote:",
Outlook's "From:" block with a long name or address on a continuation line): the text is cut
at the first one that has the customer's own words above it (a header with nothing above it
is a bottom-posted reply's: its lines are dropped and the search goes on). What is left goes
to mail-parser-reply (MIT, maintained; GitHub's email_reply_parser ideas with per-language
header patterns), with every language it knows enabled (cs, da, de, en, es, fr, it, ja, ko,
nl, pl, sv, zh; Polish needs two header lines here, as the others do, so a customer's
"Data: ..." line is not a header) plus Bengali ("... লিখেছেন:", "<date> তারিখে ... লিখেছেন:",
Bengali Outlook header blocks). Its disclaimer rule keeps only the openers that name a
disclaimer or confidentiality notice ("CAUTION:", "Disclaimer:", "Confidential:", ...): with
"Warning:", "Hinweis:" or "Uwaga:" it would delete a customer's sentence that mentions mail.
Its signature rule is replaced: it cuts at sign-offs such as "Thanks," or "Best," and at any
line starting "-x", which loses real text in a helpdesk ("Thanks, the parcel arrived broken").
Here a signature
is only the "-- " delimiter or a "Sent from my iPhone" / "আমার আইফোন থেকে পাঠানো" style line
(in the languages above), and what follows it.

The library strips every line; the lines it keeps are mapped back to the original lines, so
indentation (and every character: backslashes too) survives. Lines quoted with ">" are then
dropped wherever they are (inline answers keep the answers). The caller keeps the full text
(`full_body`): agents can always open the original.
"""
from __future__ import annotations

import re
import unicodedata

from chalicelib.mail import quotes
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
    r"Von meinem (?:iPhone|iPad|Samsung|Android|Smartphone|Handy)[^\n]{0,30}gesendet|"
    r"Envoyé de mon\b|Envoyé depuis mon\b|Obtenir Outlook pour\b|Télécharger Outlook pour\b|"
    r"Inviato da(?:l mio)? (?:iPhone|iPad|Android|Samsung|smartphone)|Scarica Outlook per\b|"
    r"Verzonden (?:vanaf|met) mijn\b|Verstuurd vanaf mijn\b|Outlook voor (?:iOS|Android)|"
    r"Skickat från min\b|Hämta Outlook för\b|Sendt fra min\b|Hent Outlook til\b|"
    r"Lähetetty (?:iPhonesta|iPadista|laitteesta|Androidista)|Hanki Outlook\b|"
    r"Отправлено (?:с|из) [^\n]{0,40}|Wysłane z (?:iPhone|iPada|mojego)|"
    r"Wysłano z (?:iPhone|mojego)|"
    r"Enviado do meu\b|Enviado (?:a partir|desde) do\b|Odesláno z (?:iPhonu|mého)|"
    r"(?:iPhone|iPad|Android)から送信|发自我的|從我的 ?(?:iPhone|iPad) ?傳送|"
    r"내 (?:iPhone|Galaxy|iPad)에서 보냄|"
    r"আমার [^\n]{0,30}থেকে পাঠানো"
)
# The whole signature: from the delimiter or the "sent from" line to the end.
_SIGNATURE = LazyPattern(rf"^{_QUOTE}(?:--|(?:{_SENT_FROM})[^\n]{{0,80}})$[\s\S]*",
                        re.MULTILINE | re.IGNORECASE)
_QUOTED_LINE = LazyPattern(r"^[ \t]*>")
_BLANKS = LazyPattern(r"\n{3,}")
# every language mail-parser-reply knows ("david" is a product, not a language), and Bengali
_LIBRARY_LANGUAGES = ("cs", "da", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "sv", "zh")
_LANGUAGES = ["bn", *_LIBRARY_LANGUAGES]
# Disclaimer openers kept from the library's lists: the ones that name a disclaimer or a
# confidentiality notice. "Warning:", "Hinweis:", "Achtung:", "Uwaga:", "Aviso:", "注意：" ...
# start customers' own sentences too, and the library deletes such a sentence when it mentions
# mail.
_DISCLAIMER_KEPT = LazyPattern(r"caution|disclaimer|confiden|privileged|private|sensitive|"
                               r"important|fortrolig|důvěrné|descargo|免责|면책|비밀", re.I)

_message_class = None


def _languages() -> dict:
    """The library's language table, with Bengali and with Polish's one-line rule made two."""
    from mailparser_reply.constants import MAIL_LANGUAGES  # deferred: cold start, first use

    table = {name: dict(MAIL_LANGUAGES[name])
             for name in _LIBRARY_LANGUAGES if name in MAIL_LANGUAGES}
    if "pl" in table and "from_header" in table["pl"]:
        table["pl"]["from_header"] = table["pl"]["from_header"].replace("){1,}(", "){2,}(")
    for entry in table.values():
        entry["disclaimers"] = [d for d in entry.get("disclaimers", [])
                                if _DISCLAIMER_KEPT.search(d)]
    table["bn"] = BENGALI
    return table


def _message_type():
    """mail-parser-reply's EmailMessage with our languages, signature rule and no disclaimers."""
    global _message_class
    if _message_class is None:
        from mailparser_reply import parser as mpr  # deferred: cold start, only on first use

        table = _languages()

        class _Message(mpr.EmailMessage):
            def _get_language_regex(self, language: str, regex_key: str) -> str:
                value = table.get(language, {}).get(regex_key, "")
                return "|".join(value) if isinstance(value, list) else value

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
    keep = _above_the_quote(shown)
    shown = [shown[i] for i in keep]
    lines = [lines[i] for i in keep]
    message = _message_type()(text="\n".join(shown), languages=list(_LANGUAGES),
                              keep_hyphen_lists=True).read()
    reply = message.replies[0] if message.replies else None
    body = reply.body if reply is not None else "\n".join(shown)
    kept = _map_back(body, shown, lines)
    kept = [line for line in kept if not _QUOTED_LINE.match(line)]
    result = "\n".join(kept)
    result = _SIGNATURE.sub("", result)  # a signature the library did not cut (after quotes)
    return _BLANKS.sub("\n\n", result).strip()


def _above_the_quote(shown: list[str]) -> list[int]:
    """Indexes of the lines above the first quote header that has own words above it, without
    the lines of headers that had none and quoted lines after them (a bottom-posted reply's;
    a header-like line with neither above nor quotes below is the customer's own)."""
    dropped: set[int] = set()
    position = 0  # lines before it hold no own words (one pass: headers come in order)
    for start, end in quotes.headers(shown):
        for i in range(position, start):
            if i not in dropped and shown[i].strip() and not _QUOTED_LINE.match(shown[i]):
                return [j for j in range(start) if j not in dropped]
        following = next((line for line in shown[end + 1:end + 4] if line.strip()), "")
        if not _QUOTED_LINE.match(following):
            position = start  # kept: it is text above any later header
            continue
        dropped.update(range(start, end + 1))
        position = end + 1
    return [i for i in range(len(shown)) if i not in dropped]


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
