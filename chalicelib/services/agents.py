"""Agents: IAM principal ARN -> agent with a role. Looked up on every API call (cached briefly
per container; a deactivation takes effect within SETU_SETTINGS_CACHE_SECONDS)."""
from __future__ import annotations

import time
from dataclasses import dataclass

from pynamodb.exceptions import PutError

from chalicelib import clock, config
from chalicelib.db.models import Agent

ROLES = ("agent", "lead", "admin")
RANK = {role: n for n, role in enumerate(ROLES)}
_cache: dict[str, tuple[float, "AgentView | None"]] = {}


@dataclass(frozen=True)
class AgentView:
    principal: str
    role: str
    display_name: str
    departments: frozenset[str]

    def has_role(self, needed: str) -> bool:
        return RANK[self.role] >= RANK[needed]


def ensure_agent(principal: str, *, role: str = "agent", display_name: str = "",
                 email: str = "", departments: set[str] | None = None) -> None:
    """Create the agent if it does not exist (idempotent; used to seed the first admin)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    agent = Agent(kind="agent", name=principal, role=role, display_name=display_name or None,
                  email=email or None, departments=departments or None, active=True,
                  created_at=clock.now())
    try:
        agent.save(condition=Agent.name.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
    _cache.pop(principal, None)


def resolve(principal: str) -> AgentView | None:
    hit = _cache.get(principal)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    try:
        agent = Agent.get("agent", principal)
        view = AgentView(principal=principal, role=agent.role,
                         display_name=agent.display_name or principal.rsplit("/", 1)[-1],
                         departments=frozenset(agent.departments or ())) if agent.active else None
    except Agent.DoesNotExist:
        view = None
    _cache[principal] = (time.monotonic() + config.settings().settings_cache_seconds, view)
    return view


def exists(principal: str) -> bool:
    return resolve(principal) is not None


def clear_cache() -> None:
    _cache.clear()
