"""The OpenAPI 3.1 document served at GET /api/openapi.json (kept next to the routes; a test
checks every Chalice route appears here and nothing else does).

components/schemas is not written here: it is every route module's `SCHEMAS` definitions
(api/schemas.py), the very schemas the routes validate their requests with, and path
parameters come from api/http.PATH_PARAMETERS, which handle_errors checks. The core routes'
paths are described here; any other module of chalicelib/api may describe its own in a
module-level function `openapi_section()` returning {"paths": {...}}, merged in by build(); it
can use ok(), request_body(), error(), AGENT_ERRORS and TICKET_ID.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Any

import chalicelib.api as package
from chalicelib.api.http import QUERY_PARAMETERS, path_parameter
from chalicelib.api.schemas import every_definition
from chalicelib.services.team import departments
from chalicelib.services.tickets import queue
from chalicelib.services.tickets import store as ticket_store


def error() -> dict[str, Any]:
    return {"description": "Error", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}}


def ok(schema: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def request_body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{schema}"}}}}


TICKET_ID = path_parameter("ticket_id")
NAME = path_parameter("name")
AGENT_ERRORS = {code: error() for code in ("400", "401", "403", "404", "409", "415", "422")}


# OpenAPI links: what one operation's response gives the next (a created ticket's id, a name
# just written), so stateful tests (schemathesis) chain create -> read/update.
# (from path, method, status, to path, to methods, {parameter: runtime expression})
_TICKET = "/api/tickets/{ticket_id}"
LINKS: tuple[tuple[str, str, str, str, tuple[str, ...], dict[str, str]], ...] = (
    ("/api/tickets", "post", "201", _TICKET, ("get", "patch"), {"ticket_id": "$response.body#/ticket/id"}),
    ("/api/tickets", "post", "201", _TICKET + "/replies", ("post",),
     {"ticket_id": "$response.body#/ticket/id"}),
    ("/api/tickets", "post", "201", _TICKET + "/notes", ("post",),
     {"ticket_id": "$response.body#/ticket/id"}),
    ("/api/tickets", "post", "201", _TICKET + "/take", ("post",),
     {"ticket_id": "$response.body#/ticket/id"}),
    ("/api/tickets", "post", "201", _TICKET + "/callbacks", ("post",),
     {"ticket_id": "$response.body#/ticket/id"}),
    ("/api/tickets", "post", "201", _TICKET + "/decisions", ("post",),
     {"ticket_id": "$response.body#/ticket/id"}),
    ("/tickets", "post", "201", _TICKET, ("get", "patch"), {"ticket_id": "$response.body#/id"}),
    ("/tickets", "post", "201", _TICKET + "/merge", ("post",), {"ticket_id": "$response.body#/id"}),
    ("/api/tickets", "get", "200", _TICKET, ("get",), {"ticket_id": "$response.body#/items/0/id"}),
    (_TICKET, "get", "200", "/api/customers/{customer_id}", ("get", "patch"),
     {"customer_id": "$response.body#/customer_id"}),
    (_TICKET, "patch", "200", _TICKET, ("get",), {"ticket_id": "$response.body#/id"}),
    ("/api/customers", "get", "200", "/api/customers/{customer_id}", ("get",),
     {"customer_id": "$response.body#/items/0/id"}),
    ("/api/agents", "post", "201", "/api/agents/{agent_id}", ("get", "patch"),
     {"agent_id": "$response.body#/id"}),
    ("/api/calendars/{name}", "put", "200", "/api/calendars/{name}", ("get",),
     {"name": "$request.path.name"}),
    ("/api/sla-policies/{name}", "put", "200", "/api/sla-policies/{name}", ("get",),
     {"name": "$request.path.name"}),
    ("/api/macros/{name}", "put", "200", "/api/macros/{name}", ("get", "delete"),
     {"name": "$request.path.name"}),
)


def operation_id(method: str, path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", f"{method}{path}").strip("_")


def build() -> dict[str, Any]:
    document = _core()
    for section in _sections():
        document["paths"].update(section.get("paths", {}))
    document["components"]["schemas"].update(every_definition())
    _declare_query_parameters(document)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            operation["operationId"] = operation_id(method, path)
    for path, method, status, target, methods, parameters in LINKS:
        response = document["paths"][path][method]["responses"][status]
        for target_method in methods:
            name = operation_id(target_method, target)
            response.setdefault("links", {})[name] = {"operationId": name,
                                                      "parameters": dict(parameters)}
    return document


def _declare_query_parameters(document: dict[str, Any]) -> None:
    """Each agent route lists the query parameters it takes (http.QUERY_PARAMETERS, which the
    API enforces: any other is 422); one its section already describes keeps that schema."""
    for path, methods in QUERY_PARAMETERS.items():
        for method, names in methods.items():
            operation = document["paths"].get(path, {}).get(method.lower())
            if operation is None:
                continue
            listed = operation.setdefault("parameters", [])
            have = {p.get("name") for p in listed if p.get("in") == "query"}
            for name, description in names.items():
                if name not in have:
                    listed.append({"name": name, "in": "query", "description": description,
                                   "schema": {"type": "string"}})
    for path, item in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        for operation in item.values():
            operation.setdefault("responses", {}).setdefault("422", error())
            described = operation.get("description", "")
            note = "Unknown query parameters answer 422."
            if note not in described:
                operation["description"] = (described + " " + note).strip()


def _sections() -> list[dict[str, Any]]:
    found = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        describe = getattr(module, "openapi_section", None)
        if callable(describe):
            found.append(describe())
    return found


def _core() -> dict[str, Any]:
    string = {"type": "string"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Setu helpdesk API", "version": "0.1.0",
                 "description": "Agent routes (/api/...) need IAM (SigV4) credentials of a "
                                "principal registered as an agent."},
        "components": {
            "securitySchemes": {"sigv4": {"type": "apiKey", "name": "Authorization",
                                          "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"], "properties": {
                        "code": string, "message": string,
                        "fields": {"type": "object", "additionalProperties": string},
                        "channels": {"type": "array", "items": {"enum": ["email", "sms"]},
                                     "description": "a reply that cannot go: the channels "
                                                    "that can still reach the customer"}}}}},
            },
        },
        "paths": {
            "/health": {"get": {"summary": "Health check", "responses": {"200": {
                "description": "OK", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"status": {"const": "ok"}}}}}}}}},
            **_public_pages(string),
            "/api/tickets": {"get": {
                "summary": "List or search tickets", "security": [{"sigv4": []}],
                "parameters": [{"name": n, "in": "query", "schema": string}
                               for n in ("assignee", "q", "cursor")]
                + [{"name": "status", "in": "query", "style": "form", "explode": True,
                    "schema": {"type": "array", "items": {"enum": list(ticket_store.STATUSES)}}},
                   {"name": "department", "in": "query",
                    "schema": {"type": "string", "pattern": departments.NAME_PATTERN}},
                   {"name": "priority", "in": "query", "schema": {"enum": list(ticket_store.PRIORITIES)}},
                   {"name": "channel", "in": "query", "schema": {"enum": ["web", "email", "sms"]}},
                   {"name": "breached", "in": "query", "schema": {"enum": ["true", "false"]}},
                   {"name": "sla", "in": "query", "schema": {"enum": list(queue.SLA_STATES)}},
                   {"name": "due_within", "in": "query",
                    "schema": {"type": "string", "pattern": r"^P(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$",
                               "minLength": 3, "maxLength": 20}},
                   {"name": "due_before", "in": "query",
                    "description": "2026-12-07 18:00 (business time zone) or ISO 8601 with "
                                   "an offset", "schema": {"type": "string", "maxLength": 64}},
                   {"name": "has_decision", "in": "query", "schema": {"enum": ["true", "false"]}}]
                + [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                "maximum": queue.PAGE_MAX}}],
                "responses": {"200": ok("TicketPage"), **AGENT_ERRORS}},
                "post": {
                "summary": "Start a conversation: a new ticket whose first message is the agent's",
                "security": [{"sigv4": []}], "requestBody": request_body("Conversation"),
                "responses": {"201": ok("ConversationStarted", "Ticket created, message queued"),
                              **AGENT_ERRORS}}},
            "/api/tickets/{ticket_id}": {
                "get": {"summary": "A ticket with customer, SLA and timeline",
                        "security": [{"sigv4": []}], "parameters": [TICKET_ID],
                        "responses": {"200": ok("Ticket"), **AGENT_ERRORS}},
                "patch": {"summary": "Change status, priority, department or assignee",
                          "security": [{"sigv4": []}], "parameters": [TICKET_ID],
                          "requestBody": request_body("TicketChange"),
                          "responses": {"200": ok("TicketSummary"), **AGENT_ERRORS}}},
            "/api/tickets/{ticket_id}/replies": {"post": {
                "summary": "Reply to the customer (email or SMS)", "security": [{"sigv4": []}],
                "parameters": [TICKET_ID], "requestBody": request_body("Reply"),
                "responses": {"201": ok("ReplyQueued", "Queued for sending"), **AGENT_ERRORS}}},
            "/api/tickets/{ticket_id}/callbacks": {"post": {
                "summary": "Schedule a callback: at that instant the ticket gets callback.due",
                "security": [{"sigv4": []}], "parameters": [TICKET_ID],
                "requestBody": request_body("Callback"),
                "responses": {"201": ok("CallbackScheduled", "Scheduled"), **AGENT_ERRORS}}},
            "/api/tickets/{ticket_id}/decisions": {"post": {
                "summary": "Ask a lead or admin to decide; reminded until they do",
                "security": [{"sigv4": []}], "parameters": [TICKET_ID],
                "requestBody": request_body("DecisionRequest"),
                "responses": {"201": ok("TicketSummary", "Requested: the ticket with its decision"),
                              **AGENT_ERRORS}}},
            "/api/tickets/{ticket_id}/decisions/{decision_id}": {"post": {
                "summary": "Approve or reject (lead or admin; the named approver or an admin)",
                "security": [{"sigv4": []}],
                "parameters": [TICKET_ID, path_parameter("decision_id")],
                "requestBody": request_body("Decision"),
                "responses": {"200": ok("TicketSummary", "Decided: the ticket with its decision"),
                              **AGENT_ERRORS}}},
            "/api/tickets/{ticket_id}/notes": {"post": {
                "summary": "Add an internal note", "security": [{"sigv4": []}],
                "parameters": [TICKET_ID], "requestBody": request_body("Note"),
                "responses": {"201": ok("NoteAdded", "Recorded"), **AGENT_ERRORS}}},
            "/api/calendars/{name}": {
                "put": {"summary": "Create or replace a business calendar (admin); 24x7 is built in",
                        "security": [{"sigv4": []}],
                        "parameters": [NAME],
                        "requestBody": request_body("CalendarInput"),
                        "responses": {"200": ok("Calendar"), **AGENT_ERRORS}},
                "get": {"summary": "A calendar (built-in: 24x7, default = Asia/Dhaka Sun-Thu 09:30-18:00)",
                        "security": [{"sigv4": []}],
                        "parameters": [NAME],
                        "responses": {"200": ok("Calendar"), **AGENT_ERRORS}}},
            "/api/sla-policies/{name}": {
                "put": {"summary": "Create or replace an SLA policy (admin)",
                        "security": [{"sigv4": []}],
                        "parameters": [NAME],
                        "requestBody": request_body("SlaPolicyInput"),
                        "responses": {"200": ok("SlaPolicy"), **AGENT_ERRORS}},
                "get": {"summary": "An SLA policy", "security": [{"sigv4": []}],
                        "parameters": [NAME],
                        "responses": {"200": ok("SlaPolicy"), **AGENT_ERRORS}}},
            "/api/openapi.json": {"get": {"summary": "This document", "security": [{"sigv4": []}],
                                          "responses": {"200": {"description": "OpenAPI 3.1"}}}},
        },
    }


def _console_pages(string: dict[str, Any], page: dict[str, Any]) -> dict[str, Any]:
    """The agent console (api/console_pages.py, docs/console.md): one HTML shell with no data
    (its script signs people in and calls /console/api/...), and its assets."""
    missing = {"description": "No such page or asset", "content": {"text/html": {}}}
    shell = {"summary": "The agent console (HTML shell; the sign-in page until signed in)",
             "responses": {"200": page, "404": missing}}
    asset = {"description": "The asset; cached for a year when v is its current hash",
             "content": {"text/javascript": {}, "text/css": {}, "image/svg+xml": {}}}
    return {
        "/console": {"get": {**shell, "responses": {"200": page}}},
        "/console/{page}": {"get": {**shell, "parameters": [
            {"name": "page", "in": "path", "required": True, "schema": string}]}},
        "/console/tickets/{ref}": {"get": {**shell, "parameters": [
            {"name": "ref", "in": "path", "required": True, "schema": string}]}},
        "/console/assets/{asset}": {"get": {
            "summary": "The console's scripts, stylesheet and icon",
            "parameters": [{"name": "asset", "in": "path", "required": True, "schema": string},
                           {"name": "v", "in": "query", "schema": string,
                            "description": "the file's hash, as the shell names it"}],
            "responses": {"200": asset, "404": missing}}},
    }


def _public_pages(string: dict[str, Any]) -> dict[str, Any]:
    """The web form and the customer pages (docs/pages.md). Pages answer HTML; a browser
    posting the form (Accept: text/html) gets the form again with errors, or a 303."""
    token = {"name": "token", "in": "path", "required": True, "schema": string}
    # pages are lenient with their query (a customer's link never fails): another lang is bn
    lang = {"name": "lang", "in": "query", "description": "bn or en; anything else: bn",
            "schema": string}
    page = {"description": "HTML page", "content": {"text/html": {}}}
    see_other = {"description": "Redirect to the page (Post/Redirect/Get)"}
    link_error = {"description": "Tampered, unknown or expired link: a friendly page",
                  "content": {"text/html": {}}}
    def form_body(name: str) -> dict[str, Any]:
        schema = {"schema": {"$ref": f"#/components/schemas/{name}"}}
        return {"application/x-www-form-urlencoded": schema, "multipart/form-data": schema}

    return {
        "/form": {"get": {"summary": "The hosted web form (HTML)", "parameters": [
            lang, {"name": "department", "in": "query", "schema": string},
            {"name": "embed", "in": "query", "description": "1: for an iframe (no header)",
             "schema": string}],
            "responses": {"200": page}}},
        "/form/thanks/{token}": {"get": {
            "summary": "Thank-you page after the HTML form: ref and expected reply time",
            "parameters": [token, lang], "responses": {"200": page, "403": link_error}}},
        "/tickets": {
            "post": {
                "summary": "Create a ticket from the web form",
                "description": "JSON answers unless the client accepts text/html (a browser "
                               "posting the form): then 303 to the thank-you page, or the "
                               "form with field errors (422). Cross-origin browser posts only "
                               "from SETU_FORM_ORIGINS.",
                "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {
                    "type": "string", "maxLength": 255}}],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/WebForm"}},
                    "application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/WebForm"}},
                    "multipart/form-data": {"schema": {"allOf": [
                        {"$ref": "#/components/schemas/WebForm"},
                        {"type": "object", "properties": {"attachments": {
                            "type": "array", "items": {"type": "string", "format": "binary"}}}}]}}}},
                "responses": {"201": ok("Created", "Created"), "303": see_other,
                              **{c: error() for c in ("400", "403", "413", "415", "422", "429")}}},
            "options": {"summary": "CORS preflight for scripts on SETU_FORM_ORIGINS",
                        "responses": {"204": {"description": "Allowed"}, "403": error()}}},
        "/s/{token}": {
            "get": {"summary": "Ticket status page (signed, expiring link from the acknowledgement)",
                    "parameters": [token, lang], "responses": {"200": page, "403": link_error}},
            "post": {"summary": "Add the customer's message to the ticket (once per form nonce)",
                     "parameters": [token, lang],
                     "requestBody": {"content": form_body("StatusReplyForm")},
                     "responses": {"303": see_other, "403": link_error, "422": page}}},
        "/csat/{token}": {
            "get": {"summary": "Satisfaction page; ?score=N (the check-in mail's links) only "
                               "pre-selects that score: a GET records nothing",
                    "parameters": [token, lang, {"name": "score", "in": "query", "schema": {
                        "type": "string", "enum": ["1", "2", "3", "4", "5"]}}],
                    "responses": {"200": page, "404": link_error, "422": page}},
            "post": {"summary": "The page's form: rating and optional comment, each recorded once",
                     "parameters": [token], "requestBody": {"content": form_body("SatisfactionForm")},
                     "responses": {"303": see_other, "404": link_error, "422": page}}},
        **_console_pages(string, page),
        "/unsubscribe/{token}": {
            "get": {"summary": "Unsubscribe page (changes nothing: one button POSTs)",
                    "parameters": [token, lang], "responses": {"200": page, "403": link_error}},
            "post": {"summary": "Unsubscribe from automatic mail: RFC 8058 one-click "
                                "(List-Unsubscribe=One-Click) or the page's button",
                     "parameters": [token], "requestBody": {"content": form_body("UnsubscribeForm")},
                     "responses": {"200": {"description": "JSON {status, new, at}, or the page "
                                                          "for a browser"},
                                   "403": error()}}},
    }
