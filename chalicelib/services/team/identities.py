"""Who an agent record is keyed by: an IAM principal ARN, or a console-only identity.

Agents have been keyed by the IAM principal ARN that signs their /api/... calls. A support
team member who only uses the console has no IAM user: created by email alone
(`POST /api/agents {"email": ..., "role": ...}`, `setu agents add --email`), their record is
keyed by `console:<short name>` instead, e.g. `console:karim` for karim@shop.example.

Why this form:
* it can never collide with or be mistaken for an IAM ARN: every ARN starts with `arn:`, and
  this never does (`principal_problem` in agents.py refuses it as a principal);
* the IAM path can never resolve it: API Gateway's IAM authorizer only ever hands on a caller's
  ARN, and api/auth.py refuses any principal that is not one (the local stand-in,
  X-Setu-Principal, included), so such an agent is reached only through a Cognito sign-in
  (the `sub` -> agent link written when invited: console_access.py);
* it carries the agent's short name (what people type: `assignee=karim`), so `short_name`
  stays a pure function of the key like an ARN's last segment, and everything that reads a
  principal (audit `agent:console:karim`, assignees, staff mail) works unchanged;
* it is not the email: an address can change (PATCH), the key cannot.

The short name comes from the email's local part, under the existing short-name rules (NFC,
casefolded; Bengali letters and their vowel signs kept), made unique among every agent's short
name (active or not) with a number: karim, karim2, karim3. Two admins creating the same
address at once compute the same key, so the second is a 409 like any duplicate principal.
No AWS calls."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

CONSOLE_PREFIX = "console:"
SHORT_MAX = 64
# what a short name never is: what find_reference / --assignee read as something else
RESERVED = frozenset({"me", "none", "nobody", "all", "any"})
_KEPT_PUNCTUATION = "._-+"
_AGENT_ID = re.compile(r"^ag_[0-9a-f]{20}\Z")


def is_console(principal: object) -> bool:
    """Whether `principal` is a console-only identity (console:<short name>)."""
    return (isinstance(principal, str) and principal.startswith(CONSOLE_PREFIX)
            and len(principal) > len(CONSOLE_PREFIX))


def console_principal(short: str) -> str:
    return CONSOLE_PREFIX + short


def short_name(principal: str) -> str:
    """An agent's short name: a console identity's name, else the ARN's last segment;
    NFC, casefolded."""
    tail = (principal[len(CONSOLE_PREFIX):] if is_console(principal)
            else principal.rsplit("/", 1)[-1])
    return unicodedata.normalize("NFC", tail).casefold()


def plain_name(principal: str) -> str:
    """What to show for an agent without a display name: its short name as written."""
    if is_console(principal):
        return principal[len(CONSOLE_PREFIX):]
    return principal.rsplit("/", 1)[-1]


def base_short_name(email: str) -> str:
    """The short name an email's local part gives, before it is made unique: letters (any
    script, with their combining marks: Bengali vowel signs), digits and . _ - + kept, any
    other character dropped; "agent" when nothing is left."""
    local = unicodedata.normalize("NFC", email.rsplit("@", 1)[0]).casefold()
    kept = "".join(ch for ch in local if unicodedata.category(ch)[0] in "LMN"
                   or ch in _KEPT_PUNCTUATION)
    kept = kept.strip(_KEPT_PUNCTUATION)[:SHORT_MAX - 4].strip(_KEPT_PUNCTUATION)
    return unicodedata.normalize("NFC", kept) or "agent"


def unique_short_name(email: str, taken: Iterable[str]) -> str:
    """The email's short name, numbered (karim2, karim3, ...) past those `taken`, reserved
    words and anything that reads as an agent id (ag_ and hex)."""
    used = set(taken)
    base = base_short_name(email)
    candidate, n = base, 1
    while candidate in used or candidate in RESERVED or _AGENT_ID.match(candidate):
        n += 1
        candidate = f"{base}{n}"
    return candidate
