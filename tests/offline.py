"""Tests that run without AWS (unit tests, pages rendered for the browser): the departments are
the built-in ones, as on a fresh stack where no admin saved a department, because the settings
cache holds "nothing stored" — so nothing reaches for DynamoDB (or, with no endpoint set, the
internet)."""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

from chalicelib.db import settings
from chalicelib.services.team import departments


@contextmanager
def builtin_departments() -> Iterator[None]:
    key = (departments.KIND, departments.NAME)
    settings._cache[key] = (time.monotonic() + 3600, None)
    try:
        yield
    finally:
        settings._cache.pop(key, None)
