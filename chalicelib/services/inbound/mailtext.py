"""What an inbound mail says, as Setu keeps it: the new text, the subject, the language, the
attachments as uploads, and a digest of its content (to tell a copy of a message from a
different message that reuses its Message-ID). Shared by services/inbound/email.py and the
release of held mail (services/inbound/held.py). Pure: no AWS calls."""
from __future__ import annotations

import hashlib
import re
from typing import Any

from chalicelib.mail import reply
from chalicelib.mail.parse import ParsedMail
from chalicelib.services.portal import webform
from chalicelib.services.portal.webform import Upload
from chalicelib.services.tickets import attachments

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
    """The attachments Setu keeps: the same policy as the web form's (services/tickets/
    attachments.py: judged by content; the form's size and count limits)."""
    return files(mail)[0]


def dropped(mail: ParsedMail) -> list[dict[str, Any]]:
    """The attachments not kept, each with why (recorded on the message)."""
    return files(mail)[1]


def files(mail: ParsedMail) -> tuple[list[Upload], list[dict[str, Any]]]:
    limits = webform.limits_from_settings()
    kept: list[Upload] = []
    refused: list[dict[str, Any]] = []
    for attachment in mail.attachments:
        data = attachment.data or b""
        about = {"filename": (attachment.filename or "")[:180],
                 "content_type": (attachment.content_type or "")[:100], "size": len(data)}
        kind, why = attachments.judge((attachment.content_type or "").lower(), data)
        if not data:
            why = "empty_file"
        elif len(data) > limits.max_attachment_bytes:
            why = "file_too_large"
        elif why is None and len(kept) >= limits.max_attachments:
            why = "too_many_files"
        elif why is None and sum(u.size for u in kept) + len(data) > limits.max_total_bytes:
            why = "files_too_large"
        if why:
            refused.append({**about, "why": why})
            continue
        kept.append(Upload(field="email", filename=attachment.filename,
                           content_type=kind or attachment.content_type, data=data))
    return kept, refused[:MAX_ATTACHMENTS]


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
