"""Small text helpers every mail module shares; this module imports nothing from chalicelib.

Guarantees: importing it compiles nothing (a `LazyPattern` compiles on first use, so a cold
start pays only for the patterns a message needs); `collapse` never raises on a str.
"""
from __future__ import annotations

import re
from typing import Any


class LazyPattern:
    """A regular expression compiled on first use (module import stays cheap for cold starts)."""

    __slots__ = ("_args", "_compiled")

    def __init__(self, pattern: Any, flags: int = 0):
        self._args = (pattern, flags)
        self._compiled: re.Pattern | None = None

    def __getattr__(self, name: str) -> Any:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(*self._args)
        return getattr(compiled, name)


WS = LazyPattern(r"\s+")


def collapse(text: str) -> str:
    """Runs of whitespace (line breaks too) as one space, trimmed."""
    return WS.sub(" ", text).strip()
