"""Header fields of a raw message: the header-block repair, decoding, addresses, ids, dates.

Guarantees: nothing here raises on any input (every stdlib call that can is guarded);
header values are unfolded and decoded: RFC 2047 words with `email.header.decode_header`, raw
8-bit bytes (no RFC 2047) with the charset `charsets.header_charset` chooses for the message
(UTF-8 when valid, else a charset the message declares when it reads plausibly, else
detection, else windows-1252, which keeps every byte); at most `MAX_HEADERS` fields and
`MAX_HEADER_CHARS` characters per value are read. A header block that starts with a junk line
(an mbox "From " line, a stray banner) or has lines without folding whitespace is repaired
before parsing (each repair is a defect).
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from chalicelib.mail.charsets import decode_bytes, decode_with, header_charset, strict_ok
from chalicelib.mail.message import MAX_HEADERS, ParsedMail, raw_items
from chalicelib.mail.text import WS, LazyPattern, collapse

if TYPE_CHECKING:  # the email package is imported on first use: it costs cold-start time
    from email.message import Message

MAX_HEADER_CHARS = 64 * 1024  # per header value, before decoding
_HEAD_SCAN_LINES = 5000       # header-block repair looks at this many lines at most

SURROGATES = LazyPattern("[\udc80-\udcff]")
_FOLD = LazyPattern(r"\r?\n(?=[ \t])")
_NEWLINES = LazyPattern(r"[\r\n]+")
_ASCII_RUN = LazyPattern(r"[\x00-\x7f]+")


class HeaderDecoder:
    """Decodes header values; one per message, so raw 8-bit headers share one charset guess."""

    def __init__(self, hints: list[str] | tuple[str, ...] | str | None, raw_eightbit: bytes,
                 notes: list[str]):
        self.notes = notes
        self._hints = [hints] if isinstance(hints, str) else list(hints or ())
        self._raw = raw_eightbit
        self._charset: str | None = None

    def _eightbit_charset(self) -> str:
        if self._charset is None:
            self._charset = header_charset(self._raw, self._hints)
            if self._charset != "utf-8":
                self.notes.append(f"headers: raw 8-bit bytes with no charset, read as {self._charset}")
        return self._charset

    def eightbit(self, value: str) -> str:
        """A value with raw 8-bit bytes (surrogate-escaped) decoded: the message's guess first.
        ISO-2022-JP sent raw (7-bit, but escape sequences) is decoded too."""
        if not SURROGATES.search(value):
            return _iso2022(value) if "\x1b" in value else value
        data = value.encode("ascii", "surrogateescape")
        charset = self._eightbit_charset()
        if not strict_ok(data, charset):  # e.g. a part's filename in another charset
            charset = header_charset(data, self._hints)
        return decode_with(data, charset)

    def unfolded(self, value: object) -> str:
        """One raw header value on one line, raw 8-bit bytes decoded; RFC 2047 words left."""
        value = value if isinstance(value, str) else str(value)
        return self.eightbit(_NEWLINES.sub(" ", _FOLD.sub("", value[:MAX_HEADER_CHARS])))

    def text(self, value: object) -> str:
        """Unfolded, decoded text of one raw header value."""
        value = self.unfolded(value)
        return self.words(value) if "=?" in value else value

    def words(self, value: str) -> str:
        """RFC 2047 encoded words decoded (each ASCII stretch on its own)."""
        if value.isascii():
            return _decode_words(value, self.notes)
        return _ASCII_RUN.sub(lambda m: _decode_run(m.group(0), self.notes)
                              if "=?" in m.group(0) else m.group(0), value)


_ISO2022_ESCAPES = ("\x1b$B", "\x1b$@", "\x1b(J", "\x1b$(D", "\x1b(I")


def _iso2022(value: str) -> str:
    """ISO-2022-JP text sent without RFC 2047 (escape sequences in a 7-bit header)."""
    if not any(escape in value for escape in _ISO2022_ESCAPES):
        return value
    data = value.encode("ascii", "replace")
    for codec in ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2"):
        try:
            return data.decode(codec)
        except Exception:  # noqa: BLE001 - UnicodeDecodeError, broken stateful codecs
            continue
    return value


def _decode_run(run: str, notes: list[str]) -> str:
    # decode_header drops the whitespace that starts its input: keep it (it follows 8-bit text)
    body = run.lstrip()
    return run[:len(run) - len(body)] + _decode_words(body, notes)



def _decode_words(value: str, notes: list[str]) -> str:
    from email import header as email_header  # deferred: cold start, the email package is large

    try:
        parts = email_header.decode_header(value)
    except Exception:  # noqa: BLE001 - e.g. base64 that cannot be repaired
        notes.append("headers: an encoded word could not be decoded")
        return value
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
        elif charset is None:
            out.append(chunk.decode("ascii", "replace"))
        else:
            out.append(decode_bytes(chunk, charset, notes, "header"))
    return "".join(out)


_MSGID = LazyPattern(r"<\s*([^<>\s]{1,900}?)\s*>")
_BARE_MSGID = LazyPattern(r"^[^\s<>@]+@[^\s<>@]+$")


def message_ids(value: str) -> list[str]:
    """Every "<...>" message id in a header value, in order, without duplicates."""
    found = [f"<{m}>" for m in _MSGID.findall(value or "") if _printable_ascii(m)]
    if not found:
        bare = (value or "").strip()
        if _BARE_MSGID.match(bare) and _printable_ascii(bare):
            found = [f"<{bare}>"]
    return list(dict.fromkeys(found))


def _printable_ascii(text: str) -> bool:
    return text.isascii() and text.isprintable()


_ADDRESS_SPLIT = LazyPattern(r"[\s<>()\[\]\"',;:]+")


def _usable_address(addr: str) -> str | None:
    addr = (addr or "").strip().strip("<>").strip()
    if addr.lower().startswith("mailto:"):
        addr = addr[7:]
    if addr.count("@") != 1:
        return None
    local, domain = addr.split("@")
    domain = domain.strip().rstrip(".")
    if not local or not domain or any(c.isspace() or c in "<>()[],;:\"\\" for c in domain):
        return None
    if any(c.isspace() or ord(c) < 32 or c in "<>" for c in local):
        return None
    return f"{local}@{domain.lower()}"


def _mailboxes(value: str, decoder: HeaderDecoder) -> list[tuple[str, str]]:
    """(display name, address) pairs from one decoded-from-8-bit but not RFC 2047 value."""
    from email import utils as email_utils  # deferred: cold start, the email package is large

    pairs: list[tuple[str, str]] = []
    try:
        parsed = email_utils.getaddresses([value])
    except Exception:  # noqa: BLE001
        parsed = []
    for name, addr in parsed:
        usable = _usable_address(addr)
        if usable:
            pairs.append((_clean_name(decoder.words(name) if "=?" in name else name), usable))
    if not pairs and "@" in value:
        for token in _ADDRESS_SPLIT.split(value):
            usable = _usable_address(token) if "@" in token else None
            if usable:
                pairs.append(("", usable))
    return pairs


def _clean_name(name: str) -> str:
    name = WS.sub(" ", name or "").strip().strip("\"'").strip()
    return "".join(c for c in name if c.isprintable())


# ---- the header-block repair ---------------------------------------------------------------

_HEADER_LINE = LazyPattern(rb"^[!-9;-~]{1,76}[ \t]*:")
_KNOWN_HEADER = LazyPattern(
    rb"^(?:from|to|cc|bcc|subject|date|message-id|in-reply-to|references|reply-to|sender|"
    rb"return-path|received|mime-version|content-[a-z-]+|x-[!-9;-~]+|list-[a-z-]+|"
    rb"delivered-to|precedence|auto-submitted|thread-[a-z]+|dkim-signature|arc-[a-z-]+|"
    rb"authentication-results|importance|priority|user-agent|organization)[ \t]*:", re.I)
BLANK = LazyPattern(rb"\r?\n[ \t]*\r?\n")


def repair_head(raw: bytes, notes: list[str]) -> bytes:
    """Drop junk before the first header; fold or end the header block where lines break it."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    end = BLANK.search(raw)
    head, rest = (raw[:end.start()], raw[end.start():]) if end else (raw, b"")
    lines = head.split(b"\n", _HEAD_SCAN_LINES)
    tail = lines.pop() if len(lines) > _HEAD_SCAN_LINES else None
    # leading junk: up to 3 lines that are not headers, when headers follow right after
    dropped = 0
    while (dropped < 3 and lines and not _HEADER_LINE.match(lines[0])
           and not lines[0][:1] in (b" ", b"\t")
           and any(_KNOWN_HEADER.match(line) for line in lines[1:4])):
        notes.append(f"dropped a junk line before the headers: {_preview(lines[0])}")
        lines.pop(0)
        dropped += 1
    while lines and not lines[0].strip(b"\r") and dropped < 3 and len(lines) > 1 \
            and _HEADER_LINE.match(lines[1]):
        lines.pop(0)
        dropped += 1
    if not lines or not _HEADER_LINE.match(lines[0]):
        return raw if not dropped else b"\n".join(lines) + (b"\n" + tail if tail else b"") + rest
    last_known = max((i for i, line in enumerate(lines) if _KNOWN_HEADER.match(line)), default=0)
    out: list[bytes] = []
    for i, line in enumerate(lines):
        if i and line[:1] not in (b" ", b"\t") and not _HEADER_LINE.match(line):
            if i < last_known:
                notes.append(f"header line without folding whitespace joined: {_preview(line)}")
                line = b" " + line
            else:
                notes.append("no blank line between the headers and the body")
                out.append(b"\r\n" if line.endswith(b"\r") else b"\n")
                out.extend(x + b"\n" for x in lines[i:-1])
                out.append(lines[-1])
                break
        out.append(line if i == len(lines) - 1 else line + b"\n")
    repaired = b"".join(out)
    if tail is not None:
        repaired += b"\n" + tail
    return repaired + rest


def _preview(line: bytes) -> str:
    return repr(line.strip()[:60].decode("ascii", "replace"))


def declared_charsets(msg: Message, limit: int = 40) -> list[str]:
    """The charsets the message declares (Content-Type charset of its parts, the top part first,
    text parts before others), once each: the hints for its raw 8-bit header bytes."""
    text: list[str] = []
    other: list[str] = []
    try:
        for n, part in enumerate(msg.walk()):
            if n >= limit:
                break
            try:
                charset = part.get_param("charset")
                ctype = (part.get_content_type() or "").lower()
            except Exception:  # noqa: BLE001
                continue
            if isinstance(charset, tuple):  # RFC 2231 form
                charset = charset[2] if len(charset) > 2 else None
            if isinstance(charset, str) and charset.strip():
                (text if ctype.startswith("text/") else other).append(charset.strip().lower())
    except Exception:  # noqa: BLE001 - RecursionError on absurd nesting
        pass
    return list(dict.fromkeys(text + other))


def eightbit_bytes(msg: Message) -> bytes:
    chunks = []
    for _, value in raw_items(msg)[:MAX_HEADERS]:
        if SURROGATES.search(value[:MAX_HEADER_CHARS]):
            chunks.append(value[:MAX_HEADER_CHARS].encode("ascii", "surrogateescape"))
    return b"\n".join(chunks)


def headers_into(mail: ParsedMail, msg: Message, decoder: HeaderDecoder) -> None:
    notes = mail.defects
    items = raw_items(msg)
    if len(items) > MAX_HEADERS:
        notes.append(f"{len(items):,} header fields: only the first {MAX_HEADERS} kept")
        items = items[:MAX_HEADERS]
    unfolded: dict[str, list[str]] = {}  # RFC 2047 words still encoded, for address parsing
    for name, value in items:
        key = collapse(name).lower()
        if len(value) > MAX_HEADER_CHARS:
            notes.append(f"header {key[:40]} of {len(value):,} characters cut")
        line = decoder.unfolded(value)
        unfolded.setdefault(key, []).append(line)
        mail.headers.setdefault(key, []).append(decoder.words(line) if "=?" in line else line)
    _identities_into(mail, unfolded, decoder)
    subjects = mail.headers.get("subject", [])
    mail.subject = collapse(subjects[0]) if subjects else ""
    if unfolded.get("date"):
        mail.date = _date(unfolded["date"][0], notes)
    _threading_into(mail, unfolded)


def _identities_into(mail: ParsedMail, unfolded: dict[str, list[str]],
                     decoder: HeaderDecoder) -> None:
    """From (the first usable of several, else Sender), Reply-To, To and Cc."""
    notes = mail.defects
    froms = unfolded.get("from", [])
    if len(froms) > 1:
        notes.append(f"{len(froms)} From headers: the first usable one is used")
    for key in ("from", "sender"):
        boxes = next(filter(None, (_mailboxes(v, decoder) for v in unfolded.get(key, []))), None)
        if boxes:
            mail.from_name, mail.from_address = boxes[0]
            if key == "sender":
                notes.append("no usable From: the Sender address is used")
            break
    else:
        notes.append("no usable From address" if froms else "no From header")
    for key, target in (("reply-to", mail.reply_to), ("to", mail.to), ("cc", mail.cc)):
        for value in unfolded.get(key, []):
            for _, address in _mailboxes(value, decoder):
                if address not in target:
                    target.append(address)


def _threading_into(mail: ParsedMail, unfolded: dict[str, list[str]]) -> None:
    """Message-ID (the first), In-Reply-To and References (all ids, in order, once)."""
    if unfolded.get("message-id"):
        ids = message_ids(unfolded["message-id"][0])
        mail.message_id = ids[0] if ids else None
        if not ids:
            mail.defects.append("Message-ID is not usable")
    for key, target in (("in-reply-to", mail.in_reply_to), ("references", mail.references)):
        for value in unfolded.get(key, []):
            for mid in message_ids(value):
                if mid not in target:
                    target.append(mid)


def _date(value: str, notes: list[str]) -> datetime | None:
    from email import utils as email_utils  # deferred: cold start, the email package is large

    try:
        parsed = email_utils.parsedate_to_datetime(value.strip())
    except Exception:  # noqa: BLE001
        parsed = None
    if parsed is None:
        notes.append(f"Date not understood: {value.strip()[:60]!r}")
        return None
    try:
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    except Exception:  # noqa: BLE001 - out-of-range offsets and years
        notes.append(f"Date out of range: {value.strip()[:60]!r}")
        return None

