"""Named settings documents with a short per-container cache.

SLA policies and departments are read on every ticket create; caching them for a few seconds
keeps the create path at three DynamoDB calls on a warm container. `get` costs one GetItem per
document, `every` one Query for all documents of a kind, each once per container per
SETU_SETTINGS_CACHE_SECONDS. A write in this container invalidates the cache at once; other
containers see it within SETU_SETTINGS_CACHE_SECONDS. Writes go through
services/audit.put_setting (the document and its audit entry in one transaction).
"""
from __future__ import annotations

import time
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib import config
from chalicelib.db.models import Setting

_cache: dict[tuple[str, str], tuple[float, Any]] = {}


def get(kind: str, name: str) -> dict[str, Any] | None:
    key = (kind, name)
    hit = _cache.get(key)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    try:
        data = Setting.get(kind, name).data.as_dict()
    except DoesNotExist:
        data = None
    _cache[key] = (time.monotonic() + config.settings().settings_cache_seconds, data)
    return data


def every(kind: str) -> dict[str, dict[str, Any]]:
    """name -> data of every document of `kind` (one Query, paged by pynamodb), cached like
    get(): the list routes and the SLA policy choice read all policies at once."""
    key = (kind, "*")
    hit = _cache.get(key)
    if hit and hit[0] > time.monotonic():
        return dict(hit[1] or {})
    data = {item.name: item.data.as_dict() for item in Setting.query(kind)}
    _cache[key] = (time.monotonic() + config.settings().settings_cache_seconds, data)
    return dict(data)


def clear_cache() -> None:
    _cache.clear()
