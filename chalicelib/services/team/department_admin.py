"""Admins edit departments (PUT / DELETE /api/departments/{name}, `setu departments`).

The departments document is read with services/team/departments.py; this module validates an
edit, writes the whole document with its audit entry in one transaction (audit.put_setting:
conditional on the version read, so two admins saving at once cannot lose a change; the entry
names `department:<name>` and records that department before and after), and decides what a
DELETE does:

- `general` is never removed or deactivated (every contact without a department lands there);
- a department something refers to (a ticket, an agent, a routing rule) or a built-in one is
  deactivated (`active: false`): it stays readable, its tickets keep it, nothing new goes there;
- any other department is removed from the document.

Each department has an address of its own (the support address is general's): one another
department uses, by its `address` or by default, is a 422.

The whole document is one item: a write that would make it larger than MAX_DOCUMENT_BYTES
(under DynamoDB's 400 KB an item) is refused with a 422, nothing written.

Cost: a PUT is two GetItems of the departments document (a fresh read to edit, and the
consistent read audit.put_setting checks against) + one TransactWriteItems (+ the reads of the
calendar and policies it names); a DELETE adds a Query on the tickets' department-index
(limit 1), one on the agents' partition and a GetItem of the routing document.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

from chalicelib import config
from chalicelib.db import settings
from chalicelib.db.models import Agent, Ticket
from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.services.team import audit, departments, routing

MAX_DEPARTMENTS = departments.MAX_DEPARTMENTS
MAX_LINKS = 10
MAX_LABEL = 100
# Every department is one settings item (DynamoDB: at most 400 KB an item). Each field has its
# limit, but 100 departments of ten full links each would not fit: a write that would pass
# this size (the document as JSON, UTF-8; DynamoDB's own count is close and lower) is a 422.
MAX_DOCUMENT_BYTES = 350_000
FIELDS = ("labels", "address", "form", "order", "links", "calendar", "default_policy", "active")
_ADDRESS = re.compile(r"^[a-z0-9](?:[a-z0-9._+-]{0,62})@[a-z0-9.-]{1,190}$")
_NAME = re.compile(r"^[\w-]{1,64}$")
# labels reach mail subjects, the briefing, the web form and SMS: one line of printable text
# (no control characters, line or paragraph separators, or bidi overrides that reverse what
# follows); Bengali's joiners (U+200C, U+200D) are letters' business and stay allowed
_NOT_IN_A_LABEL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def listing(*, include_inactive: bool = True) -> list[dict[str, Any]]:
    found = departments.every()
    return [departments.view(name, found[name]) for name in sorted(found)
            if include_inactive or found[name].get("active", True)]


def show(name: str) -> dict[str, Any]:
    entry = departments.get(name)
    if entry is None:
        raise NotFound(f"No department named {name}.")
    return departments.view(name, entry)


def put(name: str, body: Any, actor: str, *, calendar_exists: Callable[[str], bool],
        policy_exists: Callable[[str], bool]) -> dict[str, Any]:
    """Create or change a department: fields left out keep their value (a new department's
    defaults: on the form, no links, address `<name>@<support domain>`, active)."""
    if not departments.valid_name(name):
        raise ValidationFailed("Invalid department name.",
                               {"name": "1-32 of a-z, 0-9 and '-' (not at either end)"})
    if not isinstance(body, dict):
        raise ValidationFailed("The department must be a JSON object.", {"body": "an object"})
    settings.clear_cache()  # edit what is stored now, not what this container saw a while ago
    current = departments.every()
    previous = current.get(name)
    errors = {key: "unknown field" for key in body if key not in (*FIELDS, "name")}
    entry = {**departments.DEFAULTS, **(previous or {})}
    entry.update({key: value for key, value in body.items() if key in FIELDS})
    if previous is None and "labels" not in body:
        errors["labels"] = "required for a new department: {\"bn\": ..., \"en\": ...}"
    errors.update(_check(name, entry, calendar_exists, policy_exists))
    if "address" not in errors:
        errors.update(_address_taken(name, entry, current))
    if previous is None and len(current) >= MAX_DEPARTMENTS:
        errors["name"] = f"at most {MAX_DEPARTMENTS} departments"
    if errors:
        raise ValidationFailed("The department has errors.", errors)
    entry["labels"] = {"bn": entry["labels"]["bn"].strip(), "en": entry["labels"]["en"].strip()}
    if entry.get("address"):
        entry["address"] = entry["address"].strip().lower()
    size = len(json.dumps({**current, name: entry}, ensure_ascii=False).encode("utf-8"))
    if size > MAX_DOCUMENT_BYTES:
        raise ValidationFailed("The departments would not fit in their settings item.", {
            "body": f"every department together takes at most {MAX_DOCUMENT_BYTES} bytes "
                    f"(size with this one: {size}); shorten labels or links, or remove some"})
    _save(name, {**current, name: entry}, actor,
          "department.created" if previous is None else "department.updated")
    return departments.view(name, entry)


def delete(name: str, actor: str) -> dict[str, Any]:
    """Remove the department, or deactivate it when something refers to it (module docstring).
    The answer says which, and what refers to it."""
    settings.clear_cache()
    current = departments.every()
    if name not in current:
        raise NotFound(f"No department named {name}.")
    if name == departments.GENERAL:
        raise Conflict("The general department cannot be removed: every contact without a "
                       "department lands there.", {"name": name})
    used = in_use(name)
    if used or name in departments.SEEDS:
        entry = {**current[name], "active": False}
        _save(name, {**current, name: entry}, actor, "department.deactivated")
        return {**departments.view(name, entry), "deleted": False, "deactivated": True,
                "in_use": used}
    remaining = {key: value for key, value in current.items() if key != name}
    _save(name, remaining, actor, "department.deleted")
    return {**departments.view(name, {**current[name], "active": False}), "deleted": True,
            "deactivated": False, "in_use": []}


def in_use(name: str) -> list[str]:
    """What refers to the department: `tickets`, `agents`, `routing`."""
    used = []
    if next(iter(Ticket.department_index.query(name, limit=1)), None) is not None:
        used.append("tickets")
    agents = Agent.query("agent", filter_condition=Agent.departments.contains(name))
    if next(iter(agents), None) is not None:
        used.append("agents")
    document = routing.current()
    for rule in document.get("rules") or []:
        if (rule.get("then") or {}).get("department") == name \
                or name in ((rule.get("when") or {}).get("form_department") or []):
            used.append("routing")
            break
    return used


def _save(name: str, items: dict[str, dict[str, Any]], actor: str, action: str) -> None:
    audit.put_setting(departments.KIND, departments.NAME, {"items": items}, actor,
                      action=action, target=f"department:{name}",
                      narrow=lambda document: _part(document, name))


def _part(document: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    if document is None:  # before the first save: the built-in departments were the data
        seed = departments.SEEDS.get(name)
        return {**departments.DEFAULTS, **seed} if seed else None
    return (document.get("items") or {}).get(name)


def _check(name: str, entry: dict[str, Any], calendar_exists: Callable[[str], bool],
           policy_exists: Callable[[str], bool]) -> dict[str, str]:
    errors: dict[str, str] = {}
    labels = entry.get("labels")
    if not _labels_ok(labels):
        errors["labels"] = (f"{{\"bn\": ..., \"en\": ...}}, each 1-{MAX_LABEL} characters on "
                            "one line")
    address = entry.get("address")
    if address is not None:
        domain = departments.support_domain().lower()
        if not (isinstance(address, str) and _ADDRESS.match(address.strip().lower())):
            errors["address"] = "an email address, or null for <name>@<support domain>"
        elif address.strip().lower().rpartition("@")[2] != domain:
            errors["address"] = f"an address at the support domain {domain} (mail to it must reach Setu)"
    if not isinstance(entry.get("form"), bool):
        errors["form"] = "true or false"
    order = entry.get("order")
    if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= 10_000:
        errors["order"] = "an integer 0-10000"
    if not isinstance(entry.get("active"), bool):
        errors["active"] = "true or false"
    elif not entry["active"] and name == departments.GENERAL:
        errors["active"] = "the general department is always active"
    links = entry.get("links")
    if not isinstance(links, list) or len(links) > MAX_LINKS \
            or not all(_link_ok(link) for link in links):
        errors["links"] = (f"at most {MAX_LINKS} of {{\"label\": {{\"bn\", \"en\"}}, "
                           "\"path\": \"/...\"}} or {\"label\", \"url\": \"https://...\"}")
    for field, exists in (("calendar", calendar_exists), ("default_policy", policy_exists)):
        value = entry.get(field)
        if value is None:
            continue
        if not isinstance(value, str) or not _NAME.match(value):
            errors[field] = "a name, or null"
        elif not exists(value):
            errors[field] = f"no {field.replace('default_', '')} named {value}"
    return errors


def _address_taken(name: str, entry: dict[str, Any],
                   current: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The address (given, or the default `<name>@<support domain>`) is another department's
    (the support address is general's): mail to it would land in one of the two."""
    support = config.settings().support_address
    mine = (entry.get("address") or (support if name == departments.GENERAL
                                      else f"{name}@{departments.support_domain()}"))
    mine = mine.strip().lower()
    for other, found in current.items():
        if other == name:
            continue
        theirs = found.get("address") or (support if other == departments.GENERAL
                                          else f"{other}@{departments.support_domain()}")
        if theirs.strip().lower() == mine:
            return {"address": f"{mine} is the address of the department {other}; choose "
                               "another"}
    return {}


def _labels_ok(labels: Any) -> bool:
    return (isinstance(labels, dict) and set(labels) == {"bn", "en"}
            and all(isinstance(v, str) and 0 < len(v.strip()) <= MAX_LABEL
                    and not _NOT_IN_A_LABEL.search(v) for v in labels.values()))


def _link_ok(link: Any) -> bool:
    if not isinstance(link, dict) or set(link) - {"label", "path", "url"} or "label" not in link:
        return False
    if not _labels_ok(link["label"]):
        return False
    path, url = link.get("path"), link.get("url")
    if (path is None) == (url is None):
        return False
    if path is not None:
        return isinstance(path, str) and re.fullmatch(r"/[\w./~%-]{0,199}", path) is not None
    return isinstance(url, str) and re.fullmatch(r"https?://[^\s\"'<>]{1,300}", url) is not None
