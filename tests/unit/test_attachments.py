"""A file's type is what its bytes are (services/tickets/attachments.py)."""
import io
import zipfile

import pytest
from hypothesis import given, settings, strategies as st

from chalicelib.services.tickets import attachments
from chalicelib.services.tickets.attachments import DOCX, XLSX, judge

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def _zip(*names: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return out.getvalue()


@pytest.mark.parametrize("declared,data,expected", [
    ("image/png", PNG, "image/png"),
    ("application/octet-stream", PDF, "application/pdf"),  # mail's generic type: the content says
    ("application/octet-stream", _zip("[Content_Types].xml", "word/document.xml"), DOCX),
    (XLSX, _zip("[Content_Types].xml", "xl/workbook.xml"), XLSX),
    ("application/vnd.ms-excel", OLE, "application/vnd.ms-excel"),
    ("application/octet-stream", OLE, "application/msword"),
    ("text/csv", b"name,amount\nRahim,500\n", "text/csv"),
    ("text/plain", "আমার অর্ডার\n".encode(), "text/plain"),
    ("", b"plain words", "text/plain"),
])
def test_accepted_as_what_the_content_is(declared, data, expected):
    assert judge(declared, data) == (expected, None)


@pytest.mark.parametrize("declared,data,why", [
    ("image/png", b"GIF89a fake", "file_content"),  # says PNG, is a GIF
    ("application/pdf", b"MZ\x90\x00\x03\x00", "file_content"),  # says PDF, is a program
    ("application/x-msdownload", b"MZ\x90\x00\x03\x00", "file_type"),
    ("application/octet-stream", b"MZ\x90\x00\x03\x00\x00\x00", "file_type"),
    ("application/octet-stream", _zip("payload.exe"), "file_type"),  # a zip, not a document
    (DOCX, _zip("[Content_Types].xml", "ppt/slide1.xml"), "file_content"),
    ("application/x-sh", b"#!/bin/sh\nrm -rf /\n", "file_type"),  # text, but says it is not
    ("image/jpeg", b"\xff\xd8", "file_content"),
])
def test_refused(declared, data, why):
    assert judge(declared, data) == (None, why)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(attachments.ALLOWED) + ["application/octet-stream", "x/y"]),
       st.binary(max_size=600))
def test_any_bytes_get_an_answer_and_an_accepted_type_is_allowed(declared, data):
    kind, why = judge(declared, data)
    assert (kind is None) != (why is None)
    assert kind is None or kind in attachments.ALLOWED
