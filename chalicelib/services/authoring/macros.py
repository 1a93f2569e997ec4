"""Macros (canned replies) and per-department acknowledgement templates, edited through the
API and rendered only in the sandbox (services/authoring/sandbox.py). docs/macros.md for authors.

Storage, settings table (kind / name -> data):

  macro          / <name>          the pointer: the current version's content, `version`,
                                   `archived`; listed by one Query of the "macro" partition
  macro-version  / <name>#<000N>   version N, written once (does-not-exist condition), never
                                   changed: a reply names {name, version} and it can be read back
  ack-template   / <department>    the department's acknowledgement (read through the
                                   settings cache on ticket create: no AWS call when warm)

A save writes the new version, the pointer (conditional on the pointer as read) and the audit
entry in one transaction; a `version` in the request that is not the current one is a 409.

Longer than 600 lines: macros and acknowledgement templates share one versioned storage
and one preview path; split, each half would repeat the other's rules.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from chalicelib import clock, config, observability
from chalicelib.db import settings
from chalicelib.db.connection import Cancelled, transaction
from chalicelib.db.models import Customer, Setting
from chalicelib.db.values import as_dict
from chalicelib.errors import BadRequest, Conflict, NotFound, ValidationFailed
from chalicelib.services.messaging import links as page_links
from chalicelib.services.messaging import outbound, routes, sms_text, templates
from chalicelib.services.team import audit, departments
from chalicelib.services.tickets import store as ticket_store

log = logging.getLogger("setu.macros")

MACRO_KIND, VERSION_KIND, ACK_KIND = "macro", "macro-version", "ack-template"
LANGS = ("bn", "en")
CHANNELS = ("email", "sms")
VERSIONS_MAX = 9_999
TITLE_MAX = 200
SUBJECT_SOURCE_MAX = 1_000
SUBJECT_MAX = 300  # characters of a rendered subject
PAGE_DEFAULT, PAGE_MAX = 100, 500
LINKS_MAX = 10
LABEL_MAX = 200
URL_MAX = 2_000


# ---- macros: storage ----------------------------------------------------------------------

def _current_version(stored: Any, expected: int | None, thing: str) -> int:
    """The stored document's version (0 when there is none); 409 when the caller read another."""
    current = int(stored.data.as_dict().get("version", 0)) if stored else 0
    if expected is not None and expected != current:
        raise Conflict(f"The {thing} changed since you read it; reload and try again.",
                       {"version": f"current version is {current}"})
    return current


def put(name: str, body: Any, actor: str) -> dict[str, Any]:
    """Save a new version of macro `name` (the first one creates it)."""
    content, expected = _parse_macro(body)
    pointer = _read(MACRO_KIND, name)
    current = _current_version(pointer, expected, "macro")
    number = current + 1
    if number > VERSIONS_MAX:
        raise ValidationFailed("Too many versions.", {"version": f"at most {VERSIONS_MAX}"})
    now = clock.now()
    stamp = {"updated_at": clock.iso(now), "updated_by": actor}
    version_data = {"name": name, "version": number, **content, **stamp}
    pointer_data = {**version_data, "archived": False}
    before = _view(pointer.data.as_dict()) if pointer else None
    _write([Setting(VERSION_KIND, _version_key(name, number), data=version_data, updated_at=now,
                    updated_by=actor)],
           Setting(MACRO_KIND, name, data=pointer_data, updated_at=now, updated_by=actor), pointer,
           actor, "macro.saved", f"macro:{name}", before, _view(pointer_data))
    return _view(pointer_data)


def archive(name: str, actor: str) -> dict[str, Any]:
    """Soft delete: the macro leaves the list and cannot be used; its versions are kept."""
    pointer = _read(MACRO_KIND, name)
    data = pointer.data.as_dict() if pointer else {}
    if not pointer or data.get("archived"):
        raise NotFound(f"No macro named {name}.")
    now = clock.now()
    after = {**data, "archived": True, "updated_at": clock.iso(now), "updated_by": actor}
    _write([], Setting(MACRO_KIND, name, data=after, updated_at=now, updated_by=actor), pointer,
           actor, "macro.archived", f"macro:{name}", _view(data), _view(after))
    return _view(after)


def list_macros(*, cursor: str = "", limit: int = PAGE_DEFAULT,
                archived: bool = False) -> dict[str, Any]:
    """Current versions by name, a page at a time (one Query)."""
    if not 1 <= limit <= PAGE_MAX:
        raise BadRequest("Invalid limit.", {"limit": f"between 1 and {PAGE_MAX}"})
    condition = Setting.name > cursor if cursor else None
    items, last = [], None
    for item in Setting.query(MACRO_KIND, range_key_condition=condition, limit=limit):
        last = item.name
        data = item.data.as_dict()
        if archived or not data.get("archived"):
            items.append(_view(data))
    return {"items": items, "next": last if last and _more(last) else None}


def _more(after: str) -> bool:
    return any(True for _ in Setting.query(MACRO_KIND, range_key_condition=Setting.name > after,
                                           limit=1, attributes_to_get=["name"]))


def get(name: str, version: int | None = None) -> dict[str, Any]:
    """The current version (404 when archived), or version N (kept after archiving)."""
    if version is not None:
        found = _read(VERSION_KIND, _version_key(name, version)) if 1 <= version <= VERSIONS_MAX else None
        if found is None:
            raise NotFound(f"Macro {name} has no version {version}.")
        data = found.data.as_dict()
        pointer = _read(MACRO_KIND, name)
        current = pointer.data.as_dict() if pointer else {}
        return {**_view(data), "current_version": current.get("version"),
                "archived": bool(current.get("archived"))}
    pointer = _read(MACRO_KIND, name)
    if pointer is None or pointer.data.as_dict().get("archived"):
        raise NotFound(f"No macro named {name}.")
    return _view(pointer.data.as_dict())


def use(name: Any, version: Any = None) -> dict[str, Any]:
    """The macro an agent applies or previews (404 when missing or archived)."""
    if not isinstance(name, str) or not name:
        raise ValidationFailed("Name a macro.", {"macro": "the macro's name"})
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)
                                or version < 1):
        raise ValidationFailed("Invalid macro version.", {"version": "a whole number from 1"})
    if len(name) > 64:
        raise NotFound(f"No macro named {name[:64]}.")
    pointer = _read(MACRO_KIND, name)
    if pointer is None or pointer.data.as_dict().get("archived"):
        raise NotFound(f"No macro named {name}.")
    current = _view(pointer.data.as_dict())
    if version is None or version == current["version"]:
        return current
    found = _read(VERSION_KIND, _version_key(name, version)) if version <= VERSIONS_MAX else None
    if found is None:
        raise NotFound(f"Macro {name} has no version {version}.")
    return _view(found.data.as_dict())


def _version_key(name: str, number: int) -> str:
    return f"{name}#{number:04d}"


def _read(kind: str, name: str) -> Setting | None:
    try:
        return Setting.get(kind, name, consistent_read=True)
    except Setting.DoesNotExist:
        return None


def _write(new_items: list[Setting], document: Setting, as_read: Setting | None, actor: str,
           action: str, target: str, before: Any, after: Any) -> None:
    """New immutable items, the document (only if unchanged since read) and the audit entry,
    all or nothing."""

    try:
        with transaction() as tx:
            for item in new_items:
                tx.save(item, condition=Setting.name.does_not_exist(), label="version")
            tx.save(document, condition=(Setting.updated_at == as_read.updated_at)
                    if as_read is not None else Setting.name.does_not_exist(), label="document")
            audit.add(tx, actor, action, target, before=before, after=after)
    except Cancelled as exc:
        raise Conflict("Someone else saved it at the same time; reload and try again.",
                       {"version": "changed concurrently"}) from exc
    finally:
        settings.clear_cache()


def _view(data: dict[str, Any]) -> dict[str, Any]:
    return {"name": data.get("name"), "version": int(data.get("version") or 0),
            "title": data.get("title"), "body": dict(data.get("body") or {}),
            "subject": dict(data.get("subject") or {}) or None,
            "channels": list(data.get("channels") or CHANNELS),
            "actions": dict(data.get("actions") or {}),
            "archived": bool(data.get("archived")),
            "updated_at": data.get("updated_at"), "updated_by": data.get("updated_by")}


def _parse_macro(body: Any) -> tuple[dict[str, Any], int | None]:
    from chalicelib.services.authoring import sandbox  # deferred: cold start

    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.", {"body": "must be an object"})
    unknown = {k: "unknown field" for k in body
               if k not in ("title", "body", "subject", "channels", "actions", "version")}
    if unknown:
        raise BadRequest("Unknown fields.", unknown)
    errors: dict[str, str] = {}
    title = body.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > TITLE_MAX:
        errors["title"] = f"required text, at most {TITLE_MAX} characters"
    channels = body.get("channels", list(CHANNELS))
    if (not isinstance(channels, list) or not channels
            or not all(isinstance(c, str) and c in CHANNELS for c in channels)):
        errors["channels"] = "a list of email and/or sms"
        channels = list(CHANNELS)
    actions = body.get("actions") or {}
    if not isinstance(actions, dict):
        errors["actions"] = "an object with status and/or priority"
        actions = {}
    for key in actions:
        if key not in ("status", "priority"):
            errors[f"actions.{key}"] = "unknown action"
    if "status" in actions and actions["status"] not in ticket_store.SETTABLE_STATUSES:
        errors["actions.status"] = f"one of: {', '.join(ticket_store.SETTABLE_STATUSES)}"
    if "priority" in actions and actions["priority"] not in ticket_store.PRIORITIES:
        errors["actions.priority"] = f"one of: {', '.join(ticket_store.PRIORITIES)}"
    version = body.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)
                                or version < 0):
        errors["version"] = "the version you read (0 for a new macro)"
    texts = _variants(body.get("body"), "body", errors, required=True)
    subjects = _variants(body.get("subject"), "subject", errors, required=False,
                         size=SUBJECT_SOURCE_MAX)
    for lang in subjects:
        if lang not in texts:
            errors[f"subject.{lang}"] = "a subject needs a body in the same language"
    for lang, source in texts.items():  # compile, then try it on a sample ticket
        _trial(sandbox, source, lang, f"body.{lang}", errors)
    for lang, source in subjects.items():
        _trial(sandbox, source, lang, f"subject.{lang}", errors, subject=True)
    if errors:
        raise ValidationFailed("The macro has errors.", errors)
    content = {"title": title.strip(), "body": texts, "subject": subjects,
               "channels": [c for c in CHANNELS if c in channels], "actions": dict(actions)}
    return content, version


def _variants(raw: Any, field: str, errors: dict[str, str], *, required: bool,
              size: int | None = None) -> dict[str, str]:
    from chalicelib.services.authoring import sandbox  # deferred: cold start

    size = size or sandbox.SOURCE_MAX
    if raw is None and not required:
        return {}
    if not isinstance(raw, dict) or not raw or any(k not in LANGS for k in raw):
        errors[field] = 'an object {"bn": "...", "en": "..."} with at least one language'
        return {}
    found = {}
    for lang, source in raw.items():
        if not isinstance(source, str) or not source.strip() or len(source) > size:
            errors[f"{field}.{lang}"] = f"template text, 1 to {size} characters"
        else:
            found[lang] = source
    return found


def _trial(sandbox, source: str, lang: str, field: str, errors: dict[str, str], *,
           html: bool = False, subject: bool = False, ack: bool = False) -> str | None:
    try:
        out = sandbox.render(source, sample_context(lang, ack=ack), html=html, field=field)
    except ValidationFailed as exc:
        errors.update(exc.fields)
        return None
    if not out.strip():
        errors[field] = "renders empty"
    elif subject and len(" ".join(out.split())) > SUBJECT_MAX:
        errors[field] = f"renders longer than {SUBJECT_MAX} characters"
    return out


# ---- the context a template sees ----------------------------------------------------------

def context(ticket, *, lang: str, customer_name: str | None, agent_name: str | None,
            links: list[dict[str, str]], message: str | None = None) -> dict[str, Any]:
    """Plain data only (the sandbox reaches nothing else). docs/macros.md lists it."""
    from chalicelib.services.authoring import sandbox  # deferred: cold start

    out: dict[str, Any] = {
        "lang": lang,
        "business": config.settings().support_name,
        "ticket": {"ref": ticket.ref, "subject": ticket.subject, "status": ticket.status,
                   "priority": ticket.priority,
                   "department": departments.display_name(ticket.department, lang),
                   "due_at": _due(ticket) or "", "channel": ticket.channel,
                   "status_url": page_links.status_url(ticket.id, ticket.ref) or ""},
        "customer": {"name": customer_name or "", "first_name": sandbox.first_name(customer_name)},
        "agent": {"name": agent_name or ""},
        "links": links,
    }
    if message is not None:
        out["message"] = message
    return out


def sample_context(lang: str, *, ack: bool = False) -> dict[str, Any]:
    """What a template is tried on when saved."""
    out: dict[str, Any] = {
        "lang": lang, "business": "Setu Support",
        "ticket": {"ref": "104233", "subject": "অর্ডার এখনও আসেনি" if lang == "bn" else "Order not delivered",
                   "status": "open", "priority": "normal",
                   "department": departments.display_name("general", lang),
                   "due_at": "2026-11-23T08:30:00.000Z", "channel": "email",
                   "status_url": "https://help.example.com/s/104233.abc.sig"},
        "customer": {"name": "Md. Rahim Uddin", "first_name": "Rahim"},
        "agent": {"name": "" if ack else "Rina"},
        "links": [{"label": "FAQ", "url": "https://help.example.com/faq"}],
    }
    if ack:
        out["message"] = "আমার অর্ডার আসেনি"
    return out


def _due(ticket) -> str | None:
    """The earliest armed target the customer waits on (first response, next reply,
    resolution), as an ISO instant."""

    armed = [as_dict(t).get("due_at") for kind, t in as_dict(ticket.timers).items()
             if kind in ("first_response", "next_reply", "resolution")
             and as_dict(t).get("state") == "armed"]
    armed = [due for due in armed if due]
    return min(armed) if armed else None


def department_links(department: str, lang: str) -> list[dict[str, str]]:
    """The links an admin set on the department's acknowledgement, else the built-in ones."""
    stored = settings.get(ACK_KIND, department) or {}
    if stored.get("links"):
        return [{"label": link["label"].get(lang) or next(iter(link["label"].values())),
                 "url": link["url"]} for link in stored["links"]]
    return departments.links(department, lang, config.settings().public_url)


# ---- rendering a macro for a ticket -------------------------------------------------------

@dataclass(frozen=True)
class Rendered:
    name: str
    version: int
    lang: str
    channel: str
    body: str
    subject: str | None
    actions: dict[str, str]


def render(macro: dict[str, Any], ticket, customer, agent_name: str | None, channel: str,
           lang: str | None = None) -> Rendered:
    """`macro` (from use()) for this ticket on `channel`; 422 when it cannot be used."""
    from chalicelib.services.authoring import sandbox  # deferred: cold start

    if channel not in macro["channels"]:
        raise ValidationFailed(f"Macro {macro['name']} is not for {channel}.",
                               {"macro": f"for {' and '.join(macro['channels'])} only"})
    lang = lang or ticket.lang
    if lang not in macro["body"]:
        lang = next(iter(l for l in LANGS if l in macro["body"]))
    ctx = context(ticket, lang=lang, customer_name=customer.name if customer else None,
                  agent_name=agent_name, links=department_links(ticket.department, lang))
    body = sandbox.render(macro["body"][lang], ctx, field="macro").strip()
    if not body:
        raise ValidationFailed(f"Macro {macro['name']} renders empty for this ticket.",
                               {"macro": "renders empty"})
    subject = None
    if channel == "email" and (macro.get("subject") or {}).get(lang):
        subject = " ".join(sandbox.render(macro["subject"][lang], ctx, field="macro").split())
        subject = subject[:SUBJECT_MAX] or None
    return Rendered(name=macro["name"], version=macro["version"], lang=lang, channel=channel,
                    body=body, subject=subject, actions=dict(macro.get("actions") or {}))


def preview(ticket_id: str, agent, body: Any) -> dict[str, Any]:
    """What a macro (or an inline template) would send on this ticket: reads only."""
    from chalicelib.services.authoring import sandbox  # deferred: cold start

    unknown = {k: "unknown field" for k in body
               if k not in ("macro", "version", "lang", "channel", "template", "subject")}
    if unknown:
        raise BadRequest("Unknown fields.", unknown)
    if ("macro" in body) == ("template" in body):
        raise BadRequest("Send a macro name or an inline template.",
                         {"macro": "either macro or template"})
    if "template" not in body and "subject" in body:
        raise BadRequest("subject goes with an inline template.", {"subject": "only with template"})
    if "macro" not in body and "version" in body:
        raise BadRequest("version goes with a macro.", {"version": "only with macro"})
    lang, channel = body.get("lang"), body.get("channel")
    errors = {}
    if lang is not None and lang not in LANGS:
        errors["lang"] = "bn or en"
    if channel is not None and channel not in CHANNELS:
        errors["channel"] = "email or sms"
    if errors:
        raise ValidationFailed("Invalid preview.", errors)
    macro = use(body["macro"], body.get("version")) if "macro" in body else None
    if macro is None:
        sandbox.check(body["template"], field="template")
        if body.get("subject") is not None:
            sandbox.check(body["subject"], field="subject")
    ticket = ticket_store.load(ticket_id, agent)
    customer = _customer(ticket.customer_id)
    channel = channel or _default_channel(ticket, customer)
    if macro is not None:
        rendered = render(macro, ticket, customer, agent.display_name, channel, lang)
        lang, text, subject = rendered.lang, rendered.body, rendered.subject
    else:
        lang = lang or ticket.lang
        ctx = context(ticket, lang=lang, customer_name=customer.name if customer else None,
                      agent_name=agent.display_name,
                      links=department_links(ticket.department, lang))
        text = sandbox.render(body["template"], ctx, field="template").strip()
        subject = (" ".join(sandbox.render(body["subject"], ctx, field="subject").split())[:SUBJECT_MAX]
                   if body.get("subject") and channel == "email" else None)
    out: dict[str, Any] = {"body": text, "lang": lang, "channel": channel}
    if channel == "email":
        prefix = "Re: " if ticket.lang == "en" else "উত্তর: "
        out["subject"] = subject or f"{prefix}[{templates.ref_for(ticket.ref, ticket.lang)}] {ticket.subject}"
    else:
        count = sms_text.segments(text)
        out["sms"] = {**count.to_dict(), "max_segments": config.settings().sms_max_segments}
    if macro is not None:
        out["macro"] = {"name": macro["name"], "version": macro["version"],
                        "actions": macro["actions"]}
    return out


def _default_channel(ticket, customer) -> str:
    """The channel a reply would take (work._reply_route, without reading suppressions)."""
    return routes.channel_for(ticket.channel, *routes.addresses(customer), ticket.contact)


def _customer(customer_id: str):
    try:
        return Customer.get(customer_id)
    except Customer.DoesNotExist:
        return None


# ---- acknowledgement templates per department --------------------------------------------

def put_ack(department: str, body: Any, actor: str) -> dict[str, Any]:
    _known_department(department)
    content, expected = _parse_ack(body)
    stored = _read(ACK_KIND, department)
    current = _current_version(stored, expected, "template")
    now = clock.now()
    data = {"department": department, "version": current + 1, **content,
            "updated_at": clock.iso(now), "updated_by": actor}
    _write([], Setting(ACK_KIND, department, data=data, updated_at=now, updated_by=actor), stored,
           actor, "ack_template.saved", f"ack-template:{department}",
           stored.data.as_dict() if stored else None, data)
    return _ack_view(data)


def get_ack(department: str) -> dict[str, Any]:
    _known_department(department)
    stored = _read(ACK_KIND, department)
    if stored is None:
        raise NotFound(f"No acknowledgement template for {department}: the built-in one is used.")
    return _ack_view(stored.data.as_dict())


def delete_ack(department: str, actor: str) -> dict[str, Any]:
    """Back to the built-in acknowledgement (the audit entry keeps the removed template)."""

    _known_department(department)
    stored = _read(ACK_KIND, department)
    if stored is None:
        raise NotFound(f"No acknowledgement template for {department}.")
    try:
        with transaction() as tx:
            tx.delete(stored, condition=Setting.updated_at == stored.updated_at, label="document")
            audit.add(tx, actor, "ack_template.removed", f"ack-template:{department}",
                      before=stored.data.as_dict(), after=None)
    except Cancelled as exc:
        raise Conflict("Someone else saved it at the same time; reload and try again.") from exc
    finally:
        settings.clear_cache()
    return {"department": department, "removed": True}


def _known_department(department: str) -> None:
    if not departments.known(department):
        raise NotFound(f"No department named {department}.")


def _ack_view(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data.get(k) for k in ("department", "version", "email", "sms", "links",
                                     "updated_at", "updated_by")}


def _parse_ack(body: Any) -> tuple[dict[str, Any], int | None]:
    from chalicelib.services.authoring import sandbox  # deferred: cold start

    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.", {"body": "must be an object"})
    unknown = {k: "unknown field" for k in body if k not in ("email", "sms", "links", "version")}
    if unknown:
        raise BadRequest("Unknown fields.", unknown)
    errors: dict[str, str] = {}
    if not body.get("email") and not body.get("sms"):
        errors["email"] = "email and/or sms templates"
    email: dict[str, dict[str, str]] = {}
    raw_email = body.get("email")
    if raw_email is not None:
        if not isinstance(raw_email, dict) or not raw_email or any(k not in LANGS for k in raw_email):
            errors["email"] = 'an object {"bn": {"subject", "body"}, "en": {...}}'
        else:
            for lang, variant in raw_email.items():
                parts = variant if isinstance(variant, dict) else {}
                if not isinstance(variant, dict) or any(k not in ("subject", "body", "html") for k in parts) \
                        or not parts.get("subject") or not parts.get("body"):
                    errors[f"email.{lang}"] = "an object with subject and body (html optional)"
                    continue
                sizes = {"subject": SUBJECT_SOURCE_MAX, "body": sandbox.SOURCE_MAX, "html": sandbox.SOURCE_MAX}
                for part, source in parts.items():
                    if not isinstance(source, str) or not source.strip() or len(source) > sizes[part]:
                        errors[f"email.{lang}.{part}"] = f"template text, 1 to {sizes[part]} characters"
                email[lang] = {k: v for k, v in parts.items() if isinstance(v, str)}
    sms = _variants(body.get("sms"), "sms", errors, required=False)
    links = _parse_links(body.get("links"), errors)
    version = body.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)
                                or version < 0):
        errors["version"] = "the version you read (0 for a new template)"
    for lang, parts in email.items():
        if f"email.{lang}" in errors or any(k.startswith(f"email.{lang}.") for k in errors):
            continue
        _trial(sandbox, parts["subject"], lang, f"email.{lang}.subject", errors, subject=True, ack=True)
        _trial(sandbox, parts["body"], lang, f"email.{lang}.body", errors, ack=True)
        if "html" in parts:
            _trial(sandbox, parts["html"], lang, f"email.{lang}.html", errors, html=True, ack=True)
    limit = config.settings().sms_max_segments
    for lang, source in sms.items():
        out = _trial(sandbox, source, lang, f"sms.{lang}", errors, ack=True)
        if out and sms_text.segments(out.strip()).count > limit:
            errors[f"sms.{lang}"] = f"more than {limit} SMS segments on a sample ticket"
    if errors:
        raise ValidationFailed("The acknowledgement template has errors.", errors)
    return {"email": email, "sms": sms, "links": links}, version


def _parse_links(raw: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > LINKS_MAX:
        errors["links"] = f"a list of at most {LINKS_MAX} links"
        return []
    found = []
    for n, link in enumerate(raw):
        label = link.get("label") if isinstance(link, dict) else None
        url = link.get("url") if isinstance(link, dict) else None
        if not isinstance(link, dict) or set(link) - {"label", "url"}:
            errors[f"links.{n}"] = "an object with label and url"
            continue
        if (not isinstance(label, dict) or not label or set(label) - set(LANGS)
                or not all(isinstance(v, str) and v.strip() and len(v) <= LABEL_MAX
                           for v in label.values())):
            errors[f"links.{n}.label"] = f'{{"bn": "...", "en": "..."}}, at most {LABEL_MAX} characters each'
        if not _https(url):
            errors[f"links.{n}.url"] = "an https:// URL"
        found.append({"label": label, "url": url})
    return found


def _https(url: Any) -> bool:
    if not isinstance(url, str) or len(url) > URL_MAX or any(c.isspace() or ord(c) < 32 for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme == "https" and bool(parts.hostname) and "@" not in parts.netloc


def custom_ack(ticket, *, channel: str, recipient: str, name: str | None,
               message: str | None, echo: bool = True
               ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The department's own acknowledgement text for `channel` in the ticket's language:
    (fields, None) with the text fields to send (subject, body, html, or an SMS body and its
    segments), or (None, None) when the department has none, or (None, problem) when its
    template cannot be read or rendered: the built-in text is used then, and the caller
    records the problem on the timeline. Never raises. The one acknowledgement composer is
    services/messaging/outbound.acknowledgement; this only supplies its text. `echo` False:
    the template sees no name, message or subject (outbound.acknowledgement says why)."""
    lang = ticket.lang
    try:
        stored = settings.get(ACK_KIND, ticket.department)
        variant = ((stored or {}).get(channel) or {}).get(lang)
        if not variant:
            return None, None
        if not echo:
            name, message = None, ""
        return _render_ack(ticket, stored, variant, channel, lang, recipient, name, message,
                           echo), None
    except Exception as exc:  # noqa: BLE001 - an admin's broken template never blocks the ack
        # logged and put on the timeline: the sandbox's own message (field, line, what was
        # refused; it quotes no values), else only the exception's type: str(exc) of an
        # arbitrary error can quote what the customer wrote
        if isinstance(exc, ValidationFailed) and exc.fields:
            detail = "; ".join(f"{field}: {text}" for field, text in exc.fields.items())[:500]
        else:
            detail = type(exc).__name__
        log.warning("ack template for %s (%s, %s) not used: %s", ticket.department, channel,
                    lang, detail)

        observability.count("AckTemplateFailed", department=ticket.department)
        return None, {"department": ticket.department, "channel": channel, "lang": lang,
                      "error": detail, "used": "built-in"}


def _render_ack(ticket, stored: dict[str, Any], variant: Any, channel: str, lang: str,
                recipient: str, name: str | None, message: str | None,
                echo: bool = True) -> dict[str, Any]:
    from markupsafe import Markup  # deferred: cold start (not loaded by `import app`)

    from chalicelib.services.authoring import sandbox  # deferred: cold start

    links = ([{"label": link["label"].get(lang) or next(iter(link["label"].values())),
               "url": link["url"]} for link in stored.get("links") or []]
             or departments.links(ticket.department, lang, config.settings().public_url))
    ctx = context(ticket, lang=lang, customer_name=name, agent_name="", links=links,
                  message=message or "")
    if not echo:
        ctx["ticket"]["subject"] = ""
    if channel == "sms":
        text = sandbox.render(variant, ctx, field=f"sms.{lang}").strip()
        if not text:
            raise ValidationFailed("renders empty", {f"sms.{lang}": "renders empty"})
        sms_text.check_length(text, field=f"sms.{lang}")
        return {"body": text, **outbound.sms_fields(text)}
    subject = " ".join(sandbox.render(variant["subject"], ctx, field=f"email.{lang}.subject").split())
    text = sandbox.render(variant["body"], ctx, field=f"email.{lang}.body").strip()
    if not subject or not text:
        raise ValidationFailed("renders empty", {f"email.{lang}": "renders empty"})
    html = (Markup(sandbox.render(variant["html"], ctx, html=True, field=f"email.{lang}.html"))
            if variant.get("html") else None)
    footer_context = {"status_url": page_links.status_url(ticket.id, ticket.ref),
                      "unsubscribe_url": page_links.unsubscribe_url(recipient or "", lang)}
    footer = templates.render(f"email/_links.{lang}.txt", **footer_context).strip()
    page = templates.render("email/ack_custom.html.j2", lang=lang, subject=subject[:SUBJECT_MAX],
                            body=text, html=html, **footer_context)
    return {"subject": subject[:SUBJECT_MAX],
            "body": text + ("\n\n" + footer if footer else "") + "\n", "html": page}
