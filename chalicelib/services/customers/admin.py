"""Customers through the agent API: find, read (channels with their consent state, tickets),
edit, merge two records of one person, and undo that merge.

Data (db/models.py Customer): `revision` counts agent edits, merges and unmerges (the API's
`version`; writes here are conditional on it). A customer merged away keeps its own emails,
phones and opt-outs as they were and gets `merged_into` (the survivor) and `merge` (the
record: state, when, who, the emails and phones whose identities moved); the survivor gets
`merged_from[<other id>]` (when, who, state, the emails, phones and opt-out channels it gained).

Keys table, besides the identities (`email#...` / `phone#...` -> customer id):

  customer-merge#<other id> / <ticket id>   target: survivor id
      one marker per ticket a merge moved, written in the transaction that moves the ticket
      and deleted in the one that moves it back: what an unmerge returns, exactly.

A merge (survivor S absorbs other O) runs in steps, each a transaction with its audit entry:

  1. start: O gets merged_into = S and the record (state `moving`), S gets merged_from[O].
     From here intake adds nothing to O (customers.CustomerPlan's condition): a contact
     whose identities still point at O goes to S (intake follows merged_into, one hop).
  2. identities: O's email#/phone# keys re-point to S (each conditional on pointing at O).
  3. tickets: pages of O's tickets (customer-index, then read consistently) move to S, each
     conditional on its version and customer, with its marker and the two ticket_counts.
  4. finish: S gains O's emails and phones (and O's opt-outs for channels S has none for);
     state `done`.

Every step only does what is still undone, so a merge that stopped half-way (a crash, a
timeout, a request bounded at MAX_TICKETS_PER_REQUEST) is completed by POSTing it again.
Unmerge runs the same steps backwards (state `unmerging`): keys that still point at S go back
to O, the marked tickets that are still S's go back, S loses what it gained. Tickets S got
after the merge (a new mail from O's old address) stay with S.

Longer than 600 lines: merge and unmerge are one resumable state machine (each step
must know how the other undoes it), kept in one place.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from chalicelib import clock
from chalicelib.db import cursors, keys
from chalicelib.db.connection import Cancelled, transaction, until_written
from chalicelib.db.models import Customer, Key, Ticket
from chalicelib.db.values import as_dict
from chalicelib.errors import BadRequest, Conflict, NotFound, ValidationFailed
from chalicelib.ids import BENGALI_DIGITS
from chalicelib.services.customers import contacts
from chalicelib.services.messaging import suppression
from chalicelib.services.team import agents, audit, scope
from chalicelib.services.tickets import store as ticket_store
from chalicelib.services.tickets import views

PAGE_DEFAULT, PAGE_MAX = 25, 100
MAX_CHANGES = 20  # identities added + removed in one edit (one transaction, <= 25 items)
MAX_NAME = 200
LANGS = ("bn", "en")
KEY_BATCH = 20  # identities re-pointed per transaction
TICKET_BATCH = 10  # tickets moved per transaction (ticket + marker each, 2 customers, audit)
MAX_TICKETS_PER_REQUEST = 500  # more: the answer is 202 and the same POST continues
WRITE_ATTEMPTS = 3
PASSES = 5  # re-reads of the customer index while tickets keep changing under a move
OPT_OUT_REASONS = ("unsubscribe", "opt-out")  # the person's choice; others are delivery failures
EDIT_FIELDS = ("name", "lang", "add_emails", "remove_emails", "add_phones", "remove_phones",
               "version")
MOVING, DONE, UNMERGING = "moving", "done", "unmerging"


def marker_pk(other_id: str) -> str:
    return keys.customer_merge_pk(other_id)


# ---- pure parts ------------------------------------------------------------------------------

def classify(q: str) -> tuple[str, str]:
    """What a search text is: ("id", customer id), ("email", normalised address), ("ref",
    ticket ref) or ("phone", E.164). BadRequest when empty, ValidationFailed when it is none."""
    q = (q or "").strip()
    if not q:
        raise BadRequest("Say what to look for.",
                         {"q": "an email address, phone number, ticket ref or customer id"})
    if len(q) > 320:
        raise BadRequest("The search text is too long.", {"q": "at most 320 characters"})
    if q.startswith("c_"):
        if len(q) > 64 or not q.replace("_", "").isalnum():
            raise ValidationFailed("Not a customer id.", {"q": "not a customer id"})
        return "id", q
    if "@" in q:
        try:
            return "email", contacts.normalise_email(q)
        except contacts.InvalidContact:
            raise ValidationFailed("Not a valid email address.", {"q": "not a valid email address"}) from None
    digits = q.lstrip("#").translate(BENGALI_DIGITS)
    if digits.isdigit() and (q.startswith("#") or len(digits) <= 9):
        return "ref", digits.lstrip("0") or "0"
    if any(ch.isdigit() for ch in digits):
        try:
            return "phone", contacts.normalise_phone(q)
        except contacts.InvalidContact:
            raise ValidationFailed("Not a valid phone number.", {"q": "not a valid phone number"}) from None
    raise ValidationFailed("Search by email address, phone number, ticket ref or customer id.",
                           {"q": "an email address, phone number, ticket ref or customer id"})


@dataclass
class Changes:
    """A validated PATCH body; contacts normalised (emails as stored, phones E.164)."""

    name: Any = ...  # ... unchanged, None cleared, else the new name
    lang: str | None = None
    add_emails: list[str] | None = None
    remove_emails: list[str] | None = None
    add_phones: list[str] | None = None
    remove_phones: list[str] | None = None
    version: int | None = None


def parse_changes(body: Any) -> Changes:
    if not isinstance(body, dict) or not body:
        raise BadRequest("Send a JSON object with the fields to change.",
                         {"body": "an object with " + ", ".join(EDIT_FIELDS)})
    unknown = {k: "unknown field" for k in body if k not in EDIT_FIELDS}
    if unknown:
        raise BadRequest("Unknown fields.", unknown)
    errors: dict[str, str] = {}
    out = Changes()
    if "name" in body:
        name = body["name"]
        if name is not None and (not isinstance(name, str) or len(name.strip()) > MAX_NAME):
            errors["name"] = f"text, at most {MAX_NAME} characters, or null"
        else:
            out.name = (name or "").strip() or None
    if "lang" in body and body["lang"] is not None:
        if body["lang"] not in LANGS:
            errors["lang"] = "bn or en"
        else:
            out.lang = body["lang"]
    version = body.get("version")
    if version is not None:
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            errors["version"] = "a whole number (the customer's version)"
        else:
            out.version = version
    # types and sizes first: a huge list is refused on its length alone, nothing of it
    # normalised (that could outlast the Lambda) or echoed back (the error stays small)
    lists: dict[str, list[Any]] = {}
    count = 0
    for field in ("add_emails", "remove_emails", "add_phones", "remove_phones"):
        raw = body.get(field)
        if raw is None:
            continue
        if not isinstance(raw, list):
            errors[field] = "a list of strings"
            continue
        if len(raw) > MAX_CHANGES:
            errors[field] = f"at most {MAX_CHANGES} values"
        count += len(raw)
        lists[field] = raw
    if count > MAX_CHANGES:
        errors["body"] = f"at most {MAX_CHANGES} emails and phones added or removed at once"
        raise ValidationFailed("Invalid change.", errors)
    for field, normalise in (("add_emails", contacts.normalise_email),
                             ("remove_emails", contacts.normalise_email),
                             ("add_phones", contacts.normalise_phone),
                             ("remove_phones", contacts.normalise_phone)):
        raw = lists.get(field)
        if raw is None:
            continue
        if not all(isinstance(v, str) for v in raw):
            errors[field] = "a list of strings"
            continue
        values, bad = [], []
        for value in raw:
            try:
                values.append(normalise(value))
            except contacts.InvalidContact:
                bad.append(value[:100])
        if bad:
            errors[field] = "not valid: " + ", ".join(bad)
        setattr(out, field, list(dict.fromkeys(values)))
    for kind, key in (("emails", contacts.email_key), ("phones", str)):
        both = ({key(v) for v in getattr(out, f"add_{kind}") or ()}
                & {key(v) for v in getattr(out, f"remove_{kind}") or ()})
        if both:
            errors[f"add_{kind}"] = "both added and removed: " + ", ".join(sorted(both))
    if errors:
        raise ValidationFailed("Invalid change.", errors)
    return out


def channel_states(emails: Iterable[str], phones: Iterable[str], opted_out: dict[str, Any],
                   records: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each email and phone with its consent state: `ok`, `opted_out` (the person's choice:
    an unsubscribe from automatic mail, an SMS STOP) or `suppressed` (a bounce, a complaint,
    an undeliverable number), with reason, when and the detail recorded. `records`:
    suppression key pk -> {"reason", "at", "detail"} for those that exist; `opted_out`: the
    customer's per-channel opt-outs ({"at", "source", "address"?})."""
    out = []
    for channel, addresses in (("email", sorted(emails)), ("sms", sorted(phones))):
        choice = dict(opted_out.get(channel) or {})
        for address in addresses:
            record = records.get(suppression.pk(address, channel))
            named = choice.get("address")
            applies = bool(choice) and (
                (named and contacts.email_key(str(named)) == contacts.email_key(address))
                or (not named and (record is not None or len(addresses) == 1)))
            state: dict[str, Any] = {"channel": channel, "address": address, "state": "ok",
                                     "reason": None, "at": None, "detail": None,
                                     "source": None, "scope": None}
            if record is not None:
                reason = record.get("reason") or ""
                state.update(state="opted_out" if reason in OPT_OUT_REASONS else "suppressed",
                             reason=reason, at=record.get("at") or None,
                             detail=record.get("detail") or None,
                             scope="automatic" if reason in suppression.AUTOMATIC_ONLY else "all")
            elif applies:
                state.update(state="opted_out", reason="opt-out", at=choice.get("at"),
                             scope=choice.get("scope") or "all")
            if applies:
                state["source"] = choice.get("source")
            out.append(state)
    return out


def editable(customer: Customer) -> dict[str, Any]:
    """What an agent can change (audit before/after)."""
    return {"name": customer.name, "lang": customer.lang,
            "emails": sorted(customer.emails or ()), "phones": sorted(customer.phones or ())}


# ---- reading ---------------------------------------------------------------------------------

def load(customer_id: str, agent: agents.AgentView | None = None) -> Customer:
    """Given the agent asking, one outside their scope is NotFound too (team/scope.py)."""
    customer_id = (customer_id or "").strip()
    if not customer_id or len(customer_id) > 64 or not customer_id.replace("_", "").isalnum():
        raise NotFound("No such customer.")
    try:
        customer = Customer.get(customer_id, consistent_read=True)
    except Customer.DoesNotExist:
        raise NotFound("No such customer.") from None
    return scope.check_customer(agent, customer) if agent is not None else customer


def summary(customer: Customer) -> dict[str, Any]:
    return {"id": customer.id, "name": customer.name,
            "emails": sorted(customer.emails or ()), "phones": sorted(customer.phones or ()),
            "lang": customer.lang, "ticket_count": int(customer.ticket_count or 0),
            "version": int(customer.revision or 0), "merged_into": customer.merged_into}


def find(q: str, agent: agents.AgentView | None = None) -> dict[str, Any]:
    """The customer an email, phone, ticket ref or id names: at most one (exact look-ups).
    Given the agent asking, one outside their scope (team/scope.py) is not found."""
    kind, value = classify(q)
    customer_id: str | None
    if kind == "id":
        customer_id = value
    elif kind == "email":
        customer_id = keys.target(keys.email_pk(contacts.email_key(value)))
    elif kind == "phone":
        customer_id = keys.target(keys.phone_pk(value))
    else:
        ticket_id = keys.target(keys.ref_pk(value))
        ticket = ticket_store.find(ticket_id) if ticket_id else None
        customer_id = ticket.customer_id if ticket else None
    if not customer_id:
        return {"items": []}
    try:
        customer = Customer.get(customer_id)
    except Customer.DoesNotExist:
        return {"items": []}
    if agent is not None and not scope.customer_in_scope(agent, customer):
        return {"items": []}
    return {"items": [summary(customer)]}


def get(customer_id: str, *, cursor: str = "", limit: int = PAGE_DEFAULT,
        agent: agents.AgentView | None = None) -> dict[str, Any]:
    if not 1 <= limit <= PAGE_MAX:
        raise BadRequest("Invalid limit.", {"limit": f"between 1 and {PAGE_MAX}"})
    customer = load(customer_id, agent)
    start = cursors.decode_cursor(cursor, Ticket.customer_index, customer.id)
    return view(customer, cursor=start, limit=limit, agent=agent)


def view(customer: Customer, *, cursor: dict | None = None, limit: int = PAGE_DEFAULT,
         agent: agents.AgentView | None = None) -> dict[str, Any]:
    """The customer, each channel with its consent state, a page of their tickets (queue
    order: soonest due first, finished ones last) and the merges they took part in. Given
    the agent asking, only the tickets of their departments are listed (team/scope.py)."""
    emails, phones = set(customer.emails or ()), set(customer.phones or ())
    wanted = [(suppression.pk(a, "email"), keys.NO_SORT) for a in emails]
    wanted += [(suppression.pk(p, "sms"), keys.NO_SORT) for p in phones]
    records = {}
    for item in (Key.batch_get(wanted) if wanted else ()):
        data = as_dict(item.data)
        records[item.pk] = {"reason": item.target, "at": data.get("at"), "detail": data.get("detail")}
    page = Ticket.customer_index.query(customer.id, limit=limit, last_evaluated_key=cursor)
    items = [views.summary(t) for t in (page if agent is None else scope.visible(agent, page))]
    opted = as_dict(customer.opted_out)
    return {
        **summary(customer),
        "created_at": _iso(customer.created_at), "last_contact_at": _iso(customer.last_contact_at),
        "channels": channel_states(emails, phones, opted, records),
        "opted_out": opted,
        "tickets": {"items": items, "next": cursors.encode_cursor(page.last_evaluated_key)},
        "merge": as_dict(customer.merge) or None,
        "merged_from": [{"id": other, **as_dict(entry)}
                        for other, entry in sorted(as_dict(customer.merged_from).items())],
    }


# ---- editing ---------------------------------------------------------------------------------

def update(customer_id: str, agent: agents.AgentView, body: Any) -> dict[str, Any]:
    changes = parse_changes(body)
    load(customer_id, agent)  # in scope (team/scope.py), else 404
    # a ticket arrived or an identity was claimed meanwhile: judge again from a fresh read
    until_written(lambda: _edit(load(customer_id), changes, agent), attempts=WRITE_ATTEMPTS,
                  conflict="The customer kept changing; reload and try again.")
    return view(load(customer_id), agent=agent)


def _edit(customer: Customer, changes: Changes, agent: agents.AgentView) -> None:
    if customer.merged_into:
        raise Conflict(f"This customer was merged into {customer.merged_into}; edit that one.",
                       {"merged_into": customer.merged_into})
    revision = int(customer.revision or 0)
    if changes.version is not None and changes.version != revision:
        raise Conflict("The customer changed since you read it; reload and try again.",
                       {"version": f"current version is {revision}"})
    emails, phones = set(customer.emails or ()), set(customer.phones or ())
    by_key = {contacts.email_key(e): e for e in emails}
    errors = {}
    missing = [e for e in changes.remove_emails or () if contacts.email_key(e) not in by_key]
    if missing:
        errors["remove_emails"] = "not this customer's: " + ", ".join(missing)
    missing = [p for p in changes.remove_phones or () if p not in phones]
    if missing:
        errors["remove_phones"] = "not this customer's: " + ", ".join(missing)
    if errors:
        raise ValidationFailed("Invalid change.", errors)
    removed_emails = {by_key[contacts.email_key(e)] for e in changes.remove_emails or ()}
    removed_phones = set(changes.remove_phones or ())
    added_emails = {e for e in changes.add_emails or () if contacts.email_key(e) not in by_key}
    added_phones = set(changes.add_phones or ()) - phones
    new_emails = (emails - removed_emails) | added_emails
    new_phones = (phones - removed_phones) | added_phones
    if not new_emails and not new_phones:
        raise ValidationFailed("A customer keeps at least one email address or phone number.",
                               {"remove_emails" if removed_emails else "remove_phones":
                                "would leave no email and no phone"})
    added = {keys.email_pk(contacts.email_key(e)): ("add_emails", e) for e in added_emails}
    added.update({keys.phone_pk(p): ("add_phones", p) for p in added_phones})
    removed = [keys.email_pk(contacts.email_key(e)) for e in removed_emails]
    removed += [keys.phone_pk(p) for p in removed_phones]
    owners = keys.lookup([*added, *removed])
    for pk, (field, address) in added.items():
        owner = owners.get(pk)
        if owner and owner != customer.id:
            raise Conflict(f"{address} belongs to customer {owner}: if they are one person, "
                           f"merge the two customers (POST /api/customers/{customer.id}/merge).",
                           {field: f"{address} belongs to customer {owner}", "customer": owner})

    before = editable(customer)
    actions = [Customer.revision.add(1)]
    if changes.name is not ... and changes.name != customer.name:
        customer.name = changes.name
        actions.append(Customer.name.set(changes.name) if changes.name else Customer.name.remove())
    if changes.lang and changes.lang != customer.lang:
        customer.lang = changes.lang
        actions.append(Customer.lang.set(changes.lang))
    for attribute, old, new in ((Customer.emails, emails, new_emails),
                                (Customer.phones, phones, new_phones)):
        if new != old:
            actions.append(attribute.set(new) if new else attribute.remove())
    customer.emails, customer.phones = new_emails or None, new_phones or None
    after = editable(customer)
    if before == after:
        return  # nothing to change: no write, no audit entry
    with transaction() as tx:
        tx.update(Customer(id=customer.id), actions=actions,
                  condition=_revision_is(revision) & Customer.merged_into.does_not_exist()
                  & _count_is(customer), label="customer")
        for pk in added:
            if owners.get(pk) != customer.id:
                tx.save(Key(pk=pk, sk=keys.NO_SORT, target=customer.id),
                        condition=Key.pk.does_not_exist(), label="identity")
        for pk in removed:
            if owners.get(pk) == customer.id:
                tx.delete(Key(pk=pk, sk=keys.NO_SORT), condition=Key.target == customer.id,
                          label="identity")
        audit.add(tx, agent.principal, "customer.updated", f"customer:{customer.id}",
                  before=before, after=after)


def _revision_is(revision: int):
    return Customer.revision == revision if revision else Customer.revision.does_not_exist()


def _count_is(customer: Customer):
    """The ticket count as read: intake adds identities only along with a new ticket, so an
    unchanged count means the emails and phones are the ones read."""
    count = customer.ticket_count
    return Customer.ticket_count.does_not_exist() if count is None else Customer.ticket_count == int(count)


# ---- merging ---------------------------------------------------------------------------------

def merge_body(body: Any) -> str:
    if not isinstance(body, dict):
        raise BadRequest("Send a JSON object.", {"body": 'an object like {"other": "<customer id>"}'})
    unknown = {k: "unknown field" for k in body if k != "other"}
    if unknown:
        raise BadRequest("Unknown fields.", unknown)
    other = body.get("other")
    if not isinstance(other, str) or not other.strip():
        raise BadRequest("Name the other customer.", {"other": "the other customer's id"})
    return other.strip()


def merge(survivor_id: str, other_id: str, agent: agents.AgentView) -> tuple[dict[str, Any], bool]:
    """`other_id` becomes part of `survivor_id`. Returns (result, finished); an unfinished
    merge (more than MAX_TICKETS_PER_REQUEST tickets, or one stopped by a failure) is
    continued by calling this again."""
    if survivor_id.strip() == other_id:
        raise Conflict("A customer cannot be merged with itself.", {"other": "the same customer"})

    def start() -> tuple[str, str]:
        survivor, other = load(survivor_id), load(other_id)
        record = as_dict(other.merge)
        if not (other.merged_into == survivor.id and record.get("state") == MOVING):
            _check_mergeable(survivor, other)
            _start_merge(survivor, other, agent)
        return survivor.id, other.id

    return _run_merge(*until_written(start, attempts=WRITE_ATTEMPTS,
                                     conflict="The customers kept changing; try again."), agent)


def _check_mergeable(survivor: Customer, other: Customer) -> None:
    if survivor.merged_into:
        raise Conflict(f"Customer {survivor.id} was merged into {survivor.merged_into}; "
                       "merge into that one.", {"merged_into": survivor.merged_into})
    if other.merged_into:
        raise Conflict(f"Customer {other.id} is already merged into {other.merged_into}.",
                       {"other": f"already merged into {other.merged_into}"})
    for customer in (survivor, other):
        for source, entry in as_dict(customer.merged_from).items():
            if as_dict(entry).get("state") != DONE:
                raise Conflict(f"The merge of {source} into {customer.id} is not finished; "
                               "complete or undo it first.", {"other": "a merge in progress"})


def _start_merge(survivor: Customer, other: Customer, agent: agents.AgentView) -> None:
    now = clock.iso(clock.now())
    emails, phones = sorted(other.emails or ()), sorted(other.phones or ())
    record = {"into": survivor.id, "state": MOVING, "at": now, "by": agent.principal,
              "emails": emails, "phones": phones}
    gained = {"at": now, "by": agent.principal, "state": MOVING, "emails": emails,
              "phones": phones, "opted_out": []}
    merged_from = {**as_dict(survivor.merged_from), other.id: gained}
    with transaction() as tx:
        tx.update(Customer(id=other.id), actions=[
            Customer.merged_into.set(survivor.id), Customer.merge.set(record),
            Customer.revision.add(1)],
            condition=(_revision_is(int(other.revision or 0))
                       & Customer.merged_into.does_not_exist() & _count_is(other)),
            label="other")
        tx.update(Customer(id=survivor.id), actions=[
            Customer.merged_from.set(merged_from), Customer.revision.add(1)],
            condition=(_revision_is(int(survivor.revision or 0))
                       & Customer.merged_into.does_not_exist()), label="survivor")
        audit.add(tx, agent.principal, "customer.merge.started", f"customer:{survivor.id}",
                  before={"survivor": editable(survivor), "other": {"id": other.id, **editable(other)}},
                  after={"survivor": survivor.id, "merged": other.id, "emails": emails,
                         "phones": phones})


def _run_merge(survivor_id: str, other_id: str, agent: agents.AgentView) -> tuple[dict[str, Any], bool]:
    other = load(other_id)
    record = as_dict(other.merge)
    guard = (Customer.merged_into == survivor_id) & (Customer.merge["state"] == MOVING)
    moved_keys = _move_identities(_identity_pks(record), other_id, survivor_id, holder=other_id,
                                  guard=guard, agent=agent, action="customer.merge.identities")
    moved, finished = _move_tickets(other_id, survivor_id, agent)
    if finished:
        _finish_merge(survivor_id, other_id, agent)
    survivor = load(survivor_id)
    return {"state": DONE if finished else MOVING, "survivor": view(survivor),
            "other": summary(load(other_id)),
            "moved": {"identities": moved_keys, "tickets": moved}}, finished


def _identity_pks(record: dict[str, Any]) -> list[str]:
    return ([keys.email_pk(contacts.email_key(e)) for e in record.get("emails") or ()]
            + [keys.phone_pk(p) for p in record.get("phones") or ()])


def _move_identities(pks: list[str], source: str, dest: str, *, holder: str, guard,
                     agent: agents.AgentView, action: str, recreate: bool = False) -> int:
    """Re-point the identities among `pks` that point at `source` to `dest`, each transaction
    checking `guard` on `holder` (the customer carrying the merge record); `recreate` (the
    way back): an identity dropped since is created again. Returns how many moved."""
    moved = 0
    for _ in range(PASSES):
        owners = keys.lookup(pks)
        todo = [pk for pk in pks if owners.get(pk) == source or (recreate and pk not in owners)]
        if not todo:
            return moved
        try:
            for start in range(0, len(todo), KEY_BATCH):
                chunk = todo[start:start + KEY_BATCH]
                with transaction() as tx:
                    tx.check(Customer, holder, condition=guard, label="state")
                    for pk in chunk:
                        if pk in owners:
                            tx.update(Key(pk=pk, sk=keys.NO_SORT), actions=[Key.target.set(dest)],
                                      condition=Key.target == source, label="identity")
                        else:
                            tx.save(Key(pk=pk, sk=keys.NO_SORT, target=dest),
                                    condition=Key.pk.does_not_exist(), label="identity")
                    audit.add(tx, agent.principal, action, f"customer:{holder}",
                              before={"target": source}, after={"target": dest, "keys": chunk})
                moved += len(chunk)
        except Cancelled as exc:
            if "state" in exc.labels:
                raise Conflict("The merge changed meanwhile; reload the customers.") from exc
            continue  # an identity changed hands meanwhile: look again
    raise Conflict("The customers' identities kept changing; try again.")


def _move_tickets(source: str, dest: str, agent: agents.AgentView) -> tuple[int, bool]:
    """Merge direction: the source's tickets to the survivor, a page at a time, each with its
    marker. Returns (moved, finished); not finished when the per-request bound was reached."""
    moved = 0
    for _ in range(PASSES):
        seen_any, next_key = False, None
        while True:
            page = Ticket.customer_index.query(source, limit=TICKET_BATCH, last_evaluated_key=next_key)
            ids = [t.id for t in page]
            next_key = page.last_evaluated_key
            fresh = [t for t in Ticket.batch_get(ids, consistent_read=True)
                     if t.customer_id == source] if ids else []
            if fresh:
                seen_any = True
                if moved >= MAX_TICKETS_PER_REQUEST:
                    return moved, False
                try:
                    _move_ticket_batch(fresh, source, dest, agent)
                    moved += len(fresh)
                except Cancelled as exc:
                    if "state" in exc.labels:
                        raise Conflict("The merge changed meanwhile; reload the customers.") from exc
                    # a ticket was saved meanwhile: the next pass reads it again
            if not next_key:
                break
        if not seen_any:
            return moved, True
    return moved, False


def _move_ticket_batch(batch: list[Ticket], source: str, dest: str, agent: agents.AgentView) -> None:
    """One transaction: the tickets (conditional on their version and customer), a marker
    each, both ticket counts, the audit entry; the merge must still be `moving`."""
    now = clock.iso(clock.now())
    with transaction() as tx:
        for ticket in batch:
            tx.update(ticket, actions=[Ticket.customer_id.set(dest)],
                      condition=Ticket.customer_id == source, label="ticket")
            tx.save(Key(pk=marker_pk(source), sk=ticket.id, target=dest, data={"at": now}),
                    label="marker")
        tx.update(Customer(id=source), actions=[Customer.ticket_count.add(-len(batch))],
                  condition=(Customer.merged_into == dest) & (Customer.merge["state"] == MOVING),
                  label="state")
        tx.update(Customer(id=dest), actions=[Customer.ticket_count.add(len(batch))],
                  condition=Customer.id.exists(), label="survivor")
        audit.add(tx, agent.principal, "customer.merge.tickets", f"customer:{dest}",
                  before={"customer_id": source}, after={"customer_id": dest,
                                                         "tickets": [t.id for t in batch]})


def _finish_merge(survivor_id: str, other_id: str, agent: agents.AgentView) -> None:
    survivor, other = load(survivor_id), load(other_id)
    record = as_dict(other.merge)
    if other.merged_into != survivor_id or record.get("state") != MOVING:
        return  # finished meanwhile (the same merge POSTed twice at once)
    owners = keys.lookup(_identity_pks(record))
    mine = {contacts.email_key(e) for e in survivor.emails or ()}
    emails = [e for e in record.get("emails") or ()
              if owners.get(keys.email_pk(contacts.email_key(e))) == survivor_id
              and contacts.email_key(e) not in mine]
    phones = [p for p in record.get("phones") or ()
              if owners.get(keys.phone_pk(p)) == survivor_id and p not in (survivor.phones or ())]
    theirs, ours = as_dict(other.opted_out), as_dict(survivor.opted_out)
    opted = {channel: {**as_dict(entry), "from_customer": other_id}
             for channel, entry in theirs.items() if channel not in ours}
    gained = {**as_dict(as_dict(survivor.merged_from).get(other_id)),
              "state": DONE, "emails": emails, "phones": phones, "opted_out": sorted(opted)}
    actions = [Customer.merged_from[other_id].set(gained), Customer.revision.add(1)]
    if emails:
        actions.append(Customer.emails.add(set(emails)))
    if phones:
        actions.append(Customer.phones.add(set(phones)))
    if opted and not ours:  # no map to add paths to (there may be none at all)
        actions.append(Customer.opted_out.set(opted))
    else:
        actions += [Customer.opted_out[channel].set(entry) for channel, entry in opted.items()]
    try:
        with transaction() as tx:
            tx.update(Customer(id=other_id), actions=[
                Customer.merge.set({**record, "state": DONE}), Customer.revision.add(1)],
                condition=(Customer.merged_into == survivor_id)
                & (Customer.merge["state"] == MOVING), label="state")
            tx.update(Customer(id=survivor_id), actions=actions,
                      condition=Customer.merged_into.does_not_exist(), label="survivor")
            audit.add(tx, agent.principal, "customer.merged", f"customer:{survivor_id}",
                      before={"survivor": editable(survivor)},
                      after={"merged": other_id, "emails": emails, "phones": phones,
                             "opted_out": sorted(opted)})
    except Cancelled as exc:
        if "survivor" in exc.labels:
            raise Conflict(f"Customer {survivor_id} was merged into another meanwhile.") from exc
        # "state": finished by a concurrent request


def unmerge(survivor_id: str, other_id: str, agent: agents.AgentView) -> tuple[dict[str, Any], bool]:
    """Undo the merge of `other_id` into `survivor_id`: what the merge moved goes back."""
    if survivor_id.strip() == other_id:
        raise Conflict("A customer cannot be unmerged from itself.", {"other": "the same customer"})

    def start() -> tuple[str, str]:
        survivor, other = load(survivor_id), load(other_id)
        record = as_dict(other.merge)
        gained = as_dict(as_dict(survivor.merged_from).get(other.id))
        if other.merged_into != survivor.id or not gained:
            raise Conflict(f"Customer {other.id} is not merged into {survivor.id}.",
                           {"other": "not merged into this customer"})
        if survivor.merged_into:
            raise Conflict(f"Customer {survivor.id} was since merged into {survivor.merged_into}; "
                           "unmerge that first.", {"merged_into": survivor.merged_into})
        state = record.get("state")
        if state == MOVING:
            raise Conflict("The merge is not finished: POST the merge again to complete it, "
                           "then unmerge.", {"other": "merge in progress"})
        if state == DONE:
            _start_unmerge(survivor, other, agent)
        return survivor.id, other.id

    return _run_unmerge(*until_written(start, attempts=WRITE_ATTEMPTS,
                                       conflict="The customers kept changing; try again."), agent)


def _start_unmerge(survivor: Customer, other: Customer, agent: agents.AgentView) -> None:
    record = as_dict(other.merge)
    gained = as_dict(as_dict(survivor.merged_from)[other.id])
    with transaction() as tx:
        tx.update(Customer(id=other.id), actions=[
            Customer.merge.set({**record, "state": UNMERGING}), Customer.revision.add(1)],
            condition=(Customer.merged_into == survivor.id) & (Customer.merge["state"] == DONE)
            & _revision_is(int(other.revision or 0)), label="other")
        tx.update(Customer(id=survivor.id), actions=[
            Customer.merged_from[other.id].set({**gained, "state": UNMERGING}),
            Customer.revision.add(1)],
            condition=_revision_is(int(survivor.revision or 0))
            & Customer.merged_into.does_not_exist(), label="survivor")
        audit.add(tx, agent.principal, "customer.unmerge.started", f"customer:{survivor.id}",
                  before={"survivor": editable(survivor), "merged": other.id},
                  after={"other": {"id": other.id, **editable(other)}})


def _run_unmerge(survivor_id: str, other_id: str, agent: agents.AgentView) -> tuple[dict[str, Any], bool]:
    other = load(other_id)
    record = as_dict(other.merge)
    guard = (Customer.merged_into == survivor_id) & (Customer.merge["state"] == UNMERGING)
    moved_keys = _move_identities(_identity_pks(record), survivor_id, other_id, holder=other_id,
                                  guard=guard, agent=agent, action="customer.unmerge.identities",
                                  recreate=True)
    moved, finished = _return_tickets(survivor_id, other_id, agent)
    if finished:
        _finish_unmerge(survivor_id, other_id, agent)
    return {"state": DONE if finished else UNMERGING, "survivor": view(load(survivor_id)),
            "other": view(load(other_id)),
            "moved": {"identities": moved_keys, "tickets": moved}}, finished


def _return_tickets(survivor_id: str, other_id: str, agent: agents.AgentView) -> tuple[int, bool]:
    """The tickets the merge marked go back to the other customer, a page at a time (markers
    are read from the keys table, consistently); a marked ticket that is no longer the
    survivor's loses its marker and stays where it is."""
    moved = 0
    for _ in range(PASSES * 4):
        markers = list(Key.query(marker_pk(other_id), consistent_read=True, limit=TICKET_BATCH))
        if not markers:
            return moved, True
        if moved >= MAX_TICKETS_PER_REQUEST:
            return moved, False
        found = {t.id: t for t in Ticket.batch_get([m.sk for m in markers], consistent_read=True)}
        back = [found[m.sk] for m in markers if m.sk in found and found[m.sk].customer_id == survivor_id]
        now = clock.iso(clock.now())
        try:
            with transaction() as tx:
                for ticket in back:
                    tx.update(ticket, actions=[Ticket.customer_id.set(other_id)],
                              condition=Ticket.customer_id == survivor_id, label="ticket")
                for marker in markers:
                    tx.delete(Key(pk=marker.pk, sk=marker.sk), label="marker")
                tx.update(Customer(id=other_id), actions=[Customer.ticket_count.add(len(back))],
                          condition=(Customer.merged_into == survivor_id)
                          & (Customer.merge["state"] == UNMERGING), label="state")
                tx.update(Customer(id=survivor_id), actions=[Customer.ticket_count.add(-len(back))],
                          condition=Customer.id.exists(), label="survivor")
                audit.add(tx, agent.principal, "customer.unmerge.tickets", f"customer:{other_id}",
                          before={"customer_id": survivor_id},
                          after={"customer_id": other_id, "tickets": [t.id for t in back],
                                 "left": sorted({m.sk for m in markers} - {t.id for t in back}),
                                 "at": now})
            moved += len(back)
        except Cancelled as exc:
            if "state" in exc.labels:
                raise Conflict("The merge changed meanwhile; reload the customers.") from exc
    return moved, False


def _finish_unmerge(survivor_id: str, other_id: str, agent: agents.AgentView) -> None:
    survivor, other = load(survivor_id), load(other_id)
    record = as_dict(other.merge)
    if other.merged_into != survivor_id or record.get("state") != UNMERGING:
        return
    merged_from = as_dict(survivor.merged_from)
    gained = as_dict(merged_from.get(other_id))
    ours = as_dict(survivor.opted_out)
    actions = [Customer.revision.add(1),
               Customer.merged_from.remove() if set(merged_from) == {other_id}
               else Customer.merged_from[other_id].remove()]
    if gained.get("emails"):
        actions.append(Customer.emails.delete(set(gained["emails"])))
    if gained.get("phones"):
        actions.append(Customer.phones.delete(set(gained["phones"])))
    for channel in gained.get("opted_out") or ():
        if as_dict(ours.get(channel)).get("from_customer") == other_id:
            actions.append(Customer.opted_out[channel].remove())
    # identities the survivor gave away since the merge (and another customer holds now)
    owners = keys.lookup(_identity_pks(record))
    lost_emails = {e for e in record.get("emails") or ()
                   if owners.get(keys.email_pk(contacts.email_key(e))) not in (None, other_id)}
    lost_phones = {p for p in record.get("phones") or ()
                   if owners.get(keys.phone_pk(p)) not in (None, other_id)}
    other_actions = [Customer.merged_into.remove(), Customer.merge.remove(), Customer.revision.add(1)]
    if lost_emails:
        other_actions.append(Customer.emails.delete(lost_emails))
    if lost_phones:
        other_actions.append(Customer.phones.delete(lost_phones))
    try:
        with transaction() as tx:
            tx.update(Customer(id=other_id), actions=other_actions,
                      condition=(Customer.merged_into == survivor_id)
                      & (Customer.merge["state"] == UNMERGING), label="state")
            tx.update(Customer(id=survivor_id), actions=actions, condition=Customer.id.exists(),
                      label="survivor")
            audit.add(tx, agent.principal, "customer.unmerged", f"customer:{survivor_id}",
                      before={"survivor": editable(survivor)},
                      after={"other": other_id, "emails": gained.get("emails") or [],
                             "phones": gained.get("phones") or [],
                             "kept_by_others": sorted(lost_emails | lost_phones)})
    except Cancelled as exc:
        if "state" not in exc.labels:
            raise


def _iso(value) -> str | None:
    return clock.iso(value) if value else None
