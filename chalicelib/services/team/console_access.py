"""Console access: which agent a console user (Cognito `sub`) is, and inviting an agent to the
console (docs/console.md, "How people sign in").

An agent is linked to one Cognito user when invited: the agent record keeps the user's `sub`
and user name (the email), and the keys table maps the sub back to the agent
(`agent-sub#<sub>` -> the principal ARN; db/keys.py). The link is written in one transaction
with the agent and an audit entry, on the condition that the sub is not another agent's.
Lookups are cached per container like agents (SETU_SETTINGS_CACHE_SECONDS).

AWS calls: `by_sub` one GetItem (cached); `invite` one or two GetItems (the agent by id), the
Cognito calls of integrations/cognito.py, one TransactWriteItems (a resend: one PutItem,
its audit entry)."""
from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import config
from chalicelib.db import keys
from chalicelib.db.connection import Cancelled, transaction
from chalicelib.db.models import Key
from chalicelib.errors import Conflict, ValidationFailed
from chalicelib.services.team import agents, audit

_subs: dict[str, tuple[float, str | None]] = {}


def by_sub(sub: str) -> str | None:
    """The principal ARN of the agent this console user was invited as, else None."""
    if not isinstance(sub, str) or not 0 < len(sub) <= 128:
        return None
    hit = _subs.get(sub)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    try:
        principal = Key.get(keys.agent_sub_pk(sub), keys.NO_SORT).target
    except Key.DoesNotExist:
        principal = None
    _subs[sub] = (time.monotonic() + config.settings().settings_cache_seconds, principal)
    return principal


def clear_cache() -> None:
    _subs.clear()


def invite(actor: agents.AgentView, id_: str) -> dict[str, Any]:
    """Invite the agent `id_` to the console (admin): Cognito creates the user (its email as
    user name) and mails the invitation; the agent is linked to it. Inviting a linked agent
    again resends the invitation while it is unused (409 once the person has signed in: they
    reset a forgotten password themselves). Answers {"invitation": "sent"|"resent"|"linked",
    "agent": ...}; "linked" when the address already had a Cognito user (no mail)."""
    agent = agents.find(id_)
    if not agent.active:
        raise Conflict("This agent is deactivated: reactivate it before inviting it.",
                       {"active": "false"})
    if not agent.email:
        raise ValidationFailed("The agent has no email address to invite.",
                               {"email": "required: PATCH the agent's email first"})
    from chalicelib.integrations import cognito  # deferred: cold start (admins invite rarely)

    try:
        if agent.cognito_sub:
            try:
                cognito.resend(agent.cognito_username or agent.email)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "UnsupportedUserStateException":
                    raise Conflict("This agent has already signed in to the console.",
                                   {"agent": "already signed in"}) from None
                raise
            _audit_only(actor, "agent.invitation_resent", agent)
            return {"invitation": "resent", "agent": agents.view(agent)}
        user, created = cognito.invite(agent.email)
    except cognito.NotConfigured:
        raise Conflict("This stage has no console user pool (SETU_USER_POOL_ID).") from None
    if not user.sub:
        raise Conflict("Cognito answered a user without a sub.")
    agent.cognito_sub, agent.cognito_username = user.sub, user.username
    try:
        with transaction() as tx:
            tx.save(Key(pk=keys.agent_sub_pk(user.sub), sk=keys.NO_SORT, target=agent.name),
                    condition=Key.pk.does_not_exist() | (Key.target == agent.name), label="sub")
            tx.save(agent, label="agent")  # pynamodb adds the version condition
            audit.add(tx, actor.principal, "agent.invited", f"agent:{agent.name}",
                      before=None, after={"console_user": user.username,
                                          "invitation": "sent" if created else "linked"})
    except Cancelled as exc:
        if "sub" in exc.labels:
            raise Conflict("This address's console user belongs to another agent.",
                           {"email": "another agent's console user"}) from None
        raise Conflict("This agent changed at the same time; try again.") from None
    _subs.pop(user.sub, None)
    agents.forget(agent.name)
    return {"invitation": "sent" if created else "linked", "agent": agents.view(agent)}


def _audit_only(actor: agents.AgentView, action: str, agent) -> None:
    audit.record(actor.principal, action, f"agent:{agent.name}",
                 after={"console_user": agent.cognito_username})
