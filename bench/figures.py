"""A figure: one measured number, its goal, and whether the goal is enforced yet."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    name: str
    value: float | int | None
    unit: str
    goal: float | int | None = None
    # "le": value <= goal is met; "ge": value >= goal is met.
    compare: str = "le"
    # False: the goal is recorded and reported but a miss does not fail the bench (yet).
    enforced: bool = True
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return False if self.goal is not None else None
        if self.goal is None:
            return None
        return self.value <= self.goal if self.compare == "le" else self.value >= self.goal

    @property
    def fails(self) -> bool:
        """A missed enforced goal or a measurement that did not happen fails the bench."""
        return self.error is not None or (self.enforced and self.met is False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["met"] = self.met
        return out

    def line(self) -> str:
        value = "n/a" if self.value is None else _fmt(self.value)
        text = f"{self.name}: {value} {self.unit}"
        if self.goal is not None:
            sign = "<=" if self.compare == "le" else ">="
            met = {True: "yes", False: "no", None: "n/a"}[self.met]
            text += f"  (goal {sign} {_fmt(self.goal)} {self.unit}, met: {met}"
            text += ")" if self.enforced else ", reported only)"
        if self.error:
            text += f"  ERROR: {self.error}"
        return text


def _fmt(value: float | int) -> str:
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:,}"
