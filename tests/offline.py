"""Tests that run without AWS (unit tests, pages rendered for the browser): the departments are
the built-in ones, as on a fresh stack where no admin saved a department, because the settings
cache holds "nothing stored" — so nothing reaches for DynamoDB (or, with no endpoint set, the
internet). And no console address: an xdist worker that ran an integration file before has
that stack's SETU_PUBLIC_URL in its environment, which would give staff mail console links
(config.console_url); a test that wants them sets SETU_CONSOLE_URL itself."""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from typing import Iterator

from chalicelib import config
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


@contextmanager
def no_console_address() -> Iterator[None]:
    saved = {name: os.environ.pop(name) for name in ("SETU_CONSOLE_URL", "SETU_PUBLIC_URL")
             if name in os.environ}
    config.reload()
    try:
        yield
    finally:
        os.environ.update(saved)
        config.reload()
