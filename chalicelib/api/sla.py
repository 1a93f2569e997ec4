"""SLA policies and business calendars (/api/sla-policies, /api/sla-policies/{name},
/api/calendars, /api/calendars/{name}): thin adapters over services/sla/store.py. Admins
write, every agent reads. Names are path
parameters checked by handle_errors (api/http.PATH_PARAMETERS); bodies by SCHEMAS."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api import auth
from chalicelib.api.http import ANY_CONTENT, handle_errors, iam, json_response
from chalicelib.api.schemas import Schemas
from chalicelib.services.sla import store as policies

bp = Blueprint(__name__)


def _schemas() -> dict[str, Any]:
    from chalicelib.services.sla import calendars, policy  # deferred: cold start

    name = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[\w-]{1,64}$"}
    # the ISO 8601 grammar, positive and at most 366 days: services/sla/durations.parse
    duration = {"type": ["string", "null"], "minLength": 1, "maxLength": 64,
                "description": "ISO 8601 duration (days count as business days); left out or "
                               "null: inherited from the default policy; \"off\": switched off"}
    hhmm = {"type": "string", "pattern": r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"}
    windows = {"type": "array", "maxItems": calendars.MAX_WINDOWS_PER_DAY, "items": {
        "type": "array", "items": hhmm, "minItems": 2, "maxItems": 2}}
    day = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
    country = {"type": ["string", "null"], "minLength": 2, "maxLength": 3,
               "pattern": "^[A-Za-z]{2,3}$"}
    return {
        "SlaPolicyInput": {"type": "object", "required": ["first_response"],
                           "additionalProperties": False, "properties": {
            **{field: duration for field in policy.DURATION_FIELDS},
            "first_response": {**duration, "type": "string"},
            "calendar": {**name, "default": "24x7", "description": "an existing calendar"},
            "name": {**name, "description": "ignored: the name is the path's"}}},
        "SlaPolicy": {"type": "object", "required": ["name", "calendar", "first_response"],
                      "description": "the effective values at the top level; `set`: what the "
                                     "policy itself saved; `inherited`: fields from the default "
                                     "policy; `used_by`: <department>/<priority> pairs it applies to",
                      "properties": {
            "name": {"type": "string"}, "calendar": {"type": "string"},
            **{field: {"type": ["string", "null"]} for field in policy.DURATION_FIELDS},
            "effective": {"type": "object"}, "set": {"type": "object"},
            "inherited": {"type": "array", "items": {"type": "string"}},
            "used_by": {"type": "array", "items": {"type": "string"}},
            "builtin": {"type": "boolean"},
            "warnings": {"type": "array", "items": {"type": "string"}}}},
        "SlaPolicyList": {"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/SlaPolicy"}}}},
        "CalendarList": {"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Calendar"}}}},
        "CalendarInput": {"type": "object", "required": ["hours"], "additionalProperties": False,
                          "properties": {
            "timezone": {"type": "string", "minLength": 1, "maxLength": 64,
                         "description": "IANA time zone; default Asia/Dhaka"},
            "hours": {"type": "object", "additionalProperties": False,
                      "description": 'e.g. {"sun": [["09:30", "18:00"]]}',
                      "properties": {d: windows for d in calendars.DAYS}},
            "holidays_country": {**country, "description": "ISO country code; default BD; "
                                                           "null: no public holidays"},
            "closed": {"type": "array", "maxItems": calendars.MAX_DATES, "items": day},
            "special": {"type": "object", "maxProperties": calendars.MAX_DATES,
                        "propertyNames": {"pattern": r"^\d{4}-\d{2}-\d{2}$"},
                        "additionalProperties": windows,
                        "description": 'date -> windows, e.g. {"2026-12-31": [["09:30", "13:00"]]}'},
            "name": {**name, "description": "ignored: the name is the path's"}}},
        "Calendar": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string"}, "always_open": {"type": "boolean"},
            "timezone": {"type": "string"},
            "hours": {"type": "object", "additionalProperties": windows},
            "holidays_country": {"type": ["string", "null"]},
            "closed": {"type": "array", "items": {"type": "string"}},
            "special": {"type": "object", "additionalProperties": windows}}},
    }


SCHEMAS = Schemas(_schemas)


@bp.route("/api/sla-policies", methods=["GET"], authorizer=iam)
@handle_errors
def list_policies():
    auth.require(bp.current_request)
    return json_response({"items": policies.list_policies()})


@bp.route("/api/sla-policies/{name}", methods=["PUT"], authorizer=iam, content_types=ANY_CONTENT)
@handle_errors
def put_policy(name: str):
    agent = auth.require(bp.current_request, role="admin")
    body = SCHEMAS.body(bp.current_request, "SlaPolicyInput")
    _, warnings = policies.put_policy(name, body, agent.principal)
    return json_response({**policies.describe(name), "warnings": warnings})


@bp.route("/api/sla-policies/{name}", methods=["GET"], authorizer=iam)
@handle_errors
def get_policy(name: str):
    auth.require(bp.current_request)
    return json_response(policies.describe(name))


@bp.route("/api/calendars", methods=["GET"], authorizer=iam)
@handle_errors
def list_calendars():
    auth.require(bp.current_request)
    return json_response({"items": policies.list_calendars()})


@bp.route("/api/calendars/{name}", methods=["PUT"], authorizer=iam, content_types=ANY_CONTENT)
@handle_errors
def put_calendar(name: str):
    agent = auth.require(bp.current_request, role="admin")
    body = SCHEMAS.body(bp.current_request, "CalendarInput")
    return json_response(policies.put_calendar(name, body, agent.principal).to_dict())


@bp.route("/api/calendars/{name}", methods=["GET"], authorizer=iam)
@handle_errors
def get_calendar(name: str):
    auth.require(bp.current_request)
    return json_response(policies.get_calendar(name).to_dict())


def openapi_section() -> dict[str, Any]:
    from chalicelib.api.openapi import AGENT_ERRORS, ok  # deferred: cold start

    return {
        "paths": {
            "/api/sla-policies": {"get": {
                "summary": "Every SLA policy (default included): effective values, what each "
                           "sets and inherits, and which tickets use it",
                "security": [{"sigv4": []}],
                "responses": {"200": ok("SlaPolicyList"), **AGENT_ERRORS}}},
            "/api/calendars": {"get": {
                "summary": "Every business calendar, the built-in ones included",
                "security": [{"sigv4": []}],
                "responses": {"200": ok("CalendarList"), **AGENT_ERRORS}}},
        },
    }
