"""boto3 clients, created on first use and reused for the life of the Lambda container.

Nothing here runs at import: creating a client costs tens of milliseconds of cold start.
The endpoint comes from botocore's own configuration (AWS_ENDPOINT_URL on the local stack).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    import boto3

    from chalicelib import config

    return boto3.session.Session().client(service, region_name=config.settings().region)


def reset() -> None:
    """Forget clients (tests point the app at a new emulator or stage)."""
    client.cache_clear()
