"""Agents: IAM principal ARN (or, for people who only use the console, a console-only identity
`console:<short name>`: team/identities.py) -> agent with a role. Looked up on every API call (cached briefly
per container; a deactivation takes effect within SETU_SETTINGS_CACHE_SECONDS).

People name agents by short name (`short_name`: the ARN's last segment, lower case; a console
identity's name), id or
"me"; `find_reference` is the one reader of such a reference (the queue's `assignee=`, a
ticket's `"assignee"`, `setu tickets --assignee`). The directory answers leads and admins in
full and other agents with `card`s (active agents, no ARN, no email).

AWS calls: `lookup` one GetItem (cached); `directory` one Query (a page of at most PAGE_MAX);
`create` by email alone one Query of the agent
partition (the short names and addresses taken); `find_reference` by name one Query of the
agent partition (every active agent, pages of
PAGE_MAX), by id one or two GetItems, by ARN a cached GetItem; `update` that (de)activates an
agent invited to the console also one AdminDisableUser/AdminEnableUser (docs/console.md).

Longer than 600 lines: the agent record's three per-container caches (callers, ids, staff-mail
recipients) live beside every write that must forget them (`forget`, `update`); split, a write
could change an agent and leave a module's cached copy behind."""
from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

from chalicelib import clock, config
from chalicelib.db import cursors, keys
from chalicelib.db.connection import Cancelled, transaction
from chalicelib.db.models import Agent, Key
from chalicelib.db.values import as_dict
from chalicelib.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from chalicelib.services.customers.contacts import InvalidContact, normalise_email
from chalicelib.services.team import audit, identities, notifications
from chalicelib.services.team import departments as department_list

ROLES = ("agent", "lead", "admin")
RANK = {role: n for n, role in enumerate(ROLES)}
_cache: dict[str, tuple[float, "AgentView | None", bool]] = {}


@dataclass(frozen=True)
class AgentView:
    principal: str
    role: str
    display_name: str
    departments: frozenset[str]

    def has_role(self, needed: str) -> bool:
        return RANK[self.role] >= RANK[needed]


def ensure_agent(principal: str, *, role: str = "agent", display_name: str = "",
                 email: str = "", departments: set[str] | None = None) -> None:
    """Create the agent if it does not exist (idempotent; seeds and tests). Not audited: the
    API (`create`) and the CLI (`bootstrap_admin`) are the audited ways in."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    agent = Agent(kind="agent", name=principal, role=role, display_name=display_name or None,
                  email=email or None, departments=departments or None, active=True,
                  created_at=clock.now())
    try:
        with transaction() as tx:
            tx.save(agent, condition=Agent.name.does_not_exist(), label="agent")
            tx.save(_id_key(principal), label="id")
    except Cancelled as exc:
        if "agent" not in exc.labels:
            raise
    _cache.pop(principal, None)


def ensure_console_agent(email: str, *, role: str = "agent", display_name: str = "",
                         departments: set[str] | None = None) -> str:
    """The console-only agent with this address (console:<short name>), created if no agent
    has it (idempotent; seeds and tests, not audited, like `ensure_agent`). Its principal."""
    try:
        principal = _console_identity(email)
    except Conflict:
        return next(a.name for a in Agent.query("agent", page_size=PAGE_MAX, consistent_read=True)
                    if (a.email or "").casefold() == email.casefold())
    ensure_agent(principal, role=role, display_name=display_name, email=email,
                 departments=departments)
    return principal


def resolve(principal: str) -> AgentView | None:
    """The active agent of this principal, else None."""
    return lookup(principal)[0]


def lookup(principal: str) -> tuple[AgentView | None, bool]:
    """(the agent if active, whether the principal has an agent record at all): a deactivated
    record is known, so it can shut out a person whose role is registered as well."""
    hit = _cache.get(principal)
    if hit and hit[0] > time.monotonic():
        return hit[1], hit[2]
    try:
        agent = Agent.get("agent", principal)
        view = AgentView(principal=principal, role=agent.role,
                         display_name=agent.display_name or identities.plain_name(principal),
                         departments=frozenset(agent.departments or ())) if agent.active else None
        known = True
    except Agent.DoesNotExist:
        view, known = None, False
    _cache[principal] = (time.monotonic() + config.settings().settings_cache_seconds, view, known)
    return view, known


def display_name(principal: str) -> str | None:
    """An active agent's display name (cached with `lookup`); None for anyone else."""
    if not isinstance(principal, str) or not (principal.startswith("arn:")
                                              or identities.is_console(principal)):
        return None
    view = lookup(principal)[0]
    return view.display_name if view is not None else None


def exists(principal: str) -> bool:
    return resolve(principal) is not None


def clear_cache() -> None:
    _cache.clear()
    _recipients.clear()


def forget(principal: str) -> None:
    """Drop one agent from this container's caches (it was just changed)."""
    _cache.pop(principal, None)
    _recipients.pop(principal, None)


# ---- managing agents: the admin API (api/agents.py) and the `setu` command -------------------
#
# Agents are addressed by an opaque, stable id: ARNs hold "/", which API Gateway paths do not
# carry. The id is derived from the ARN (`agent_id`) and the keys table maps it back:
#   agent-id#<id> / _   target: the principal ARN   (written with the agent, never changed)

ID_PREFIX = "ag_"
LANGS = ("bn", "en")
FIELDS = ("role", "departments", "display_name", "email", "lang", "active", "away",
          "notifications")
# what an agent may change on their own record
SELF_SERVICE = frozenset({"away", "lang", "notifications"})
PAGE_DEFAULT, PAGE_MAX = 100, 500
NAME_MAX = 200
_AGENT_ID = re.compile(r"^ag_[0-9a-f]{20}\Z")
_IAM_NAME = r"[\w+=,.@-]{1,64}"
_PRINCIPAL = re.compile(
    r"^arn:aws(?:-[a-z]+)*:(?:"
    rf"iam::\d{{12}}:user/(?:[\w+=,.@-]+/)*{_IAM_NAME}"
    rf"|iam::\d{{12}}:role/{_IAM_NAME}"
    rf"|sts::\d{{12}}:assumed-role/{_IAM_NAME}/[\w+=,.@-]{{2,64}}"
    r")\Z", re.ASCII)
_ROLE_WITH_PATH = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::\d{12}:role/[^/]+/.+\Z", re.ASCII)
ARN_HELP = ("an IAM user or role ARN (arn:aws:iam::<account>:user/<name>, "
            "arn:aws:iam::<account>:role/<name>) or an STS assumed-role ARN "
            "(arn:aws:sts::<account>:assumed-role/<role>/<session>)")


def agent_id(principal: str) -> str:
    """The agent's id in URLs: `ag_` and 20 hex digits of the ARN's SHA-256."""
    return ID_PREFIX + hashlib.sha256(principal.encode("utf-8")).hexdigest()[:20]


def is_agent_id(text: Any) -> bool:
    return isinstance(text, str) and bool(_AGENT_ID.match(text))


def principal_problem(principal: Any) -> str | None:
    """Why `principal` cannot name an agent, or None when it can."""
    if not isinstance(principal, str) or not principal:
        return ARN_HELP
    if len(principal) > 2048:
        return "at most 2048 characters"
    if _ROLE_WITH_PATH.match(principal):
        return ("the role ARN without its path (arn:aws:iam::<account>:role/<name>): "
                "the sessions of a role do not carry the path")
    if not _PRINCIPAL.match(principal):
        return ARN_HELP
    return None


def short_name(principal: str) -> str:
    """An agent's short name, what people type for them (`assignee=karim`, `"assignee":
    "nusrat"`, `setu tickets --assignee karim`): the last segment of the principal ARN,
    casefolded -- the IAM user's or role's name, or an assumed role's session name; for a
    console-only agent the name after `console:` (made unique when created: identities.py).
    Two IAM agents can share one (users on different paths, sessions of different roles):
    then it is ambiguous and `find_reference` lists the candidates."""
    return identities.short_name(principal)


def card(agent: Agent) -> dict[str, Any]:
    """What every agent may read of another (to hand a ticket over): no ARN, no email."""
    return {"id": agent_id(agent.name), "short_name": short_name(agent.name),
            "display_name": agent.display_name, "role": agent.role,
            "departments": sorted(agent.departments or ()), "active": bool(agent.active),
            "away": bool(agent.away)}


def view(agent: Agent) -> dict[str, Any]:
    return {"id": agent_id(agent.name), "principal": agent.name, "role": agent.role,
            "short_name": short_name(agent.name),
            "display_name": agent.display_name, "email": agent.email,
            "departments": sorted(agent.departments or ()), "lang": agent.lang,
            "active": bool(agent.active), "away": bool(agent.away),
            "notifications": notifications.effective(_plain_field("notifications",
                                                                  agent.notifications)),
            "console_user": agent.cognito_username,
            "version": agent.version or 0,
            "created_at": clock.iso(agent.created_at) if agent.created_at else None}


def directory(*, department: str = "", cursor: str = "", limit: int = PAGE_DEFAULT,
              caller: AgentView | None = None) -> dict[str, Any]:
    """Every agent, active or not, in ARN order: one Query on the settings table's `agent`
    partition (never a Scan), a page of at most PAGE_MAX. Given a caller below lead: the
    active agents only, each as its `card` (no ARN, no email)."""
    reduced = caller is not None and not caller.has_role("lead")

    errors = {}
    if department and not department_list.known(department):
        errors["department"] = department_list.problem(department) or "unknown department"
    if not 1 <= limit <= PAGE_MAX:
        errors["limit"] = f"between 1 and {PAGE_MAX}"
    after = _decode_cursor(cursor) if cursor else None
    if cursor and after is None:
        errors["cursor"] = "not a cursor from this list"
    if errors:
        raise BadRequest("Invalid filter.", errors)
    condition = Agent.departments.contains(department) if department else None
    if reduced:
        active = Agent.active == True  # noqa: E712
        condition = active if condition is None else condition & active
    result = Agent.query("agent", range_key_condition=Agent.name > after if after else None,
                         filter_condition=condition,
                         limit=limit, page_size=PAGE_MAX, consistent_read=True)
    items = [card(agent) if reduced else view(agent) for agent in result]
    last = result.last_evaluated_key
    return {"items": items, "next": cursors.encode_text(last["name"]["S"]) if last else None}


def find_reference(text: Any, caller: AgentView | None = None, *,
                   field: str = "assignee") -> str:
    """The principal ARN of the active agent `text` names: "me" (the caller), an agent id
    (ag_...), a principal ARN, or a short name (`short_name`; failing that, a display name or
    its first word, casefolded). 422 naming `field` when it names nobody active, or more than
    one agent (the candidates listed, by id and name). AWS calls: "me" none; an id a GetItem
    or two; an ARN one GetItem (cached); a name one Query of the agent directory."""
    ref = unicodedata.normalize("NFC", text.strip()) if isinstance(text, str) else ""
    if not ref or len(ref) > 2048:
        raise ValidationFailed("Name an agent.", {field: REFERENCE_HELP})
    if ref.casefold() == "me":
        if caller is None:
            raise ValidationFailed("\"me\" needs a signed-in agent.", {field: REFERENCE_HELP})
        return caller.principal
    if is_agent_id(ref):
        try:
            agent = find(ref)
        except NotFound:
            agent = None
        if agent is None or not agent.active:
            raise ValidationFailed("Not an active agent.", {field: "no active agent has this id"})
        return agent.name
    if ref.startswith("arn:") or identities.is_console(ref):
        if (principal_problem(ref) and not identities.is_console(ref)) or not exists(ref):
            raise ValidationFailed("Not an active agent.", {field: "not an active agent"})
        return ref
    wanted = ref.casefold()
    every = list(Agent.query("agent", filter_condition=Agent.active == True,  # noqa: E712
                             page_size=PAGE_MAX, consistent_read=True))
    found = [a for a in every if short_name(a.name) == wanted]
    if not found:
        found = [a for a in every if wanted in _display_names(a.display_name)]
    if not found:
        raise ValidationFailed("No active agent has this name.",
                               {field: f"no active agent is called {ref!r}; " + REFERENCE_HELP})
    if len(found) > 1:
        # the principal only for whom the directory shows it (leads, admins, the CLI): an
        # agent reads other agents as cards, without ARN
        full = caller is None or caller.has_role("lead")
        names = "; ".join(f"{agent_id(a.name)} ({a.display_name or short_name(a.name)}"
                          f"{', ' + a.name if full else ''})" for a in found[:10])
        raise ValidationFailed(f"{ref!r} names {len(found)} agents: use an id.",
                               {field: f"ambiguous: one of {names}"})
    return found[0].name


def _display_names(display_name: str | None) -> set[str]:
    """What a display name answers to: itself and its first word, casefolded."""
    words = unicodedata.normalize("NFC", display_name or "").casefold().split()
    return {" ".join(words), words[0]} if words else set()


REFERENCE_HELP = ("an active agent: me, an id (ag_...), a principal ARN or a short name "
                  "(GET /api/agents)")


def get(caller: AgentView, id_: str) -> dict[str, Any]:
    """Leads and admins read any agent; everyone reads their own record."""
    _check_id(id_)
    if not caller.has_role("lead") and agent_id(caller.principal) != id_:
        raise Forbidden("Only leads and admins see other agents.")
    return view(find(id_))


def me(caller: AgentView) -> dict[str, Any]:
    agent = _load(caller.principal)
    if agent is None:
        raise NotFound("No such agent.")
    return view(agent)


def find(id_: str) -> Agent:
    _check_id(id_)
    try:
        principal = Key.get(keys.agent_id_pk(id_), keys.NO_SORT, consistent_read=True).target
    except Key.DoesNotExist:
        principal = _legacy_principal(id_)
    agent = _load(principal) if principal else None
    if agent is None:
        raise NotFound("No such agent.")
    return agent


def create(actor: AgentView, body: dict[str, Any]) -> dict[str, Any]:
    """A new agent (admin). 409 when the principal already is one, active or not. Without a
    principal, by `email` alone: a console-only agent (`console:<short name>`, identities.py),
    409 when an agent already has that address."""
    _known(body, {"principal", "role", "display_name", "email", "departments", "lang"})
    errors: dict[str, str] = {}
    principal = body.get("principal")
    by_email = principal is None and bool(body.get("email"))
    if principal is None and not by_email:
        errors["principal"] = ("required unless `email` is given (a console-only agent): "
                               + ARN_HELP)
    elif not by_email:
        problem = principal_problem(principal)
        if problem:
            errors["principal"] = problem
    if "role" not in body:
        errors["role"] = f"required: one of {', '.join(ROLES)}"
    values = _values(body, errors)
    if errors:
        raise ValidationFailed("Invalid agent.", errors)
    if by_email:
        principal = _console_identity(values["email"])
    agent = Agent(kind="agent", name=principal, role=values["role"],
                  display_name=values.get("display_name"), email=values.get("email"),
                  departments=values.get("departments"), lang=values.get("lang"),
                  active=True, away=False, created_at=clock.now())
    try:
        with transaction() as tx:
            tx.save(agent, condition=Agent.name.does_not_exist(), label="agent")
            tx.save(_id_key(principal), condition=Key.pk.does_not_exist() | (Key.target == principal),
                    label="id")
            _audit(tx, actor.principal, "agent.created", agent, after=_snapshot(agent))
    except Cancelled as exc:
        if "agent" in exc.labels and by_email:
            raise Conflict("Another agent took this short name at the same time: send it "
                           "again.", {"email": "short name taken meanwhile"}) from None
        if "agent" in exc.labels:
            raise Conflict("This principal already is an agent (PATCH it to change or "
                           "reactivate it).", {"principal": "already an agent"}) from None
        raise Conflict("Another agent has the same id.", {"principal": "id collision"}) from None
    _cache.pop(principal, None)
    return view(agent)


def _console_identity(email: str) -> str:
    """The key of a new console-only agent with this address: 409 when an agent (any, active
    or not) has the address already; else console:<the local part, numbered past every short
    name taken>. One Query of the agent partition."""
    wanted, taken = email.casefold(), set()
    for agent in Agent.query("agent", page_size=PAGE_MAX, consistent_read=True,
                             attributes_to_get=["kind", "name", "email"]):
        if (agent.email or "").casefold() == wanted:
            raise Conflict("An agent already has this email address (PATCH it to change or "
                           "reactivate it).", {"email": f"already {agent_id(agent.name)}'s"})
        taken.add(short_name(agent.name))
    return identities.console_principal(identities.unique_short_name(email, taken))


def update(actor: AgentView, id_: str, body: dict[str, Any]) -> dict[str, Any]:
    """Change an agent (admin: every field; an agent: their own `away` and `lang`).
    `version` (optional) must be the one read: 409 when stale. Nobody can demote or
    deactivate the last active admin (409)."""
    _check_id(id_)
    _known(body, {*FIELDS, "version"})
    if not actor.has_role("admin"):
        if agent_id(actor.principal) != id_:
            raise Forbidden("Only an admin may change another agent.")
        denied = sorted(set(body) - SELF_SERVICE - {"version"})
        if denied:
            raise Forbidden("You may change only your own away, lang and notifications.",
                            {name: "admin only" for name in denied})
    errors: dict[str, str] = {}
    values = _values(body, errors)
    version = body.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)
                                or version < 0):
        errors["version"] = "a whole number: the version you read"
    if errors:
        raise ValidationFailed("Invalid change.", errors)
    if not values:
        raise BadRequest("Nothing to change.", {"body": f"one of: {', '.join(FIELDS)}"})
    agent = find(id_)
    if version is not None and version != (agent.version or 0):
        raise Conflict("This agent changed since you read it.",
                       {"version": f"now {agent.version or 0}"})
    changed = {name: value for name, value in values.items()
               if _plain_field(name, value) != _plain_field(name, getattr(agent, name))}
    if identities.is_console(agent.name) and "email" in changed and not changed["email"]:
        raise ValidationFailed("A console-only agent keeps an email address.",
                               {"email": "required: the agent has no IAM principal"})
    if not changed:
        return view(agent)
    before = {name: _plain_field(name, getattr(agent, name)) for name in changed}
    other_admin = None
    if (agent.role == "admin" and agent.active
            and (changed.get("role", "admin") != "admin" or changed.get("active", True) is False)):
        other_admin = _another_active_admin(agent.name)
        if other_admin is None:
            field = "role" if "role" in changed else "active"
            raise Conflict("This is the last active admin: make another agent an admin first.",
                           {field: "the last active admin"})
    for name, value in changed.items():
        setattr(agent, name, value)
    try:
        with transaction() as tx:
            tx.save(agent, label="agent")  # pynamodb adds the version condition
            tx.save(_id_key(agent.name), label="id")  # (again: it may predate ids)
            if other_admin:
                tx.check(Agent, "agent", other_admin, label="other-admin",
                         condition=(Agent.role == "admin") & (Agent.active == True))  # noqa: E712
            _audit(tx, actor.principal, "agent.updated", agent, before=before,
                   after={name: _plain_field(name, value) for name, value in changed.items()})
    except Cancelled as exc:
        if "other-admin" in exc.labels:
            raise Conflict("Another admin was demoted or deactivated at the same time; this "
                           "would leave no active admin.") from None
        raise Conflict("This agent changed at the same time; read it again.") from None
    _cache.pop(agent.name, None)
    _recipients.pop(agent.name, None)
    if "active" in changed and agent.cognito_username:  # the console sign-in follows
        from chalicelib.integrations import cognito  # deferred: cold start (a rare admin change)

        cognito.follow(agent.cognito_username, bool(agent.active))
    return view(agent)


def bootstrap_admin(principal: str, *, display_name: str = "", email: str = "",
                    actor: str = "cli") -> tuple[str, dict[str, Any]]:
    """The first admin of a fresh stage (the `setu bootstrap-admin` command), idempotent:
    "created" a new admin, "promoted" an existing agent to active admin (name and email kept),
    or "unchanged" when it already is one. Audited with `actor`."""
    errors: dict[str, str] = {}
    problem = principal_problem(principal)
    if problem:
        errors["principal"] = problem
    values = _values({"display_name": display_name or None, "email": email or None}, errors)
    if errors:
        raise ValidationFailed("Invalid admin.", errors)
    agent = _load(principal)
    if agent is not None and agent.role == "admin" and agent.active:
        _id_key(principal).save()  # an agent stored before ids had their key
        return "unchanged", view(agent)
    with transaction() as tx:
        if agent is None:
            outcome = "created"
            agent = Agent(kind="agent", name=principal, role="admin",
                          display_name=values.get("display_name"), email=values.get("email"),
                          active=True, away=False, created_at=clock.now())
            tx.save(agent, condition=Agent.name.does_not_exist(), label="agent")
            before, after = None, _snapshot(agent)
        else:
            outcome = "promoted"
            before = {"role": agent.role, "active": bool(agent.active)}
            agent.role, agent.active = "admin", True
            after = {"role": "admin", "active": True}
            tx.save(agent, label="agent")
        tx.save(_id_key(principal), label="id")
        _audit(tx, actor, "agent.bootstrapped", agent, before=before, after=after)
    _cache.pop(principal, None)
    return outcome, view(agent)


def _load(principal: str) -> Agent | None:
    try:
        return Agent.get("agent", principal, consistent_read=True)
    except Agent.DoesNotExist:
        return None


def _legacy_principal(id_: str) -> str | None:
    """An agent written without its id key (by hand, as docs/packaging.md once showed): found
    by walking the directory, so only unknown ids pay for it. `setu bootstrap-admin` and
    every PATCH write the key."""
    for agent in Agent.query("agent", page_size=PAGE_MAX, consistent_read=True,
                             attributes_to_get=["kind", "name"]):
        if agent_id(agent.name) == id_:
            return agent.name
    return None


def _another_active_admin(principal: str) -> str | None:
    """Any other active admin (a walk of the agent directory, filtered server-side)."""
    for agent in Agent.query("agent", filter_condition=(Agent.role == "admin")
                             & (Agent.active == True),  # noqa: E712
                             page_size=PAGE_MAX, consistent_read=True):
        if agent.name != principal:
            return agent.name
    return None


def _id_key(principal: str) -> Key:
    return Key(pk=keys.agent_id_pk(agent_id(principal)), sk=keys.NO_SORT, target=principal)


def _check_id(id_: Any) -> None:
    if not is_agent_id(id_):
        raise BadRequest("Not an agent id.", {"agent_id": "ag_ and 20 hex digits, from GET /api/agents"})


def _known(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = {name: "unknown field" for name in body if name not in allowed}
    if unknown:
        raise BadRequest("Unknown fields.", unknown)


def _values(body: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The agent fields present in `body`, normalised as stored; problems go to `errors`."""

    out: dict[str, Any] = {}
    if "role" in body:
        if body["role"] in ROLES:
            out["role"] = body["role"]
        else:
            errors["role"] = f"one of {', '.join(ROLES)}"
    if "departments" in body:
        names = body["departments"]
        if names is None:
            out["departments"] = None
        elif (isinstance(names, list) and all(isinstance(n, str) for n in names)
              and set(names) <= set(department_list.names())):
            out["departments"] = set(names) or None
        else:
            bad = next((n for n, name in enumerate(names) if not department_list.is_department(name)),
                       None) if isinstance(names, list) else None
            errors["departments" if bad is None else f"departments[{bad}]"] = \
                f"a list of: {', '.join(department_list.names())}"
    if "display_name" in body:
        name = body["display_name"]
        if name is None or (isinstance(name, str) and len(name.strip()) <= NAME_MAX):
            out["display_name"] = (name or "").strip() or None
        else:
            errors["display_name"] = f"text, at most {NAME_MAX} characters"
    if "email" in body:
        address = body["email"]
        if address is None or address == "":
            out["email"] = None
        elif not isinstance(address, str) or len(address) > 254:
            errors["email"] = "an email address"
        else:
            try:
                out["email"] = normalise_email(address)
            except InvalidContact:
                errors["email"] = "an email address"
    if "lang" in body:
        if body["lang"] is None or body["lang"] in LANGS:
            out["lang"] = body["lang"]
        else:
            errors["lang"] = f"one of {', '.join(LANGS)}"
    if "notifications" in body:
        stored, problems = notifications.validate(body["notifications"])
        errors.update(problems)
        if not problems:
            out["notifications"] = stored
    for flag in ("active", "away"):
        if flag in body:
            if isinstance(body[flag], bool):
                out[flag] = body[flag]
            else:
                errors[flag] = "true or false"
    return out


def _plain_field(name: str, value: Any) -> Any:
    if name == "departments":
        return sorted(value or ())
    if name in ("active", "away"):
        return bool(value)
    if name == "notifications":
        return as_dict(value) or None
    return value


def _snapshot(agent: Agent) -> dict[str, Any]:
    """What an audit entry records of a whole agent (no version: it changes on every save)."""
    snapshot = view(agent)
    snapshot.pop("version")
    return snapshot


def _audit(tx, actor: str, action: str, agent: Agent, **values: Any) -> None:
    audit.add(tx, actor, action, f"agent:{agent.name}", **values)


def _decode_cursor(cursor: str) -> str | None:
    text = cursors.decode_text(cursor, max_length=2048)
    return text if text and (text.startswith("arn:") or identities.is_console(text)) else None


# ---- who staff mail goes to (services/messaging/staff.py) ------------------------------------


@dataclass(frozen=True)
class Recipient:
    """What staff mail needs to know of an agent: their address, language, preferences, and
    role and departments (staff mail tells nobody of a ticket they may not open: team/scope.py)."""
    principal: str
    display_name: str
    email: str | None
    lang: str
    notifications: dict[str, Any]
    role: str = "agent"
    departments: frozenset[str] = frozenset()

    def has_role(self, needed: str) -> bool:
        return RANK.get(self.role, 0) >= RANK[needed]


_recipients: dict[str, tuple[float, Recipient | None]] = {}


def recipient(principal: str) -> Recipient | None:
    """The active agent of `principal` as a mail recipient, else None. One GetItem, cached per
    container for SETU_SETTINGS_CACHE_SECONDS (a change of address or preferences applies
    within that time)."""
    hit = _recipients.get(principal)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    try:
        agent = Agent.get("agent", principal)
        found = Recipient(principal=principal,
                          display_name=agent.display_name or identities.plain_name(principal),
                          email=agent.email, lang=agent.lang or "en",
                          notifications=notifications.effective(
                              _plain_field("notifications", agent.notifications)),
                          role=agent.role, departments=frozenset(agent.departments or ())
                          ) if agent.active else None
    except Agent.DoesNotExist:
        found = None
    _recipients[principal] = (time.monotonic() + config.settings().settings_cache_seconds, found)
    return found
