"""Departments (/api/departments, /api/departments/{name}): thin adapters over
services/team/department_admin.py. Every agent reads; admins create, change and remove
(a department in use is deactivated instead, `general` stays). Each write is audited."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api import auth
from chalicelib.api.http import ANY_CONTENT, handle_errors, iam, json_response
from chalicelib.api.schemas import Schemas
from chalicelib.services.sla import store as policies
from chalicelib.services.team import departments

bp = Blueprint(__name__)


def _admin():
    """services/team/department_admin.py, loaded on the first department request, not at every
    function's cold start."""
    from chalicelib.services.team import department_admin  # deferred: cold start

    return department_admin


def _schemas() -> dict[str, Any]:
    text = {"type": "string", "minLength": 1, "maxLength": _admin().MAX_LABEL}
    labels = {"type": "object", "required": ["bn", "en"], "additionalProperties": False,
              "properties": {"bn": text, "en": text}}
    link = {"type": "object", "required": ["label"], "additionalProperties": False,
            "description": "a `path` on the public site (/help/...) or a full `url`",
            "properties": {"label": labels,
                           "path": {"type": "string", "pattern": r"^/[\w./~%-]{0,199}$"},
                           "url": {"type": "string", "maxLength": 307,
                                   "pattern": r"^https?://[^\s\"'<>]{1,300}$"}}}
    name = {"type": ["string", "null"], "maxLength": 64, "pattern": r"^[\w-]{1,64}$"}
    fields = {
        "labels": labels,
        "address": {"type": ["string", "null"], "maxLength": 254,
                    "description": "From/To address at the support domain; null: <name>@<domain>"},
        "form": {"type": "boolean", "description": "a choice on the web form"},
        "order": {"type": "integer", "minimum": 0, "maximum": 10000},
        "links": {"type": "array", "maxItems": _admin().MAX_LINKS, "items": link},
        "calendar": {**name, "description": "an existing calendar, or null"},
        "default_policy": {**name, "description": "an existing SLA policy, or null"},
        "active": {"type": "boolean"},
    }
    return {
        "DepartmentInput": {"type": "object", "additionalProperties": False,
                            "description": "fields left out keep their value; `labels` is "
                                           "required for a new department",
                            "properties": {**fields, "name": {
                                "type": "string", "description": "ignored: the name is the path's"}}},
        "Department": {"type": "object", "required": ["name", "labels", "active"],
                       "properties": {**fields, "name": {"type": "string",
                                                         "pattern": departments.NAME_PATTERN},
                                      "effective_address": {"type": "string"},
                                      "builtin": {"type": "boolean"},
                                      "deleted": {"type": "boolean"},
                                      "deactivated": {"type": "boolean"},
                                      "in_use": {"type": "array", "items": {"type": "string"}}}},
        "DepartmentList": {"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Department"}}}},
    }


SCHEMAS = Schemas(_schemas)


@bp.route("/api/departments", methods=["GET"], authorizer=iam)
@handle_errors
def list_departments():
    auth.require(bp.current_request)
    return json_response({"items": _admin().listing()})


@bp.route("/api/departments/{name}", methods=["GET"], authorizer=iam)
@handle_errors
def get_department(name: str):
    auth.require(bp.current_request)
    return json_response(_admin().show(name))


@bp.route("/api/departments/{name}", methods=["PUT"], authorizer=iam, content_types=ANY_CONTENT)
@handle_errors
def put_department(name: str):
    agent = auth.require(bp.current_request, role="admin")
    body = SCHEMAS.body(bp.current_request, "DepartmentInput")
    return json_response(_admin().put(
        name, body, agent.principal,
        calendar_exists=lambda value: policies.find_calendar(value) is not None,
        policy_exists=lambda value: value in policies.policy_names()))


@bp.route("/api/departments/{name}", methods=["DELETE"], authorizer=iam)
@handle_errors
def delete_department(name: str):
    agent = auth.require(bp.current_request, role="admin")
    return json_response(_admin().delete(name, agent.principal))


def openapi_section() -> dict[str, Any]:
    from chalicelib.api.openapi import AGENT_ERRORS, NAME, ok, request_body  # deferred: cold start

    return {
        "paths": {
            "/api/departments": {"get": {
                "summary": "Every department, deactivated ones too", "security": [{"sigv4": []}],
                "responses": {"200": ok("DepartmentList"), **AGENT_ERRORS}}},
            "/api/departments/{name}": {
                "get": {"summary": "A department", "security": [{"sigv4": []}],
                        "parameters": [NAME], "responses": {"200": ok("Department"), **AGENT_ERRORS}},
                "put": {"summary": "Create or change a department (admin)",
                        "security": [{"sigv4": []}], "parameters": [NAME],
                        "requestBody": request_body("DepartmentInput"),
                        "responses": {"200": ok("Department"), **AGENT_ERRORS}},
                "delete": {"summary": "Remove a department (admin); one in use is deactivated, "
                                      "general cannot be removed",
                           "security": [{"sigv4": []}], "parameters": [NAME],
                           "responses": {"200": ok("Department"), **AGENT_ERRORS}}}},
    }
