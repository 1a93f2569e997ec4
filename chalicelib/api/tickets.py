"""The ticket routes (/api/tickets...): the queue, a ticket, starting a conversation, changes,
replies, notes, callbacks, decisions, and the actions take, merge and split. IAM-authenticated
on AWS (api/auth.py for the local stage); each route calls one service (services/tickets,
services/followup/decisions.py)."""
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
    object_body,
)
from chalicelib.errors import BadRequest
from chalicelib.services.followup import decisions
from chalicelib.services.tickets import conversations, queue, views, work

bp = Blueprint(__name__)


@bp.route("/api/tickets", methods=["GET"], authorizer=iam)
@handle_errors
def list_tickets():
    agent = auth.require(bp.current_request)
    params = bp.current_request.query_params or {}
    return json_response(queue.list_tickets(
        agent=agent,
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
    agent = auth.require(bp.current_request)
    return json_response(views.view(ticket_id, agent))


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


# ---- actions: services/tickets/actions.py ----------------------------------------------------

def _optional_body(request) -> dict[str, Any]:
    """A JSON object; an empty body is an empty object (take needs no fields)."""
    return object_body(request) if request.raw_body else {}


@bp.route("/api/tickets/{ticket_id}/take", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def take(ticket_id: str):
    agent = auth.require(bp.current_request)
    from chalicelib.services.tickets import actions  # deferred: cold start

    return json_response(actions.take(ticket_id, agent, _optional_body(bp.current_request)))


@bp.route("/api/tickets/{ticket_id}/merge", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def merge(ticket_id: str):
    agent = auth.require(bp.current_request)
    from chalicelib.services.tickets import actions  # deferred: cold start

    return json_response(actions.merge(ticket_id, agent, object_body(bp.current_request)))


@bp.route("/api/tickets/{ticket_id}/split", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def split(ticket_id: str):
    agent = auth.require(bp.current_request)
    from chalicelib.services.tickets import actions  # deferred: cold start

    result, created = actions.split(ticket_id, agent, object_body(bp.current_request))
    return json_response(result, 201 if created else 200)


def openapi_section() -> dict[str, Any]:
    from chalicelib.api.openapi import (  # deferred: cold start
        AGENT_ERRORS, TICKET_ID, ok, request_body)

    summary_ref = {"$ref": "#/components/schemas/TicketSummary"}
    version = {"type": "integer", "description": "the version you read: 409 if it changed"}
    take_body = {"required": False, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/TakeRequest"}}}}
    return {
        "paths": {
            "/api/tickets/{ticket_id}/take": {"post": {
                "summary": "Assign the ticket to yourself (idempotent); someone else's only "
                           "with force (lead, admin)",
                "security": [{"sigv4": []}], "parameters": [TICKET_ID],
                "requestBody": take_body,
                "responses": {"200": ok("TicketSummary"), **AGENT_ERRORS}}},
            "/api/tickets/{ticket_id}/merge": {"post": {
                "summary": "Merge this ticket into another: its timeline is copied there, it "
                           "is closed with merged_into, later replies to it land on the other",
                "security": [{"sigv4": []}], "parameters": [TICKET_ID],
                "requestBody": request_body("MergeRequest"),
                "responses": {"200": ok("MergeResult"), **AGENT_ERRORS}}},
            "/api/tickets/{ticket_id}/split": {"post": {
                "summary": "Split a customer's message off into a new ticket (idempotent per "
                           "ticket and message)",
                "security": [{"sigv4": []}], "parameters": [TICKET_ID],
                "requestBody": request_body("SplitRequest"),
                "responses": {"201": ok("SplitResult", "New ticket"),
                              "200": ok("SplitResult", "Split before: the same new ticket"),
                              **AGENT_ERRORS}}},
        },
        "schemas": {
            "TakeRequest": {"type": "object", "additionalProperties": False, "properties": {
                "force": {"type": "boolean", "description": "take it from its assignee "
                                                            "(lead, admin)"},
                "version": version}},
            "MergeRequest": {"type": "object", "required": ["into"],
                             "additionalProperties": False, "properties": {
                "into": {"type": "string", "minLength": 1,
                         "description": "id or ref of the ticket to merge into"},
                "version": version,
                "force": {"type": "boolean", "description": "merge tickets of different "
                                                            "customers (lead, admin)"}}},
            "MergeResult": {"type": "object", "required": ["ticket", "merged", "copied"],
                            "properties": {
                "ticket": {**summary_ref, "description": "the ticket merged into"},
                "merged": {**summary_ref, "description": "this ticket, closed, merged_into set"},
                "copied": {"type": "integer", "description": "timeline items copied"}}},
            "SplitRequest": {"type": "object", "required": ["message"],
                             "additionalProperties": False, "properties": {
                "message": {"type": "string", "minLength": 1, "maxLength": 64,
                            "description": "id of an inbound message on the ticket"},
                "subject": {"type": "string", "minLength": 1, "maxLength": 200}}},
            "SplitResult": {"type": "object", "required": ["ticket", "original"], "properties": {
                "ticket": {**summary_ref, "description": "the new ticket"},
                "original": summary_ref}},
        },
    }
