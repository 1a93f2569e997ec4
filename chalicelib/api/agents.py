"""Agent routes (/api/...). IAM-authenticated on AWS; see api/auth.py for the local stage."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import auth
from chalicelib.api.http import (
    ANY_CONTENT,
    check_name,
    handle_errors,
    iam,
    int_param,
    json_body,
    json_response,
    object_body,
)
from chalicelib.errors import BadRequest
from chalicelib.services.followup import decisions
from chalicelib.services.sla import store as policies
from chalicelib.services.tickets import conversations, queue, views, work

bp = Blueprint(__name__)


@bp.route("/api/tickets", methods=["GET"], authorizer=iam)
@handle_errors
def list_tickets():
    auth.require(bp.current_request)
    params = bp.current_request.query_params or {}
    return json_response(queue.list_tickets(
        status=params.get("status", ""), department=params.get("department", ""),
        assignee=params.get("assignee", ""), q=params.get("q", ""),
        priority=params.get("priority", ""), channel=params.get("channel", ""),
        breached=params.get("breached", ""),
        cursor=params.get("cursor", ""), limit=int_param(params, "limit", queue.PAGE_DEFAULT)))


@bp.route("/api/tickets", methods=["POST"], authorizer=iam, content_types=ANY_CONTENT)
@handle_errors
def start_conversation():
    agent = auth.require(bp.current_request)
    return json_response(conversations.start(agent, object_body(bp.current_request)), 201)


@bp.route("/api/tickets/{ticket_id}", methods=["GET"], authorizer=iam)
@handle_errors
def get_ticket(ticket_id: str):
    auth.require(bp.current_request)
    return json_response(views.view(ticket_id))


@bp.route("/api/tickets/{ticket_id}", methods=["PATCH"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def update_ticket(ticket_id: str):
    agent = auth.require(bp.current_request)
    return json_response(work.update(ticket_id, agent, object_body(bp.current_request)))


@bp.route("/api/tickets/{ticket_id}/replies", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def reply(ticket_id: str):
    agent = auth.require(bp.current_request)
    body = object_body(bp.current_request)
    unknown = {k: "unknown field" for k in body
               if k not in ("body", "channel", "attachments", "macro", "macro_version")}
    if unknown:
        raise BadRequest("Unknown fields.", unknown)
    if "macro" in body and "body" in body:  # a macro (api/macros.py) instead of the body
        raise BadRequest("Send body or macro, not both.", {"macro": "instead of body"})
    return json_response(work.reply(ticket_id, agent, body.get("body"), body.get("channel"),
                                       attachments=body.get("attachments"),
                                       macro=body.get("macro"),
                                       macro_version=body.get("macro_version")), 201)


@bp.route("/api/tickets/{ticket_id}/decisions", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def ask_decision(ticket_id: str):
    agent = auth.require(bp.current_request)
    return json_response(decisions.ask(ticket_id, agent, object_body(bp.current_request)), 201)


@bp.route("/api/tickets/{ticket_id}/decisions/{decision_id}", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def decide(ticket_id: str, decision_id: str):
    agent = auth.require(bp.current_request, "lead")
    return json_response(decisions.decide(ticket_id, decision_id, agent, object_body(bp.current_request)))


@bp.route("/api/tickets/{ticket_id}/callbacks", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def schedule_callback(ticket_id: str):
    agent = auth.require(bp.current_request)
    return json_response(work.schedule_callback(ticket_id, agent, object_body(bp.current_request)), 201)


@bp.route("/api/tickets/{ticket_id}/notes", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def add_note(ticket_id: str):
    agent = auth.require(bp.current_request)
    body = object_body(bp.current_request)
    unknown = {k: "unknown field" for k in body if k != "body"}
    if unknown:
        raise BadRequest("Unknown fields.", unknown)
    return json_response(work.add_note(ticket_id, agent, body.get("body")), 201)


@bp.route("/api/sla-policies/{name}", methods=["PUT"], authorizer=iam, content_types=ANY_CONTENT)
@handle_errors
def put_policy(name: str):
    agent = auth.require(bp.current_request, role="admin")
    check_name(name)
    policy = policies.put_policy(name, json_body(bp.current_request), agent.principal)
    return json_response(policy.to_dict())


@bp.route("/api/sla-policies/{name}", methods=["GET"], authorizer=iam)
@handle_errors
def get_policy(name: str):
    auth.require(bp.current_request)
    check_name(name)
    return json_response(policies.get_policy(name).to_dict())


@bp.route("/api/calendars/{name}", methods=["PUT"], authorizer=iam, content_types=ANY_CONTENT)
@handle_errors
def put_calendar(name: str):
    agent = auth.require(bp.current_request, role="admin")
    check_name(name)
    return json_response(policies.put_calendar(name, json_body(bp.current_request), agent.principal).to_dict())


@bp.route("/api/calendars/{name}", methods=["GET"], authorizer=iam)
@handle_errors
def get_calendar(name: str):
    auth.require(bp.current_request)
    check_name(name)
    return json_response(policies.get_calendar(name).to_dict())


@bp.route("/api/openapi.json", methods=["GET"], authorizer=iam)
@handle_errors
def openapi():
    auth.require(bp.current_request)
    from chalicelib.api import openapi as document  # deferred: cold start

    return json_response(document.build())

