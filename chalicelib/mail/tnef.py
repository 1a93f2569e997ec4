"""Outlook's winmail.dat (TNEF, `application/ms-tnef`): the files and the body inside it.

Exchange and Outlook send "rich text" mail as a MIME message whose real attachments (and often
its only full body) are packed in one winmail.dat part. `unpack` returns those files, with their
names, MIME types and Content-IDs, and the body: plain text, HTML, or compressed RTF (inflated by
compressed-rtf, then read by `rtf.convert`, which gives back the HTML an HTML message carries).
Attached Outlook items (embedded messages) are unpacked too: their files follow, and their body
becomes a `<name>.txt` file.

The stream is decoded by tnefparse (LGPL-3.0, pure Python, no dependencies, the TNEF library
of the Python world). tnefparse trusts the counts in the stream: a property count of four
billion in a 20-byte stream makes it loop four billion times, a multi-valued property of a fixed
size type makes it build that many values, and it copies the rest of the stream for every
attribute (quadratic on a stream of tiny attributes). `_check` walks the same structure first,
in linear time, and refuses a stream whose counts do not fit in its bytes, whose embedded
messages nest deeper than `MAX_EMBEDDED`, or that would make tnefparse copy more than
`MAX_COPY` bytes. Every failure is a `TnefError` whose message says why.
"""
from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field

from chalicelib.mail import html as html_mod
from chalicelib.mail import rtf as rtf_mod
from chalicelib.mail.charsets import decode_bytes

MAX_TNEF = 30 * 1024 * 1024   # bytes of winmail.dat unpacked (SES takes 40 MB of raw MIME)
MAX_COPY = 2 << 30            # bytes tnefparse may copy while walking the stream (< 1 s)
MAX_EMBEDDED = 3              # attached Outlook items inside attached items ...
MAX_RTF = 1024 * 1024         # compressed RTF inflated (8.5 times as much at most: seconds)

SIGNATURE = b"\x78\x9f\x3e\x22"

# attribute ids (low 16 bits) and MAPI property tags, as in [MS-OXTNEF] and tnefparse
_ATT_MAPI_PROPS, _ATT_RECIPIENTS, _ATT_ATTACHMENT = 0x9003, 0x9004, 0x9005
_PR_ATTACH_DATA_OBJ, _PR_ATTACH_MIME_TAG, _PR_ATTACH_CONTENT_ID = 0x3701, 0x370E, 0x3712
_IMESSAGE = b"\x07\x03\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46"
_FIXED_SIZE = {0x0002: 2, 0x000B: 2, 0x0003: 4, 0x0004: 4, 0x000A: 4, 0x0005: 8, 0x0006: 8,
               0x0007: 8, 0x0014: 8, 0x0040: 8, 0x0048: 16}
_SHORT = {0x0002, 0x000B}  # an odd number of shorts or booleans is padded to 4 bytes
_VARIABLE = {0x0000, 0x000D, 0x001E, 0x001F, 0x0102}
_MULTI_VALUE, _NAMED = 0x1000, 0x8000


class TnefError(ValueError):
    """winmail.dat that cannot (or must not) be unpacked; the message says why."""


@dataclass
class File:
    name: str
    content_type: str       # from the item's MIME tag, else application/octet-stream
    data: bytes
    content_id: str | None  # without <>


@dataclass
class Unpacked:
    files: list[File] = field(default_factory=list)
    text: str = ""
    html: str = ""
    notes: list[str] = field(default_factory=list)


def unpack(data: bytes) -> Unpacked:
    """The files and body in a TNEF stream. Raises TnefError (only) when it cannot be read."""
    if len(data) > MAX_TNEF:
        raise TnefError(f"{len(data):,} bytes, more than {MAX_TNEF:,}")
    _check(data, 0, [0])
    try:
        from tnefparse.tnef import TNEF  # deferred: cold start, loaded only for TNEF mail

        # it logs each oddity of a stream (per property, per checksum); the notes say enough
        logging.getLogger("tnefparse").setLevel(logging.CRITICAL)

        tnef = TNEF(data)
    except Exception as exc:  # noqa: BLE001 - struct.error, UnicodeDecodeError, LookupError, ...
        raise TnefError(f"tnefparse failed: {type(exc).__name__}: {str(exc)[:80]}") from None
    out = Unpacked()
    _collect(tnef, out, "")
    out.text, out.html = _body(tnef, out.notes)
    return out


# ---- reading a stream that passed _check -----------------------------------------------------

def _collect(tnef, out: Unpacked, prefix: str) -> None:
    for n, item in enumerate(tnef.attachments, 1):
        name = prefix + (_name(item, tnef) or f"attachment-{n}")
        embedded = getattr(item, "embed", None)
        if embedded is not None:
            text, html = _body(embedded, out.notes)
            if text or html:
                body = text or _html_text(html)
                out.files.append(File(f"{name}.txt", "text/plain", body.encode("utf-8"), None))
            _collect(embedded, out, f"{name} - ")
            continue
        data = item.data if isinstance(item.data, bytes) else b""
        if not data:
            out.notes.append(f"{name}: no data (a link or an OLE object), left out")
            continue
        props = {p.name: p for p in item.mapi_attrs}
        ctype = _string(props.get(_PR_ATTACH_MIME_TAG)).strip().lower()
        content_id = _string(props.get(_PR_ATTACH_CONTENT_ID)).strip().strip("<>") or None
        if ctype.count("/") != 1 or not ctype.isascii() or " " in ctype:
            ctype = "application/octet-stream"
        out.files.append(File(name, ctype, data, content_id))


def _name(item, tnef) -> str:
    """The long file name (a MAPI string), else the 8.3 title in the stream's code page."""
    try:
        long_name = item.long_filename()
    except Exception:  # noqa: BLE001 - tnefparse decodes the title as UTF-8 and may fail
        long_name = None
    if isinstance(long_name, str) and long_name.strip("\x00").strip():
        return long_name.strip("\x00").strip()
    title = getattr(item, "_name", b"")
    if isinstance(title, bytes):
        title = decode_bytes(title.rstrip(b"\x00"), tnef.codepage)
    return title.strip("\x00").strip() if isinstance(title, str) else ""


def _string(prop) -> str:
    if prop is None:
        return ""
    try:
        value = prop.data
    except Exception:  # noqa: BLE001
        return ""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value.strip("\x00") if isinstance(value, str) else ""


def _body(tnef, notes: list[str]) -> tuple[str, str]:
    """(text, html) of the message body; at most one of them is not empty."""
    if tnef.body:
        body = tnef.body
        text = body if isinstance(body, str) else decode_bytes(body, tnef.codepage, notes,
                                                                 "winmail.dat body")
        text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
        if text.strip():
            return text, ""
    if tnef.htmlbody:
        html = tnef.htmlbody
        html = html if isinstance(html, str) else decode_bytes(html, None, notes,
                                                                 "winmail.dat html")
        html = html.replace("\x00", "")
        if html.strip():
            return "", html
    compressed = getattr(tnef, "_rtfbody", None)
    if not compressed:
        return "", ""
    # tnefparse strips trailing NUL bytes from binary properties: the header gives the size
    size = struct.unpack_from("<I", compressed)[0] + 4 if len(compressed) >= 16 else 0
    if max(size, len(compressed)) > MAX_RTF:
        notes.append(f"winmail.dat: RTF body of {max(size, len(compressed)):,} bytes not read")
        return "", ""
    compressed = compressed.ljust(size, b"\x00")
    try:
        from compressed_rtf import decompress  # deferred: cold start, only RTF bodies

        rtf = decompress(compressed)
    except Exception as exc:  # noqa: BLE001 - a bad CRC, a cut stream
        notes.append(f"winmail.dat: RTF body not readable ({str(exc)[:60]})")
        return "", ""
    kind, content = rtf_mod.convert(rtf)
    return ("", content) if kind == "html" else (content, "")


def _html_text(html: str) -> str:
    return html_mod.to_text(html)


# ---- the structure check ---------------------------------------------------------------------

class _End(Exception):
    """The data ends inside a property list: tnefparse stops reading that list there too."""


def _check(data: bytes, depth: int, copied: list[int]) -> None:
    """Refuse what would make tnefparse loop, allocate or copy without bound (see the top)."""
    if depth > MAX_EMBEDDED:
        raise TnefError(f"attached items nested deeper than {MAX_EMBEDDED}")
    if len(data) < 6 or data[:4] != SIGNATURE:
        raise TnefError("not a TNEF stream (no TNEF signature)")
    offset = 6
    while offset + 12 < len(data):  # tnefparse's own loop, which copies data[offset:] each time
        copied[0] += len(data) - offset
        if copied[0] > MAX_COPY:
            raise TnefError("too many attributes for the size of the stream")
        _, name, _, length = struct.unpack_from("<BHHI", data, offset)
        body = data[offset + 9:offset + 9 + length]
        try:
            if name in (_ATT_MAPI_PROPS, _ATT_ATTACHMENT):
                _check_properties(body, 0, depth, copied)
            elif name == _ATT_RECIPIENTS:
                at = 4
                for _ in range(_u32(body, 0)):  # each row takes 4 bytes at least
                    at = _check_properties(body, at, depth, copied)
        except _End:
            pass
        offset += min(len(data) - offset, length + 11)


def _check_properties(data: bytes, offset: int, depth: int, copied: list[int]) -> int:
    """Walk a MAPI property list as tnefparse does; the offset after it."""
    count = _u32(data, offset)
    offset += 4
    try:
        for n in range(count):  # each property moves on by 4 bytes at least: the data bounds it
            if offset >= len(data):
                # tnefparse goes round (and logs a warning) for every property left
                if count - n > 16:
                    raise TnefError(f"{count:,} properties declared, {n:,} present")
                break
            offset = _check_property(data, offset, depth, copied)
    except _End:
        pass
    return offset


def _check_property(data: bytes, offset: int, depth: int, copied: list[int]) -> int:
    kind, tag = _u16(data, offset), _u16(data, offset + 2)
    offset += 4
    if tag >= _NAMED:  # a GUID, then a number or a name
        named = _u32(data, offset + 16) != 0
        offset += 20
        offset += 4 + _padded(_u32(data, offset)) if named else 4
    values = None
    if kind & _MULTI_VALUE:
        kind ^= _MULTI_VALUE
        values = _u32(data, offset)
        offset += 4
    if kind in _FIXED_SIZE:  # tnefparse reads these without a bounds check: count them here
        n = values or 1
        size = n * _FIXED_SIZE[kind] + (2 if kind in _SHORT and n % 2 else 0)
        if size > len(data) - offset:
            raise TnefError(f"{n:,} values declared in {len(data) - offset:,} bytes")
        return offset + size
    if kind not in _VARIABLE:
        raise _End  # tnefparse raises on an unknown type and keeps what it has
    for _ in range(values or 1):  # each value reads a length: the data bounds the loops
        pieces = 1
        if not values:
            pieces = _u32(data, offset)
            offset += 4
        for _ in range(pieces):
            size = _u32(data, offset)
            if tag == _PR_ATTACH_DATA_OBJ and data.startswith(_IMESSAGE, offset + 4):
                start = offset + 4 + len(_IMESSAGE)
                _check(data[start:offset + 4 + size], depth + 1, copied)
            offset += 4 + _padded(size)
    return offset


def _u16(data: bytes, offset: int) -> int:
    if offset + 2 > len(data):
        raise _End
    return struct.unpack_from("<H", data, offset)[0]


def _u32(data: bytes, offset: int) -> int:
    if offset + 4 > len(data):
        raise _End
    return struct.unpack_from("<I", data, offset)[0]


def _padded(size: int) -> int:
    return size + (-size % 4)
