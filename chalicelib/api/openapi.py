"""The OpenAPI 3.1 document served at GET /api/openapi.json (kept next to the routes; a test
checks every Chalice route appears here and nothing else does).

The core routes are described here; any other module of chalicelib/api may describe its own
routes in a module-level function `openapi_section()` returning {"paths": {...}, "schemas": {...}},
merged in by build(); it can use ok(), request_body(), error(), AGENT_ERRORS and TICKET_ID.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import chalicelib.api as package
from chalicelib.services.sla import policy as sla
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


TICKET_ID = {"name": "ticket_id", "in": "path", "required": True,
             "description": "Ticket id, or its ref (ASCII or Bengali digits)",
             "schema": {"type": "string", "maxLength": 64}}
AGENT_ERRORS = {code: error() for code in ("400", "401", "403", "404", "409", "415", "422")}


def build() -> dict[str, Any]:
    document = _core()
    for section in _sections():
        document["paths"].update(section.get("paths", {}))
        document["components"]["schemas"].update(section.get("schemas", {}))
    return document


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
                        "fields": {"type": "object", "additionalProperties": string}}}}},
                "WebForm": {"type": "object", "required": ["message"], "additionalProperties": False,
                            "properties": {
                                "name": {"type": "string", "maxLength": 200},
                                "email": {"type": "string", "maxLength": 254},
                                "phone": {"type": "string", "maxLength": 32},
                                "subject": {"type": "string", "maxLength": 200},
                                "message": {"type": "string", "maxLength": 20000},
                                "department": {"enum": sorted(departments.DEPARTMENT_NAMES)},
                                "lang": {"enum": ["bn", "en"]},
                                "website": {"type": "string", "maxLength": 0,
                                            "description": "Honeypot: must stay empty"}}},
                "Created": {"type": "object", "required": ["id", "ref", "status"], "properties": {
                    "id": string, "ref": string, "status": string,
                    "due_at": {"type": ["string", "null"]}}},
                "TicketSummary": {"type": "object", "required": ["id", "ref", "status"],
                                  "properties": {"id": string, "ref": string, "subject": string,
                                                 "status": {"enum": list(ticket_store.STATUSES)},
                                                 "priority": {"enum": list(ticket_store.PRIORITIES)},
                                                 "department": string,
                                                 "assignee": {"type": ["string", "null"]},
                                                 "version": {"type": "integer"},
                                                 "sla": {"type": "object"},
                                                 "merged_into": {"type": ["string", "null"]},
                                                 "merged_from": {"type": "array",
                                                                 "items": string}}},
                "Ticket": {"allOf": [{"$ref": "#/components/schemas/TicketSummary"}, {
                    "type": "object", "properties": {
                        "customer": {"type": "object"},
                        "timeline": {"type": "array", "items": {"type": "object"}}}}]},
                "TicketPage": {"type": "object", "required": ["items", "next"], "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/TicketSummary"}},
                    "next": {"type": ["string", "null"]}}},
                "Reply": {"type": "object", "additionalProperties": False, "properties": {
                    "body": {"type": "string", "minLength": 1, "maxLength": ticket_store.MAX_BODY},
                    "macro": {"type": "string", "description": "a macro's name, instead of body"},
                    "macro_version": {"type": "integer", "minimum": 1,
                                      "description": "with macro: that version (default the "
                                                     "current one)"},
                    "channel": {"enum": ["email", "sms"]},
                    "attachments": {"type": "array", "items": {"type": "object", "properties": {
                        "filename": string, "content_type": string, "content_base64": string}}}},
                    "oneOf": [{"required": ["body"]}, {"required": ["macro"]}]},
                "Calendar": {"type": "object", "additionalProperties": False, "properties": {
                    "name": string, "timezone": string,
                    "hours": {"type": "object", "description": 'e.g. {"sun": [["09:30", "18:00"]]}',
                              "additionalProperties": {"type": "array", "items": {
                                  "type": "array", "items": string, "minItems": 2, "maxItems": 2}}},
                    "holidays_country": {"type": ["string", "null"]},
                    "closed": {"type": "array", "items": {"type": "string", "format": "date"}},
                    "special": {"type": "object", "additionalProperties": {"type": "array"}},
                    "always_open": {"type": "boolean"}}},
                "DecisionRequest": {"type": "object", "required": ["question"],
                                    "additionalProperties": False, "properties": {
                    "question": {"type": "string", "minLength": 1, "maxLength": 2000},
                    "approver": {"type": "string", "description": "principal ARN of a lead or admin; default: the department's leads and the admins"},
                    "within": {"type": "string", "description": "ISO 8601 duration, business time; default: policy decide_within or PT4H"},
                    "remind_every": {"type": "string", "description": "ISO 8601 duration; default: policy decision_remind_every or PT1H"}}},
                "Decision": {"type": "object", "required": ["outcome"], "additionalProperties": False,
                             "properties": {
                    "outcome": {"enum": ["approved", "rejected"]},
                    "comment": {"type": "string", "maxLength": 2000, "description": "internal, on the timeline"},
                    "message": {"type": "string", "maxLength": 2000, "description": "for the customer, in the notice they get"}}},
                "Callback": {"type": "object", "required": ["at"], "additionalProperties": False,
                             "properties": {"at": {"type": "string", "format": "date-time"},
                                            "note": {"type": "string", "maxLength": 500}}},
                "Conversation": {"type": "object", "required": ["body"], "additionalProperties": False,
                                 "properties": {**{k: string for k in (
                                     "name", "email", "phone", "subject", "body")},
                                     "channel": {"type": "string", "enum": ["email", "sms"]},
                                     "department": string,
                                     "lang": {"type": "string", "enum": ["bn", "en"]}}},
                "Note": {"type": "object", "required": ["body"], "additionalProperties": False,
                         "properties": {"body": {"type": "string", "minLength": 1, "maxLength": 20000}}},
                "TicketChange": {"type": "object", "additionalProperties": False, "properties": {
                    "status": {"enum": list(ticket_store.SETTABLE_STATUSES)},
                    "priority": {"enum": list(ticket_store.PRIORITIES)},
                    "department": {"enum": sorted(departments.DEPARTMENT_NAMES)},
                    "assignee": {"type": ["string", "null"]},
                    "version": {"type": "integer"}}},
                "SlaPolicy": {"type": "object", "required": ["first_response"], "properties": {
                    **{field: {"type": ["string", "null"], "description": "ISO 8601 duration"}
                       for field in sla.DURATION_FIELDS},
                    "first_response": {"type": "string", "description": "ISO 8601 duration"},
                    "calendar": {"type": "string", "default": "24x7"}}},
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
                + [{"name": "status", "in": "query", "schema": {"enum": list(ticket_store.STATUSES)}},
                   {"name": "department", "in": "query",
                    "schema": {"enum": sorted(departments.DEPARTMENT_NAMES)}},
                   {"name": "priority", "in": "query", "schema": {"enum": list(ticket_store.PRIORITIES)}},
                   {"name": "channel", "in": "query", "schema": {"enum": ["web", "email", "sms"]}},
                   {"name": "breached", "in": "query", "schema": {"enum": ["true", "false"]}}]
                + [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                "maximum": queue.PAGE_MAX}}],
                "responses": {"200": ok("TicketPage"), **AGENT_ERRORS}},
                "post": {
                "summary": "Start a conversation: a new ticket whose first message is the agent's",
                "security": [{"sigv4": []}], "requestBody": request_body("Conversation"),
                "responses": {"201": {"description": "Ticket created, message queued"},
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
                "responses": {"201": {"description": "Queued for sending"}, **AGENT_ERRORS}}},
            "/api/tickets/{ticket_id}/callbacks": {"post": {
                "summary": "Schedule a callback: at that instant the ticket gets callback.due",
                "security": [{"sigv4": []}], "parameters": [TICKET_ID],
                "requestBody": request_body("Callback"),
                "responses": {"201": {"description": "Scheduled"}, **AGENT_ERRORS}}},
            "/api/tickets/{ticket_id}/decisions": {"post": {
                "summary": "Ask a lead or admin to decide; reminded until they do",
                "security": [{"sigv4": []}], "parameters": [TICKET_ID],
                "requestBody": request_body("DecisionRequest"),
                "responses": {"201": {"description": "Requested: the ticket with its decision"},
                              **AGENT_ERRORS}}},
            "/api/tickets/{ticket_id}/decisions/{decision_id}": {"post": {
                "summary": "Approve or reject (lead or admin; the named approver or an admin)",
                "security": [{"sigv4": []}],
                "parameters": [TICKET_ID, {"name": "decision_id", "in": "path", "required": True,
                                           "schema": string}],
                "requestBody": request_body("Decision"),
                "responses": {"200": {"description": "Decided: the ticket with its decision"},
                              **AGENT_ERRORS}}},
            "/api/tickets/{ticket_id}/notes": {"post": {
                "summary": "Add an internal note", "security": [{"sigv4": []}],
                "parameters": [TICKET_ID], "requestBody": request_body("Note"),
                "responses": {"201": {"description": "Recorded"}, **AGENT_ERRORS}}},
            "/api/calendars/{name}": {
                "put": {"summary": "Create or replace a business calendar (admin); 24x7 is built in",
                        "security": [{"sigv4": []}],
                        "parameters": [{"name": "name", "in": "path", "required": True, "schema": string}],
                        "requestBody": request_body("Calendar"),
                        "responses": {"200": ok("Calendar"), **AGENT_ERRORS}},
                "get": {"summary": "A calendar (built-in: 24x7, default = Asia/Dhaka Sun-Thu 09:30-18:00)",
                        "security": [{"sigv4": []}],
                        "parameters": [{"name": "name", "in": "path", "required": True, "schema": string}],
                        "responses": {"200": ok("Calendar"), **AGENT_ERRORS}}},
            "/api/sla-policies/{name}": {
                "put": {"summary": "Create or replace an SLA policy (admin)",
                        "security": [{"sigv4": []}],
                        "parameters": [{"name": "name", "in": "path", "required": True, "schema": string}],
                        "requestBody": request_body("SlaPolicy"),
                        "responses": {"200": ok("SlaPolicy"), **AGENT_ERRORS}},
                "get": {"summary": "An SLA policy", "security": [{"sigv4": []}],
                        "parameters": [{"name": "name", "in": "path", "required": True, "schema": string}],
                        "responses": {"200": ok("SlaPolicy"), **AGENT_ERRORS}}},
            "/api/openapi.json": {"get": {"summary": "This document", "security": [{"sigv4": []}],
                                          "responses": {"200": {"description": "OpenAPI 3.1"}}}},
        },
    }


def _public_pages(string: dict[str, Any]) -> dict[str, Any]:
    """The web form and the customer pages (docs/pages.md). Pages answer HTML; a browser
    posting the form (Accept: text/html) gets the form again with errors, or a 303."""
    token = {"name": "token", "in": "path", "required": True, "schema": string}
    lang = {"name": "lang", "in": "query", "schema": {"enum": ["bn", "en"]}}
    page = {"description": "HTML page", "content": {"text/html": {}}}
    see_other = {"description": "Redirect to the page (Post/Redirect/Get)"}
    link_error = {"description": "Tampered, unknown or expired link: a friendly page",
                  "content": {"text/html": {}}}
    form_body = {"application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                 "multipart/form-data": {"schema": {"type": "object"}}}
    return {
        "/form": {"get": {"summary": "The hosted web form (HTML)", "parameters": [
            lang, {"name": "department", "in": "query", "schema": string},
            {"name": "embed", "in": "query", "description": "1: for an iframe (no header)",
             "schema": {"const": "1"}}],
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
                     "parameters": [token, lang], "requestBody": {"content": form_body},
                     "responses": {"303": see_other, "403": link_error, "422": page}}},
        "/csat/{token}": {
            "get": {"summary": "Satisfaction page; ?score=N (the check-in mail's links) only "
                               "pre-selects that score: a GET records nothing",
                    "parameters": [token, lang, {"name": "score", "in": "query", "schema": {
                        "type": "string", "enum": ["1", "2", "3", "4", "5"]}}],
                    "responses": {"200": page, "404": link_error, "422": page}},
            "post": {"summary": "The page's form: rating and optional comment, each recorded once",
                     "parameters": [token], "requestBody": {"content": form_body},
                     "responses": {"303": see_other, "404": link_error, "422": page}}},
        "/unsubscribe/{token}": {
            "get": {"summary": "Unsubscribe page (changes nothing: one button POSTs)",
                    "parameters": [token, lang], "responses": {"200": page, "403": link_error}},
            "post": {"summary": "Unsubscribe from automatic mail: RFC 8058 one-click "
                                "(List-Unsubscribe=One-Click) or the page's button",
                     "parameters": [token], "requestBody": {"content": form_body},
                     "responses": {"200": {"description": "JSON {status, new, at}, or the page "
                                                          "for a browser"},
                                   "403": error()}}},
    }
