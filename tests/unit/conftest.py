"""Unit tests run without AWS: the departments are the built-in ones, as on a fresh stack
where no admin saved a department (the settings cache holds "nothing stored")."""
from __future__ import annotations

import time

import pytest

from chalicelib.db import settings
from chalicelib.services.team import departments


@pytest.fixture(autouse=True)
def builtin_departments():
    settings._cache[(departments.KIND, departments.NAME)] = (time.monotonic() + 3600, None)
    yield
    settings._cache.pop((departments.KIND, departments.NAME), None)
