"""Departments and the links their acknowledgements carry.

Built-in defaults; admin-edited departments and templates arrive with the agent API (issue 7).
"""
from __future__ import annotations

from chalicelib import config

DEPARTMENTS: dict[str, dict] = {
    "general": {
        "name": {"bn": "সাধারণ", "en": "General"},
        "links": [
            {"label": {"bn": "সাধারণ জিজ্ঞাসা (FAQ)", "en": "Frequently asked questions"},
             "path": "/help/faq"},
        ],
    },
    "sales": {
        "name": {"bn": "বিক্রয়", "en": "Sales"},
        "links": [
            {"label": {"bn": "মূল্য তালিকা", "en": "Price list"}, "path": "/help/prices"},
        ],
    },
    "billing": {
        "name": {"bn": "বিল ও পেমেন্ট", "en": "Billing"},
        "links": [
            {"label": {"bn": "পেমেন্টের নিয়ম", "en": "How to pay"}, "path": "/help/payments"},
        ],
    },
    "technical": {
        "name": {"bn": "কারিগরি সহায়তা", "en": "Technical support"},
        "links": [
            {"label": {"bn": "ব্যবহার নির্দেশিকা", "en": "User guides"}, "path": "/help/docs"},
        ],
    },
}
DEPARTMENT_NAMES = frozenset(DEPARTMENTS)


def names() -> list[str]:
    """Every department's name, sorted: the one question callers outside this module ask."""
    return sorted(DEPARTMENT_NAMES)


def is_department(value: object) -> bool:
    """A department's name; False (never TypeError) for any other value, a list or a dict too."""
    return isinstance(value, str) and value in DEPARTMENT_NAMES


def sender_address(department: str) -> str:
    """The From address of mail about a department's tickets: <department>@<support domain>;
    general mail comes from the support address itself."""

    support = config.settings().support_address
    if department not in DEPARTMENTS or department == "general":
        return support
    return f"{department}@{support.rpartition('@')[2]}"


def sender_addresses() -> list[str]:
    return [sender_address(name) for name in DEPARTMENTS]


def display_name(department: str, lang: str) -> str:
    return DEPARTMENTS.get(department, DEPARTMENTS["general"])["name"][lang]


def links(department: str, lang: str, base_url: str) -> list[dict[str, str]]:
    entry = DEPARTMENTS.get(department, DEPARTMENTS["general"])
    return [{"label": link["label"][lang], "url": f"{base_url}{link['path']}"}
            for link in entry["links"]]
