"""Plain values out of pynamodb attributes."""
from __future__ import annotations

from typing import Any


def as_dict(value: Any) -> dict[str, Any]:
    """pynamodb hands raw maps back as MapAttribute; we work with plain dicts."""
    if value is None:
        return {}
    return value.as_dict() if hasattr(value, "as_dict") else dict(value)
