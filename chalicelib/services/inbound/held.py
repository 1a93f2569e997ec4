"""Held items: what a customer sent that Setu could not turn into a ticket message, and every
inbound event it rejected, kept with the reason so nothing is only in a log line.

  mail     no usable sender (an address the validator refuses, none at all), unparseable,
           larger than SES delivers, spam or virus verdict, a bounce about mail we cannot
           find, the raw object missing; the raw MIME stays in the mail bucket
  sms      a two-way SMS notification that cannot be read (no usable number, no id), an
           empty message; whatever text could be salvaged is kept
  event    a notification that is not its provider's shape (email, SES or SMS delivery events)

Each is written in the same transaction as the event's once-marker (services/inbound/once.py:
the marker's data names the held item), so a redelivered event holds nothing twice. The
`reason` is a short code (`no_sender`, `unparseable`, `too_large`, `spam`, `virus`,
`raw_missing`, `unmatched_bounce`, `unreadable_sms`, `empty_message`, `unreadable_event`;
`unauthenticated`: DMARC failed, or SPF and DKIM both failed without DMARC), `detail`
the words.

Keys table (db/keys.py): `held#open / <id>` until an admin decides, then `held#closed / <id>`
(moved in the transaction that releases or discards it, with its audit entry). Ids start with
the UTC time held, so a partition reads in time order. Admins list them (newest first), release
one to a ticket (a new ticket for a chosen email or phone, or an existing ticket by id or ref:
the message joins it as received, `message.released` on the timeline) or discard it
(services/team/audit.py records both). AWS calls: holding adds two items to the marker's
transaction; a page is one Query; a release reads the raw mail (S3) and writes one
transaction with the ticket change.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any

from chalicelib import clock, ids, observability
from chalicelib.db import cursors, keys
from chalicelib.db.connection import Cancelled, Transaction, transaction
from chalicelib.db.models import Key
from chalicelib.db.values import as_dict
from chalicelib.errors import BadRequest, Conflict, NotFound, ValidationFailed
from chalicelib.integrations import storage
from chalicelib.services.customers import contacts
from chalicelib.services.inbound import once
from chalicelib.services.portal.webform import WebContact
from chalicelib.services.team import audit, routing
from chalicelib.services.tickets import intake, work
from chalicelib.services.tickets import store as ticket_store

log = logging.getLogger("setu.held")

KINDS = ("email", "sms", "event")
STATES = ("held", "closed")
PAGE_DEFAULT, PAGE_MAX = 50, 200
SNIPPET = 300
MAX_BODY = 20_000  # as on the timeline
ID = re.compile(r"^\d{8}T\d{9}Z\.[0-9a-f]{8}$")
_BENGALI = re.compile(r"[\u0980-\u09FF]")


@dataclass
class Held:
    """What to keep about something held (the marker keeps the raw notification)."""

    kind: str  # email | sms | event
    reason: str  # short code
    detail: str = ""
    sender: str = ""
    subject: str = ""
    snippet: str = ""
    body: str = ""  # the text released as the message (mail: without quotes, as read)
    name: str = ""  # mail: the sender's display name
    lang: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)  # stored (intake.store_attachment)
    raw: dict[str, str] = field(default_factory=dict)  # {"bucket", "key"} or {"marker": pk}
    releasable: bool | None = None  # default: when there is a text or a file to release

    def can_release(self) -> bool:
        if self.releasable is not None:
            return self.releasable
        return self.kind in ("email", "sms") and bool(self.body.strip() or self.attachments)


def new_id() -> str:
    now = clock.now()
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z.{os.urandom(4).hex()}"


def hold(tx: Transaction, item: Held, source: str, provider_id: str, held_id: str = "") -> str:
    """Add the held item to the caller's transaction (with the event's marker); its id."""
    held_id = held_id or new_id()
    tx.save(Key(pk=keys.held_pk("open"), sk=held_id, data={
        "id": held_id, "kind": item.kind, "reason": item.reason, "detail": item.detail[:500],
        "at": clock.iso(clock.now()), "state": "held", "source": source,
        "provider_id": provider_id[:128], "sender": item.sender[:320],
        "subject": item.subject[:200], "snippet": item.snippet[:SNIPPET],
        "body": item.body[:MAX_BODY], "name": item.name[:100], "lang": item.lang,
        "attachments": item.attachments,
        "raw": item.raw or {"marker": keys.inbound_pk(source, provider_id)},
        "releasable": item.can_release()}), condition=Key.pk.does_not_exist(), label="extra")
    return held_id


def record(source: str, provider_id: str, outcome: str, item: Held, /, *, held_id: str = "",
           **data: Any) -> str:
    """The event's marker (`outcome`, `data`, the held id) and the held item, once: returns
    `outcome`, or "duplicate" when the event was recorded before (then the files stored for
    this item are removed again)."""
    try:
        with transaction() as tx:
            held_id = hold(tx, item, source, provider_id, held_id)
            once.mark(tx, source, provider_id, outcome, held=held_id, reason=item.detail[:500],
                      **{k: v for k, v in data.items() if k != "reason"})
    except Cancelled:
        storage.delete_quietly([a["key"] for a in item.attachments if a.get("key")])
        return once.DUPLICATE
    log.warning("%s %s held (%s): %s", source, provider_id, item.reason,
                observability.scrub(item.detail[:200]))
    return outcome


# ---- reading -------------------------------------------------------------------------------

def page(*, kind: str = "", state: str = "held", cursor: str = "", limit: int = PAGE_DEFAULT
         ) -> dict[str, Any]:
    """Held items, newest first: `state` held (to decide) or closed (released, discarded)."""
    if kind and kind not in KINDS:
        raise BadRequest("Unknown kind.", {"kind": " | ".join(KINDS)})
    if state not in STATES:
        raise BadRequest("Unknown state.", {"state": " | ".join(STATES)})
    if not 1 <= limit <= PAGE_MAX:
        raise BadRequest(f"limit is 1 to {PAGE_MAX}.", {"limit": f"1 to {PAGE_MAX}"})
    pk = keys.held_pk("open" if state == "held" else "closed")
    start = None
    if cursor:
        sk = cursors.decode_text(cursor, 40)
        if sk is None or not ID.match(sk):
            raise BadRequest("Invalid cursor.", {"cursor": "not a cursor from this API"})
        start = {"pk": {"S": pk}, "sk": {"S": sk}}
    found = Key.query(pk, scan_index_forward=False, limit=limit, last_evaluated_key=start,
                      filter_condition=(Key.data["kind"] == kind) if kind else None)
    items = [view(item) for item in found]
    last = found.last_evaluated_key
    return {"items": items, "next": cursors.encode_text(last["sk"]["S"]) if last else None}


def view(item: Key) -> dict[str, Any]:
    data = as_dict(item.data)
    data.pop("body", None)  # the listing shows the snippet; the whole text is in `get`
    data["attachments"] = [{k: a.get(k) for k in ("filename", "content_type", "size")}
                           for a in data.get("attachments") or []]
    return data


def get(held_id: str) -> dict[str, Any]:
    item = _find(held_id)
    return {**as_dict(item.data)}


def _find(held_id: str) -> Key:
    if not ID.match(held_id or ""):
        raise NotFound("No such held item.")
    found = list(Key.batch_get([(keys.held_pk("open"), held_id), (keys.held_pk("closed"), held_id)]))
    if not found:
        raise NotFound("No such held item.")
    return next((i for i in found if i.pk == keys.held_pk("open")), found[0])


# ---- deciding ------------------------------------------------------------------------------

def close_writes(tx: Transaction, item: Key, actor: str, state: str, outcome: dict[str, Any],
                 ) -> dict[str, Any]:
    """Move the item from open to closed with the decision and its audit entry, in the
    caller's transaction (label "extra": someone else decided it meanwhile)."""
    data = as_dict(item.data)
    closed = {**data, "state": state, "decided_by": actor, "decided_at": clock.iso(clock.now()),
              **outcome}
    tx.delete(Key(pk=keys.held_pk("open"), sk=item.sk), condition=Key.pk.exists(), label="extra")
    tx.save(Key(pk=keys.held_pk("closed"), sk=item.sk, data=closed),
            condition=Key.pk.does_not_exist(), label="extra")
    audit.add(tx, actor, f"held.{state}", f"held:{item.sk}",
              before={"state": "held", "kind": data.get("kind"), "reason": data.get("reason"),
                      "sender": data.get("sender")},
              after={"state": state, **outcome})
    return closed


def discard(held_id: str, actor: str) -> dict[str, Any]:
    item = _find(held_id)
    if item.pk == keys.held_pk("closed"):
        return _already(item, "discarded")
    try:
        with transaction() as tx:
            closed = close_writes(tx, item, actor, "discarded", {})
    except Cancelled:
        return _already(_find(held_id), "discarded")
    return closed


def _already(item: Key, wanted: str) -> dict[str, Any]:
    """A decided item: the same decision again is answered as done (a retried request);
    the other one is a conflict."""
    data = as_dict(item.data)
    if data.get("state") == wanted:
        return data
    if data.get("state") == "held":  # a concurrent decision was undone? read it again
        raise Conflict("The held item changed meanwhile; try again.")
    raise Conflict(f"This held item was {data.get('state')} already.", {"state": data.get("state", "")})


@dataclass
class Target:
    """Where a released message goes: an existing ticket, or a new one for a chosen contact."""

    ticket: str = ""
    email: str = ""
    phone: str = ""
    name: str = ""


def read_target(body: dict[str, Any]) -> Target:
    allowed = {"ticket", "email", "phone", "name"}
    unknown = set(body) - allowed
    if unknown:
        raise ValidationFailed("Unknown fields.", {k: "not a field of a release" for k in sorted(unknown)})
    values = {}
    for name in allowed:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > 320:
            raise ValidationFailed("Invalid value.", {name: "a string of at most 320 characters"})
        values[name] = value.strip()
    chosen = [n for n in ("ticket", "email", "phone") if values.get(n)]
    if len(chosen) != 1:
        raise ValidationFailed("Name exactly one of ticket, email or phone.",
                               {"ticket": "a ticket id or ref", "email": "or an address",
                                "phone": "or a number"})
    return Target(**values)


def release(held_id: str, actor: str, body: dict[str, Any]) -> dict[str, Any]:
    """The held message joins a ticket: the existing one named, or a new one for the chosen
    email or phone (no acknowledgement: an admin chose the address, the customer did not
    write from it). Retried after it succeeded: the same answer."""
    target = read_target(body)
    item = _find(held_id)
    if item.pk == keys.held_pk("closed"):
        return _already(item, "released")
    data = as_dict(item.data)
    if not data.get("releasable"):
        raise Conflict("This held item has no message to release (discard it).",
                       {"kind": str(data.get("kind")), "reason": str(data.get("reason"))})
    message = _message(data)
    try:
        if target.ticket:
            return _to_ticket(item, data, message, target.ticket, actor)
        return _to_new_ticket(item, data, message, target, actor)
    except Cancelled as exc:
        if "extra" in exc.labels:  # decided by someone else meanwhile
            return _already(_find(held_id), "released")
        raise


@dataclass
class _Released:
    """The held message as it will stand on the ticket."""

    channel: str
    text: str
    subject: str
    name: str
    lang: str
    attachments: list[dict[str, Any]]  # already stored when held
    fields: dict[str, Any]  # timeline fields beyond body, subject, sender


def _message(data: dict[str, Any]) -> _Released:
    """What was kept when the item was held (the API function reads no raw mail)."""
    text = str(data.get("body") or "")
    words = " ".join(text.split())
    subject = " ".join(str(data.get("subject") or "").split()) or (
        (words[:60] + "…") if len(words) > 60 else words) or "(no subject)"
    channel = "sms" if data.get("kind") == "sms" else "email"
    raw = as_dict(data.get("raw"))
    return _Released(
        channel=channel, text=text, subject=subject, name=str(data.get("name") or ""),
        lang=str(data.get("lang") or "") or ("bn" if _BENGALI.search(text) else "en"),
        attachments=[as_dict(a) for a in data.get("attachments") or []],
        fields={"raw_key": str(raw.get("key") or "") or None if channel == "email" else None,
                "provider_id": str(data.get("provider_id") or "")[:128] or None})


def _event_data(data: dict[str, Any], actor: str) -> dict[str, Any]:
    return {"released_from": data["id"], "held_reason": data.get("reason"), "by": actor,
            "held_sender": str(data.get("sender") or "")[:320]}


def _to_ticket(item: Key, data: dict[str, Any], message: _Released, wanted: str,
               actor: str) -> dict[str, Any]:
    try:
        ticket = ticket_store.load(wanted)
    except NotFound:
        raise ValidationFailed("No such ticket.", {"ticket": "a ticket id or ref"}) from None
    uid = ids.new_id("m")
    attachments = message.attachments
    fields = {"message_uid": uid, "channel": message.channel, "kind": "message",
              "body": message.text or "(empty message)", "subject": message.subject[:200],
              "sender": str(data.get("sender") or "")[:320] or None,
              "attachments": attachments or None,
              **{k: v for k, v in message.fields.items() if v}}
    outcome: dict[str, Any] = {}

    def writes(tx: Transaction) -> None:
        outcome.update(close_writes(tx, item, actor, "released",
                                    {"ticket_id": ticket.id, "ref": ticket.ref}))

    saved = work.record_inbound(ticket.id, fields, held=False, automatic=False,
                                event_data=_event_data(data, actor), extra_writes=writes,
                                ticket=ticket)
    return {**outcome, "ticket_id": saved.id, "ref": saved.ref}


def _to_new_ticket(item: Key, data: dict[str, Any], message: _Released, target: Target,
                   actor: str) -> dict[str, Any]:
    try:
        email = contacts.normalise_email(target.email) if target.email else ""
    except contacts.InvalidContact as exc:
        raise ValidationFailed("Invalid email address.", {"email": str(exc)[:200]}) from None
    try:
        phone = contacts.normalise_phone(target.phone) if target.phone else ""
    except contacts.InvalidContact as exc:
        raise ValidationFailed("Invalid phone number.", {"phone": str(exc)[:200]}) from None
    department, priority = routing.route(routing.Contact(
        channel=message.channel, subject=message.subject, body=message.text))
    contact = WebContact(message=message.text or "(empty message)",
                         name=(target.name or message.name)[:100], email=email, phone=phone,
                         subject=message.subject[:200] or "(no subject)", department=department,
                         lang=message.lang)
    outcome: dict[str, Any] = {}

    def writes(tx: Transaction, ticket_id: str) -> None:
        outcome.update(close_writes(tx, item, actor, "released", {"ticket_id": ticket_id}))

    ticket = intake.create(contact, intake.Arrival(
        channel=message.channel, priority=priority, acknowledge=False,
        message_fields={**{k: v for k, v in message.fields.items() if v},
                        **({"attachments": message.attachments} if message.attachments else {})},
        extra_writes=writes, event_data=_event_data(data, actor)))
    return {**outcome, "ticket_id": ticket.id, "ref": ticket.ref}
