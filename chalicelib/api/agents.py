"""Agent routes (/api/...). IAM-authenticated on AWS; see api/auth.py for the local stage."""
from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint, IAMAuthorizer

from chalicelib.api import auth
from chalicelib.api.http import handle_errors, json_response
from chalicelib.errors import BadRequest, UnsupportedMediaType
from chalicelib.services import conversations, decisions, policies, tickets

bp = Blueprint(__name__)
iam = IAMAuthorizer()
ANY_CONTENT = ["*/*"]


def _json_body() -> Any:
    request = bp.current_request
    content_type = (request.headers.get("content-type") or "application/json").split(";")[0]
    if content_type.strip().lower() != "application/json":
        raise UnsupportedMediaType("Send application/json.", {"content-type": content_type})
    raw = request.raw_body or b""
    try:
        return json.loads(raw.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("Malformed JSON.", {"body": "malformed JSON"}) from None


def _object_body() -> dict[str, Any]:
    body = _json_body()
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.", {"body": "must be an object"})
    return body


def _int_param(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number.", {name: "a whole number"}) from None


@bp.route("/api/tickets", methods=["GET"], authorizer=iam)
@handle_errors
def list_tickets():
    auth.require(bp.current_request)
    params = bp.current_request.query_params or {}
    return json_response(tickets.list_tickets(
        status=params.get("status", ""), department=params.get("department", ""),
        assignee=params.get("assignee", ""), q=params.get("q", ""),
        cursor=params.get("cursor", ""), limit=_int_param(params, "limit", tickets.PAGE_DEFAULT)))


@bp.route("/api/tickets", methods=["POST"], authorizer=iam, content_types=ANY_CONTENT)
@handle_errors
def start_conversation():
    agent = auth.require(bp.current_request)
    return json_response(conversations.start(agent, _object_body()), 201)


@bp.route("/api/tickets/{ticket_id}", methods=["GET"], authorizer=iam)
@handle_errors
def get_ticket(ticket_id: str):
    auth.require(bp.current_request)
    return json_response(tickets.view(ticket_id))


@bp.route("/api/tickets/{ticket_id}", methods=["PATCH"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def update_ticket(ticket_id: str):
    agent = auth.require(bp.current_request)
    return json_response(tickets.update(ticket_id, agent, _object_body()))


@bp.route("/api/tickets/{ticket_id}/replies", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def reply(ticket_id: str):
    agent = auth.require(bp.current_request)
    body = _object_body()
    unknown = {k: "unknown field" for k in body if k not in ("body", "channel", "attachments")}
    if unknown:
        raise BadRequest("Unknown fields.", unknown)
    return json_response(tickets.reply(ticket_id, agent, body.get("body"), body.get("channel"),
                                       attachments=body.get("attachments")), 201)


@bp.route("/api/tickets/{ticket_id}/decisions", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def ask_decision(ticket_id: str):
    agent = auth.require(bp.current_request)
    return json_response(decisions.ask(ticket_id, agent, _object_body()), 201)


@bp.route("/api/tickets/{ticket_id}/decisions/{decision_id}", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def decide(ticket_id: str, decision_id: str):
    agent = auth.require(bp.current_request, "lead")
    return json_response(decisions.decide(ticket_id, decision_id, agent, _object_body()))


@bp.route("/api/tickets/{ticket_id}/callbacks", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def schedule_callback(ticket_id: str):
    agent = auth.require(bp.current_request)
    return json_response(tickets.schedule_callback(ticket_id, agent, _object_body()), 201)


@bp.route("/api/tickets/{ticket_id}/notes", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def add_note(ticket_id: str):
    agent = auth.require(bp.current_request)
    body = _object_body()
    unknown = {k: "unknown field" for k in body if k != "body"}
    if unknown:
        raise BadRequest("Unknown fields.", unknown)
    return json_response(tickets.add_note(ticket_id, agent, body.get("body")), 201)


@bp.route("/api/sla-policies/{name}", methods=["PUT"], authorizer=iam, content_types=ANY_CONTENT)
@handle_errors
def put_policy(name: str):
    agent = auth.require(bp.current_request, role="admin")
    _check_name(name)
    policy = policies.put_policy(name, _json_body(), agent.principal)
    return json_response(policy.to_dict())


@bp.route("/api/sla-policies/{name}", methods=["GET"], authorizer=iam)
@handle_errors
def get_policy(name: str):
    auth.require(bp.current_request)
    _check_name(name)
    return json_response(policies.get_policy(name).to_dict())


@bp.route("/api/calendars/{name}", methods=["PUT"], authorizer=iam, content_types=ANY_CONTENT)
@handle_errors
def put_calendar(name: str):
    agent = auth.require(bp.current_request, role="admin")
    _check_name(name)
    return json_response(policies.put_calendar(name, _json_body(), agent.principal).to_dict())


@bp.route("/api/calendars/{name}", methods=["GET"], authorizer=iam)
@handle_errors
def get_calendar(name: str):
    auth.require(bp.current_request)
    _check_name(name)
    return json_response(policies.get_calendar(name).to_dict())


@bp.route("/api/openapi.json", methods=["GET"], authorizer=iam)
@handle_errors
def openapi():
    auth.require(bp.current_request)
    from chalicelib.api import openapi as document

    return json_response(document.build())


def _check_name(name: str) -> None:
    if not (1 <= len(name) <= 64) or not all(ch.isalnum() or ch in "-_" for ch in name):
        raise BadRequest("Invalid name.", {"name": "letters, digits, - and _; at most 64"})
