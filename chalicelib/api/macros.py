"""Macro and acknowledgement-template routes (/api/macros, /api/ack-templates, preview).
The logic is in services/authoring/macros.py (imported in each view: the app's cold start does not pay
for it); templates render in services/authoring/sandbox.py."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api import auth
from chalicelib.api.http import (
    ANY_CONTENT,
    check_name,
    handle_errors,
    iam,
    int_param,
    json_response,
    path_parameter,
)
from chalicelib.api.schemas import Schemas
from chalicelib.errors import BadRequest
from chalicelib.services.team import departments
from chalicelib.services.tickets import store as ticket_store

bp = Blueprint(__name__)


def _schemas() -> dict[str, Any]:
    from chalicelib.services.authoring import macros, sandbox  # deferred: cold start

    string = {"type": "string"}
    label = {"type": "string", "minLength": 1, "maxLength": 200}
    source = {"type": "string", "minLength": 1, "maxLength": sandbox.SOURCE_MAX,
              "description": "Jinja2 template, rendered in the sandbox (docs/macros.md)"}
    langs = {"type": "object", "additionalProperties": False, "minProperties": 1,
             "properties": {"bn": source, "en": source}}
    subject = {"type": "string", "minLength": 1, "maxLength": macros.SUBJECT_SOURCE_MAX}
    subjects = {**langs, "type": ["object", "null"], "properties": {"bn": subject, "en": subject}}
    version_in = {"type": "integer", "minimum": 0,
                  "description": "the version you read (0 for a new one); a stale one is 409"}
    actions = {"type": "object", "additionalProperties": False, "properties": {
        "status": {"enum": list(ticket_store.SETTABLE_STATUSES)},
        "priority": {"enum": list(ticket_store.PRIORITIES)}}}
    link = {"type": "object", "required": ["label", "url"], "additionalProperties": False,
            "properties": {"label": {"type": "object", "additionalProperties": False,
                                     "minProperties": 1, "properties": {"bn": label, "en": label}},
                           "url": {"type": "string", "pattern": "^https://", "maxLength": 2048}}}
    email_variant = {"type": "object", "required": ["subject", "body"], "additionalProperties": False,
                     "properties": {"subject": source, "body": source,
                                    "html": {**source, "description": "optional HTML part (autoescaped)"}}}
    sms = {"type": "object", "properties": {"encoding": {"enum": ["GSM-7", "UCS-2"]},
                                            "units": {"type": "integer"},
                                            "segments": {"type": "integer"},
                                            "max_segments": {"type": "integer"}}}
    return {
        "MacroInput": {"type": "object", "required": ["title", "body"], "additionalProperties": False,
                       "properties": {"title": {"type": "string", "minLength": 1, "maxLength": macros.TITLE_MAX},
                                      "body": langs, "subject": subjects,
                                      "channels": {"type": "array", "minItems": 1,
                                                   "items": {"enum": list(macros.CHANNELS)}},
                                      "actions": {**actions, "type": ["object", "null"]},
                                      "version": version_in}},
        "Macro": {"type": "object", "required": ["name", "version", "title", "body"], "properties": {
            "name": string, "version": {"type": "integer"}, "title": string,
            "body": {"type": "object"}, "subject": {"type": ["object", "null"]},
            "channels": {"type": "array", "items": string}, "actions": {"type": "object"},
            "archived": {"type": "boolean"}, "updated_at": string, "updated_by": string,
            "current_version": {"type": ["integer", "null"]}}},
        "MacroPage": {"type": "object", "required": ["items", "next"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Macro"}},
            "next": {"type": ["string", "null"]}}},
        "PreviewInput": {"type": "object", "additionalProperties": False, "properties": {
            "macro": {"type": "string", "pattern": r"^[\w-]{1,64}$", "maxLength": 64},
            "version": {"type": "integer", "minimum": 1},
            "template": source, "subject": source,
            "lang": {"enum": list(macros.LANGS)}, "channel": {"enum": list(macros.CHANNELS)}},
            "description": "macro (and version) or an inline template (and subject)"},
        "Preview": {"type": "object", "required": ["body", "lang", "channel"], "properties": {
            "body": string, "subject": string, "lang": string, "channel": string, "sms": sms,
            "macro": {"type": "object"}}},
        "AckTemplateInput": {"type": "object", "additionalProperties": False, "properties": {
            "email": {"type": ["object", "null"], "additionalProperties": False,
                      "properties": {"bn": email_variant, "en": email_variant}},
            "sms": {**langs, "type": ["object", "null"]},
            "links": {"type": ["array", "null"], "maxItems": macros.LINKS_MAX, "items": link},
            "version": version_in}},
        "AckTemplate": {"type": "object", "properties": {
            "department": string, "version": {"type": "integer"},
            "email": {"type": "object"}, "sms": {"type": "object"},
            "links": {"type": "array", "items": link}, "updated_at": string,
            "updated_by": string}},
    }


SCHEMAS = Schemas(_schemas)


@bp.route("/api/macros", methods=["GET"], authorizer=iam)
@handle_errors
def list_macros():
    from chalicelib.services.authoring import macros  # deferred: cold start

    auth.require(bp.current_request)
    params = bp.current_request.query_params or {}
    archived = params.get("archived", "")
    if archived not in ("", "true", "false"):
        raise BadRequest("archived is true or false.", {"archived": "true or false"})
    cursor = params.get("cursor", "")
    if cursor:
        check_name(cursor, "cursor")
    return json_response(macros.list_macros(
        cursor=cursor, limit=int_param(params, "limit", macros.PAGE_DEFAULT),
        archived=archived == "true"))


@bp.route("/api/macros/{name}", methods=["GET"], authorizer=iam)
@handle_errors
def get_macro(name: str):
    from chalicelib.services.authoring import macros  # deferred: cold start

    auth.require(bp.current_request)
    params = bp.current_request.query_params or {}
    version = int_param(params, "version", 0) if "version" in params else None
    if version is not None and version < 1:
        raise BadRequest("version counts from 1.", {"version": "a whole number from 1"})
    return json_response(macros.get(name, version))


@bp.route("/api/macros/{name}", methods=["PUT"], authorizer=iam, content_types=ANY_CONTENT)
@handle_errors
def put_macro(name: str):
    from chalicelib.services.authoring import macros  # deferred: cold start

    agent = auth.require(bp.current_request, role="lead")
    return json_response(macros.put(name, SCHEMAS.body(bp.current_request, "MacroInput"),
                                    agent.principal))


@bp.route("/api/macros/{name}", methods=["DELETE"], authorizer=iam)
@handle_errors
def archive_macro(name: str):
    from chalicelib.services.authoring import macros  # deferred: cold start

    agent = auth.require(bp.current_request, role="admin")
    return json_response(macros.archive(name, agent.principal))


@bp.route("/api/tickets/{ticket_id}/preview", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def preview(ticket_id: str):
    from chalicelib.services.authoring import macros  # deferred: cold start

    agent = auth.require(bp.current_request)
    body = SCHEMAS.body(bp.current_request, "PreviewInput")
    return json_response(macros.preview(ticket_id, agent, body))


@bp.route("/api/ack-templates/{department}", methods=["GET"], authorizer=iam)
@handle_errors
def get_ack_template(department: str):
    from chalicelib.services.authoring import macros  # deferred: cold start

    auth.require(bp.current_request)
    return json_response(macros.get_ack(department))


@bp.route("/api/ack-templates/{department}", methods=["PUT"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def put_ack_template(department: str):
    from chalicelib.services.authoring import macros  # deferred: cold start

    agent = auth.require(bp.current_request, role="admin")
    body = SCHEMAS.body(bp.current_request, "AckTemplateInput")
    return json_response(macros.put_ack(department, body, agent.principal))


@bp.route("/api/ack-templates/{department}", methods=["DELETE"], authorizer=iam)
@handle_errors
def delete_ack_template(department: str):
    from chalicelib.services.authoring import macros  # deferred: cold start

    agent = auth.require(bp.current_request, role="admin")
    return json_response(macros.delete_ack(department, agent.principal))


def openapi_section() -> dict[str, Any]:
    from chalicelib.api.openapi import (  # deferred: cold start
        AGENT_ERRORS, TICKET_ID, error, ok, request_body)
    from chalicelib.services.authoring import macros  # deferred: cold start

    string = {"type": "string"}
    name = path_parameter("name")
    department = path_parameter("department")
    errors = {k: v for k, v in AGENT_ERRORS.items() if k not in ("409", "415", "422")}
    version_param = {"name": "version", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1}}
    return {
        "paths": {
            "/api/macros": {"get": {
                "summary": "Macros (current versions), by name", "security": [{"sigv4": []}],
                "parameters": [
                    {"name": "cursor", "in": "query", "required": False, "schema": string},
                    {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": macros.PAGE_MAX}},
                    {"name": "archived", "in": "query", "required": False,
                     "schema": {"enum": ["true", "false"]}}],
                "responses": {"200": ok("MacroPage"), **errors}}},
            "/api/macros/{name}": {
                "get": {"summary": "A macro: the current version, or ?version=N",
                        "security": [{"sigv4": []}], "parameters": [name, version_param],
                        "responses": {"200": ok("Macro"), **errors}},
                "put": {"summary": "Save a new version of a macro (lead, admin)",
                        "security": [{"sigv4": []}], "parameters": [name],
                        "requestBody": request_body("MacroInput"),
                        "responses": {"200": ok("Macro"), **AGENT_ERRORS}},
                "delete": {"summary": "Archive a macro (admin); versions are kept",
                           "security": [{"sigv4": []}], "parameters": [name],
                           "responses": {"200": ok("Macro"), **errors, "409": error()}}},
            "/api/tickets/{ticket_id}/preview": {"post": {
                "summary": "Render a macro or an inline template for a ticket, sending nothing",
                "security": [{"sigv4": []}], "parameters": [TICKET_ID],
                "requestBody": request_body("PreviewInput"),
                "responses": {"200": ok("Preview"), **AGENT_ERRORS}}},
            "/api/ack-templates/{department}": {
                "get": {"summary": "The department's acknowledgement template",
                        "security": [{"sigv4": []}], "parameters": [department],
                        "responses": {"200": ok("AckTemplate"), **errors}},
                "put": {"summary": "Set the department's acknowledgement template (admin)",
                        "security": [{"sigv4": []}], "parameters": [department],
                        "requestBody": request_body("AckTemplateInput"),
                        "responses": {"200": ok("AckTemplate"), **AGENT_ERRORS}},
                "delete": {"summary": "Back to the built-in acknowledgement (admin)",
                           "security": [{"sigv4": []}], "parameters": [department],
                           "responses": {"200": {"description": "Removed"}, **errors,
                                         "409": error()}}},
        },
    }
