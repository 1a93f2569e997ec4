"""Routing: which department (and priority) a new contact's ticket gets, and how each
department's new tickets are assigned. Rules are an admin-edited settings document
(docs/routing.md):

  {"rules": [{"name": "...",
              "when": {"channel": [...], "recipient": [...], "keywords": [...],
                       "form_department": [...]},
              "then": {"department": "...", "priority": "..."}}],
   "assignment": {"<department>": "round_robin" | "manual"}}

The first rule whose every condition holds decides (Zendesk triggers / Freshdesk dispatch
rules). A department the customer picked on the web form (anything but `general`) is kept
unless a rule names `form_department` among its conditions. Nothing matches: the channel's own
choice stands (form field, recipient address, `general`), priority `normal`.

Read at intake from the settings cache (services/sla/store.py does the same), so a warm
container pays no AWS call for it. Round-robin assignment itself: services/team/round_robin.py.
"""
from __future__ import annotations

import bisect
import json
import unicodedata
from dataclasses import dataclass
from typing import Any

from chalicelib.db import settings
from chalicelib.errors import ValidationFailed
from chalicelib.services.team import audit
from chalicelib.services.team import departments

KIND, NAME = "routing", "default"
CHANNELS = ("web", "email", "sms")
PRIORITIES = ("low", "normal", "high", "urgent")  # = services/tickets.PRIORITIES (not imported: cold start)
MODES = ("manual", "round_robin")
MAX_RULES = 100
MAX_NAME = 100
MAX_KEYWORDS = 50  # per rule
MAX_KEYWORD = 64  # characters
MAX_KEYWORD_WORDS = 5
MAX_RECIPIENTS = 50
MAX_DOCUMENT_BYTES = 200_000  # well inside DynamoDB's 400 KB item
WHEN = ("channel", "recipient", "keywords", "form_department")
THEN = ("department", "priority")
_JOINERS = "\u200c\u200d"  # ZWNJ / ZWJ: typed or not, a Bengali word is the same word


@dataclass(frozen=True)
class Contact:
    """What routing may look at, as each channel knows it."""

    channel: str  # web | email | sms
    department: str = "general"  # the channel's own choice: form field, recipient address
    subject: str = ""
    body: str = ""
    recipients: tuple[str, ...] = ()  # email: the addresses it was sent to
    form_department: str | None = None  # web: the department picked on the form


def route(contact: Contact) -> tuple[str, str]:
    """(department, priority) for a new ticket: the rules, read from the settings cache. A
    rule whose department was deactivated since it was saved is passed over (nothing new
    goes to a deactivated department); it applies again once the department is active."""
    active = set(departments.names())
    return decide([rule for rule in _compiled() if rule.department in active], contact)


def assignment(department: str) -> str:
    """`round_robin` or `manual` (the default) for the department's new tickets."""
    return current()["assignment"].get(department, "manual")


# ---- the document --------------------------------------------------------------------------

def empty() -> dict[str, Any]:
    return {"rules": [], "assignment": {name: "manual" for name in departments.names()}}


def current() -> dict[str, Any]:
    """The stored document (cached like SLA policies), assignment filled in for every
    department; the empty document until an admin saves one."""
    stored = settings.get(KIND, NAME)
    if stored is None:
        return empty()
    return {"rules": list(stored.get("rules") or []),
            "assignment": {**empty()["assignment"], **dict(stored.get("assignment") or {})}}


def put(body: Any, actor: str) -> dict[str, Any]:
    """Validate and store the document, with its audit entry in the same transaction."""

    document = validate(body)
    audit.put_setting(KIND, NAME, document, actor, action="routing.updated")
    return current()


def validate(body: Any) -> dict[str, Any]:
    """The document as stored (keywords and addresses normalised), or ValidationFailed
    naming every bad field (`rules[3].when.keywords[0]`)."""
    if not isinstance(body, dict):
        raise ValidationFailed("The routing document must be a JSON object.", {"body": "must be an object"})
    errors: dict[str, str] = {}
    for key in body:
        if key not in ("rules", "assignment"):
            errors[key] = "unknown field"
    raw_rules = body.get("rules", [])
    rules: list[dict[str, Any]] = []
    if not isinstance(raw_rules, list):
        errors["rules"] = "a list of rules"
    elif len(raw_rules) > MAX_RULES:
        errors["rules"] = f"at most {MAX_RULES} rules"
    else:
        names: set[str] = set()
        for n, raw in enumerate(raw_rules):
            rule = _rule(raw, f"rules[{n}]", errors)
            if rule is None:
                continue
            if rule["name"] in names:
                errors[f"rules[{n}].name"] = "another rule has this name"
            names.add(rule["name"])
            rules.append(rule)
    modes = body.get("assignment", {})
    assignment: dict[str, str] = {}
    if not isinstance(modes, dict):
        errors["assignment"] = "an object: department -> round_robin or manual"
    else:
        for department, mode in modes.items():
            if not departments.known(department):  # a deactivated one keeps its mode
                errors[f"assignment.{str(department)[:64]}"] = \
                    departments.problem(department) or "unknown department"
            elif not isinstance(mode, str) or mode not in MODES:
                errors[f"assignment.{department}"] = "round_robin or manual"
            else:
                assignment[department] = mode
    document = {"rules": rules, "assignment": assignment}
    if not errors and len(json.dumps(document, ensure_ascii=False).encode()) > MAX_DOCUMENT_BYTES:
        errors["rules"] = f"the document is larger than {MAX_DOCUMENT_BYTES} bytes"
    if errors:
        raise ValidationFailed("The routing rules have errors.", dict(list(errors.items())[:100]))
    return document


def _rule(raw: Any, at: str, errors: dict[str, str]) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        errors[at] = "an object with name, when and then"
        return None
    for key in raw:
        if key not in ("name", "when", "then"):
            errors[f"{at}.{str(key)[:64]}"] = "unknown field"
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        errors[f"{at}.name"] = f"required: text of at most {MAX_NAME} characters"
        name = ""
    when = _when(raw.get("when", {}), f"{at}.when", errors)
    then = _then(raw.get("then"), f"{at}.then", errors)
    if when is None or then is None:
        return None
    return {"name": name.strip(), "when": when, "then": then}


def _when(raw: Any, at: str, errors: dict[str, str]) -> dict[str, list[str]] | None:
    if not isinstance(raw, dict):
        errors[at] = "an object of conditions"
        return None
    out: dict[str, list[str]] = {}
    for key, values in raw.items():
        where = f"{at}.{str(key)[:64]}"
        if key not in WHEN:
            errors[where] = "unknown condition"
            continue
        limit = MAX_KEYWORDS if key == "keywords" else MAX_RECIPIENTS
        if not isinstance(values, list) or not values or len(values) > limit:
            errors[where] = f"a list of 1 to {limit} values"
            continue
        cleaned = []
        for n, value in enumerate(values):
            problem, value = _condition_value(key, value)
            if problem:
                errors[f"{where}[{n}]"] = problem
            elif value not in cleaned:
                cleaned.append(value)
        out[key] = cleaned
    return out


def _condition_value(key: str, value: Any) -> tuple[str | None, str]:
    if not isinstance(value, str):
        return "must be a string", ""
    if key == "channel":
        return (None, value) if value in CHANNELS else (f"one of: {', '.join(CHANNELS)}", "")
    if key == "form_department":
        return (None, value) if departments.is_department(value) else (departments.problem(value) or "", "")
    if key == "recipient":
        address = value.strip()
        local, at, domain = address.rpartition("@")
        if not at or not local or "." not in domain or len(address) > 254 or " " in address \
                or _address(address).startswith("@"):  # "+tag@x.y": no mailbox without the tag
            return "an email address", ""
        return None, _address(address)
    keyword = unicodedata.normalize("NFC", value).strip()
    if not keyword or len(keyword) > MAX_KEYWORD:
        return f"1 to {MAX_KEYWORD} characters", ""
    words = _words(keyword.rstrip("*"))
    if not words:
        return "must contain a word", ""
    if len(words) > MAX_KEYWORD_WORDS:
        return f"at most {MAX_KEYWORD_WORDS} words", ""
    if "*" in keyword.rstrip("*") or keyword.endswith("**"):
        return "* only once, at the end (a prefix)", ""
    return None, keyword


def _then(raw: Any, at: str, errors: dict[str, str]) -> dict[str, str] | None:
    if not isinstance(raw, dict):
        errors[at] = "required: an object with department (and priority)"
        return None
    for key in raw:
        if key not in THEN:
            errors[f"{at}.{str(key)[:64]}"] = "unknown field"
    department, priority = raw.get("department"), raw.get("priority")
    ok = True
    if not departments.is_department(department):
        errors[f"{at}.department"] = "required: one of " + ", ".join(departments.names())
        ok = False
    if priority is not None and (not isinstance(priority, str) or priority not in PRIORITIES):
        errors[f"{at}.priority"] = "one of: " + ", ".join(PRIORITIES)
        ok = False
    if not ok:
        return None
    return {"department": department, **({"priority": priority} if priority else {})}


# ---- matching (pure) -----------------------------------------------------------------------

@dataclass(frozen=True)
class _Rule:
    name: str
    channels: frozenset[str] | None
    recipients: frozenset[str] | None
    keywords: tuple[tuple[tuple[str, ...], bool], ...] | None  # (words, last word is a prefix)
    form_departments: frozenset[str] | None
    department: str
    priority: str


def compile_rules(document: dict[str, Any]) -> list[_Rule]:
    compiled = []
    for rule in document.get("rules") or []:
        when, then = dict(rule.get("when") or {}), dict(rule["then"])
        keywords = when.get("keywords")
        compiled.append(_Rule(
            name=rule.get("name", ""),
            channels=frozenset(when["channel"]) if "channel" in when else None,
            recipients=frozenset(_address(a) for a in when["recipient"]) if "recipient" in when else None,
            keywords=tuple((tuple(_words(k.rstrip("*"))), k.endswith("*")) for k in keywords)
            if keywords is not None else None,
            form_departments=frozenset(when["form_department"]) if "form_department" in when else None,
            department=then["department"], priority=then.get("priority") or "normal"))
    return compiled


def decide(rules: list[_Rule], contact: Contact) -> tuple[str, str]:
    """The first matching rule's department and priority, else the channel's own choice."""
    explicit = contact.channel == "web" and contact.form_department not in (None, "", "general")
    recipients = {_address(a) for a in contact.recipients}
    text: _Text | None = None
    for rule in rules:
        if explicit and rule.form_departments is None:
            continue  # the customer chose; only a rule about that choice may change it
        if rule.channels is not None and contact.channel not in rule.channels:
            continue
        if rule.form_departments is not None and (
                contact.channel != "web" or contact.form_department not in rule.form_departments):
            continue
        if rule.recipients is not None and not recipients & rule.recipients:
            continue
        if rule.keywords is not None:
            if text is None:  # tokenised once per contact, however many rules ask
                text = _Text(_words(f"{contact.subject}\n{contact.body}"))
            if not any(text.contains(keyword, prefix) for keyword, prefix in rule.keywords):
                continue
        return rule.department, rule.priority
    return contact.department, "normal"


class _Text:
    """A contact's words, indexed for keyword tests by set membership: the n-word phrases
    (joined by a space, which no word contains) of each length some keyword has, built on
    first use; for prefix keywords a sorted list of them, searched with bisect (the phrases
    starting with a given text are contiguous there). Cost: linear in the text per phrase
    length (at most MAX_KEYWORD_WORDS of them, plus a sort for prefixes), then O(1) or
    O(log n) per keyword, instead of a scan of the text per keyword."""

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self._phrases: dict[int, set[str]] = {}
        self._sorted: dict[int, list[str]] = {}

    def phrases(self, size: int) -> set[str]:
        found = self._phrases.get(size)
        if found is None:
            words = self.words
            found = self._phrases[size] = (
                set(words) if size == 1 else
                {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)})
        return found

    def contains(self, keyword: tuple[str, ...], prefix: bool) -> bool:
        size = len(keyword)
        if not size:
            return False
        joined = " ".join(keyword)
        if joined in self.phrases(size):
            return True
        if not prefix:
            return False
        ordered = self._sorted.get(size)
        if ordered is None:
            ordered = self._sorted[size] = sorted(self.phrases(size))
        at = bisect.bisect_left(ordered, joined)
        return at < len(ordered) and ordered[at].startswith(joined)


def _words(text: str) -> list[str]:
    """Casefolded NFC words: letters, marks and digits (Bengali vowel signs and the hasanta
    stay inside a word); ZWNJ/ZWJ are dropped; anything else separates words."""
    found: list[str] = []
    current: list[str] = []
    for ch in unicodedata.normalize("NFC", text).casefold() + " ":
        if ch in _JOINERS:
            continue
        if unicodedata.category(ch)[0] in "LMN":
            current.append(ch)
        elif current:
            found.append("".join(current))
            current = []
    return found


def _address(address: str) -> str:
    """user+tag@Example.COM -> user@example.com (plus tags address the same mailbox)."""
    local, _, domain = address.strip().casefold().rpartition("@")
    return f"{local.partition('+')[0]}@{domain}"


_cache: tuple[Any, list[_Rule]] = (None, [])


def _compiled() -> list[_Rule]:
    """The rules, compiled once per settings-cache fill (settings.get returns the same dict
    while cached)."""
    global _cache
    stored = settings.get(KIND, NAME)
    if stored is None:
        return []
    if _cache[0] is not stored:
        _cache = (stored, compile_rules(stored))
    return _cache[1]
