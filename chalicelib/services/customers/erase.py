"""Erasing a customer's personal data (docs/security.md, "Data protection"): `setu
erase-customer <id>` and `POST /api/customers/{id}/erase` (admin).

What goes, for the customer and every customer merged into them (the same person):
- the customer record's name, emails, phones and the addresses in its merge records; the
  record stays as a tombstone (`erased`: state, when, by whom, how many tickets) so ids in
  tickets and reports still resolve;
- identity keys (`email#...`, `phone#...`: deleted when they still name this customer);
- per ticket: the subject and the conversation's address (the ticket keeps status, times, department, priority, SLA and
  counts: an anonymised shell, so reports still add up) and its `word#` search keys; the
  texts in its decision and timer notes; on its timeline every message's body, subject,
  sender, recipient, addresses, HTML, attachments' names, raw-mail key and error text, and
  event data fields that carry text (comments, notes, questions, addresses); a message still
  queued is marked failed ("erased") so it is never sent;
- in the mail bucket: every version and delete marker of its attachments and raw mail
  (ListObjectVersions + DeleteObjects with version ids).

What stays: suppression keys (`suppress#email#<address>`, `suppress#sms#<number>`) keep the
address so it is never mailed again (an objection must keep working after erasure); their
extra detail is dropped. The audit log is append-only and keeps its entries (docs/security.md).

Idempotent and resumable: the work is done ticket by ticket, each ticket marked `erased_at`
when its content is gone, and the customer record (which lists the addresses to remove) is
the last thing scrubbed; a retry skips what is done and finishes the rest. An audit entry
`customer.erase.started` opens the job and `customer.erased` (ids and counts only) closes it.

AWS calls: per customer a GetItem, a Query of its tickets, BatchWriteItem/DeleteItem for
keys, a TransactWriteItems at each end; per ticket a Query of its timeline, an UpdateItem per
message or event with text, a ListObjectVersions per attachment/raw-mail prefix and a
DeleteObjects per 1,000 versions, an UpdateItem of the ticket."""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.db import keys
from chalicelib.db.connection import transaction
from chalicelib.db.models import Customer, Key, Ticket, TimelineItem
from chalicelib.db.values import as_dict
from chalicelib.integrations import storage
from chalicelib.services.customers import contacts
from chalicelib.services.messaging import suppression
from chalicelib.services.team import audit
from chalicelib.services.tickets import search

ERASED_TEXT = "[erased]"
MAX_TICKETS_PER_REQUEST = 100  # more: the API answers 202 and the same POST continues
STARTED, DONE = "erasing", "done"
MESSAGE_TEXT = ("body", "full_body", "html", "subject", "sender", "recipient", "reply_to",
                "from_address", "in_reply_to", "references", "raw_key", "error", "attachments",
                "fallback")
EVENT_TEXT = ("comment", "note", "question", "message", "body", "email", "phone", "address",
              "recipient", "sender", "to", "from", "subject", "name", "text", "reason_text")
DECISION_TEXT = ("question", "comment", "message")


def erase(customer_id: str, actor: str, *, max_tickets: int | None = None) -> dict[str, Any]:
    """Erase the customer's personal data; returns {customer, state, tickets, versions}.
    NotFound for an unknown customer. Safe to call again: it finishes an interrupted job and
    answers the same for a finished one. With `max_tickets` (the API: MAX_TICKETS_PER_REQUEST,
    to stay within API Gateway's time limit) it stops after scrubbing that many tickets and
    answers state "erasing": call again to continue."""
    from chalicelib.services.customers import admin  # deferred: cold start (merge machinery)

    customer = admin.load(customer_id)
    record = as_dict(customer.erased)
    if record.get("state") == DONE:
        return _result(customer.id, record)
    now = clock.now()
    if record.get("state") != STARTED:
        record = {"state": STARTED, "at": clock.iso(now), "by": actor}
        with transaction() as tx:
            tx.update(Customer(id=customer.id), actions=[Customer.erased.set(record)],
                      label="customer")
            audit.add(tx, actor, "customer.erase.started", f"customer:{customer.id}", at=now,
                      after={"customer": customer.id})
    people = [customer] + [_customer(other) for other in sorted(as_dict(customer.merged_from))]
    people = [p for p in people if p is not None]
    tickets = versions = scrubbed = 0
    for person in people:
        for ticket in _tickets(person.id):
            if ticket.erased_at is None:
                if max_tickets is not None and scrubbed >= max_tickets:
                    return {**_result(customer.id, record), "tickets": tickets, "versions": versions}
                scrubbed += 1
            versions += _erase_ticket(ticket)
            tickets += 1
    for person in people:
        _forget_identities(person)
    done = {"state": DONE, "at": clock.iso(clock.now()), "by": actor, "started_at": record["at"],
            "tickets": tickets}
    with transaction() as tx:
        for person in people:
            tx.update(Customer(id=person.id), actions=[
                Customer.name.remove(), Customer.emails.remove(), Customer.phones.remove(),
                Customer.merge.set(_scrub_merge(as_dict(person.merge))) if person.merge else Customer.merge.remove(),
                Customer.merged_from.set({k: _scrub_merge(as_dict(v)) for k, v in as_dict(person.merged_from).items()})
                if person.merged_from else Customer.merged_from.remove(),
                Customer.erased.set(done if person.id == customer.id
                                    else {**done, "with": customer.id})], label="customer")
        audit.add(tx, actor, "customer.erased", f"customer:{customer.id}",
                  after={"customer": customer.id, "merged": [p.id for p in people[1:]],
                         "tickets": tickets, "object_versions": versions})
    return {**_result(customer.id, done), "versions": versions}


def _result(customer_id: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"customer": customer_id, "state": record.get("state"), "at": record.get("at"),
            "tickets": int(record.get("tickets") or 0)}


def _customer(customer_id: str) -> Customer | None:
    try:
        return Customer.get(customer_id, consistent_read=True)
    except Customer.DoesNotExist:
        return None


def _tickets(customer_id: str) -> list[Ticket]:
    found = [t.id for t in Ticket.customer_index.query(customer_id)]
    # the index copy is eventually consistent: read each ticket itself
    return [t for t in (Ticket.batch_get(found) if found else ()) if t.customer_id == customer_id]


def _erase_ticket(ticket: Ticket) -> int:
    """Scrub one ticket's content; returns how many object versions were deleted."""
    versions = 0
    if ticket.erased_at is None:
        versions += storage.delete_every_version(f"attachments/{ticket.id}/")
        for item in TimelineItem.query(ticket.id, consistent_read=True):
            versions += _erase_item(item)
        for word in search.words(ticket.subject or "", limit=search.MAX_WORDS):
            Key(pk=keys.word_pk(word), sk=ticket.id).delete()
        for word in ticket.name_words or ():
            Key(pk=keys.name_pk(word), sk=keys.name_sk(word, ticket.id)).delete()
    _scrub_ticket(ticket)
    return versions


def _erase_item(item: TimelineItem) -> int:
    versions = 0
    actions = []
    if item.item_type == "message":
        for attachment in item.attachments or ():
            key = as_dict(attachment).get("key")
            if key and not key.startswith(f"attachments/{item.ticket_id}/"):
                versions += storage.delete_every_version(key, exact=True)
        if item.raw_key:
            versions += storage.delete_every_version(item.raw_key, exact=True)
        for name in MESSAGE_TEXT:
            if getattr(item, name) is not None:
                attribute = getattr(TimelineItem, name)
                actions.append(attribute.set(ERASED_TEXT) if name == "body" else attribute.remove())
        if item.data is not None:  # staff mail keeps the ticket's subject and a summary line
            actions.append(TimelineItem.data.remove())
        if item.status in ("queued", "sending"):
            actions.append(TimelineItem.status.set("failed"))
    elif item.data is not None:
        data = as_dict(item.data)
        scrubbed = _scrub(data)
        if scrubbed != data:
            actions.append(TimelineItem.data.set(scrubbed))
    if actions:
        item.update(actions=actions)
    return versions


def _scrub(value: Any) -> Any:
    """`value` without the text fields (EVENT_TEXT) at any depth."""
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in EVENT_TEXT}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _scrub_ticket(ticket: Ticket) -> None:
    """Subject, decision texts and timer notes go; the shell stays. Retried on a race."""
    for _ in range(5):
        current = Ticket.get(ticket.id, consistent_read=True)
        if current.erased_at is not None:
            return
        current.subject = ERASED_TEXT
        current.contact = None  # the conversation's address (services/messaging/routes.py)
        current.name_words = None  # the customer's name, as searched (tickets/search.py)
        if current.decision is not None:
            current.decision = {k: v for k, v in as_dict(current.decision).items()
                                if k not in DECISION_TEXT}
        current.timers = {name: _scrub(as_dict(timer)) for name, timer in as_dict(current.timers).items()}
        current.erased_at = clock.now()
        try:
            current.save()  # conditional on the version it was read at
            return
        except Exception as exc:  # noqa: BLE001 - a timer or reply saved it meanwhile: again
            if "ConditionalCheckFailed" not in str(exc):
                raise
    raise RuntimeError(f"ticket {ticket.id} kept changing; erase again")


def _forget_identities(person: Customer) -> None:
    """Identity keys that still name this person go; suppressions keep the address only."""
    emails = sorted(person.emails or ()) + sorted(as_dict(person.merge).get("emails") or ())
    phones = sorted(person.phones or ()) + sorted(as_dict(person.merge).get("phones") or ())
    for pk in ([keys.email_pk(contacts.email_key(e)) for e in emails]
               + [keys.phone_pk(p) for p in phones]):
        try:
            Key(pk=pk, sk=keys.NO_SORT).delete(condition=Key.target == person.id)
        except Exception as exc:  # noqa: BLE001 - gone already, or someone else's now
            if "ConditionalCheckFailed" not in str(exc):
                raise
    for pk in ([suppression.pk(e, "email") for e in emails]
               + [suppression.pk(p, "sms") for p in phones]):
        try:
            Key(pk=pk, sk=keys.NO_SORT).update(actions=[Key.data.remove()],
                                               condition=Key.pk.exists())
        except Exception as exc:  # noqa: BLE001 - not suppressed: nothing to keep
            if "ConditionalCheckFailed" not in str(exc):
                raise


def _scrub_merge(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("emails", "phones")}
