"""SLA policy storage: the API writes them, ticket intake reads the applicable one."""
from __future__ import annotations

from typing import Any

from chalicelib.db import settings
from chalicelib.errors import NotFound
from chalicelib.services import sla

KIND = "sla_policy"


def put_policy(name: str, body: Any, actor: str) -> sla.Policy:
    policy = sla.parse_policy(name, body)
    settings.put(KIND, name, policy.to_dict(), actor)
    return policy


def get_policy(name: str = "default") -> sla.Policy:
    """The named policy; `default` falls back to the built-in one until an admin sets it."""
    policy = find_policy(name)
    if policy is None:
        if name != "default":
            raise NotFound(f"No SLA policy named {name}.")
        return sla.parse_policy(name, sla.BUILTIN_DEFAULT)
    return policy


def find_policy(name: str) -> sla.Policy | None:
    stored = settings.get(KIND, name)
    if stored is None:
        return None
    return sla.parse_policy(name, {k: v for k, v in stored.items()
                                   if v is not None and k != "name"})
