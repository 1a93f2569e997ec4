"""Find-or-create of the customer behind a contact, as transaction steps.

One customer per person: identities (normalised email, E.164 phone) point at the customer.

Unauthenticated input never links identities (docs/security.md). A web form proves nothing
about the addresses typed into it, so a form post claims identities only for a customer it
creates: when one of its addresses already belongs to a customer, the ticket goes to that
customer (the email's, else the phone's) and the form's other address is NOT added to them;
it is recorded on the ticket as `unlinked` (an agent can add it or merge, audited). Replies
then go to the address that belongs to the customer, never to the one the stranger typed.
Mail and SMS carry one address each, the one they came from; agents (authenticated) may
link (`link_new`). An address that wrote to us (mail from it, an SMS from it) is `proven`
(`proven_at` on its identity key): only a proven address gets an acknowledgement that repeats
what was typed (services/messaging/outbound.acknowledgement).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from chalicelib import clock, ids
from chalicelib.db import keys
from chalicelib.db.connection import Transaction
from chalicelib.db.models import Customer, Key
from chalicelib.services.customers import contacts
from chalicelib.services.messaging import suppression


@dataclass
class CustomerPlan:
    """What a contact means for the customers table, decided before the transaction."""

    customer_id: str
    is_new: bool
    new_identities: list[str] = field(default_factory=list)  # key pks to claim
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    conflict: str | None = None  # pk of an identity owned by another customer
    # channel -> why messages to the contact's address on it must not be sent
    suppressed: dict[str, str] = field(default_factory=dict)
    # channel -> the contact's address on it that belongs to this customer after the write
    reachable: dict[str, str] = field(default_factory=dict)
    # addresses given but not linked: {"channel", "address", "reason"}
    unlinked: list[dict[str, str]] = field(default_factory=list)
    # channels whose reachable address has written to us (after this write): only those
    # addresses that belong to this customer
    proven: set[str] = field(default_factory=set)
    # the identity this contact proves (the sender of a mail or SMS), to mark in the write
    prove_pk: str | None = None
    prove_existing: bool = False  # it exists already and is not marked yet

    def pools(self, skip: Iterable[str] = ()) -> tuple[list[str], list[str]]:
        """([email], [phone]) this contact can be reached at, leaving out channels in `skip`
        (services/messaging/routes.choose takes them)."""
        return ([self.reachable["email"]] if "email" in self.reachable and "email" not in skip
                else [],
                [self.reachable["sms"]] if "sms" in self.reachable and "sms" not in skip else [])

    def add_to(self, tx: Transaction, *, name: str, lang: str, now: datetime) -> None:
        """Add this plan's writes to `tx` (labels "customer" and "identity")."""
        if self.is_new:
            tx.save(Customer(id=self.customer_id, name=name or None, emails=self.emails or None,
                             phones=self.phones or None, lang=lang, created_at=now,
                             last_contact_at=now, ticket_count=1),
                    condition=Customer.id.does_not_exist(), label="customer")
        else:
            actions = [Customer.last_contact_at.set(now), Customer.ticket_count.add(1),
                       Customer.lang.set(lang)]
            if name:
                actions.append(Customer.name.set(Customer.name | name))
            if self.emails:
                actions.append(Customer.emails.add(self.emails))
            if self.phones:
                actions.append(Customer.phones.add(self.phones))
            # a customer merged away (services/customers/admin.py) takes no new tickets: its
            # identities point at the survivor, so the caller's next look-up finds that one
            tx.update(Customer(id=self.customer_id), actions=actions,
                      condition=Customer.id.exists() & Customer.merged_into.does_not_exist(),
                      label="customer")
        proof = {"proven_at": clock.iso(now)}
        for pk in self.new_identities:
            tx.save(Key(pk=pk, sk=keys.NO_SORT, target=self.customer_id,
                        data=proof if pk == self.prove_pk else None),
                    condition=Key.pk.does_not_exist(), label="identity")
        if self.prove_existing:
            tx.update(Key(pk=self.prove_pk, sk=keys.NO_SORT), actions=[Key.data.set(proof)],
                      condition=Key.target == self.customer_id, label="identity")


def plan(email: str, phone: str, *, merged: dict[str, str] | None = None,
         link_new: bool = False, proves: str | None = None) -> CustomerPlan:
    """Look the identities up (one BatchGetItem) and decide create vs. reuse. `merged`
    (customer merged away -> survivor, from `survivor_of`): an identity still pointing at a
    customer merged away is the survivor's (the merge re-points it; intake claims nothing).
    `link_new`: an address nobody owns yet may be added to an existing customer (an agent's
    word); otherwise only a new customer claims addresses. `proves`: the channel ("email",
    "sms") whose address this contact came from, which it therefore proves."""
    wanted: dict[str, tuple[str, str]] = {}
    if email:
        wanted[keys.email_pk(contacts.email_key(email))] = ("email", email)
    if phone:
        wanted[keys.phone_pk(phone)] = ("phone", phone)
    blocks = {channel: suppression.pk(address, channel)
              for channel, address in (("email", email), ("sms", phone)) if address}
    found = keys.lookup_items([*wanted, *blocks.values()])
    owners = {pk: item.target for pk, item in found.items()}
    marked = {pk for pk, item in found.items()
              if pk in wanted and item.data is not None and item.data.as_dict().get("proven_at")}
    if merged:
        owners = {pk: merged.get(target, target) if pk in wanted else target
                  for pk, target in owners.items()}
    owner = next((owners[pk] for pk in wanted if pk in owners), None)
    result = CustomerPlan(customer_id=owner or ids.new_id("c"), is_new=owner is None,
                          suppressed={channel: owners[key] for channel, key in blocks.items()
                                      if key in owners})
    for pk, (kind, value) in wanted.items():
        channel = "email" if kind == "email" else "sms"
        if channel == proves:
            result.prove_pk = pk
        proven = pk in marked or channel == proves
        if pk in owners:
            # marked where it points now (a merge under way re-points it later, keeping data)
            if owners[pk] == result.customer_id and channel == proves and pk not in marked \
                    and found[pk].target == result.customer_id:
                result.prove_existing = True
            if owners[pk] != result.customer_id:
                result.conflict = pk
                result.unlinked.append({"channel": channel, "address": value,
                                        "reason": "another customer"})
            else:
                result.reachable[channel] = value
                if proven:
                    result.proven.add(channel)
            continue
        if not (result.is_new or link_new):
            result.unlinked.append({"channel": channel, "address": value, "reason": "not proven"})
            continue
        result.new_identities.append(pk)
        (result.emails if kind == "email" else result.phones).add(value)
        result.reachable[channel] = value
        if proven:
            result.proven.add(channel)
    return result


def survivor_of(customer_id: str) -> str | None:
    """The customer `customer_id` was merged into, if any (one consistent GetItem). Intake
    asks only when its write to the customer failed: a merge that stopped after its first
    step marks the customer merged while its identities still point at it."""
    try:
        return Customer.get(customer_id, consistent_read=True,
                            attributes_to_get=["merged_into"]).merged_into
    except Customer.DoesNotExist:
        return None


def address_key(address: str) -> str:
    """How an address is keyed: a casefolded email, or the E.164 number as it is."""
    return contacts.email_key(address) if "@" in address else address
