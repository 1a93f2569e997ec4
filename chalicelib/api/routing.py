"""Routing rules (/api/routing): which department and priority a new ticket gets, and which
departments assign new tickets round-robin (docs/routing.md; services/team/routing.py)."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api import auth
from chalicelib.api.http import ANY_CONTENT, handle_errors, iam, json_response
from chalicelib.api.schemas import Schemas
from chalicelib.services.team import departments

bp = Blueprint(__name__)


def _schemas() -> dict[str, Any]:
    from chalicelib.services.team import routing  # deferred: cold start

    department = {"type": "string", "pattern": departments.NAME_PATTERN, "description": "a department's name (GET /api/departments)"}
    strings = {"type": "array", "minItems": 1, "maxItems": routing.MAX_RECIPIENTS,
               "items": {"type": "string", "minLength": 1, "maxLength": 254}}
    rule = {
        "type": "object", "required": ["name", "then"], "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": routing.MAX_NAME},
            "when": {
                "type": "object", "additionalProperties": False,
                "description": "Every condition given must hold; a list holds when any of its "
                               "values does. No conditions: matches every contact.",
                "properties": {
                    "channel": {**strings, "items": {"enum": list(routing.CHANNELS)}},
                    "recipient": {**strings, "items": {"type": "string", "format": "email",
                                                       "maxLength": 254},
                                  "description": "addresses the mail was sent to (+tags ignored)"},
                    "keywords": {**strings, "maxItems": routing.MAX_KEYWORDS,
                                 "items": {"type": "string", "minLength": 1,
                                           "maxLength": routing.MAX_KEYWORD},
                                 "description": "whole words or phrases (at most "
                                                f"{routing.MAX_KEYWORD_WORDS} words) in the "
                                                "subject or body, casefolded; a trailing * "
                                                "matches any word starting so (বিল*)"},
                    "form_department": {**strings, "items": department,
                                        "description": "the department picked on the web form; "
                                                       "only such rules override that choice"}}},
            "then": {"type": "object", "required": ["department"], "additionalProperties": False,
                     "properties": {"department": department,
                                    "priority": {"enum": list(routing.PRIORITIES)}}}}}
    return {
        "RoutingRule": rule,
        "Routing": {
            "type": "object", "additionalProperties": False, "properties": {
                "rules": {"type": "array", "maxItems": routing.MAX_RULES,
                          "items": {"$ref": "#/components/schemas/RoutingRule"}},
                "assignment": {
                    "type": "object", "maxProperties": departments.MAX_DEPARTMENTS,
                    "description": "department -> round_robin (the next available agent of "
                                   "the department) or manual (the default)",
                    "propertyNames": {"pattern": departments.NAME_PATTERN},
                    "additionalProperties": {"enum": list(routing.MODES)}}}},
    }


SCHEMAS = Schemas(_schemas)


@bp.route("/api/routing", methods=["GET"], authorizer=iam)
@handle_errors
def get_routing():
    auth.require(bp.current_request)
    from chalicelib.services.team import routing  # deferred: cold start

    return json_response(routing.current())


@bp.route("/api/routing", methods=["PUT"], authorizer=iam, content_types=ANY_CONTENT)
@handle_errors
def put_routing():
    agent = auth.require(bp.current_request, role="admin")
    body = SCHEMAS.body(bp.current_request, "Routing")
    from chalicelib.services.team import routing  # deferred: cold start

    return json_response(routing.put(body, agent.principal))


def openapi_section() -> dict[str, Any]:
    from chalicelib.api.openapi import AGENT_ERRORS, ok, request_body  # deferred: cold start

    return {
        "paths": {"/api/routing": {
            "get": {"summary": "Routing rules and each department's assignment mode",
                    "security": [{"sigv4": []}],
                    "responses": {"200": ok("Routing"), **AGENT_ERRORS}},
            "put": {"summary": "Replace the routing rules (admin; first matching rule wins)",
                    "security": [{"sigv4": []}], "requestBody": request_body("Routing"),
                    "responses": {"200": ok("Routing"), **AGENT_ERRORS}}}},
    }
