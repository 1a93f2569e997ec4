"""Inbound email: from an SES receipt notification to a ticket message, exactly once.

Every notification ends in exactly one recorded outcome, keyed by the SES message id
(`inbound#email#<id>`, written in the same transaction as the ticket change, so a redelivered
notification finds it and stops):

  created      a new ticket (acknowledged unless the mail is automatic or the address is
               suppressed or has had too much automatic mail this hour)
  appended     a reply on the ticket it threads to (docs/email.md, services/inbound/thread.py)
  held         threads to a ticket but the sender is not that ticket's customer
  bounced      a delivery report about our own mail: the message is marked failed and the
               address suppressed, never treated as a customer reply
  rejected     spam/virus verdicts, unmatched bounces, no sender at all: the raw mail stays in
               the bucket and the marker says why
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib import clock, config, ids, observability
from chalicelib.db import keys
from chalicelib.db.connection import Cancelled, Transaction
from chalicelib.db.models import Key, Ticket
from chalicelib.integrations import storage
from chalicelib.mail import loops, reply
from chalicelib.mail.parse import ParsedMail, original_message_ids, parse
from chalicelib.services.customers import contacts
from chalicelib.services.inbound import once, thread
from chalicelib.services.messaging import dispatch, reply_address, suppression
from chalicelib.services.portal.webform import Upload, WebContact
from chalicelib.services.team import departments, routing
from chalicelib.services.tickets import intake, work
from chalicelib.services.tickets import store as ticket_store

log = logging.getLogger("setu.email")

MAX_BODY = 20_000  # characters kept on the timeline item; the raw mail is always in S3
MAX_FULL = 40_000
MAX_HTML = 40_000
MAX_SUBJECT = 200
MAX_ATTACHMENTS = 20
AUTOMATIC_ACKS_PER_HOUR = 3  # per address: RFC 3834's "not too often"
_BENGALI = re.compile(r"[\u0980-\u09FF]")


@dataclass
class Receipt:
    """The parts of an SES receipt notification we use, validated."""

    ses_id: str
    bucket: str
    key: str
    source: str
    recipients: list[str]
    verdicts: dict[str, str] = field(default_factory=dict)

    @property
    def marker_data(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "key": self.key, "source": self.source[:320]}


def receive(receipt: Receipt) -> str:
    if once.seen("email", receipt.ses_id):
        return "duplicate"
    if receipt.verdicts.get("virus") == "FAIL" or receipt.verdicts.get("spam") == "FAIL":
        which = "virus" if receipt.verdicts.get("virus") == "FAIL" else "spam"
        return _reject(receipt, f"quarantined: SES {which} verdict FAIL")
    raw = storage.get_raw(receipt.bucket, receipt.key)
    if raw is None:
        return _reject(receipt, "the raw message is not in the bucket")
    mail = parse(raw)
    if loops.is_bounce(mail):  # a failure report; "delayed" and "delivered" reports are not
        return _bounce(receipt, mail)
    sender = _sender(mail, receipt)
    automatic = loops.automatic_reasons(mail, _own_addresses())
    if not sender:
        return _reject(receipt, "no usable sender address", automatic=automatic)
    known = _look_up(mail, sender)
    if known.copy_of:  # the sender's MTA delivered it twice, or to two of our addresses
        return _only_marker(receipt, "duplicate", ticket_id=known.copy_of,
                            reason="a message with this Message-ID is already on the ticket")
    match = _thread(mail, receipt, known)
    if match is not None:
        ticket_id, ticket, how, held = match
        return _append(receipt, mail, sender, automatic, ticket_id, how, held, ticket=ticket)
    return _create(receipt, mail, sender, automatic, known.acks_this_hour)


@dataclass
class _Known:
    """What the keys table says about a mail before anything is decided (`_look_up`)."""

    threads: dict[str, str]  # msgid#<Message-ID> -> ticket id, for the ids the mail references
    customer_id: str | None  # whose identity the sender's address is
    acks_this_hour: int  # automatic acknowledgements sent to the sender this hour
    copy_of: str | None  # the ticket a message with this mail's own Message-ID is already on


def _look_up(mail: ParsedMail, sender: str) -> _Known:
    """One BatchGetItem on the keys table for all a mail's decisions: the `msgid#` keys of the
    Message-IDs it references (threading), the sender's `email#` identity (held or not) and
    this hour's `rate#automail#` window (acknowledge or not)."""
    threads = [keys.msgid_pk(i) for i in thread.referenced_ids(mail.in_reply_to, mail.references)]
    identity = keys.email_pk(contacts.email_key(sender))
    rate = _automail_key(sender)
    own_id = keys.usable_message_id(mail.message_id)
    own = keys.msgid_pk(own_id) if own_id and not _ours(own_id) else None
    wanted = [(pk, keys.NO_SORT) for pk in threads] + [(identity, keys.NO_SORT), rate]
    if own and own not in threads:
        wanted.append((own, keys.NO_SORT))
    found = {(item.pk, item.sk): item for item in Key.batch_get(wanted)}
    counter = found.get(rate)
    owner = found.get((identity, keys.NO_SORT))
    return _Known(
        threads={pk: found[(pk, keys.NO_SORT)].target for pk in threads
                 if (pk, keys.NO_SORT) in found},
        customer_id=owner.target if owner else None,
        acks_this_hour=int(counter.value or 0) if counter else 0,
        copy_of=found[(own, keys.NO_SORT)].target if (own, keys.NO_SORT) in found else None)


# ---- outcomes ------------------------------------------------------------------------------

def _create(receipt: Receipt, mail: ParsedMail, sender: str, automatic: list[str],
            acks_this_hour: int) -> str:
    text = _visible(mail)
    subject = _subject(mail, text)
    department, priority = routing.route(routing.Contact(
        channel="email", department=_department(receipt.recipients), subject=subject,
        body=text, recipients=tuple(receipt.recipients)))
    contact = WebContact(
        message=text or "(empty message)", name=(mail.from_name or "")[:100], email=sender,
        subject=subject, department=department,
        lang=_language(mail.subject, text), attachments=_uploads(mail))
    ack_block = None  # a suppressed address is judged by intake, with the customer lookup
    if acks_this_hour >= AUTOMATIC_ACKS_PER_HOUR:
        ack_block = "too many automatic replies to this address this hour"
    arrival = intake.Arrival(
        channel="email", priority=priority, acknowledge=not automatic, ack_suppressed=ack_block,
        message_fields=_message_fields(receipt, mail, automatic),
        extra_writes=lambda tx, ticket_id: _finish(tx, receipt, "created", ticket_id, mail,
                                                    sender=sender, count_ack=not automatic),
        event_data={"automatic": automatic} if automatic else {})
    try:
        ticket = intake.create(contact, arrival)
    except Cancelled as exc:
        if "extra" in exc.labels:  # this notification again, or a copy of the message
            return _only_marker(receipt, "duplicate", reason="processed at the same time")
        raise
    log.info("email %s: new ticket %s", receipt.ses_id, ticket.ref)
    return "created"


def _append(receipt: Receipt, mail: ParsedMail, sender: str, automatic: list[str],
            ticket_id: str, how: str, held: bool, *, ticket: Ticket | None = None) -> str:
    uid = ids.new_id("m")
    attachments = [intake.store_attachment(ticket_id, uid, n, upload)
                   for n, upload in enumerate(_uploads(mail))]
    fields = {"message_uid": uid, "channel": "email", "kind": "message",
              "body": _visible(mail) or "(empty message)", "subject": mail.subject[:MAX_SUBJECT],
              "sender": sender, "attachments": attachments or None,
              **_message_fields(receipt, mail, automatic)}
    outcome = "held" if held else "appended"
    try:
        work.record_inbound(
            ticket_id, fields, held=held, automatic=bool(automatic),
            event_data={"threaded_by": how},
            extra_writes=lambda tx: _finish(tx, receipt, outcome, ticket_id, mail, sender=sender),
            ticket=ticket)
    except Cancelled as exc:
        storage.delete_quietly([a["key"] for a in attachments])
        if "extra" in exc.labels:  # this notification again, or a copy of the message
            return _only_marker(receipt, "duplicate", reason="processed at the same time")
        raise
    except Exception:
        storage.delete_quietly([a["key"] for a in attachments])
        raise
    return outcome


def _bounce(receipt: Receipt, mail: ParsedMail) -> str:
    for message_id in original_message_ids(mail):
        found = ticket_store.outbound_by_message_id(message_id)
        if found is None:
            continue
        ticket_id, item = found
        recipient = item.recipient or ""
        try:
            dispatch.record_failure(
                item, status="bounced", detail=mail.subject[:200],
                extra_writes=lambda tx: (_finish(tx, receipt, "bounced", ticket_id, mail),
                                         suppression.add_to(tx, recipient, "bounce")))
        except Cancelled as exc:
            if "extra" in exc.labels:
                return "duplicate"
            raise
        return "bounced"
    return _reject(receipt, "a delivery report about mail we cannot find")


def _reject(receipt: Receipt, reason: str, automatic: list[str] | None = None) -> str:
    log.warning("email %s rejected: %s", receipt.ses_id, observability.scrub(reason))
    return _only_marker(receipt, "rejected", reason=reason, automatic=automatic or [])


def _only_marker(receipt: Receipt, outcome: str, **data: Any) -> str:
    """Record an outcome that writes nothing else; "duplicate" if one was recorded before."""
    return once.record("email", receipt.ses_id, outcome, **receipt.marker_data, **data)


def _finish(tx: Transaction, receipt: Receipt, outcome: str, ticket_id: str, mail: ParsedMail,
            *, sender: str = "", count_ack: bool = False) -> None:
    """The writes that make this notification's outcome final, inside its transaction."""
    once.mark(tx, "email", receipt.ses_id, outcome, ticket_id=ticket_id, **receipt.marker_data)
    if outcome in ("created", "appended") and mail.message_id and not _ours(mail.message_id):
        # first: a copy of this message processed at the same moment cancels (a duplicate)
        keys.index_message_id(tx, mail.message_id, ticket_id, first=True)
    if count_ack and sender:
        now = clock.now()
        pk, sk = _automail_key(sender, now)
        tx.update(Key(pk=pk, sk=sk),
                  actions=[Key.value.add(1), Key.expires_at.set(int(now.timestamp()) + 7200)],
                  label="automail")


# ---- deciding ------------------------------------------------------------------------------

def _thread(mail: ParsedMail, receipt: Receipt, known: _Known
            ) -> tuple[str, Ticket | None, str, bool] | None:
    """(ticket id, the ticket as read, how, held) for a reply to an existing ticket, else None.
    The ticket is read once, consistently, and handed to the write that follows."""
    ticket_id, how = thread.by_headers(mail.in_reply_to, mail.references, known.threads), "headers"
    if ticket_id is None:
        ref = reply_address.ref_from([*receipt.recipients, *mail.to, *mail.cc])
        ticket_id, how = (ticket_store.id_for_ref(ref), "token") if ref else (None, "")
    subject_match = False
    if ticket_id is None:
        ref = thread.ref_from_subject(mail.subject)
        ticket_id, how, subject_match = (ticket_store.id_for_ref(ref), "subject", True) if ref else (None, "", False)
    if ticket_id is None:
        return None
    ticket = ticket_store.find(ticket_id)
    is_customer = (ticket.customer_id if ticket else None) == known.customer_id
    if subject_match and not is_customer:
        return None  # a ref in a subject proves nothing: this is a new conversation
    return ticket_id, ticket, how, not is_customer


def _sender(mail: ParsedMail, receipt: Receipt) -> str:
    for candidate in (mail.from_address, receipt.source):
        if not candidate or candidate in ("<>", ""):
            continue
        try:
            return contacts.normalise_email(candidate)
        except contacts.InvalidContact:
            continue
    return ""


def _own_addresses() -> list[str]:
    support = config.settings().support_address
    return [support, *departments.sender_addresses()]


def _ours(message_id: str) -> bool:
    domain = config.settings().support_address.rpartition("@")[2].lower()
    return message_id.lower().endswith(f"@{domain}>")


def _visible(mail: ParsedMail) -> str:
    return reply.visible_text(mail.text or "")[:MAX_BODY].strip()


def _subject(mail: ParsedMail, text: str) -> str:
    subject = " ".join((mail.subject or "").split())[:MAX_SUBJECT]
    if subject:
        return subject
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first_line[:80] or "(no subject)"


def _language(subject: str, text: str) -> str:
    sample = f"{subject}\n{text[:2000]}"
    return "bn" if _BENGALI.search(sample) else "en"


def _department(recipients: list[str]) -> str:
    for address in recipients:
        local = address.partition("@")[0].partition("+")[0].lower()
        if local in departments.DEPARTMENT_NAMES:
            return local
    return "general"


def _uploads(mail: ParsedMail) -> list[Upload]:
    return [Upload(field="email", filename=a.filename, content_type=a.content_type, data=a.data)
            for a in mail.attachments[:MAX_ATTACHMENTS]]


def _message_fields(receipt: Receipt, mail: ParsedMail, automatic: list[str]) -> dict[str, Any]:
    full = (mail.text or "")[:MAX_FULL]
    return {
        "message_id": keys.usable_message_id(mail.message_id),
        "in_reply_to": (mail.in_reply_to or [None])[0],
        "references": mail.references[-20:] or None,
        "full_body": full or None,
        "html": (mail.html or "")[:MAX_HTML] or None,
        "raw_key": receipt.key,
        "provider_id": receipt.ses_id,
        "automatic": automatic or None,
    }


def _automail_key(sender: str, now: datetime | None = None) -> tuple[str, str]:
    """The keys-table window counting automatic acknowledgements to `sender` this hour."""
    return (keys.rate_pk("automail", contacts.email_key(sender)),
            (now or clock.now()).strftime("%Y%m%d%H"))
