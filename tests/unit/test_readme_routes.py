"""README's HTTP API table names every route the app serves (method and path), so a new page
or endpoint cannot ship undocumented. GET /api/openapi.json is checked the same way in
tests/integration/test_agent_api.py."""
from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _shape(path: str) -> str:
    """/api/tickets/{id or ref} and /api/tickets/{ticket_id} are the same route."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _documented() -> set[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    table = text.split("## HTTP API", 1)[1].split("\n## ", 1)[0]
    routes = set()
    for line in table.splitlines():
        if not line.startswith("| `"):
            continue
        first = line.split(" | ", 1)[0]
        methods = set(re.findall(r"\b(" + "|".join(METHODS) + r")\b", first))
        paths = {_shape(p) for p in re.findall(r"(/(?:\{[^}]*\}|[^\s`?{])*)", first)}
        routes |= {(path, method) for path in paths for method in methods}
    return routes


def test_readme_lists_every_route():
    import app

    from chalicelib.api import console

    # /console/api/... mirrors /api/... (docs/console.md); the README names the prefix once
    served = {(_shape(path), method) for path, methods in app.app.routes.items() for method in methods
              if not console.is_console_path(path)}
    assert served - _documented() == set()
