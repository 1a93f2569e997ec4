"""Which files a ticket accepts, judged by their content, not the type they declare.

One policy for every way a file arrives: the web form, an agent's reply, inbound mail
(services/portal/webform.py, services/tickets/work.py, services/inbound/email.py). A file's
type is what its bytes are (`sniff`): images and PDF by their signatures, Word and Excel by
their container (an Office Open XML zip holding word/ or xl/, or the OLE compound file of the
older formats), text by decoding cleanly without NUL bytes. A declared type that contradicts
the content is refused; a generic one (application/octet-stream, as mail often says) is
replaced by what the content is. Pure: no AWS.
"""
from __future__ import annotations

import io
import zipfile

ALLOWED = frozenset({
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/heic",
    "application/pdf", "text/plain", "text/csv",
    "application/msword", "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
})
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OLE_TYPES = ("application/msword", "application/vnd.ms-excel")
TEXT_TYPES = ("text/plain", "text/csv")
GENERIC_TYPES = ("application/octet-stream", "")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1")
_TEXT_PROBE = 65536
_ZIP_NAMES_MAX = 2000  # a zip with more entries is no document we take


def sniff(data: bytes) -> str | None:
    """The content type the bytes are (OLE: "ole", decided by `judge`), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "image/heic"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"PK\x03\x04"):
        return _office_zip(data)
    if data.startswith(_OLE):
        return "ole"
    probe = data[:_TEXT_PROBE]
    if b"\x00" not in probe:
        try:
            probe.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(probe) - 4:  # not just a character cut at the probe's end
                return None
        return "text/plain"
    return None


def _office_zip(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return None
    if len(names) > _ZIP_NAMES_MAX or "[Content_Types].xml" not in names:
        return None
    if any(n.startswith("word/") for n in names):
        return DOCX
    if any(n.startswith("xl/") for n in names):
        return XLSX
    return None


def judge(declared: str, data: bytes) -> tuple[str | None, str | None]:
    """(the type to store the file as, None) when it is accepted, else (None, why):
    "file_type" (not a kind we take) or "file_content" (the content is not what it says)."""
    found = sniff(data)
    if found == "ole":
        found = declared if declared in OLE_TYPES else "application/msword"
    if found is None or found not in ALLOWED:
        return None, "file_content" if declared in ALLOWED else "file_type"
    if found == "text/plain" and declared not in (*TEXT_TYPES, *GENERIC_TYPES):
        # anything decodes as text: text is taken only from what says it is text (or nothing)
        return None, "file_content" if declared in ALLOWED else "file_type"
    if declared in ALLOWED and declared != found and not (
            declared == "text/csv" and found == "text/plain"):
        return None, "file_content"
    return (declared if declared == "text/csv" else found), None
