"""The content digest that tells a copy of a message from a different message reusing its
Message-ID (services/inbound/mailtext.py, docs/email.md "Same message or a reused
Message-ID")."""
from __future__ import annotations

from email.message import EmailMessage

from chalicelib.mail.parse import parse
from chalicelib.services.inbound.mailtext import digest


def _raw(body="আমার অর্ডার আসেনি", subject="অর্ডার", attachment: bytes | None = None) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "r@example.com", "s@setu.local", subject
    message["Message-ID"] = "<same@example.com>"
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(attachment, maintype="application", subtype="pdf", filename="a.pdf")
    return message.as_bytes()


def test_relay_headers_do_not_change_the_digest():
    original = _raw()
    relayed = b"Received: from mx2 by inbound-smtp\r\nReturn-Path: <r@example.com>\r\n" + original
    assert digest(parse(original)) == digest(parse(relayed))


def test_other_content_changes_the_digest():
    base = digest(parse(_raw()))
    assert digest(parse(_raw(body="অন্য কথা"))) != base
    assert digest(parse(_raw(subject="Refund"))) != base
    assert digest(parse(_raw(attachment=b"%PDF-1"))) != digest(parse(_raw(attachment=b"%PDF-2")))
