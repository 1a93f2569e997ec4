"""Machine-sent mail (RFC 3834, and what real autoresponders and MTAs actually send).

`automatic_reasons` returns why a message looks automatic; an empty list means a person wrote
it. Automatic mail is recorded but never answered automatically and never reopens a ticket.
"""
from __future__ import annotations

import re
from typing import Iterable

from chalicelib.mail.parse import ParsedMail

_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[- ]?reply|autoreply|auto(?:-response)?|out of (?:the )?office|"
    r"abwesenheitsnotiz|réponse automatique|respuesta automática|স্বয়ংক্রিয় উত্তর|অফিসের বাইরে)\b\s*[:\-]?",
    re.IGNORECASE)
_DAEMONS = re.compile(r"^(?:mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)(?:[+\-.].*)?@", re.I)


def automatic_reasons(mail: ParsedMail, own_addresses: Iterable[str] = ()) -> list[str]:
    h = mail.headers
    first = {name: (values[0] if values else "").strip().lower() for name, values in h.items()}
    reasons = []
    if first.get("auto-submitted", "no") not in ("", "no"):
        reasons.append("auto-submitted")
    if first.get("precedence") in ("bulk", "junk", "list", "auto_reply"):
        reasons.append("precedence")
    if "x-autoreply" in h or "x-autorespond" in h or "x-autoresponder" in h:
        reasons.append("x-autoreply")
    suppress = {v.strip() for v in first.get("x-auto-response-suppress", "").split(",")}
    if suppress & {"all", "oof", "autoreply"}:
        reasons.append("x-auto-response-suppress")
    if "list-id" in h or "list-unsubscribe" in h:
        reasons.append("list")
    if first.get("return-path", None) == "<>":
        reasons.append("null-return-path")
    if mail.is_report:
        reasons.append("report")
    if mail.from_address and _DAEMONS.match(mail.from_address):
        reasons.append("mailer-daemon")
    if _SUBJECT.match(mail.subject or ""):
        reasons.append("auto-reply-subject")
    own = {_bare(a) for a in own_addresses if a}
    if mail.from_address and _bare(mail.from_address) in own:
        reasons.append("own-address")
    return reasons


def is_bounce(mail: ParsedMail) -> bool:
    """A delivery failure report: a DSN, or a mailer-daemon's plain-text notice."""
    if mail.is_report and mail.report_type == "delivery-status":
        return True
    sender = mail.from_address or ""
    subject = (mail.subject or "").lower()
    return bool(re.match(r"^(?:mailer-daemon|postmaster)@", sender, re.I)) and any(
        word in subject for word in ("undeliver", "delivery", "failure", "returned", "failed"))


def _bare(address: str) -> str:
    local, _, domain = address.lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"
