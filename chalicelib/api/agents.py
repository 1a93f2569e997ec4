"""Agent management and the audit log (/api/agents, /api/me, /api/audit): thin adapters over
services/team/agents.py and services/team/audit.py; inviting an agent to the console
(POST /api/agents/{id}/invite) over services/team/console_access.py. Roles and the bootstrap
of the first admin:
docs/agents.md. `GET /api/agents` answers every agent: leads and admins read every record,
agents the active agents' cards (to hand a ticket over)."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api import auth
from chalicelib.api.http import (
    ANY_CONTENT,
    handle_errors,
    iam,
    int_param,
    json_response,
    path_parameter,
)
from chalicelib.api.schemas import Schemas
from chalicelib.errors import BadRequest
from chalicelib.services.team import agents, audit, console_access, notifications
from chalicelib.services.team.departments import NAME_PATTERN, department_limit

bp = Blueprint(__name__)


def _schemas() -> dict[str, Any]:
    string = {"type": "string"}
    nullable = {"type": ["string", "null"]}
    departments = {"type": "array", "uniqueItems": True, "maxItems": department_limit(),
                   "items": {"type": "string", "pattern": NAME_PATTERN,
                             "description": "a department's name (GET /api/departments)"}}
    lang = {"enum": list(agents.LANGS) + [None]}
    role = {"enum": list(agents.ROLES)}
    display_name = {"type": ["string", "null"], "maxLength": agents.NAME_MAX}
    email = {"type": ["string", "null"], "maxLength": 254}
    clock_time = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}
    prefs = {"type": "object", "additionalProperties": False,
             "description": "Staff mail preferences (docs/agents.md, Notifications); fields left "
                            "out take their default",
             "properties": {
                 "kinds": {"type": "array", "uniqueItems": True,
                           "items": {"enum": list(notifications.KINDS)},
                           "description": "the kinds of staff mail wanted (default: all)"},
                 "quiet_hours": {"type": ["object", "null"], "additionalProperties": False,
                                 "required": ["start", "end"],
                                 "description": "HH:MM in the business time zone (Asia/Dhaka); "
                                                "mail in between waits for one digest at the end",
                                 "properties": {"start": clock_time, "end": clock_time}},
                 "digest_after": {"type": "integer", "minimum": 0,
                                  "maximum": notifications.MAX_DIGEST_AFTER,
                                  "description": "single mails per window (15 minutes) before "
                                                 "the rest wait for the window's digest"}}}
    return {
        "Agent": {"type": "object", "required": [
            "id", "principal", "role", "departments", "active", "away", "version"],
            "properties": {
                "id": {"type": "string", "pattern": "^ag_[0-9a-f]{20}$"},
                "principal": {**string, "description": "IAM user/role or STS assumed-role ARN, "
                                                       "or console:<short name> for an agent "
                                                       "created by email (console only)"},
                "short_name": {**string, "description": "what people type for the agent "
                                                        "(assignee=karim): the ARN's last "
                                                        "segment, lower case (console-only "
                                                        "agents: from the email)"},
                "role": role, "display_name": nullable, "email": nullable,
                "departments": departments, "lang": lang,
                "active": {"type": "boolean"},
                "away": {"type": "boolean", "description": "skipped by round-robin assignment"},
                "notifications": prefs,
                "console_user": {**nullable, "description": "the agent's console (Cognito) "
                                                            "user name, once invited"},
                "version": {"type": "integer", "description": "send it back in PATCH: 409 when stale"},
                "created_at": {"type": ["string", "null"], "format": "date-time"}}},
        "AgentCard": {"type": "object", "required": [
            "id", "short_name", "role", "departments", "active", "away"],
            "description": "An agent as every agent sees it (no ARN, no email)",
            "properties": {
                "id": {"type": "string", "pattern": "^ag_[0-9a-f]{20}$"},
                "short_name": string, "display_name": nullable, "role": role,
                "departments": departments, "active": {"type": "boolean"},
                "away": {"type": "boolean"}}},
        "AgentPage": {"type": "object", "required": ["items", "next"], "properties": {
            "items": {"type": "array", "items": {"anyOf": [
                {"$ref": "#/components/schemas/Agent"},
                {"$ref": "#/components/schemas/AgentCard"}]},
                "description": "leads and admins: every agent, in full; agents: the active "
                               "ones as AgentCard"},
            "next": nullable}},
        "AgentNew": {"type": "object", "required": ["role"], "additionalProperties": False,
                     "description": "`principal` or, for someone who only uses the console "
                                    "(no IAM user), `email` alone: the agent is then keyed "
                                    "console:<short name>, the short name from the address "
                                    "(made unique), and is invited with POST "
                                    "/api/agents/{id}/invite; 409 when an agent has the address",
                     "anyOf": [{"required": ["principal"]}, {"required": ["email"]}],
                     "x-errors": {"anyOf": ["principal", "required unless email is given"]},
                     "properties": {
            "principal": {**string, "minLength": 1, "maxLength": 2048,
                          "description": agents.ARN_HELP + "; optional when email is given"},
            "role": role, "display_name": display_name, "email": email,
            "departments": {**departments, "type": ["array", "null"]}, "lang": lang}},
        "AgentChange": {"type": "object", "additionalProperties": False, "minProperties": 1,
                        "description": "An admin may change every field; an agent only their "
                                       "own `away`, `lang` and `notifications`",
                        "properties": {
            "role": role, "display_name": display_name, "email": email,
            "departments": {**departments, "type": ["array", "null"]}, "lang": lang,
            "active": {"type": "boolean", "description": "false deactivates (no hard delete)"},
            "away": {"type": "boolean"}, "version": {"type": "integer", "minimum": 0},
            "notifications": {**prefs, "type": ["object", "null"]}}},
        "Notifications": prefs,
        "Invitation": {"type": "object", "required": ["invitation", "agent"], "properties": {
            "invitation": {"enum": ["sent", "resent", "linked"],
                           "description": "sent: Cognito mailed the invitation; resent: again "
                                          "(not signed in yet); linked: the address already "
                                          "had a console user, now this agent's"},
            "agent": {"$ref": "#/components/schemas/Agent"}}},
        "AuditEntry": {"type": "object", "required": ["id", "at", "actor", "action", "target"],
                       "properties": {
            "id": string, "at": {"type": "string", "format": "date-time"},
            "actor": {**string, "description": "principal ARN (or cli:<user> for the CLI)"},
            "action": {**string, "description": 'dotted, e.g. "agent.updated"'},
            "target": {**string, "description": 'for machines, e.g. "agent:<arn>", "ticket:<id>"'},
            "target_label": {**string, "description": 'for people, e.g. "ticket #1042", '
                                                      '"agent Nusrat"'},
            "actor_name": {**nullable, "description": "the actor's display name"},
            "actor_id": {**nullable, "description": "the actor's agent id (ag_...)"},
            "departments": {"type": "array", "items": string,
                            "description": "the departments the change concerns (a lead "
                                           "reads the entries of theirs)"},
            "before": {"description": "the value before (null for a creation): any JSON"},
            "after": {"description": "the value after: any JSON"}}},
        "AuditPage": {"type": "object", "required": ["date", "items", "next"], "properties": {
            "date": {"type": "string", "format": "date"},
            "timezone": {**string, "description": "the business time zone the day is a day in"},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEntry"}},
            "next": nullable}},
    }


SCHEMAS = Schemas(_schemas)


@bp.route("/api/agents", methods=["GET"], authorizer=iam)
@handle_errors
def list_agents():
    caller = auth.require(bp.current_request)
    params = bp.current_request.query_params or {}
    return json_response(agents.directory(
        department=params.get("department", ""), cursor=params.get("cursor", ""),
        limit=int_param(params, "limit", agents.PAGE_DEFAULT), caller=caller))


@bp.route("/api/agents", methods=["POST"], authorizer=iam, content_types=ANY_CONTENT)
@handle_errors
def create_agent():
    admin = auth.require(bp.current_request, "admin")
    return json_response(agents.create(admin, SCHEMAS.body(bp.current_request, "AgentNew")), 201)


@bp.route("/api/agents/{agent_id}", methods=["GET"], authorizer=iam)
@handle_errors
def get_agent(agent_id: str):
    caller = auth.require(bp.current_request)
    return json_response(agents.get(caller, agent_id))


@bp.route("/api/agents/{agent_id}", methods=["PATCH"], authorizer=iam, content_types=ANY_CONTENT)
@handle_errors
def update_agent(agent_id: str):
    caller = auth.require(bp.current_request)
    body = SCHEMAS.body(bp.current_request, "AgentChange")
    return json_response(agents.update(caller, agent_id, body))


@bp.route("/api/agents/{agent_id}/invite", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def invite_agent(agent_id: str):
    admin = auth.require(bp.current_request, "admin")
    return json_response(console_access.invite(admin, agent_id))


@bp.route("/api/me", methods=["GET"], authorizer=iam)
@handle_errors
def who_am_i():
    return json_response(agents.me(auth.require(bp.current_request)))


@bp.route("/api/me/notifications", methods=["GET"], authorizer=iam)
@handle_errors
def my_notifications():
    return json_response(agents.me(auth.require(bp.current_request))["notifications"])


@bp.route("/api/me/notifications", methods=["PUT"], authorizer=iam, content_types=ANY_CONTENT)
@handle_errors
def set_my_notifications():
    caller = auth.require(bp.current_request)
    body = SCHEMAS.body(bp.current_request, "Notifications")
    changed = agents.update(caller, agents.agent_id(caller.principal), {"notifications": body})
    return json_response(changed["notifications"])


@bp.route("/api/audit", methods=["GET"], authorizer=iam)
@handle_errors
def audit_log():
    caller = auth.require(bp.current_request, "lead")
    params = bp.current_request.query_params or {}
    unknown = sorted(set(params) - {"date", "cursor", "limit"})
    if unknown:
        raise BadRequest("Unknown parameter.", {name: "unknown parameter" for name in unknown})
    scope = None if caller.has_role("admin") else frozenset(caller.departments)
    return json_response(audit.page(params.get("date", ""), cursor=params.get("cursor", ""),
                                    limit=int_param(params, "limit", 100), departments=scope,
                                    names=agents.display_name, ids=agents.agent_id))


def openapi_section() -> dict[str, Any]:
    from chalicelib.api.openapi import AGENT_ERRORS, ok, request_body  # deferred: cold start

    string = {"type": "string"}
    agent_id = path_parameter("agent_id")
    sigv4 = [{"sigv4": []}]

    def query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
        found = {"name": name, "in": "query", "schema": schema}
        return {**found, "description": description} if description else found

    return {
        "paths": {
            "/api/agents": {
                "get": {"summary": "Every agent, active or not (lead or admin); an agent reads "
                                   "the active ones, without ARN and email (to hand a "
                                   "ticket over)", "security": sigv4,
                        "parameters": [
                            query("department", {"type": "string", "pattern": NAME_PATTERN}),
                            query("cursor", string, "`next` of the previous page"),
                            query("limit", {"type": "integer", "minimum": 1,
                                            "maximum": agents.PAGE_MAX})],
                        "responses": {"200": ok("AgentPage"), **AGENT_ERRORS}},
                "post": {"summary": "Register a principal as an agent (admin), or by email alone "
                                 "a console-only agent (no IAM user)", "security": sigv4,
                         "requestBody": request_body("AgentNew"),
                         "responses": {"201": ok("Agent", "Created"), **AGENT_ERRORS}}},
            "/api/agents/{agent_id}": {
                "get": {"summary": "An agent (lead or admin; any agent: their own)",
                        "security": sigv4, "parameters": [agent_id],
                        "responses": {"200": ok("Agent"), **AGENT_ERRORS}},
                "patch": {"summary": "Change an agent (admin); an agent sets their own away/lang/notifications. "
                                     "The last active admin cannot be demoted or deactivated (409)",
                          "security": sigv4, "parameters": [agent_id],
                          "requestBody": request_body("AgentChange"),
                          "responses": {"200": ok("Agent"), **AGENT_ERRORS}}},
            "/api/agents/{agent_id}/invite": {
                "post": {"summary": "Invite the agent to the console (admin): Cognito creates "
                                    "their user (the agent's email) and mails the invitation; "
                                    "again: resent while unused (docs/console.md)",
                         "security": sigv4, "parameters": [agent_id],
                         "responses": {"200": ok("Invitation"), **AGENT_ERRORS}}},
            "/api/me": {"get": {"summary": "The calling agent's own record", "security": sigv4,
                                "responses": {"200": ok("Agent"), **AGENT_ERRORS}}},
            "/api/me/notifications": {
                "get": {"summary": "The calling agent's staff mail preferences",
                        "security": sigv4,
                        "responses": {"200": ok("Notifications"), **AGENT_ERRORS}},
                "put": {"summary": "Set the calling agent's staff mail preferences (kinds, "
                                   "quiet hours, digest); fields left out take their default",
                        "security": sigv4, "requestBody": request_body("Notifications"),
                        "responses": {"200": ok("Notifications"), **AGENT_ERRORS}}},
            "/api/audit": {"get": {
                "summary": "The audit log: one business day's entries, oldest first (admin: all; "
                           "lead: those concerning their departments)",
                "security": sigv4, "parameters": [
                    query("date", {"type": "string", "format": "date"},
                          "business day (Asia/Dhaka by default); default today"),
                    query("cursor", string, "`next` of the previous page"),
                    query("limit", {"type": "integer", "minimum": 1, "maximum": audit.PAGE_MAX})],
                "responses": {"200": ok("AuditPage"), **AGENT_ERRORS}}},
        },
    }
