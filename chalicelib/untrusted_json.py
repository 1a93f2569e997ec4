"""JSON from outside (API bodies, the web form, provider notifications, timer messages), read
so that no input can make a handler fail: anything that is not plain, bounded JSON is a
ValueError the caller answers with a 4xx or records as rejected, never a 500.

Refused: malformed text; nesting deeper than MAX_DEPTH (Python's parser would raise
RecursionError on a few thousand `[`); NaN and ±Infinity (not JSON, but Python accepts them);
numbers that overflow a float (`1e999`) or have more digits than MAX_DIGITS (Python refuses
over 4,300 digits only after spending time on them). Pure.
"""
from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 64
MAX_DIGITS = 100


def loads(text: str | bytes) -> Any:
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_float,
                           parse_int=_int)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    _check_depth(value)
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _float(text: str) -> float:
    if len(text) > MAX_DIGITS:
        raise ValueError("a number with too many digits")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number too large")
    return value


def _int(text: str) -> int:
    if len(text) > MAX_DIGITS:
        raise ValueError("a number with too many digits")
    return int(text)


def _check_depth(value: Any) -> None:
    """Iterative: the check itself cannot recurse too deep."""
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(current, dict):
            stack.extend((v, depth + 1) for v in current.values())
        elif isinstance(current, list):
            stack.extend((v, depth + 1) for v in current)
