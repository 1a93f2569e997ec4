"""Department scope: which tickets and customers an agent may see and change. The one place
for the rule (docs/agents.md, "Department scope"):

- leads and admins: every ticket and customer;
- an agent: the tickets of their departments (`AgentView.departments`; none: nothing), and the
  customers with at least one ticket in those departments (a customer merged into another is
  judged by the survivor's tickets; a customer with no ticket at all is the leads' and admins');
- anything outside answers 404, the same answer as a ticket or customer that does not exist,
  so an id or ref tried by an agent reveals nothing; a queue filter naming another department
  is 403 (departments are not secret, and an empty page would read as "nothing to do").

Every agent-facing read or write of a ticket passes the caller to `tickets.store.load(...,
agent=)` which calls `check_ticket`; customers go through `check_customer`. Refusals are
logged (`scope.denied`, ids only), not audited: nothing changed.

AWS calls: `check_ticket` none (the caller has the ticket); `check_customer` for an agent one
Query of the customer's (or, merged away, the survivor's) tickets (`customer-index` filtered
by department, pages of 100, stops at the first in scope)."""
from __future__ import annotations

import logging
from typing import Any, Iterable, Protocol

from chalicelib.db.models import Customer, Ticket
from chalicelib.errors import Forbidden, NotFound

_log = logging.getLogger("setu.scope")


class Caller(Protocol):  # team.agents.AgentView (not imported: no edge back into agents)
    departments: frozenset[str]

    def has_role(self, needed: str) -> bool: ...


def sees_all(agent: Caller) -> bool:
    """Leads and admins work across departments."""
    return agent.has_role("lead")


def covers(agent: Caller, department: str | None) -> bool:
    return sees_all(agent) or (department or "general") in agent.departments


def departments(agent: Caller) -> frozenset[str] | None:
    """The departments whose tickets the agent may see; None for all."""
    return None if sees_all(agent) else frozenset(agent.departments)


def check_ticket(agent: Caller, ticket: Ticket) -> Ticket:
    if not covers(agent, ticket.department):
        _denied(agent, "ticket", ticket.id)
        raise NotFound("No such ticket.")
    return ticket


def visible(agent: Caller, tickets: Iterable[Ticket]) -> list[Ticket]:
    return [t for t in tickets if covers(agent, t.department)]


def check_queue_filter(agent: Caller, department: str) -> None:
    """A queue filter for a department that is not the agent's: 403."""
    if department and not covers(agent, department):
        raise Forbidden("That department is not one of yours.",
                        {"department": "not one of your departments"})


def check_starting(agent: Caller, department: str) -> None:
    """An agent starts conversations in their own departments only."""
    if not covers(agent, department):
        raise Forbidden("That department is not one of yours.",
                        {"department": "not one of your departments"})


def customer_in_scope(agent: Caller, customer: Customer) -> bool:
    if sees_all(agent):
        return True
    mine = frozenset(agent.departments)
    if not mine:
        return False
    customer_id = customer.id
    if customer.merged_into:  # its tickets (and identities) moved to the survivor
        customer_id = customer.merged_into
    found = Ticket.customer_index.query(
        customer_id, filter_condition=Ticket.department.is_in(*sorted(mine)),
        limit=1, page_size=100)
    return any(True for _ in found)


def check_customer(agent: Caller, customer: Customer) -> Customer:
    if not customer_in_scope(agent, customer):
        _denied(agent, "customer", customer.id)
        raise NotFound("No such customer.")
    return customer


def _denied(agent: Any, kind: str, target: str) -> None:
    _log.warning("scope.denied: %s %s for %s", kind, target, getattr(agent, "principal", "?"))
