"""What an inbound mail says, as Setu keeps it: the new text, the subject, the language, the
attachments as uploads, and a digest of its content (to tell a copy of a message from a
different message that reuses its Message-ID). Shared by services/inbound/email.py and the
release of held mail (services/inbound/held.py). Pure: no AWS calls."""
from __future__ import annotations

import hashlib
import re

from chalicelib.mail import reply
from chalicelib.mail.parse import ParsedMail
from chalicelib.services.portal.webform import Upload

MAX_BODY = 20_000  # characters kept on the timeline item; the raw mail is always in S3
MAX_SUBJECT = 200
MAX_ATTACHMENTS = 20
_BENGALI = re.compile(r"[\u0980-\u09FF]")


def visible(mail: ParsedMail) -> str:
    return reply.visible_text(mail.text or "")[:MAX_BODY].strip()


def subject(mail: ParsedMail, text: str) -> str:
    found = " ".join((mail.subject or "").split())[:MAX_SUBJECT]
    if found:
        return found
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first_line[:80] or "(no subject)"


def language(subject_: str, text: str) -> str:
    sample = f"{subject_}\n{text[:2000]}"
    return "bn" if _BENGALI.search(sample) else "en"


def uploads(mail: ParsedMail) -> list[Upload]:
    return [Upload(field="email", filename=a.filename, content_type=a.content_type, data=a.data)
            for a in mail.attachments[:MAX_ATTACHMENTS]]


def digest(mail: ParsedMail) -> str:
    """The content's fingerprint: subject, text, HTML and attachments, whitespace-normalised,
    not the headers a relay adds (Received, Return-Path, X-SES-*), so two copies of one
    message delivered separately have the same digest and two different messages do not."""
    found = hashlib.sha256()
    for part in (" ".join((mail.subject or "").split()), " ".join((mail.text or "").split()),
                 " ".join((mail.html or "").split())):
        found.update(part.encode("utf-8", "surrogatepass"))
        found.update(b"\x00")
    for attachment in mail.attachments:
        found.update(hashlib.sha256(attachment.data or b"").digest())
    return found.hexdigest()[:32]
