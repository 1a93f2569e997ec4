"""Ticket actions (/api/tickets/{id}/take, /merge, /split): services/tickets/actions.py."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api import auth
from chalicelib.api.http import ANY_CONTENT, handle_errors, iam, json_response, object_body

bp = Blueprint(__name__)


def _body(request) -> dict[str, Any]:
    """A JSON object; an empty body is an empty object (take needs no fields)."""
    return object_body(request) if request.raw_body else {}


@bp.route("/api/tickets/{ticket_id}/take", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def take(ticket_id: str):
    agent = auth.require(bp.current_request)
    from chalicelib.services.tickets import actions  # deferred: cold start

    return json_response(actions.take(ticket_id, agent, _body(bp.current_request)))


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
