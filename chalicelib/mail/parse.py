"""Raw MIME bytes -> `ParsedMail`: everything the email service needs, and never an exception.

The MIME structure is parsed by the standard library (`email.parser.BytesParser` with the
`compat32` policy: its header values are the raw strings, so nothing raises when a header is
read later; the modern policy builds header objects lazily and can raise on access). Around it
the mail package only repairs what the stdlib cannot know and decodes what it leaves encoded,
one concern per module, imported one way (text <- charsets <- message <- headers <- bodies <-
parse; loops, reply, rtf, tnef and html beside them, none importing parse):

* `headers`: the header-block repair, header decoding (RFC 2047, raw 8-bit bytes with the
  message's declared charsets as hints, then detection, then a lossless fallback), addresses,
  Message-IDs, dates;
* `charsets`: body bytes decoded with the declared charset after mapping the labels mail clients
  get wrong, falling back to detection (`charset-normalizer`, imported lazily);
* `bodies`: the walk over the parts: texts, HTML, attachments, uuencode, PGP/S-MIME,
  winmail.dat (chalicelib/mail/tnef.py), parameter charsets, nesting limits.

Guarantees here: `parse` never raises; input over `MAX_INPUT` bytes is cut (noted); more than
`MAX_CONTAINERS` multipart boundaries, or a stdlib RecursionError on absurd nesting, fall back
to the top-level headers plus the raw body as text. `original_message_ids` never raises.
The names other code imports from here stay here: `parse`, `ParsedMail`, `Attachment`,
`original_message_ids`, and the charset and header helpers re-exported below.
"""
from __future__ import annotations

import re

from chalicelib.mail import loops
from chalicelib.mail.bodies import HEADER_PART_TYPES, MESSAGE_TYPES, Collector, Walker, \
    body_into, safe_filename
from chalicelib.mail.charsets import codec_for, decode_bytes, detect_charset
from chalicelib.mail.headers import BLANK, HeaderDecoder, declared_charsets, eightbit_bytes, \
    headers_into, message_ids, repair_head
from chalicelib.mail.message import Attachment, ParsedMail, mime_parser
from chalicelib.mail.text import LazyPattern

MAX_INPUT = 40 * 1024 * 1024  # SES accepts up to 40 MB of raw message; more is cut and noted
MAX_CONTAINERS = 300          # multipart containers (boundary parameters) parsed as MIME

__all__ = ["Attachment", "ParsedMail", "parse", "original_message_ids", "decode_bytes", "codec_for",
           "detect_charset", "message_ids", "safe_filename", "LazyPattern"]

# ---- parse ---------------------------------------------------------------------------------

def parse(raw: bytes) -> ParsedMail:
    """Everything usable in a raw message. Never raises."""
    notes: list[str] = []
    try:
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            notes.append(f"input was {type(raw).__name__}, not bytes")
            raw = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else bytes(raw or b"")
        raw = bytes(raw)
        if not raw.strip():
            notes.append("empty message")
            return ParsedMail(defects=notes, ok=False)
        if len(raw) > MAX_INPUT:
            notes.append(f"message of {len(raw):,} bytes cut to {MAX_INPUT:,}")
            raw = raw[:MAX_INPUT]
        return _parse(raw, notes)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never raise
        notes.append(f"unparseable ({type(exc).__name__}): kept as raw text")
        return _fallback(raw, notes)


def _fallback(raw: object, notes: list[str]) -> ParsedMail:
    try:
        data = bytes(raw) if isinstance(raw, (bytes, bytearray, memoryview)) else b""
        end = BLANK.search(data)
        body = data[end.end():] if end else data
        text = decode_bytes(body, None).replace("\r\n", "\n")
        mail = ParsedMail(text=text, defects=notes)
        try:
            head = mime_parser().parsebytes(data[:1024 * 1024], headersonly=True)
            headers_into(mail, head, HeaderDecoder(None, eightbit_bytes(head), notes))
        except Exception:  # noqa: BLE001
            pass
        mail.ok = _usable(mail)
        return mail
    except Exception:  # noqa: BLE001
        return ParsedMail(defects=notes, ok=False)


_BOUNDARY_PARAM = LazyPattern(rb"boundary\s*=", re.I)


def _parse(raw: bytes, notes: list[str]) -> ParsedMail:
    raw = repair_head(raw, notes)
    containers = len(_BOUNDARY_PARAM.findall(raw))
    if containers > MAX_CONTAINERS:
        # The stdlib parser checks every line against every open boundary: absurd nesting is
        # quadratic there, and recursive. No real message has this many multipart containers.
        notes.append(f"{containers:,} multipart boundaries (absurd nesting): headers and raw body kept")
        return _fallback(raw, notes)
    try:
        msg = mime_parser().parsebytes(raw)
    except RecursionError:
        notes.append("MIME nesting too deep for the parser: headers and raw body kept")
        return _fallback(raw, notes)
    for defect in getattr(msg, "defects", [])[:20]:
        notes.append(f"mime: {type(defect).__name__}")
    walker = Walker(notes)
    decoder = HeaderDecoder(declared_charsets(msg), eightbit_bytes(msg), notes)
    mail = ParsedMail(defects=notes)
    headers_into(mail, msg, decoder)

    ctype = walker.ctype(msg)
    if ctype == "multipart/report":
        mail.is_report = True
        report_type = walker.param(msg, "report-type")
        mail.report_type = report_type.strip().lower() if report_type else None

    collected = Collector()
    try:
        walker.walk(msg, 0, collected, decoder)
    except RecursionError:
        notes.append("MIME nesting too deep: the rest of the structure was not walked")
    body_into(mail, collected)
    mail.ok = _usable(mail)
    return mail



def _usable(mail: ParsedMail) -> bool:
    return bool(mail.from_address or mail.subject or mail.text.strip() or mail.html
                or mail.attachments or mail.message_id)


# ---- bounces -------------------------------------------------------------------------------

_BODY_MSGID = LazyPattern(r"^[ \t>]*Message-ID[ \t]*:[ \t]*(?:\r?\n[ \t]+)?(<[^<>\s]{1,900}>)",
                         re.I | re.M)
_REPORT_PARTS = MESSAGE_TYPES | HEADER_PART_TYPES


def original_message_ids(parsed: ParsedMail) -> list[str]:
    """The Message-IDs of the message a bounce/DSN/report is about, in the order found."""
    found: list[str] = []
    try:
        for attachment in parsed.attachments:
            if attachment.content_type not in _REPORT_PARTS:
                continue
            try:
                head = mime_parser().parsebytes(attachment.data[:1024 * 1024], headersonly=True)
                values = head.get_all("message-id") or []
            except Exception:  # noqa: BLE001
                values = []
            if not values:  # a headers part may start with a blank line or be cut short
                values = _BODY_MSGID.findall(
                    attachment.data[:256 * 1024].decode("utf-8", "replace"))
            for value in values:
                found.extend(message_ids(str(value)))
        if not found:
            if parsed.is_report or loops.is_bounce(parsed) or loops.from_daemon(parsed):
                found.extend(_BODY_MSGID.findall(parsed.text or ""))
                for attachment in parsed.attachments:
                    if attachment.content_type.startswith("text/"):
                        found.extend(_BODY_MSGID.findall(
                            attachment.data[:256 * 1024].decode("utf-8", "replace")))
    except Exception:  # noqa: BLE001
        pass
    own = parsed.message_id
    return [mid for mid in dict.fromkeys(found) if mid != own]

