"""Raw MIME bytes -> `ParsedMail`: everything the email service needs, and never an exception.

The MIME structure is parsed by the standard library (`email.parser.BytesParser` with the
`compat32` policy: its header values are the raw strings, so nothing raises when a header is
read later; the modern policy builds header objects lazily and can raise on access). Around it
this module only repairs what the stdlib cannot know and decodes what it leaves encoded:

* a header block that starts with a junk line (an mbox "From " line, a stray banner) or has
  lines without folding whitespace is repaired before parsing (each repair is a defect);
* header values are unfolded and decoded here: RFC 2047 words with `email.header.decode_header`,
  raw 8-bit bytes (no declared charset) as UTF-8 when valid, else as the body's declared charset,
  else as `charset-normalizer` detects them;
* body bytes are decoded with the declared charset after mapping the labels mail clients get
  wrong (`utf8`, `x-unknown`, `ks_c_5601-1987`, gb2312 that is really GBK, iso-8859-1 that is
  really windows-1252, UTF-8 labelled as anything), falling back to detection;
* uuencoded blocks inside text become attachments; PGP/MIME and S/MIME are recognised;
  Outlook's winmail.dat (TNEF) is unpacked into its files and body (chalicelib/mail/tnef.py);
* parameters (file names) get the same charset repair: RFC 2231 values with a wrong, unknown
  or missing charset, and raw 8-bit values, which compat32 would hand out as U+FFFD;
* nesting deeper than `MAX_DEPTH` is not walked (a defect says so) and a stdlib RecursionError
  on absurd nesting falls back to the top-level headers plus the raw body as text.

`charset-normalizer` (MIT, maintained by the jawah org, the detector `requests` uses) is the
only third-party library used here, imported lazily: most mail never needs it.
"""
from __future__ import annotations

import binascii
import codecs
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the email package is imported on first use: it costs cold-start time
    from email.message import Message

MAX_INPUT = 40 * 1024 * 1024  # SES accepts up to 40 MB of raw message; more is cut and noted
MAX_DEPTH = 24                # multipart / message nesting walked; deeper parts are ignored
MAX_CONTAINERS = 300          # multipart containers (boundary parameters) parsed as MIME
MAX_HEADERS = 1000            # header fields kept in `headers`
MAX_HEADER_CHARS = 64 * 1024  # per header value, before decoding
MAX_FILENAME = 180
_HEAD_SCAN_LINES = 5000       # header-block repair looks at this many lines at most



class LazyPattern:
    """A regular expression compiled on first use (module import stays cheap for cold starts)."""

    __slots__ = ("_args", "_compiled")

    def __init__(self, pattern: Any, flags: int = 0):
        self._args = (pattern, flags)
        self._compiled: re.Pattern | None = None

    def __getattr__(self, name: str) -> Any:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(*self._args)
        return getattr(compiled, name)


def _parser():
    from email.parser import BytesParser

    return BytesParser()  # compat32: raw header strings, nothing raises on access


__all__ = ["Attachment", "ParsedMail", "parse", "original_message_ids", "decode_bytes", "codec_for",
           "detect_charset", "message_ids", "safe_filename"]


@dataclass
class Attachment:
    filename: str            # safe basename, never empty
    content_type: str        # lower-case "type/subtype"
    data: bytes
    inline: bool             # Content-Disposition inline, or a Content-ID the html refers to
    content_id: str | None   # without <>

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
    ok: bool = False


# ---- charsets -----------------------------------------------------------------------------

# Labels Python does not know, or reads differently from what mailers mean by them.
_CHARSET_ALIASES = {
    "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8", "x-unicode20utf8": "utf-8", "unicode": "utf-8",
    # WHATWG: these labels mean windows-1252 (its C1 range holds the smart quotes Outlook sends);
    # plain ASCII labels on 8-bit text are the same Outlook habit.
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "iso_8859-1": "cp1252", "latin1": "cp1252",
    "latin-1": "cp1252", "l1": "cp1252", "cp819": "cp1252", "ibm819": "cp1252",
    "us-ascii": "cp1252", "ascii": "cp1252", "ansi_x3.4-1968": "cp1252", "x-ascii": "cp1252",
    "iso-8859-9": "cp1254", "latin5": "cp1254", "iso-8859-11": "cp874", "tis-620": "cp874",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "ks_c_5601_1987": "cp949",
    "x-windows-949": "cp949", "korean": "cp949", "x-gbk": "gbk", "cn-gb": "gb2312",
    "x-x-big5": "big5", "cn-big5": "big5", "x-sjis": "shift_jis", "windows-31j": "cp932",
    "iso-8859-8-i": "iso8859-8", "iso-8859-6-i": "iso8859-6", "windows-874": "cp874",
    "x-mac-roman": "mac-roman", "x-mac-cyrillic": "mac-cyrillic", "x-mac-greek": "mac-greek",
    "x-mac-turkish": "mac-turkish", "x-mac-ce": "mac-latin2", "x-mac-icelandic": "mac-iceland",
}
# When the declared charset fails, its superset usually reads it (gb2312 that is really GBK).
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "euc_kr": "cp949", "big5": "big5hkscs",
              "shift_jis": "cp932", "euc_jp": "euc_jis_2004", "iso2022_jp": "iso2022_jp_ext",
              "iso8859-11": "cp874", "iso8859-9": "cp1254"}
# Labels that say nothing: detect instead.
_CHARSET_UNKNOWN = {"x-unknown", "unknown", "unknown-8bit", "x-user-defined", "default", "8bit",
                    "binary", "charset", "none"}
# Text codecs that would rewrite the text rather than decode it.
_CHARSET_REFUSED = {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined",
                    "mbcs", "oem", "string-escape"}
_WIDE = ("utf-16", "utf-32")
# Among detector guesses that fit equally well, the charsets mail is really written in win.
_PREFERRED = ["utf-8", "cp1252", "cp1251", "cp1250", "gb18030", "cp932", "cp949", "big5",
              "cp1256", "cp1253", "cp1255", "cp1254", "cp1257", "cp1258", "koi8-r", "koi8-u",
              "euc_jp", "iso2022_jp", "cp874", "shift_jis", "gb2312", "euc_kr", "mac-roman"]
_MIN_DETECT = 8  # non-ASCII bytes below which a guess is noise: windows-1252 is assumed


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start:error.end].decode("latin-1"), error.end


codecs.register_error("setu-latin1", _latin1_fallback)


def codec_for(label: str | None) -> str | None:
    """A Python codec name for a MIME charset label, or None when the label is no help."""
    if not label or not isinstance(label, str):
        return None
    name = label.strip().strip("\"'").lower()
    name = name.split("*", 1)[0]  # RFC 2231 language suffix
    if not name or name in _CHARSET_UNKNOWN:
        return None
    name = _CHARSET_ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _CHARSET_REFUSED:
        return None
    if info.name in ("iso8859-1", "latin-1", "ascii"):
        return "cp1252"
    return info.name


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detect_charset(data: bytes) -> str | None:
    """charset-normalizer's best guess for `data` (a sample of it), or None."""
    sample = data[:32 * 1024]
    if sum(1 for b in sample[:4096] if b > 127) < _MIN_DETECT:
        return None
    try:
        from charset_normalizer import from_bytes

        matches = list(from_bytes(sample))
    except Exception:  # noqa: BLE001 - detection is a hint, never a failure
        return None
    candidates = []
    for match in matches:
        codec = codec_for(match.encoding)
        if codec is None or (codec.startswith(_WIDE + ("utf-7",)) and not match.bom):
            continue
        candidates.append((match.chaos, codec))
    if not candidates:
        return None
    best = candidates[0][0]
    tied = [codec for chaos, codec in candidates if chaos <= best + 0.01]
    return min(tied, key=lambda c: _PREFERRED.index(c) if c in _PREFERRED else len(_PREFERRED))


def decode_bytes(data: bytes, label: str | None = None,
                 notes: list[str] | None = None, what: str = "text") -> str:
    """Text from bytes whose declared charset may be missing, unknown or wrong."""
    if not data:
        return ""
    codec = codec_for(label)
    note = notes.append if notes is not None else (lambda _message: None)
    if label and codec is None and label.strip().strip("\"'").lower() not in _CHARSET_UNKNOWN:
        note(f"{what}: unknown charset {label.strip()[:40]!r}, detected instead")
    ascii_only = data.isascii()
    if codec is None:
        if ascii_only:
            return data.decode("ascii")
        if _valid_utf8(data):
            return data.decode("utf-8")
        return _decode_with(data, detect_charset(data) or "cp1252")
    if not ascii_only and not codec.startswith(_WIDE) and codec not in ("utf-8", "utf-8-sig") \
            and _valid_utf8(data):
        # Valid multi-byte UTF-8 is almost never an accident in another charset.
        note(f"{what}: declared {label!s:.40} but the bytes are UTF-8")
        return data.decode("utf-8")
    for attempt in (codec, _SUPERSETS.get(codec)):
        if attempt:
            try:
                return data.decode(attempt)
            except Exception:  # noqa: BLE001 - UnicodeDecodeError, broken stateful codecs
                pass
    if ascii_only:
        return data.decode("ascii")
    guess = detect_charset(data)
    if guess and guess != codec:
        note(f"{what}: not valid {label!s:.40}, decoded as {guess}")
        return _decode_with(data, guess)
    note(f"{what}: not valid {label!s:.40}, undecodable bytes replaced")
    return _decode_with(data, _SUPERSETS.get(codec, codec))


def _decode_with(data: bytes, codec: str) -> str:
    errors = "setu-latin1" if codec == "cp1252" else "replace"
    try:
        return data.decode(codec, errors)
    except Exception:  # noqa: BLE001
        return data.decode("utf-8", "replace")


# ---- headers ------------------------------------------------------------------------------

_SURROGATES = LazyPattern("[\udc80-\udcff]")
_FOLD = LazyPattern(r"\r?\n(?=[ \t])")
_NEWLINES = LazyPattern(r"[\r\n]+")
_WS = LazyPattern(r"\s+")
_ASCII_RUN = LazyPattern(r"[\x00-\x7f]+")


class _HeaderDecoder:
    """Decodes header values; one per message, so raw 8-bit headers share one charset guess."""

    def __init__(self, hint: str | None, raw_eightbit: bytes, notes: list[str]):
        self.notes = notes
        self._hint = hint
        self._raw = raw_eightbit
        self._charset: str | None = None

    def _charset_for(self, data: bytes) -> str:
        if _valid_utf8(data):
            return "utf-8"
        hint = codec_for(self._hint)
        if hint and hint != "utf-8" and _strict_ok(data, hint):
            return hint
        return detect_charset(data) or "cp1252"

    def _eightbit_charset(self) -> str:
        if self._charset is None:
            self._charset = self._charset_for(self._raw)
            if self._charset != "utf-8":
                self.notes.append(f"headers: raw 8-bit bytes with no charset, read as {self._charset}")
        return self._charset

    def eightbit(self, value: str) -> str:
        """A value with raw 8-bit bytes (surrogate-escaped) decoded: the message's guess first."""
        if not _SURROGATES.search(value):
            return value
        data = value.encode("ascii", "surrogateescape")
        charset = self._eightbit_charset()
        if not _strict_ok(data, charset):  # e.g. a part's filename in another charset
            charset = self._charset_for(data)
        return _decode_with(data, charset)

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


def _decode_run(run: str, notes: list[str]) -> str:
    # decode_header drops the whitespace that starts its input: keep it (it follows 8-bit text)
    body = run.lstrip()
    return run[:len(run) - len(body)] + _decode_words(body, notes)


def _strict_ok(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except Exception:  # noqa: BLE001
        return False
    return True


def _decode_words(value: str, notes: list[str]) -> str:
    from email import header as email_header

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


def _mailboxes(value: str, decoder: _HeaderDecoder) -> list[tuple[str, str]]:
    """(display name, address) pairs from one decoded-from-8-bit but not RFC 2047 value."""
    from email import utils as email_utils

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
    name = _WS.sub(" ", name or "").strip().strip("\"'").strip()
    return "".join(c for c in name if c.isprintable())


def _collapse(text: str) -> str:
    return _WS.sub(" ", text).strip()


# ---- the header-block repair ---------------------------------------------------------------

_HEADER_LINE = LazyPattern(rb"^[!-9;-~]{1,76}[ \t]*:")
_KNOWN_HEADER = LazyPattern(
    rb"^(?:from|to|cc|bcc|subject|date|message-id|in-reply-to|references|reply-to|sender|"
    rb"return-path|received|mime-version|content-[a-z-]+|x-[!-9;-~]+|list-[a-z-]+|"
    rb"delivered-to|precedence|auto-submitted|thread-[a-z]+|dkim-signature|arc-[a-z-]+|"
    rb"authentication-results|importance|priority|user-agent|organization)[ \t]*:", re.I)
_BLANK = LazyPattern(rb"\r?\n[ \t]*\r?\n")


def _repair_head(raw: bytes, notes: list[str]) -> bytes:
    """Drop junk before the first header; fold or end the header block where lines break it."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    end = _BLANK.search(raw)
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


# ---- body walking -------------------------------------------------------------------------

_SIGNATURE_TYPES = {"application/pgp-signature", "application/pkcs7-signature",
                    "application/x-pkcs7-signature"}
_MESSAGE_TYPES = {"message/rfc822", "message/global", "message/news"}
_HEADER_PART_TYPES = {"text/rfc822-headers", "message/global-headers"}
_EXTENSIONS = {
    "application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
    "image/webp": ".webp", "text/plain": ".txt", "text/html": ".html", "text/calendar": ".ics",
    "text/csv": ".csv", "message/rfc822": ".eml", "message/global": ".eml",
    "message/delivery-status": ".txt", "message/feedback-report": ".txt",
    "message/disposition-notification": ".txt", "text/rfc822-headers": ".txt",
    "message/global-headers": ".txt", "application/pgp-encrypted": ".asc",
    "application/octet-stream": ".bin", "application/zip": ".zip",
    "application/pkcs7-mime": ".p7m", "application/x-pkcs7-mime": ".p7m",
    "application/pkcs7-signature": ".p7s", "application/x-pkcs7-signature": ".p7s",
    "application/pgp-signature": ".asc", "application/ms-tnef": ".dat",
    "application/vnd.ms-tnef": ".dat",
}
# Names for the parts of reports, which never carry one.
_REPORT_NAMES = {
    "message/delivery-status": "delivery-status.txt",
    "message/global-delivery-status": "delivery-status.txt",
    "message/feedback-report": "feedback-report.txt",
    "message/disposition-notification": "disposition-notification.txt",
    "message/global-disposition-notification": "disposition-notification.txt",
    "text/rfc822-headers": "original-headers.txt",
    "message/global-headers": "original-headers.txt",
}
# Never re-typed from their extension: .asc is not always a key, .p7m not always mime.
_KEEP_TYPE_EXTENSIONS = (".asc", ".gpg", ".pgp", ".p7m", ".p7s", ".p7c", ".sig", ".dat")
_DELIMITER = LazyPattern(r"^--([0-9A-Za-z'()+_,./:=?-]{1,70}?)(?:--)?[ \t]*\r?$", re.M)
_UU_BEGIN = LazyPattern(r"^begin ([0-7]{3,4}) ([^\r\n]+?)[ \t]*\r?$", re.M)
_UU_END = LazyPattern(r"^end[ \t]*\r?$", re.M)
_CID = LazyPattern(r"""cid:([^"'\s)>]+)""", re.I)
_PGP_ARMOUR = "-----BEGIN PGP MESSAGE-----"
_TEXT_TYPES = {"text/plain", "text/html", "text/enriched", "text/watch-html"}
_TNEF_TYPES = {"application/ms-tnef", "application/vnd.ms-tnef"}


@dataclass
class _Collector:
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    tnef_texts: list[str] = field(default_factory=list)  # bodies found inside winmail.dat,
    tnef_htmls: list[str] = field(default_factory=list)  # used when the MIME has none
    encrypted: bool = False
    depth_noted: bool = False

    def take(self, other: _Collector, texts: bool = True, htmls: bool = True) -> None:
        """Add what a sub-walk found (multipart/alternative picks its texts and htmls)."""
        if texts:
            self.texts.extend(other.texts)
        if htmls:
            self.htmls.extend(other.htmls)
        self.attachments.extend(other.attachments)
        self.tnef_texts.extend(other.tnef_texts)
        self.tnef_htmls.extend(other.tnef_htmls)
        self.encrypted = self.encrypted or other.encrypted
        self.depth_noted = self.depth_noted or other.depth_noted


def _with_eightbit_decoded(part: Message, header: str, decoder: _HeaderDecoder) -> Message:
    """`part`, or a stand-in holding only `header` with its raw 8-bit bytes decoded.

    compat32 hands out a header with raw 8-bit bytes as U+FFFD replacement characters, so the
    parameters (a Bengali or Russian file name sent unencoded) are read from the decoded text."""
    for key, value in _raw_items(part):
        if key.lower() == header:
            if not _SURROGATES.search(value):
                return part
            from email.message import Message

            stand_in = Message()
            stand_in[header] = decoder.eightbit(value[:MAX_HEADER_CHARS])
            return stand_in
    return part


def _rfc2231_text(value: tuple, notes: list[str]) -> str:
    charset, _language, text = (tuple(value) + (None, None, ""))[:3]
    try:
        data = str(text).encode("latin-1")
    except UnicodeEncodeError:  # not bytes in disguise: already text
        return str(text)
    return decode_bytes(data, charset or None, notes, "parameter")


class _Walker:
    def __init__(self, notes: list[str]):
        self.notes = notes

    # -- helpers that never raise
    def ctype(self, part: Message) -> str:
        try:
            return (part.get_content_type() or "text/plain").lower()
        except Exception:  # noqa: BLE001
            return "text/plain"

    def param(self, part: Message, name: str, header: str = "content-type",
              decoder: _HeaderDecoder | None = None) -> str | None:
        """A parameter's value: RFC 2231 and raw 8-bit values decoded like bodies and headers."""
        if decoder is not None:
            part = _with_eightbit_decoded(part, header, decoder)
        try:
            value = part.get_param(name, header=header)
        except Exception:  # noqa: BLE001
            return None
        if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded bytes as latin-1)
            value = _rfc2231_text(value, self.notes)
        return value if isinstance(value, str) else None

    def disposition(self, part: Message) -> str:
        try:
            value = part.get("content-disposition") or ""
        except Exception:  # noqa: BLE001
            return ""
        return str(value).split(";", 1)[0].strip().lower()

    def cte(self, part: Message) -> str:
        try:
            return str(part.get("content-transfer-encoding", "")).strip().lower()
        except Exception:  # noqa: BLE001
            return ""

    def payload(self, part: Message) -> bytes:
        if self.cte(part) == "base64":
            try:
                raw = part.get_payload()
                if isinstance(raw, str):
                    return _lenient_base64(raw.encode("ascii", "surrogateescape"), self.notes)
            except Exception:  # noqa: BLE001
                pass
        try:
            data = part.get_payload(decode=True)
        except Exception as exc:  # noqa: BLE001
            self.notes.append(f"{self.ctype(part)}: payload not decodable ({type(exc).__name__})")
            try:
                raw = part.get_payload()
                data = raw.encode("ascii", "surrogateescape") if isinstance(raw, str) else b""
            except Exception:  # noqa: BLE001
                data = b""
        if data is None:
            return b""
        if isinstance(data, str):
            return data.encode("utf-8", "surrogateescape")
        if not isinstance(data, bytes):
            return b""
        return data

    def filename(self, part: Message, decoder: _HeaderDecoder) -> str | None:
        name = self.param(part, "filename", "content-disposition", decoder) \
            or self.param(part, "name", "content-type", decoder)
        if not name or not isinstance(name, str):
            return None
        return decoder.text(name).strip() or None

    def content_id(self, part: Message) -> str | None:
        try:
            value = part.get("content-id")
        except Exception:  # noqa: BLE001
            return None
        if not value:
            return None
        value = _collapse(str(value)).strip("<>").strip()
        return value or None

    # -- the walk
    def walk(self, part: Message, depth: int, out: _Collector, decoder: _HeaderDecoder) -> None:
        if depth > MAX_DEPTH:
            if not out.depth_noted:
                self.notes.append(f"MIME nesting deeper than {MAX_DEPTH} levels: deeper parts ignored")
                out.depth_noted = True
            return
        ctype = self.ctype(part)
        try:
            children = part.get_payload() if part.is_multipart() else None
        except Exception:  # noqa: BLE001
            children = None
        if children is not None and not isinstance(children, list):
            children = None
        maintype = ctype.split("/", 1)[0]
        if maintype == "multipart":
            if children is None:
                repaired = self.rebound(part, ctype)
                if repaired is not None:
                    self.walk(repaired, depth + 1, out, decoder)
                    return
                self.notes.append(f"{ctype} without usable parts (missing or wrong boundary)")
                self.leaf(part, "text/plain", out, decoder)
                return
            self.multipart(part, ctype, children, depth, out, decoder)
            return
        if children is not None:  # message/rfc822 and other message/* that the stdlib parsed
            self.attach(part, ctype, self.message_bytes(part, ctype, children), out, decoder)
            return
        self.leaf(part, ctype, out, decoder)

    def rebound(self, part: Message, ctype: str) -> Message | None:
        """A multipart whose declared boundary never occurs, re-read with the one that does."""
        try:
            body = part.get_payload()
            if not isinstance(body, str):
                return None
            found = _DELIMITER.search(body)
            if found is None:
                return None
            boundary = found.group(1)
            head = f'Content-Type: {ctype}; boundary="{boundary}"\n\n'
            data = head.encode("ascii") + body.encode("ascii", "surrogateescape")
            repaired = _parser().parsebytes(data)
            if not isinstance(repaired.get_payload(), list):
                return None
        except Exception:  # noqa: BLE001
            return None
        self.notes.append(f"{ctype}: declared boundary not found, used {boundary[:40]!r}")
        return repaired

    def multipart(self, part: Message, ctype: str, children: list, depth: int,
                  out: _Collector, decoder: _HeaderDecoder) -> None:
        if ctype == "multipart/alternative":
            self.alternative(children, depth, out, decoder)
            return
        if ctype == "multipart/signed":
            for child in children:
                if self.ctype(child) in _SIGNATURE_TYPES:
                    continue
                self.walk(child, depth + 1, out, decoder)
            return
        if ctype == "multipart/encrypted":
            out.encrypted = True
            for child in children:
                child_type = self.ctype(child)
                if child_type == "application/pgp-encrypted":
                    continue
                self.attach(child, child_type, self.payload(child), out, decoder,
                            default_name="encrypted.asc")
            return
        for child in children:
            self.walk(child, depth + 1, out, decoder)

    def alternative(self, children: list, depth: int, out: _Collector,
                    decoder: _HeaderDecoder) -> None:
        """The first alternative with text gives the text, the last with HTML the html; the
        attachments of those two are kept, and any other alternative's that is not a text."""
        candidates = []
        for child in children:
            sub = _Collector(depth_noted=out.depth_noted)
            self.walk(child, depth + 1, sub, decoder)
            candidates.append(sub)
        text_from = next((c for c in candidates if any(t.strip() for t in c.texts)), None)
        html_from = next((c for c in reversed(candidates) if c.htmls), None)
        for sub in candidates:
            if sub is not text_from and sub is not html_from:
                sub.attachments = [a for a in sub.attachments if a.content_type not in _TEXT_TYPES]
            out.take(sub, texts=sub is text_from, htmls=sub is html_from)

    def leaf(self, part: Message, ctype: str, out: _Collector, decoder: _HeaderDecoder) -> None:
        disposition = self.disposition(part)
        name = self.filename(part, decoder)
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not name:
            data = self.payload(part)
            charset = self.param(part, "charset")
            text = decode_bytes(data, charset, self.notes, ctype)
            if ctype == "text/html":
                out.htmls.append(text)
                return
            if (self.param(part, "format") or "").lower() == "flowed":
                text = _unflow(text, (self.param(part, "delsp") or "").lower() == "yes")
            text = self.uudecode(text, out)
            if _PGP_ARMOUR in text:
                out.encrypted = True
            out.texts.append(text)
            return
        if ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
            smime = (self.param(part, "smime-type") or "").lower()
            if smime in ("enveloped-data", "authenveloped-data") or (
                    not smime and (name or "").lower().endswith(".p7m")):
                out.encrypted = True
            elif smime == "signed-data":
                self.notes.append("opaque S/MIME signed data: the content is kept as an attachment")
            self.attach(part, ctype, self.payload(part), out, decoder, default_name="smime.p7m")
            return
        if ctype in _TNEF_TYPES or (name or "").lower() == "winmail.dat":
            self.tnef(part, ctype, out, decoder)
            return
        self.attach(part, ctype, self.payload(part), out, decoder)

    def tnef(self, part: Message, ctype: str, out: _Collector, decoder: _HeaderDecoder) -> None:
        """winmail.dat unpacked: its files as attachments, its body for when the MIME has none.
        One that cannot be unpacked stays an attachment, with the reason noted."""
        from chalicelib.mail import tnef

        data = self.payload(part)
        try:
            unpacked = tnef.unpack(data)
        except Exception as exc:  # noqa: BLE001 - TnefError says why; anything else is a bug there
            self.notes.append(f"winmail.dat not unpacked, kept as it is: {str(exc)[:120]}")
            self.attach(part, ctype, data, out, decoder)
            return
        self.notes.extend(unpacked.notes[:20])
        if not (unpacked.files or unpacked.text or unpacked.html):
            self.notes.append("winmail.dat holds no files and no body: kept as it is")
            self.attach(part, ctype, data, out, decoder)
            return
        self.notes.append(f"winmail.dat unpacked: {len(unpacked.files)} file(s)"
                          + (", a body" if unpacked.text or unpacked.html else ""))
        for item in unpacked.files:
            self.attach(None, item.content_type, item.data, out, decoder, filename=item.name,
                        content_id=item.content_id)
        if unpacked.text:
            out.tnef_texts.append(unpacked.text)
        if unpacked.html:
            out.tnef_htmls.append(unpacked.html)

    def message_bytes(self, part: Message, ctype: str, children: list) -> bytes:
        chunks = []
        for child in children:
            try:
                chunks.append(child.as_bytes())
            except Exception:  # noqa: BLE001 - incl. RecursionError on absurd nesting
                try:
                    chunks.append(child.as_string().encode("utf-8", "surrogateescape"))
                except Exception:  # noqa: BLE001
                    self.notes.append(f"{ctype}: could not be re-serialised")
        data = chunks[0] if chunks and ctype in _MESSAGE_TYPES else b"\n".join(chunks)
        cte = self.cte(part)
        if cte in ("base64", "quoted-printable"):
            # Not allowed for message/*, but sent: the stdlib took the encoded text for a message
            self.notes.append(f"{ctype} part sent in {cte}: decoded")
            data = data.lstrip(b"\r\n")
            data = _lenient_base64(data, []) if cte == "base64" else binascii.a2b_qp(data)
        return data

    def attach(self, part: Message | None, ctype: str, data: bytes, out: _Collector,
               decoder: _HeaderDecoder | None, default_name: str | None = None,
               filename: str | None = None, content_id: str | None = None) -> None:
        """An attachment from a MIME part, or (part None) from inside one (uuencode, TNEF)."""
        import mimetypes

        if part is not None:
            filename = self.filename(part, decoder) if decoder is not None else None
            content_id = self.content_id(part)
        if not filename and ctype in _MESSAGE_TYPES:
            filename = _eml_name(data)
        if ctype == "application/octet-stream" and filename \
                and not filename.lower().endswith(_KEEP_TYPE_EXTENSIONS):
            ctype = (mimetypes.guess_type(filename, strict=False)[0] or ctype).lower()
        name = safe_filename(filename, ctype, len(out.attachments) + 1,
                             default_name or _REPORT_NAMES.get(ctype))
        inline = part is not None and self.disposition(part) == "inline"
        out.attachments.append(Attachment(name, ctype, data, inline, content_id))

    def uudecode(self, text: str, out: _Collector) -> str:
        """uuencoded blocks ("begin 644 name" ... "end") cut out of the text as attachments.

        One pass: of several "begin" lines before an "end" the last starts the block; a block
        that does not decode stays in the text. (Trying each "begin" up to the same "end" again
        was quadratic: 20,000 "begin" lines took minutes.)"""
        if "begin " not in text:
            return text
        import mimetypes

        pieces = []
        position = 0
        while (begin := _UU_BEGIN.search(text, position)) is not None:
            end = _UU_END.search(text, begin.end())
            if end is None:
                break
            for begin in _UU_BEGIN.finditer(text, begin.start(), end.start()):
                pass  # the last one before the end
            try:
                data = _uudecode_lines(text[begin.end():end.start()])
            except Exception:  # noqa: BLE001
                self.notes.append("a uuencoded block could not be decoded; left in the text")
                pieces.append(text[position:end.end()])
            else:
                name = begin.group(2).strip()
                ctype = mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"
                self.attach(None, ctype.lower(), data, out, None, filename=name)
                pieces.append(text[position:begin.start()])
            position = end.end()
        if not pieces:
            return text
        pieces.append(text[position:])
        return "".join(pieces)


_NOT_BASE64 = LazyPattern(rb"[^A-Za-z0-9+/=]")
_BASE64_RUN = LazyPattern(rb"[A-Za-z0-9+/]+")


def _lenient_base64(data: bytes, notes: list[str]) -> bytes:
    """base64 as mailers send it: line breaks, stray characters, missing or broken padding, and
    chunks padded one by one (binascii stops at the first padding: the rest would be lost)."""
    if b"=" not in data.rstrip(b"= \t\r\n"):
        try:
            return binascii.a2b_base64(data)
        except (binascii.Error, ValueError):
            pass
        notes.append("base64 body with broken padding or stray characters repaired")
    else:
        notes.append("base64 body in separately padded chunks")
    return b"".join(_base64_run(run) for run in _BASE64_RUN.findall(_NOT_BASE64.sub(b"", data)))


def _base64_run(run: bytes) -> bytes:
    if len(run) % 4 == 1:
        run = run[:-1]
    try:
        return binascii.a2b_base64(run + b"=" * (-len(run) % 4))
    except (binascii.Error, ValueError):
        return b""


def _uudecode_lines(body: str) -> bytes:
    out = bytearray()
    for line in body.splitlines():
        raw = line.rstrip("\r").encode("ascii", "strict") if line.isascii() else None
        if raw is None:
            raise ValueError("non-ascii in uuencoded data")
        if not raw or raw in (b"`", b" "):
            continue
        try:
            out += binascii.a2b_uu(raw)
        except binascii.Error:
            # Some encoders pad lines short or long; trust the length byte (as the uu module did).
            nbytes = (((raw[0] - 32) & 63) * 4 + 5) // 3
            out += binascii.a2b_uu(raw[:nbytes])
    return bytes(out)


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676 format=flowed: join soft-broken lines back into paragraphs."""
    out: list[str] = []
    buffer: str | None = None
    depth_of_buffer = 0
    for line in text.replace("\r\n", "\n").split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        if buffer is not None and depth == depth_of_buffer:
            buffer += content
        else:
            if buffer is not None:
                out.append(buffer)
            buffer = (">" * depth + " " if depth else "") + content
            depth_of_buffer = depth
        if content.endswith(" ") and content != "-- ":
            if delsp:
                buffer = buffer[:-1]
            continue
        out.append(buffer)
        buffer = None
    if buffer is not None:
        out.append(buffer)
    return "\n".join(out)


_UNSAFE_NAME = LazyPattern(r"[\x00-\x1f\x7f<>:\"|?*]")


def safe_filename(name: str | None, ctype: str, n: int, default: str | None = None) -> str:
    """A basename safe to show and to use in a storage key; made up when there is none."""
    import mimetypes
    import unicodedata

    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", _UNSAFE_NAME.sub("_", name))
    name = _WS.sub(" ", name).strip().strip(".").strip()
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and 0 < len(ext) <= 10 else ""
        name = name[:MAX_FILENAME - len(ext) - 1].rstrip() + ("." + ext if ext else "")
    if name and name.strip("_ "):
        return name
    if default:
        return default
    ext = _EXTENSIONS.get(ctype) or mimetypes.guess_extension(ctype, strict=False) or ".bin"
    return f"attachment-{n}{ext}"


def _eml_name(data: bytes) -> str:
    try:
        inner = _parser().parsebytes(data[:256 * 1024], headersonly=True)
        subject = inner.get("subject")
        subject = _collapse(_HeaderDecoder(None, b"", []).text(subject)) if subject else ""
    except Exception:  # noqa: BLE001
        subject = ""
    return f"{subject[:100]}.eml" if subject else "forwarded-message.eml"


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
        end = _BLANK.search(data)
        body = data[end.end():] if end else data
        text = decode_bytes(body, None).replace("\r\n", "\n")
        mail = ParsedMail(text=text, defects=notes)
        try:
            head = _parser().parsebytes(data[:1024 * 1024], headersonly=True)
            _headers_into(mail, head, _HeaderDecoder(None, _eightbit(head), notes))
        except Exception:  # noqa: BLE001
            pass
        mail.ok = _usable(mail)
        return mail
    except Exception:  # noqa: BLE001
        return ParsedMail(defects=notes, ok=False)


_BOUNDARY_PARAM = LazyPattern(rb"boundary\s*=", re.I)


def _parse(raw: bytes, notes: list[str]) -> ParsedMail:
    raw = _repair_head(raw, notes)
    containers = len(_BOUNDARY_PARAM.findall(raw))
    if containers > MAX_CONTAINERS:
        # The stdlib parser checks every line against every open boundary: absurd nesting is
        # quadratic there, and recursive. No real message has this many multipart containers.
        notes.append(f"{containers:,} multipart boundaries (absurd nesting): headers and raw body kept")
        return _fallback(raw, notes)
    try:
        msg = _parser().parsebytes(raw)
    except RecursionError:
        notes.append("MIME nesting too deep for the parser: headers and raw body kept")
        return _fallback(raw, notes)
    for defect in getattr(msg, "defects", [])[:20]:
        notes.append(f"mime: {type(defect).__name__}")
    walker = _Walker(notes)
    hint = walker.param(msg, "charset") if walker.ctype(msg).startswith("text/") else None
    if hint is None:
        hint = _first_charset(msg, walker)
    decoder = _HeaderDecoder(hint, _eightbit(msg), notes)
    mail = ParsedMail(defects=notes)
    _headers_into(mail, msg, decoder)

    ctype = walker.ctype(msg)
    if ctype == "multipart/report":
        mail.is_report = True
        report_type = walker.param(msg, "report-type")
        mail.report_type = report_type.strip().lower() if report_type else None

    collected = _Collector()
    try:
        walker.walk(msg, 0, collected, decoder)
    except RecursionError:
        notes.append("MIME nesting too deep: the rest of the structure was not walked")
    _body_into(mail, collected)
    mail.ok = _usable(mail)
    return mail


def _body_into(mail: ParsedMail, collected: _Collector) -> None:
    """Text and html from what the walk collected. The text is the MIME text parts; else the
    text inside winmail.dat (when the MIME has no HTML either); else the text of the HTML."""
    texts = collected.texts
    text = "\n".join([t.rstrip("\r\n") for t in texts[:-1]] + texts[-1:])
    if not text.strip() and not collected.htmls:
        text = "\n".join(collected.tnef_texts)
    html_source = "\n".join(collected.htmls or collected.tnef_htmls)
    if html_source.strip():
        from chalicelib.mail import html as html_mod

        mail.html = html_mod.sanitise(html_source) or None
        if not text.strip():
            text = html_mod.to_text(html_source)
    mail.text = text.replace("\r\n", "\n").replace("\r", "\n")
    mail.encrypted = collected.encrypted
    from urllib.parse import unquote

    referenced = {unquote(c).strip("<>").lower() for c in _CID.findall(html_source)}
    for attachment in collected.attachments:
        if attachment.content_id and attachment.content_id.lower() in referenced:
            attachment.inline = True
    mail.attachments = collected.attachments


def _usable(mail: ParsedMail) -> bool:
    return bool(mail.from_address or mail.subject or mail.text.strip() or mail.html
                or mail.attachments or mail.message_id)


def _first_charset(msg: Message, walker: _Walker) -> str | None:
    try:
        for n, part in enumerate(msg.walk()):
            if n > 20:
                break
            if walker.ctype(part).startswith("text/"):
                charset = walker.param(part, "charset")
                if charset:
                    return charset
    except Exception:  # noqa: BLE001
        pass
    return None


def _raw_items(msg: Message) -> list[tuple[str, str]]:
    try:
        return [(str(k), v if isinstance(v, str) else str(v)) for k, v in msg.raw_items()]
    except Exception:  # noqa: BLE001
        return []


def _eightbit(msg: Message) -> bytes:
    chunks = []
    for _, value in _raw_items(msg)[:MAX_HEADERS]:
        if _SURROGATES.search(value[:MAX_HEADER_CHARS]):
            chunks.append(value[:MAX_HEADER_CHARS].encode("ascii", "surrogateescape"))
    return b"\n".join(chunks)


def _headers_into(mail: ParsedMail, msg: Message, decoder: _HeaderDecoder) -> None:
    notes = mail.defects
    items = _raw_items(msg)
    if len(items) > MAX_HEADERS:
        notes.append(f"{len(items):,} header fields: only the first {MAX_HEADERS} kept")
        items = items[:MAX_HEADERS]
    unfolded: dict[str, list[str]] = {}  # RFC 2047 words still encoded, for address parsing
    for name, value in items:
        key = _collapse(name).lower()
        if len(value) > MAX_HEADER_CHARS:
            notes.append(f"header {key[:40]} of {len(value):,} characters cut")
        line = decoder.unfolded(value)
        unfolded.setdefault(key, []).append(line)
        mail.headers.setdefault(key, []).append(decoder.words(line) if "=?" in line else line)
    _identities_into(mail, unfolded, decoder)
    subjects = mail.headers.get("subject", [])
    mail.subject = _collapse(subjects[0]) if subjects else ""
    if unfolded.get("date"):
        mail.date = _date(unfolded["date"][0], notes)
    _threading_into(mail, unfolded)


def _identities_into(mail: ParsedMail, unfolded: dict[str, list[str]],
                     decoder: _HeaderDecoder) -> None:
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
    from email import utils as email_utils

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


# ---- bounces -------------------------------------------------------------------------------

_BODY_MSGID = LazyPattern(r"^[ \t>]*Message-ID[ \t]*:[ \t]*(?:\r?\n[ \t]+)?(<[^<>\s]{1,900}>)",
                         re.I | re.M)
_REPORT_PARTS = _MESSAGE_TYPES | _HEADER_PART_TYPES


def original_message_ids(parsed: ParsedMail) -> list[str]:
    """The Message-IDs of the message a bounce/DSN/report is about, in the order found."""
    found: list[str] = []
    try:
        for attachment in parsed.attachments:
            if attachment.content_type not in _REPORT_PARTS:
                continue
            try:
                head = _parser().parsebytes(attachment.data[:1024 * 1024], headersonly=True)
                values = head.get_all("message-id") or []
            except Exception:  # noqa: BLE001
                values = []
            if not values:  # a headers part may start with a blank line or be cut short
                values = _BODY_MSGID.findall(
                    attachment.data[:256 * 1024].decode("utf-8", "replace"))
            for value in values:
                found.extend(message_ids(str(value)))
        if not found:
            from chalicelib.mail import loops

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

