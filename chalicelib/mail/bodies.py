"""MIME bodies: the walk over a parsed message's parts -> text, HTML and attachments.

Guarantees: the walk never raises (every stdlib call that can is guarded) and never loses a
part: what is not a body text becomes an attachment with a safe, never empty file name.
multipart/alternative gives its first text and last HTML; uuencoded blocks inside text become
attachments; PGP/MIME and S/MIME are recognised (`encrypted`); Outlook's winmail.dat (TNEF) is
unpacked into its files and body (chalicelib/mail/tnef.py); parameters (file names) get the
charset repair of `charsets.decode_bytes`: RFC 2231 values with a wrong, unknown or missing
charset, and raw 8-bit values, which compat32 would hand out as U+FFFD. Nesting deeper than
`MAX_DEPTH` is not walked (a defect says so). base64 is read leniently (broken padding, stray
characters, separately padded chunks); format=flowed text is unflowed (RFC 3676).
"""
from __future__ import annotations

import binascii
import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote

from chalicelib.mail.charsets import decode_bytes
from chalicelib.mail.headers import MAX_HEADER_CHARS, SURROGATES, HeaderDecoder
from chalicelib.mail.message import Attachment, ParsedMail, mime_parser, raw_items
from chalicelib.mail.text import WS, LazyPattern, collapse

if TYPE_CHECKING:  # the email package is imported on first use: it costs cold-start time
    from email.message import Message

MAX_DEPTH = 24                # multipart / message nesting walked; deeper parts are ignored
MAX_FILENAME = 180

_SIGNATURE_TYPES = {"application/pgp-signature", "application/pkcs7-signature",
                    "application/x-pkcs7-signature"}
MESSAGE_TYPES = {"message/rfc822", "message/global", "message/news"}
HEADER_PART_TYPES = {"text/rfc822-headers", "message/global-headers"}
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
class Collector:
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    tnef_texts: list[str] = field(default_factory=list)  # bodies found inside winmail.dat,
    tnef_htmls: list[str] = field(default_factory=list)  # used when the MIME has none
    encrypted: bool = False
    depth_noted: bool = False

    def take(self, other: Collector, texts: bool = True, htmls: bool = True) -> None:
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


def _with_eightbit_decoded(part: Message, header: str, decoder: HeaderDecoder) -> Message:
    """`part`, or a stand-in holding only `header` with its raw 8-bit bytes decoded.

    compat32 hands out a header with raw 8-bit bytes as U+FFFD replacement characters, so the
    parameters (a Bengali or Russian file name sent unencoded) are read from the decoded text."""
    for key, value in raw_items(part):
        if key.lower() == header:
            if not SURROGATES.search(value):
                return part
            from email.message import Message  # deferred: cold start, the email package

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


class Walker:
    def __init__(self, notes: list[str]):
        self.notes = notes

    # -- helpers that never raise
    def ctype(self, part: Message) -> str:
        try:
            return (part.get_content_type() or "text/plain").lower()
        except Exception:  # noqa: BLE001
            return "text/plain"

    def param(self, part: Message, name: str, header: str = "content-type",
              decoder: HeaderDecoder | None = None) -> str | None:
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

    def filename(self, part: Message, decoder: HeaderDecoder) -> str | None:
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
        value = collapse(str(value)).strip("<>").strip()
        return value or None

    # -- the walk
    def walk(self, part: Message, depth: int, out: Collector, decoder: HeaderDecoder) -> None:
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
            repaired = mime_parser().parsebytes(data)
            if not isinstance(repaired.get_payload(), list):
                return None
        except Exception:  # noqa: BLE001
            return None
        self.notes.append(f"{ctype}: declared boundary not found, used {boundary[:40]!r}")
        return repaired

    def multipart(self, part: Message, ctype: str, children: list, depth: int,
                  out: Collector, decoder: HeaderDecoder) -> None:
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

    def alternative(self, children: list, depth: int, out: Collector,
                    decoder: HeaderDecoder) -> None:
        """The first alternative with text gives the text, the last with HTML the html; the
        attachments of those two are kept, and any other alternative's that is not a text."""
        candidates = []
        for child in children:
            sub = Collector(depth_noted=out.depth_noted)
            self.walk(child, depth + 1, sub, decoder)
            candidates.append(sub)
        text_from = next((c for c in candidates if any(t.strip() for t in c.texts)), None)
        html_from = next((c for c in reversed(candidates) if c.htmls), None)
        for sub in candidates:
            if sub is not text_from and sub is not html_from:
                sub.attachments = [a for a in sub.attachments if a.content_type not in _TEXT_TYPES]
            out.take(sub, texts=sub is text_from, htmls=sub is html_from)

    def leaf(self, part: Message, ctype: str, out: Collector, decoder: HeaderDecoder) -> None:
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

    def tnef(self, part: Message, ctype: str, out: Collector, decoder: HeaderDecoder) -> None:
        """winmail.dat unpacked: its files as attachments, its body for when the MIME has none.
        One that cannot be unpacked stays an attachment, with the reason noted."""
        from chalicelib.mail import tnef  # deferred: cold start, loaded only for TNEF mail

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
        data = chunks[0] if chunks and ctype in MESSAGE_TYPES else b"\n".join(chunks)
        cte = self.cte(part)
        if cte in ("base64", "quoted-printable"):
            # Not allowed for message/*, but sent: the stdlib took the encoded text for a message
            self.notes.append(f"{ctype} part sent in {cte}: decoded")
            data = data.lstrip(b"\r\n")
            data = _lenient_base64(data, []) if cte == "base64" else binascii.a2b_qp(data)
        return data

    def attach(self, part: Message | None, ctype: str, data: bytes, out: Collector,
               decoder: HeaderDecoder | None, default_name: str | None = None,
               filename: str | None = None, content_id: str | None = None) -> None:
        """An attachment from a MIME part, or (part None) from inside one (uuencode, TNEF)."""
        if part is not None:
            filename = self.filename(part, decoder) if decoder is not None else None
            content_id = self.content_id(part)
        if not filename and ctype in MESSAGE_TYPES:
            filename = _eml_name(data)
        if ctype == "application/octet-stream" and filename \
                and not filename.lower().endswith(_KEEP_TYPE_EXTENSIONS):
            ctype = (mimetypes.guess_type(filename, strict=False)[0] or ctype).lower()
        name = safe_filename(filename, ctype, len(out.attachments) + 1,
                             default_name or _REPORT_NAMES.get(ctype))
        inline = part is not None and self.disposition(part) == "inline"
        out.attachments.append(Attachment(name, ctype, data, inline, content_id))

    def uudecode(self, text: str, out: Collector) -> str:
        """uuencoded blocks ("begin 644 name" ... "end") cut out of the text as attachments.

        One pass: of several "begin" lines before an "end" the last starts the block; a block
        that does not decode stays in the text. (Trying each "begin" up to the same "end" again
        was quadratic: 20,000 "begin" lines took minutes.)"""
        if "begin " not in text:
            return text
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
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", _UNSAFE_NAME.sub("_", name))
    name = WS.sub(" ", name).strip().strip(".").strip()
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
        inner = mime_parser().parsebytes(data[:256 * 1024], headersonly=True)
        subject = inner.get("subject")
        subject = collapse(HeaderDecoder(None, b"", []).text(subject)) if subject else ""
    except Exception:  # noqa: BLE001
        subject = ""
    return f"{subject[:100]}.eml" if subject else "forwarded-message.eml"



def body_into(mail: ParsedMail, collected: Collector) -> None:
    """Text and html from what the walk collected. The text is the MIME text parts; else the
    text inside winmail.dat (when the MIME has no HTML either); else the text of the HTML."""
    texts = collected.texts
    text = "\n".join([t.rstrip("\r\n") for t in texts[:-1]] + texts[-1:])
    if not text.strip() and not collected.htmls:
        text = "\n".join(collected.tnef_texts)
    html_source = "\n".join(collected.htmls or collected.tnef_htmls)
    if html_source.strip():
        from chalicelib.mail import html as html_mod  # deferred: cold start, only HTML mail

        mail.html = html_mod.sanitise(html_source) or None
        if not text.strip():
            text = html_mod.to_text(html_source)
    mail.text = text.replace("\r\n", "\n").replace("\r", "\n")
    mail.encrypted = collected.encrypted
    referenced = {unquote(c).strip("<>").lower() for c in _CID.findall(html_source)}
    for attachment in collected.attachments:
        if attachment.content_id and attachment.content_id.lower() in referenced:
            attachment.inline = True
    mail.attachments = collected.attachments

