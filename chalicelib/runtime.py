"""Forget everything cached per container: settings, clients, table bindings, lookups.

Lambda never needs this; the local stack and tests call it after changing the environment.
"""
from __future__ import annotations


def reset() -> None:
    from chalicelib import config
    from chalicelib.api import idempotency
    from chalicelib.db.base import reset_connections
    from chalicelib.integrations import aws
    from chalicelib.services.team import agents
    from chalicelib.services.inbound import thread

    config.reload()
    reset_connections()
    aws.reset()
    agents.clear_cache()
    idempotency.reset()
    thread.reset()
