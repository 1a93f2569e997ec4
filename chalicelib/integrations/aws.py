"""boto3 clients, created on first use and reused for the life of the Lambda container.

Nothing here runs at import: creating a client costs tens of milliseconds of cold start.
The endpoint comes from botocore's own configuration (AWS_ENDPOINT_URL on the local stack).

Every client, pynamodb's included, is made from a botocore session that shares one data loader:
the loader is what reads and parses botocore's JSON (endpoint rules, partitions, service
models), which is most of a client's creation. Each new session would otherwise parse it again,
so the third client of a cold start cost as much as the first. The loader holds only botocore's
own data files, never credentials, regions or endpoints, so sharing it changes no answer.

Every client also sends a fixed User-Agent, `Setu Botocore/<version>`: CloudTrail then names
Setu as the caller, and botocore no longer assembles and sanitises its SDK-metrics User-Agent
(OS, language, feature codes) character by character twice per request, about a tenth of the
CPU of a small call.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import botocore
import botocore.session
from botocore.config import Config
from botocore.loaders import create_loader
from pynamodb.connection import base

from chalicelib import config


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    import boto3  # deferred: cold start (not loaded by `import app`)

    return boto3.session.Session(botocore_session=botocore_session()).client(
        service, region_name=config.settings().region)


def botocore_session() -> Any:
    """A new botocore session (its own credentials and configuration) over the shared loader."""

    session = botocore.session.get_session()
    session.register_component("data_loader", _loader(session.get_config_variable("data_path")))
    # merged into every client's own config (pynamodb's too): only the User-Agent is set here
    session.set_default_client_config(_defaults())
    return session


@lru_cache(maxsize=1)
def _defaults() -> Any:
    return Config(user_agent=f"Setu Botocore/{botocore.__version__}")


@lru_cache(maxsize=4)
def _loader(data_path: str | None) -> Any:
    return create_loader(data_path)


def share_loader_with_pynamodb() -> None:
    """pynamodb makes its own botocore session per connection and thread; make those sessions
    share the loader too (called before a model first connects)."""

    base.get_session = botocore_session


def reset() -> None:
    """Forget clients (tests point the app at a new emulator or stage); the loader stays."""
    client.cache_clear()
