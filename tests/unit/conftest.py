"""Unit tests run without AWS: the departments are the built-in ones (tests/offline.py)."""
from __future__ import annotations

import pytest

from tests import offline


@pytest.fixture(autouse=True)
def builtin_departments():
    with offline.builtin_departments():
        yield
