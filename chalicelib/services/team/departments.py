"""Departments as data: what a department is called, its address, its place on the web form,
the help links its acknowledgements carry, its calendar and default SLA policy.

All departments live in ONE settings document, `("departments", "all")`: {"items": {name:
department}}. Until an admin saves a department that document does not exist and the four
built-in departments (SEEDS: general, sales, billing, technical) are the data; the first save
copies them into the document, so a fresh stack has them without anyone creating them and
nothing needs seeding at deploy time.

A department (`normalise` checks one, `view` shows one):

  name            the id, `[a-z0-9-]{1,32}` (the key of the document, not a field in it)
  labels          {"bn": ..., "en": ...}
  address         the From/To address of its mail; null: `<name>@<support domain>`
                  (general: the support address itself)
  form            shown as a choice on the web form; `order` sorts the choices (then the name)
  links           [{"label": {"bn", "en"}, "path": "/help/..." | "url": "https://..."}]
  calendar        a calendar name, or null (its SLA policy's calendar)
  default_policy  an SLA policy name, or null (services/sla/policy.candidates)
  active          false: deactivated (DELETE of a department in use); no new tickets, no form
                  choice, no routing to it; its tickets keep it

Cost: every read goes through the settings cache (db/settings.py): one GetItem per container
per SETU_SETTINGS_CACHE_SECONDS for all departments together, nothing on a warm container.
Writes (services/team/department_admin.py) clear this container's cache at once.
"""
from __future__ import annotations

import re
from typing import Any

from chalicelib import config
from chalicelib.db import settings
from chalicelib.errors import ValidationFailed

KIND, NAME = "departments", "all"
NAME_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$"
GENERAL = "general"
MAX_DEPARTMENTS = 100

SEEDS: dict[str, dict[str, Any]] = {
    "general": {
        "labels": {"bn": "সাধারণ", "en": "General"}, "form": True, "order": 0,
        "links": [
            {"label": {"bn": "সাধারণ জিজ্ঞাসা (FAQ)", "en": "Frequently asked questions"},
             "path": "/help/faq"},
        ],
    },
    "sales": {
        "labels": {"bn": "বিক্রয়", "en": "Sales"}, "form": True, "order": 10,
        "links": [
            {"label": {"bn": "মূল্য তালিকা", "en": "Price list"}, "path": "/help/prices"},
        ],
    },
    "billing": {
        "labels": {"bn": "বিল ও পেমেন্ট", "en": "Billing"}, "form": True, "order": 20,
        "links": [
            {"label": {"bn": "পেমেন্টের নিয়ম", "en": "How to pay"}, "path": "/help/payments"},
        ],
    },
    "technical": {
        "labels": {"bn": "কারিগরি সহায়তা", "en": "Technical support"}, "form": True, "order": 30,
        "links": [
            {"label": {"bn": "ব্যবহার নির্দেশিকা", "en": "User guides"}, "path": "/help/docs"},
        ],
    },
}
DEFAULTS: dict[str, Any] = {"address": None, "form": True, "order": 100, "links": [],
                            "calendar": None, "default_policy": None, "active": True}


def stored() -> dict[str, dict[str, Any]] | None:
    """The stored document's departments (None until an admin saved one). Cached."""
    document = settings.get(KIND, NAME)
    return None if document is None else dict(document.get("items") or {})


def every() -> dict[str, dict[str, Any]]:
    """name -> department (defaults filled in), inactive ones too."""
    items = stored()
    if items is None:
        items = SEEDS
    return {name: {**DEFAULTS, **entry} for name, entry in items.items()}


def names() -> list[str]:
    """Every active department's name, sorted: the one question callers outside this module ask."""
    return sorted(name for name, entry in every().items() if entry.get("active", True))


def is_department(value: object) -> bool:
    """An active department's name; False (never TypeError) for any other value."""
    return isinstance(value, str) and value in names()


def known(value: object) -> bool:
    """A department's name, active or not (a ticket may stay in a deactivated department)."""
    return isinstance(value, str) and value in every()


def problem(value: object) -> str | None:
    """Why `value` is no department to put work in (for a 422 field message), else None."""
    if is_department(value):
        return None
    listed = ", ".join(names())
    if known(value):
        return f"the department {value} is deactivated; one of: {listed}"
    return f"no such department; one of: {listed}"


def require(value: object, field: str = "department") -> str:
    """The active department `value`, else ValidationFailed (422) listing the departments."""
    why = problem(value)
    if why is not None:
        raise ValidationFailed(f"Unknown department: {str(value)[:40]!r}.", {field: why})
    return value  # type: ignore[return-value]


def get(name: str) -> dict[str, Any] | None:
    return every().get(name)


def _entry(department: str) -> dict[str, Any]:
    found = every()
    return found.get(department) or found.get(GENERAL) or {**DEFAULTS, **SEEDS[GENERAL]}


def support_domain() -> str:
    return config.settings().support_address.rpartition("@")[2]


def sender_address(department: str) -> str:
    """The From address of mail about a department's tickets: its `address`, else
    <department>@<support domain>; general mail comes from the support address itself."""
    support = config.settings().support_address
    entry = every().get(department)
    if entry is None:
        return support
    if entry.get("address"):
        return entry["address"]
    if department == GENERAL:
        return support
    return f"{department}@{support_domain()}"


def sender_addresses() -> list[str]:
    return [sender_address(name) for name in every()]


def for_address(address: str) -> str | None:
    """The active department whose address `address` is (`name+tag@domain` too), else None."""
    wanted = address.strip().lower()
    local, _, domain = wanted.partition("@")
    plain = f"{local.partition('+')[0]}@{domain}"
    for name in names():
        if name == GENERAL:
            continue
        own = sender_address(name).lower()
        if own in (wanted, plain):
            return name
    return None


def display_name(department: str, lang: str) -> str:
    labels = _entry(department).get("labels") or {}
    return labels.get(lang) or labels.get("en") or department


def labels(department: str) -> dict[str, str]:
    return dict(_entry(department).get("labels") or {})


def form_choices(lang: str, also: str | None = None) -> list[tuple[str, str]]:
    """(name, label) of the active departments shown on the web form, in their order; `also`
    (an active department a link preselects, `/form?department=...`) is added when hidden."""
    found = every()
    shown = [name for name in names() if found[name].get("form", True) or name == also]
    if GENERAL not in shown:
        shown.append(GENERAL)
    shown.sort(key=lambda name: (int(found.get(name, {}).get("order", 100)), name))
    return [(name, display_name(name, lang)) for name in shown]


def links(department: str, lang: str, base_url: str) -> list[dict[str, str]]:
    out = []
    for link in _entry(department).get("links") or []:
        label = link["label"].get(lang) or link["label"].get("en") or ""
        url = link.get("url") or f"{base_url}{link.get('path', '/')}"
        out.append({"label": label, "url": url})
    return out


def calendar(department: str) -> str | None:
    return _entry(department).get("calendar")


def default_policy(department: str) -> str | None:
    entry = every().get(department)
    return entry.get("default_policy") if entry else None


def view(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """A department as the API shows it (the effective address included)."""
    full = {**DEFAULTS, **entry}
    return {"name": name, "labels": full.get("labels") or {}, "address": full.get("address"),
            "effective_address": sender_address(name), "form": bool(full["form"]),
            "order": int(full["order"]), "links": full["links"], "calendar": full["calendar"],
            "default_policy": full["default_policy"], "active": bool(full["active"]),
            "builtin": name in SEEDS}


def department_limit() -> int:
    """The most departments there can be (services/team/department_admin.MAX_DEPARTMENTS)."""
    return MAX_DEPARTMENTS


def valid_name(name: object) -> bool:
    return isinstance(name, str) and re.fullmatch(NAME_PATTERN, name) is not None
