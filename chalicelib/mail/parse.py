"""Raw MIME → ParsedMail, for anything the internet sends. `parse` never raises.

The stdlib `email` package does the MIME work, with the lenient `compat32` policy (the modern
policy raises on some malformed headers when they are read). Around it:
- charsets: declared ones first, with the usual mislabels mapped (`ks_c_5601-1987` → cp949,
  `gb2312` → gb18030, latin-1 → cp1252, UTF-8 that claims to be latin-1); undeclared or wrong
  ones detected with charset-normalizer, for bodies and for raw 8-bit headers alike;
- headers: RFC 2047 words decoded per word (a bad word keeps its text), a junk first line
  (mbox "From ") dropped, duplicate From noted;
- structure: an explicit walk with a depth cap, message/rfc822 kept as a .eml attachment,
  uuencoded blocks in text turned into attachments, PGP/S-MIME encryption flagged;
- HTML: sanitised with nh3 and rendered to text (chalicelib/mail/html.py).
Text is never rewritten beyond decoding: backslashes and every other character survive.
"""
from __future__ import annotations

import binascii
import codecs
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Iterator

from chalicelib.mail import html as html_text

MAX_RAW = 40 * 1024 * 1024
MAX_DEPTH = 30
MAX_PARTS = 500
MAX_HEADER_VALUE = 8_000
MESSAGE_ID = re.compile(r"<[^<>\s]{1,500}>")
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")
_UU_BLOCK = re.compile(r"^begin [0-7]{3,4} ([^\r\n]+)\r?\n(.*?)^end[ \t]*$", re.M | re.S)
_CHARSET_ALIASES = {
    "utf8": "utf-8", "utf-8": "utf-8", "unicode-1-1-utf-8": "utf-8",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cn-gb": "gb18030",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
    "ascii": "cp1252", "iso-8859-8-i": "iso-8859-8", "windows-874": "cp874",
    "shift-jis": "cp932", "shift_jis": "cp932", "x-sjis": "cp932", "big5": "big5hkscs",
}
_UNKNOWN = {"", "x-unknown", "unknown", "unknown-8bit", "x-user-defined", "default", "none"}


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class ParsedMail:
    message_id: str | None = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    from_address: str | None = None
    from_name: str = ""
    reply_to: list[str] = field(default_factory=list)
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    subject: str = ""
    date: datetime | None = None
    text: str = ""
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    headers: dict[str, list[str]] = field(default_factory=dict)
    is_report: bool = False
    report_type: str | None = None
    encrypted: bool = False
    defects: list[str] = field(default_factory=list)
    ok: bool = True
    # inner parts kept for bounce matching: message/rfc822 and text/rfc822-headers bytes
    embedded: list[bytes] = field(default_factory=list, repr=False)


def parse(raw: bytes) -> ParsedMail:
    if not isinstance(raw, (bytes, bytearray)):
        return ParsedMail(ok=False, defects=["input is not bytes"])
    raw = bytes(raw[:MAX_RAW])
    try:
        return _parse(raw)
    except Exception as exc:  # noqa: BLE001 - last resort: never lose the message
        text = decode_text(raw, None)
        return ParsedMail(text=text[:200_000], ok=bool(text.strip()),
                          defects=[f"unparseable ({type(exc).__name__}); raw text kept"])


def _parse(raw: bytes) -> ParsedMail:
    result = ParsedMail()
    if not raw.strip():
        result.ok = False
        result.defects.append("empty message")
        return result
    raw = _drop_junk_prefix(raw, result)
    message = message_from_bytes(raw, policy=policy.compat32)
    _read_headers(message, result)
    _read_body(message, result)
    if not result.from_address:
        result.defects.append("no usable From address")
    return result


def _drop_junk_prefix(raw: bytes, result: ParsedMail) -> bytes:
    """An mbox "From " line or other junk before the first header would end the header block
    at once; skip lines until one looks like a header (at most a few)."""
    lines = raw.split(b"\n", 5)
    dropped = 0
    while dropped < min(5, len(lines) - 1) and not _HEADER_LINE.match(lines[dropped]):
        dropped += 1
    if dropped:
        result.defects.append(f"skipped {dropped} junk line(s) before the headers")
        return b"\n".join(lines[dropped:])
    return raw


# ---- headers -------------------------------------------------------------------------------

def _read_headers(message: Message, result: ParsedMail) -> None:
    for name, value in message.raw_items():  # raw: 8-bit bytes still recognisable
        result.headers.setdefault(name.lower(), []).append(header_text(value)[:MAX_HEADER_VALUE])
    h = result.headers
    froms = _addresses(h.get("from", []))
    if len(h.get("from", [])) > 1:
        result.defects.append("more than one From header; the first is used")
    if not froms and h.get("sender"):
        froms = _addresses(h["sender"])
    if froms:
        result.from_name, result.from_address = froms[0]
    result.reply_to = [a for _, a in _addresses(h.get("reply-to", []))]
    result.to = [a for _, a in _addresses(h.get("to", []))]
    result.cc = [a for _, a in _addresses(h.get("cc", []))]
    result.subject = " ".join((h.get("subject") or [""])[0].split())
    ids = MESSAGE_ID.findall((h.get("message-id") or [""])[0])
    result.message_id = ids[0] if ids else None
    result.in_reply_to = list(dict.fromkeys(MESSAGE_ID.findall(" ".join(h.get("in-reply-to", [])))))
    result.references = list(dict.fromkeys(MESSAGE_ID.findall(" ".join(h.get("references", [])))))
    result.date = _date((h.get("date") or [""])[0])


def header_text(value) -> str:
    """A header value as text: RFC 2047 words decoded, raw 8-bit bytes detected."""
    if not isinstance(value, str):
        value = str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in value):  # raw 8-bit bytes, no charset given
        value = decode_text(value.encode("ascii", "surrogateescape"), None)
    value = _unfold(value)
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # noqa: BLE001 - an unknown charset in one word: decode word by word
        try:
            parts = decode_header(value)
        except Exception:  # noqa: BLE001
            return value
        return "".join(decode_text(chunk, charset, detect=False) if isinstance(chunk, bytes)
                       else chunk for chunk, charset in parts)


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n[ \t]+", " ", value).replace("\r", "").replace("\n", " ").strip()


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    out = []
    try:
        pairs = getaddresses(values)
    except Exception:  # noqa: BLE001
        pairs = []
    for name, address in pairs:
        address = address.strip().strip("<>")
        if "@" not in address or " " in address or len(address) > 320:
            continue
        local, _, domain = address.rpartition("@")
        out.append((name.strip(), f"{local}@{domain.lower()}"))
    return out


def _date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


# ---- body ----------------------------------------------------------------------------------

def _read_body(message: Message, result: ParsedMail) -> None:
    plain: list[str] = []
    html_parts: list[str] = []
    cids_in_html: set[str] = set()
    for part in _walk(message, result):
        ctype = _content_type(part)
        disposition = (part.get("content-disposition") or "").split(";")[0].strip().lower()
        filename = _filename(part)
        if ctype == "multipart/report":
            result.is_report = True
            result.report_type = (part.get_param("report-type") or "").lower() or None
            continue
        if ctype.startswith("multipart/"):
            if ctype == "multipart/encrypted":
                result.encrypted = True
            continue
        if ctype in ("application/pgp-encrypted", "application/pkcs7-mime",
                     "application/x-pkcs7-mime") and "signed-data" not in str(part.get_param("smime-type") or ""):
            result.encrypted = True
        if ctype in ("message/rfc822", "message/global"):
            data = _embedded_bytes(part)
            result.embedded.append(data)
            result.attachments.append(Attachment(filename or "forwarded-message.eml", "message/rfc822", data))
            continue
        if ctype in ("text/rfc822-headers", "message/delivery-status", "message/feedback-report",
                     "message/disposition-notification"):
            result.embedded.append(_payload(part))
            if ctype != "text/rfc822-headers":
                result.attachments.append(Attachment(filename or _made_name(ctype, len(result.attachments)),
                                                     ctype, _payload(part)))
            continue
        is_text = ctype in ("text/plain", "text/html") and disposition != "attachment" and not (
            filename and disposition == "inline" and ctype == "text/plain" and plain)
        if is_text:
            text = decode_text(_payload(part), part.get_content_charset())
            if ctype == "text/plain":
                plain.append(_extract_uuencoded(text, result))
            else:
                html_parts.append(text)
                cids_in_html.update(re.findall(r"cid:([^\"'\s>)]+)", text, re.I))
            continue
        data = _payload(part)
        cid = (part.get("content-id") or "").strip().strip("<>") or None
        result.attachments.append(Attachment(
            filename=filename or _made_name(ctype, len(result.attachments)),
            content_type=ctype, data=data,
            inline=disposition == "inline" or bool(cid and cid in cids_in_html), content_id=cid))
    for attachment in result.attachments:
        if attachment.content_id and attachment.content_id in cids_in_html:
            attachment.inline = True
    if html_parts:
        result.html = html_text.sanitise("\n".join(html_parts))
    if plain:
        result.text = _normalise_newlines("\n\n".join(p.strip("\n") for p in plain if p.strip()))
    elif html_parts:
        result.text = html_text.to_text("\n".join(html_parts))
    if not result.text and not result.attachments and not result.headers:
        result.ok = False


def _walk(message: Message, result: ParsedMail) -> Iterator[Message]:
    """Leaves and containers, depth-first in order, without recursion; multipart/alternative
    yields only its best text alternative (plain preferred, html kept for sanitised display)."""
    stack: list[tuple[Message, int]] = [(message, 0)]
    seen = 0
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            result.defects.append(f"more than {MAX_PARTS} MIME parts; the rest ignored")
            return
        yield part
        if not part.is_multipart():
            continue
        if depth >= MAX_DEPTH:
            result.defects.append(f"MIME nesting deeper than {MAX_DEPTH}; inner parts ignored")
            continue
        children = part.get_payload()
        if not isinstance(children, list):
            continue
        if _content_type(part) == "multipart/alternative":
            children = _alternatives(children)
        for child in reversed(children):
            if isinstance(child, Message):
                stack.append((child, depth + 1))


def _alternatives(children: list) -> list:
    """Keep one text/plain (the richest text is html, kept too for display) and any
    non-text alternatives' containers (multipart/related with the html and its images)."""
    plain = [c for c in children if isinstance(c, Message) and _content_type(c) == "text/plain"]
    others = [c for c in children if isinstance(c, Message) and _content_type(c) != "text/plain"]
    return plain[:1] + others


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:  # noqa: BLE001
        return "application/octet-stream"


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - broken transfer encoding: keep what is there
        data = None
    if data is None:
        raw = part.get_payload()
        if isinstance(raw, str):
            data = raw.encode("utf-8", "surrogateescape")
        elif isinstance(raw, bytes):
            data = raw
        else:
            data = b""
    return data


def _embedded_bytes(part: Message) -> bytes:
    inner = part.get_payload()
    try:
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return inner[0].as_bytes()
    except Exception:  # noqa: BLE001
        pass
    return _payload(part)


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()  # RFC 2231 parameters (and continuations) are decoded
    except Exception:  # noqa: BLE001
        name = None
    if name is None:
        try:
            name = part.get_param("name")
            if isinstance(name, tuple):
                name = codecs.decode(name[2].encode("latin-1", "replace"), name[0] or "utf-8", "replace")
        except Exception:  # noqa: BLE001
            name = None
    if not name:
        return ""
    name = header_text(str(name))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".")
    return name[:200]


def _made_name(ctype: str, n: int) -> str:
    extension = mimetypes.guess_extension(ctype) or ".bin"
    return f"attachment-{n + 1}{extension}"


def _extract_uuencoded(text: str, result: ParsedMail) -> str:
    """uuencoded files inside a text body become attachments (old mailers, some scanners)."""
    def take(found: re.Match) -> str:
        data = bytearray()
        for line in found.group(2).splitlines():
            if not line or line in ("`", " "):
                continue
            try:
                data += binascii.a2b_uu(line)
            except binascii.Error:
                try:  # some encoders pad wrongly; the line's own length byte rules
                    nbytes = (((ord(line[0]) - 32) & 63) * 4 + 5) // 3
                    data += binascii.a2b_uu(line[:nbytes])
                except (binascii.Error, IndexError):
                    result.defects.append("a uuencoded line could not be decoded")
        name = found.group(1).strip().replace("\\", "/").rsplit("/", 1)[-1] or "uuencoded.bin"
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        result.attachments.append(Attachment(name[:200], ctype, bytes(data)))
        return ""
    return _UU_BLOCK.sub(take, text) if "begin " in text else text


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ---- charsets -------------------------------------------------------------------------------

def decode_text(data: bytes, charset: str | None, *, detect: bool = True) -> str:
    """Bytes to text with the declared charset when it fits, else detection; never raises."""
    if not data:
        return ""
    name = (charset or "").strip().strip('"').lower()
    if not data.translate(None, bytes(range(128))):  # plain ASCII: nothing to decide
        return data.decode("ascii")
    codec = _codec(name)
    if codec in ("cp1252", None) or name in _UNKNOWN:
        # latin-1 labels and missing labels are most often UTF-8 in reality
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if codec:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
    if detect:
        try:
            from charset_normalizer import from_bytes

            best = from_bytes(data[:200_000]).best()
            if best is not None and best.encoding:
                return data.decode(best.encoding, "replace")
        except Exception:  # noqa: BLE001
            pass
    return data.decode(codec or "utf-8", "replace") if codec else data.decode("utf-8", "replace")


def _codec(name: str) -> str | None:
    if not name or name in _UNKNOWN:
        return None
    name = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def original_message_ids(parsed: ParsedMail) -> list[str]:
    """Message-IDs of the original message a bounce or report is about: from the embedded
    message or headers part first, then any Message-ID-looking token in the text."""
    found: list[str] = []
    for blob in parsed.embedded:
        text = decode_text(blob[:200_000], None, detect=False)
        for match in re.finditer(r"(?im)^(?:message-id|original-message-id):\s*(<[^<>\s]+>)", text):
            found.append(match.group(1))
    for match in re.finditer(r"(?im)(?:message-id|original-message-id)\s*:?\s*(<[^<>\s]+>)", parsed.text or ""):
        found.append(match.group(1))
    own = parsed.message_id
    return [i for i in dict.fromkeys(found) if i != own]
