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
  rejected     no ticket message: spam/virus verdicts, unmatched bounces, no usable sender
               (none, or one the validator refuses), unparseable, too large, the raw object
               missing. Each is also a held item (services/inbound/held.py) with the reason,
               which an admin can release to a ticket or discard; the raw mail stays in the
               bucket and the marker names the held item
  duplicate    the same message again: the same SES message id, or the same Message-ID with
               the same sender and content digest (an MTA retrying, one mail to two of our
               addresses). A different message that reuses a Message-ID is its own message,
               and threading stops trusting that id
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from chalicelib import clock, config, ids, observability
from chalicelib.db import keys
from chalicelib.db.connection import Cancelled, Transaction
from chalicelib.db.models import Key, Ticket
from chalicelib.db.values import as_dict
from chalicelib.integrations import storage
from chalicelib.mail import loops
from chalicelib.mail.parse import ParsedMail, original_message_ids, parse
from chalicelib.services.customers import contacts
from chalicelib.services.inbound import held, mailtext, once, thread
from chalicelib.services.messaging import dispatch, reply_address, suppression
from chalicelib.services.portal.webform import WebContact
from chalicelib.services.team import departments, routing
from chalicelib.services.tickets import intake, work
from chalicelib.services.tickets import store as ticket_store

log = logging.getLogger("setu.email")

MAX_FULL = 40_000
MAX_HTML = 40_000
MAX_SUBJECT = mailtext.MAX_SUBJECT
AUTOMATIC_ACKS_PER_HOUR = 3  # per address: RFC 3834's "not too often"


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


def unauthenticated(verdicts: dict[str, str]) -> str | None:
    """Why mail is not trusted as its sender (docs/security.md): DMARC failed, or, where the
    sender's domain publishes no DMARC (SES: GRAY), both SPF and DKIM failed. None otherwise."""
    if verdicts.get("dmarc") == "FAIL":
        return "DMARC failed: the sender's domain does not vouch for this mail"
    if verdicts.get("dmarc") in ("", "GRAY", None) and verdicts.get("spf") == "FAIL" \
            and verdicts.get("dkim") == "FAIL":
        return "SPF and DKIM both failed (no DMARC): the sender cannot be trusted"
    return None


def receive(receipt: Receipt) -> str:
    if once.seen("email", receipt.ses_id):
        return "duplicate"
    if receipt.verdicts.get("virus") == "FAIL":  # not opened: the raw mail stays quarantined
        return _reject(receipt, "virus", "quarantined: SES virus verdict FAIL")
    raw = storage.get_raw(receipt.bucket, receipt.key)
    if raw is None:
        return _reject(receipt, "raw_missing", "the raw message is not in the bucket")
    if len(raw) >= storage.MAX_RAW_BYTES:
        return _reject(receipt, "too_large", f"the raw message is {storage.MAX_RAW_BYTES:,} "
                       "bytes or more: more than SES delivers", held_mail=None)
    mail = parse(raw)
    if receipt.verdicts.get("spam") == "FAIL":  # held with its text: an admin may release it
        return _reject(receipt, "spam", "quarantined: SES spam verdict FAIL", held_mail=mail)
    forged = unauthenticated(receipt.verdicts)
    if forged:  # not the customer it claims to be: held, no acknowledgement, no ticket change
        return _reject(receipt, "unauthenticated", forged, held_mail=mail)
    if loops.is_bounce(mail):  # a failure report; "delayed" and "delivered" reports are not
        return _bounce(receipt, mail)
    sender = _sender(mail, receipt)
    automatic = loops.automatic_reasons(mail, _own_addresses())
    if not sender:
        if not mail.ok:
            return _reject(receipt, "unparseable", "the message could not be parsed and "
                           "names no usable sender", automatic=automatic, held_mail=mail)
        named = (mail.from_address or receipt.source or "").strip()
        return _reject(receipt, "no_sender", f"no usable sender address ({named[:100]!r})"
                       if named else "no sender address", automatic=automatic, held_mail=mail)
    digest = mailtext.digest(mail)
    known = _look_up(mail, sender)
    for _ in range(2):
        reused = False
        if known.copy_of:  # the sender's MTA delivered it twice, or to two of our addresses
            if _same_message(known.copy_data, sender, digest, receipt.ses_id):
                return _only_marker(receipt, "duplicate", ticket_id=known.copy_of,
                                    reason="a message with this Message-ID is already on the ticket")
            reused = True  # a different message with a Message-ID seen before
            own = keys.msgid_pk(keys.usable_message_id(mail.message_id) or "")
            known.threads.pop(own, None)  # its own id proves nothing about a thread
        message = _Message(mail, sender, automatic, digest, reused=reused,
                           reused_known=bool(known.copy_data and known.copy_data.get("digest")))
        try:
            match = _thread(mail, receipt, known)
            if match is not None:
                ticket_id, ticket, how, held_ = match
                return _append(receipt, message, ticket_id, how, held_, ticket=ticket)
            return _create(receipt, message, known.acks_this_hour)
        except _MessageIdTaken:  # another message with this Message-ID was written meanwhile
            known = replace(known, **_copy_of(mail))
    # raced twice (after a consistent read): let Lambda try the notification again
    raise RuntimeError(f"email {receipt.ses_id}: its Message-ID kept being written meanwhile")


@dataclass
class _Message:
    """A mail with a usable sender, as decided so far."""

    mail: ParsedMail
    sender: str
    automatic: list[str]
    digest: str
    reused: bool = False  # its Message-ID was recorded for a different message
    reused_known: bool = False  # ... and that record can be marked reused


class _MessageIdTaken(Exception):
    """The `msgid#` write found a record made since the look-up: decide again."""


def _same_message(data: dict[str, Any] | None, sender: str, digest: str, ses_id: str) -> bool:
    """Whether the message first recorded with a Message-ID is this one: the same SES message
    id, or the same sender and content. A record without a digest (written before digests
    were kept, or by our own outbound mail) counts as the same message."""
    if not data or not data.get("digest"):
        return True
    if data.get("ses_id") == ses_id:
        return True
    return (contacts.email_key(str(data.get("sender") or "")) == contacts.email_key(sender)
            and data.get("digest") == digest)


def _copy_of(mail: ParsedMail) -> dict[str, Any]:
    """The `msgid#` record of the mail's own Message-ID, read consistently."""
    own_id = keys.usable_message_id(mail.message_id)
    if not own_id:
        return {"copy_of": None, "copy_data": None}
    try:
        found = Key.get(keys.msgid_pk(own_id), keys.NO_SORT, consistent_read=True)
    except Key.DoesNotExist:
        return {"copy_of": None, "copy_data": None}
    return {"copy_of": found.target, "copy_data": as_dict(found.data) or None}


@dataclass
class _Known:
    """What the keys table says about a mail before anything is decided (`_look_up`)."""

    threads: dict[str, str]  # msgid#<Message-ID> -> ticket id, for the ids the mail references
    customer_id: str | None  # whose identity the sender's address is
    acks_this_hour: int  # automatic acknowledgements sent to the sender this hour
    copy_of: str | None  # the ticket a message with this mail's own Message-ID is already on
    copy_data: dict[str, Any] | None = None  # what that record says about its message


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
    copy = found.get((own, keys.NO_SORT)) if own else None
    return _Known(
        # an id two different messages used proves nothing about which one a reply answers
        threads={pk: found[(pk, keys.NO_SORT)].target for pk in threads
                 if (pk, keys.NO_SORT) in found
                 and not as_dict(found[(pk, keys.NO_SORT)].data).get("reused")},
        customer_id=owner.target if owner else None,
        acks_this_hour=int(counter.value or 0) if counter else 0,
        copy_of=copy.target if copy else None,
        copy_data=(as_dict(copy.data) or None) if copy else None)


# ---- outcomes ------------------------------------------------------------------------------

def _create(receipt: Receipt, message: _Message, acks_this_hour: int) -> str:
    mail, sender, automatic = message.mail, message.sender, message.automatic
    text = mailtext.visible(mail)
    subject = mailtext.subject(mail, text)
    department, priority = routing.route(routing.Contact(
        channel="email", department=_department(receipt.recipients), subject=subject,
        body=text, recipients=tuple(receipt.recipients)))
    contact = WebContact(
        message=text or "(empty message)", name=(mail.from_name or "")[:100], email=sender,
        subject=subject, department=department,
        lang=mailtext.language(mail.subject, text), attachments=mailtext.uploads(mail))
    ack_block = None  # a suppressed address is judged by intake, with the customer lookup
    if acks_this_hour >= AUTOMATIC_ACKS_PER_HOUR:
        ack_block = "too many automatic replies to this address this hour"
    arrival = intake.Arrival(
        channel="email", priority=priority, acknowledge=not automatic, ack_suppressed=ack_block,
        message_fields=_message_fields(receipt, mail, automatic),
        extra_writes=lambda tx, ticket_id: _finish(tx, receipt, "created", ticket_id, message,
                                                    count_ack=not automatic),
        event_data={**({"automatic": automatic} if automatic else {}),
                    **({"message_id_reused": True} if message.reused else {})})
    try:
        ticket = intake.create(contact, arrival)
    except Cancelled as exc:
        if "extra" in exc.labels:  # this notification again, or a copy of the message
            return _raced(receipt)
        raise
    log.info("email %s: new ticket %s", receipt.ses_id, ticket.ref)
    return "created"


def _append(receipt: Receipt, message: _Message, ticket_id: str, how: str, held: bool, *,
            ticket: Ticket | None = None) -> str:
    mail, sender, automatic = message.mail, message.sender, message.automatic
    uid = ids.new_id("m")
    attachments = [intake.store_attachment(ticket_id, uid, n, upload)
                   for n, upload in enumerate(mailtext.uploads(mail))]
    fields = {"message_uid": uid, "channel": "email", "kind": "message",
              "body": mailtext.visible(mail) or "(empty message)",
              "subject": mail.subject[:MAX_SUBJECT],
              "sender": sender, "attachments": attachments or None,
              **_message_fields(receipt, mail, automatic)}
    outcome = "held" if held else "appended"
    try:
        work.record_inbound(
            ticket_id, fields, held=held, automatic=bool(automatic),
            event_data={"threaded_by": how,
                        **({"message_id_reused": True} if message.reused else {})},
            extra_writes=lambda tx: _finish(tx, receipt, outcome, ticket_id, message),
            ticket=ticket)
    except Cancelled as exc:
        storage.delete_quietly([a["key"] for a in attachments])
        if "extra" in exc.labels:  # this notification again, or a copy of the message
            return _raced(receipt)
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
                extra_writes=lambda tx: (_finish(tx, receipt, "bounced", ticket_id, None),
                                         suppression.add_to(tx, recipient, "bounce")))
        except Cancelled as exc:
            if "extra" in exc.labels:
                return "duplicate"
            raise
        return "bounced"
    return _reject(receipt, "unmatched_bounce", "a delivery report about mail we cannot find",
                   held_mail=mail)


def _raced(receipt: Receipt) -> str:
    """The write was cancelled by an "extra" condition: this notification processed at the
    same moment (its marker is there), or another message with this Message-ID."""
    if once.seen("email", receipt.ses_id):
        return "duplicate"
    raise _MessageIdTaken()


def _reject(receipt: Receipt, reason: str, detail: str, automatic: list[str] | None = None,
            held_mail: ParsedMail | None = None) -> str:
    """No ticket message: the marker and a held item with the reason and what an admin needs
    to release it (the text, the files stored under attachments/held/<id>/), so the API never
    reads raw mail (services/inbound/held.py). The raw mail stays in the bucket."""
    log.warning("email %s rejected: %s", receipt.ses_id, observability.scrub(detail))
    mail = held_mail
    held_id = held.new_id()
    text = mailtext.visible(mail) if mail is not None else ""
    files = []
    if mail is not None and reason != "virus":
        files = [intake.store_attachment("held", held_id, n, upload)
                 for n, upload in enumerate(mailtext.uploads(mail))]
    item = held.Held(
        kind="email", reason=reason, detail=detail,
        sender=((mail.from_address if mail is not None else None) or receipt.source or "")[:320],
        subject=(mail.subject if mail is not None else "")[:MAX_SUBJECT],
        snippet=text[:held.SNIPPET], body=text, attachments=files,
        name=((mail.from_name if mail is not None else "") or "")[:100],
        lang=mailtext.language(mail.subject, text) if mail is not None else "",
        raw={"bucket": receipt.bucket, "key": receipt.key} if reason != "raw_missing" else {},
        releasable=None if mail is not None else False)
    try:
        return held.record("email", receipt.ses_id, "rejected", item, held_id=held_id,
                           **receipt.marker_data, automatic=automatic or [])
    except Exception:
        storage.delete_quietly([f["key"] for f in files])
        raise


def _only_marker(receipt: Receipt, outcome: str, **data: Any) -> str:
    """Record an outcome that writes nothing else; "duplicate" if one was recorded before."""
    return once.record("email", receipt.ses_id, outcome, **receipt.marker_data, **data)


def _finish(tx: Transaction, receipt: Receipt, outcome: str, ticket_id: str,
            message: _Message | None, *, count_ack: bool = False) -> None:
    """The writes that make this notification's outcome final, inside its transaction."""
    once.mark(tx, "email", receipt.ses_id, outcome, ticket_id=ticket_id, **receipt.marker_data,
              **({"message_id_reused": True} if message is not None and message.reused else {}))
    if message is None:
        return
    mail, sender = message.mail, message.sender
    if outcome in ("created", "appended") and mail.message_id and not _ours(mail.message_id):
        if message.reused:  # the id stays with the first message; threading stops trusting it
            if message.reused_known:
                keys.mark_message_id_reused(tx, mail.message_id)
        else:  # first: another message with this id written meanwhile cancels (decide again)
            keys.index_message_id(tx, mail.message_id, ticket_id, first=True, data={
                "sender": sender[:320], "digest": message.digest, "ses_id": receipt.ses_id})
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





def _department(recipients: list[str]) -> str:
    """The department whose address the mail was sent to (services/team/departments.for_address:
    its own address, `<name>@<support domain>` by default, a +tag too), else general."""
    for address in recipients:
        found = departments.for_address(address)
        if found is not None:
            return found
    return "general"



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
        "dropped": mailtext.dropped(mail) or None,  # files not kept, and why
    }


def _automail_key(sender: str, now: datetime | None = None) -> tuple[str, str]:
    """The keys-table window counting automatic acknowledgements to `sender` this hour."""
    return (keys.rate_pk("automail", contacts.email_key(sender)),
            (now or clock.now()).strftime("%Y%m%d%H"))
