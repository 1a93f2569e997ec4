"""Unit tests run without AWS: the departments are the built-in ones, and no console address
is set unless a test sets one (tests/offline.py)."""
from __future__ import annotations

import pytest

from tests import offline


@pytest.fixture(autouse=True)
def builtin_departments():
    with offline.builtin_departments(), offline.no_console_address():
        yield
