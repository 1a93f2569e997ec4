"""Forget everything cached per container: settings, clients, table bindings, lookups.

Lambda never needs this; the local stack and tests call it after changing the environment.
"""
from __future__ import annotations

from chalicelib import config
from chalicelib.api import idempotency
from chalicelib.db import connection, models, settings
from chalicelib.integrations import aws
from chalicelib.services.messaging import signing
from chalicelib.services.team import agents, console_access


def reset() -> None:
    config.reload()
    for model in models.ALL_MODELS:  # unbound: the next use binds the (new) table names
        model._connection = None
    connection.reset()
    settings.clear_cache()
    aws.reset()
    agents.clear_cache()
    console_access.clear_cache()
    idempotency.reset()
    signing.reset()
