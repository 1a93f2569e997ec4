"""Idempotency-Key for POST /tickets with aws-lambda-powertools' idempotency utility.

The key is the client's header; the payload fingerprint is validated, so reusing a key for a
different ticket answers 422 instead of silently returning the first ticket. The persistence
layer (and its DynamoDB client) is built on first use, never at import.
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Callable

from chalicelib import config
from chalicelib.errors import Conflict, ValidationFailed
from chalicelib.integrations.aws import client

EXPIRES_AFTER_SECONDS = 24 * 3600  # default; SETU_IDEMPOTENCY_HOURS (retention, docs/security.md)


def expires_after_seconds() -> int:
    raw = os.environ.get("SETU_IDEMPOTENCY_HOURS", "").strip()
    try:
        return max(1, int(raw)) * 3600 if raw else EXPIRES_AFTER_SECONDS
    except ValueError:
        return EXPIRES_AFTER_SECONDS


@lru_cache(maxsize=1)
def _persistence():
    from aws_lambda_powertools.utilities.idempotency import (  # deferred: cold start
        DynamoDBPersistenceLayer)

    return DynamoDBPersistenceLayer(table_name=config.settings().table("idempotency"),
                                    boto3_client=client("dynamodb"))


def once(key: str, fingerprint: str, create: Callable[[], dict[str, Any]],
         lambda_context: Any = None) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.idempotency import (  # deferred: cold start
        IdempotencyConfig, idempotent_function)
    from aws_lambda_powertools.utilities.idempotency.exceptions import (  # deferred: cold start
        IdempotencyAlreadyInProgressError, IdempotencyValidationError)

    settings = IdempotencyConfig(event_key_jmespath="key", payload_validation_jmespath="fingerprint",
                                 expires_after_seconds=expires_after_seconds(),
                                 raise_on_no_idempotency_key=True)
    if lambda_context is not None:
        # Lets powertools expire an in-progress record when the function times out mid-way.
        settings.register_lambda_context(lambda_context)

    @idempotent_function(data_keyword_argument="request", persistence_store=_persistence(),
                         config=settings)
    def create_ticket(request: dict[str, str]) -> dict[str, Any]:
        return create()

    try:
        return create_ticket(request={"key": key, "fingerprint": fingerprint})
    except IdempotencyValidationError:
        raise ValidationFailed("This Idempotency-Key was used for a different request.",
                               {"Idempotency-Key": "already used with other content"}) from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict("A request with this Idempotency-Key is still being processed.",
                       {"Idempotency-Key": "in progress"}, headers={"Retry-After": "1"}) from None


def reset() -> None:
    _persistence.cache_clear()
