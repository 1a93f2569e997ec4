"""Find-or-create of the customer behind a contact, as transaction steps.

One customer per person: identities (normalised email, E.164 phone) point at the customer.
When the email and the phone point at different people we keep the email's customer and
leave the phone where it is; merging people is an agent's decision (issue 7).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from chalicelib import ids
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
        for pk in self.new_identities:
            tx.save(Key(pk=pk, sk=keys.NO_SORT, target=self.customer_id),
                    condition=Key.pk.does_not_exist(), label="identity")


def plan(email: str, phone: str, *, merged: dict[str, str] | None = None) -> CustomerPlan:
    """Look the identities up (one BatchGetItem) and decide create vs. reuse. `merged`
    (customer merged away -> survivor, from `survivor_of`): an identity still pointing at a
    customer merged away is the survivor's (the merge re-points it; intake claims nothing)."""
    wanted: dict[str, tuple[str, str]] = {}
    if email:
        wanted[keys.email_pk(contacts.email_key(email))] = ("email", email)
    if phone:
        wanted[keys.phone_pk(phone)] = ("phone", phone)
    blocks = {channel: suppression.pk(address, channel)
              for channel, address in (("email", email), ("sms", phone)) if address}
    owners = keys.lookup([*wanted, *blocks.values()])
    if merged:
        owners = {pk: merged.get(target, target) if pk in wanted else target
                  for pk, target in owners.items()}
    owner = next((owners[pk] for pk in wanted if pk in owners), None)
    result = CustomerPlan(customer_id=owner or ids.new_id("c"), is_new=owner is None,
                          suppressed={channel: owners[key] for channel, key in blocks.items()
                                      if key in owners})
    for pk, (kind, value) in wanted.items():
        if pk in owners:
            if owners[pk] != result.customer_id:
                result.conflict = pk
            continue
        result.new_identities.append(pk)
        (result.emails if kind == "email" else result.phones).add(value)
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
