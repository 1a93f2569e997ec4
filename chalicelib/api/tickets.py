"""The ticket routes (/api/tickets...): the queue, a ticket, starting a conversation, changes,
replies, notes, callbacks, decisions, and the actions take, merge and split. IAM-authenticated
on AWS (api/auth.py for the local stage); each route calls one service (services/tickets,
services/followup/decisions.py)."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api import auth
from chalicelib.api.http import ANY_CONTENT, handle_errors, iam, json_response
from chalicelib.api.schemas import Schemas
from chalicelib.services.followup import decisions
from chalicelib.services.tickets import conversations, queue, views, work

bp = Blueprint(__name__)


def _schemas() -> dict[str, Any]:
    """The ticket routes' payloads (api/schemas.py): requests validated, responses documented."""
    from chalicelib.services.team import departments  # deferred: cold start
    from chalicelib.services.tickets import store as ticket_store  # deferred: cold start

    def text(most: int, least: int = 1, **more: Any) -> dict[str, Any]:
        return {"type": "string", "minLength": least, "maxLength": most, **more}

    def nullable_text(most: int) -> dict[str, Any]:  # null, like absent
        return {"type": ["string", "null"], "maxLength": most}

    string = {"type": "string"}
    nullable = {"type": ["string", "null"]}
    summary_ref = {"$ref": "#/components/schemas/TicketSummary"}
    version = {"type": "integer", "minimum": 0,
               "description": "the version you read: 409 if it changed"}
    duration = text(64, description="ISO 8601 duration")  # its grammar: sla/durations.parse
    principal = text(2048, description="principal ARN of an agent")
    department = {"type": "string", "pattern": departments.NAME_PATTERN, "description": "a department's name (GET /api/departments)"}
    sms = {"type": "object", "properties": {"encoding": {"enum": ["GSM-7", "UCS-2"]},
                                            "units": {"type": "integer"},
                                            "segments": {"type": "integer"},
                                            "max_segments": {"type": "integer"}}}
    with_ticket = {"type": "object", "required": ["ticket"], "properties": {"ticket": summary_ref}}
    return {
        "TicketSummary": {"type": "object", "required": ["id", "ref", "status", "version"],
                          "properties": {
            "id": string, "ref": string, "subject": nullable,
            "status": {"enum": list(ticket_store.STATUSES)},
            "priority": {"enum": list(ticket_store.PRIORITIES)},
            "department": string, "assignee": nullable, "channel": nullable, "lang": nullable,
            "customer_id": nullable, "version": {"type": "integer"},
            "created_at": nullable, "updated_at": nullable, "first_response_at": nullable,
            "last_activity_at": {**nullable, "description": "the last message, note, change "
                                                            "or timer event on the ticket"},
            "resolved_at": nullable,
            "sla": {"type": "object", "description": "policy, calendar, due times, paused, "
                                                     "pauses, breached"},
            "decision": {"type": ["object", "null"]},
            "merged_into": nullable, "merged_from": {"type": "array", "items": string}}},
        "Ticket": {"allOf": [summary_ref, {"type": "object", "properties": {
            "customer": {"type": "object"},
            "channels": {"type": "object", "description": (
                "email and sms: addresses, usable, blocked [{address, reason, at, stops}]; "
                "sms.opted_out_at when every number opted out (STOP)"), "properties": {
                    name: {"type": "object", "properties": {
                        "addresses": {"type": "array", "items": string},
                        "usable": {"type": "boolean"},
                        "blocked": {"type": "array", "items": {"type": "object"}},
                        "opted_out_at": nullable}} for name in ("email", "sms")}},
            "reply_channel": {"enum": ["email", "sms", None],
                              "description": "where a reply without a channel goes; null: "
                                             "nowhere (the reply would be 422)"},
            "timeline": {"type": "array", "items": {"type": "object"}}}}]},
        "QueueItem": {"allOf": [summary_ref, {"type": "object", "properties": {
            "customer_name": nullable,
            "next_due": {**nullable, "description": "the earliest SLA due time running"}}}]},
        "TicketPage": {"type": "object", "required": ["items", "next"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/QueueItem"}},
            "next": nullable,
            "timezone": {**string, "description": "the business time zone (IANA name) "
                                                  "people's tools show these times in"}}},
        "Conversation": {"type": "object", "required": ["body"], "additionalProperties": False,
                         "properties": {
            "name": nullable_text(200), "email": nullable_text(254), "phone": nullable_text(32),
            "subject": nullable_text(200), "body": text(ticket_store.MAX_BODY),
            "channel": {"enum": ["email", "sms", None]},
            "department": {**department, "type": ["string", "null"]},
            "lang": {"enum": ["bn", "en", None]},
            "assignee": {**principal, "type": ["string", "null"],
                         "description": "an active agent's principal ARN; absent: the agent "
                                        "starting it; null: unassigned"}},
            "description": "email or phone is required (the one the channel needs)"},
        "ConversationStarted": {"type": "object", "required": ["ticket"], "properties": {
            "ticket": summary_ref, "sms": sms}},
        "TicketChange": {"type": "object", "additionalProperties": False, "minProperties": 1,
                         "properties": {
            "status": {"enum": [*ticket_store.SETTABLE_STATUSES, None]},
            "priority": {"enum": [*ticket_store.PRIORITIES, None]},
            "department": {**department, "type": ["string", "null"]},
            "assignee": {**principal, "type": ["string", "null"],
                         "description": "an active agent: principal ARN, id (ag_...), short "
                                        "name (docs/agents.md) or \"me\"; null unassigns"},
            "version": version}},
        "Attachment": {"type": "object", "required": ["filename", "content_type", "content_base64"],
                       "additionalProperties": False, "properties": {
            "filename": text(255), "content_type": text(255, pattern=r"^[\w.+-]+/[\w.+-]+$"),
            "content_base64": text(8_000_000, 0, pattern=r"^[A-Za-z0-9+/=\s]*$")}},
        "Reply": {"type": "object", "additionalProperties": False, "properties": {
            "body": text(ticket_store.MAX_BODY),
            "macro": text(64, pattern=r"^[\w-]{1,64}$",
                          description="a macro's name, instead of body"),
            "macro_version": {"type": ["integer", "null"], "minimum": 1,
                              "description": "with macro: that version (default the current one)"},
            "channel": {"enum": ["email", "sms", None], "description": "null: the customer's"},
            "attachments": {"type": ["array", "null"], "maxItems": 10,
                            "items": {"$ref": "#/components/schemas/Attachment"},
                            "description": "email only; the web form's limits"}},
            "oneOf": [{"required": ["body"]}, {"required": ["macro"]}],
            "x-errors": {"oneOf": ["macro", "send body or macro (instead of body), not both"]}},
        "ReplyQueued": {"type": "object", "required": ["id", "status", "channel", "ticket"],
                        "properties": {
            "id": string, "status": {"const": "queued"}, "channel": {"enum": ["email", "sms"]},
            "recipient": nullable, "ticket": summary_ref, "sms": sms,
            "macro": {"type": "object"}}},
        "Note": {"type": "object", "required": ["body"], "additionalProperties": False,
                 "properties": {"body": text(20000)}},
        "NoteAdded": {**with_ticket, "required": ["id", "ticket"],
                      "properties": {"id": string, "ticket": summary_ref}},
        "Callback": {"type": "object", "required": ["at"], "additionalProperties": False,
                     "properties": {"at": {"type": "string", "minLength": 1, "maxLength": 64,
                                           "description": "2026-12-07 15:00 (business time "
                                                          "zone) or ISO 8601 with an offset"},
                                    "note": text(500, 0)}},
        "CallbackScheduled": {**with_ticket, "required": ["callback_at", "ticket"],
                              "properties": {"callback_at": string, "ticket": summary_ref}},
        "DecisionRequest": {"type": "object", "required": ["question"],
                            "additionalProperties": False, "properties": {
            "question": text(2000),
            "approver": {**principal, "description": "principal ARN of a lead or admin; default: "
                                                     "the department's leads and the admins"},
            "within": {**duration, "description": "ISO 8601 duration, business time; default: "
                                                  "policy decide_within or PT4H"},
            "remind_every": {**duration, "description": "ISO 8601 duration; default: policy "
                                                        "decision_remind_every or PT1H"}}},
        "Decision": {"type": "object", "required": ["outcome"], "additionalProperties": False,
                     "properties": {
            "outcome": {"enum": ["approved", "rejected"]},
            "comment": text(2000, 0, description="internal, on the timeline"),
            "message": text(2000, 0, description="for the customer, in the notice they get")}},
        "TakeRequest": {"type": "object", "additionalProperties": False, "properties": {
            "force": {"type": "boolean", "description": "take it from its assignee (lead, admin)"},
            "version": version}},
        "MergeRequest": {"type": "object", "required": ["into"], "additionalProperties": False,
                         "properties": {
            "into": text(64, pattern=r"^#?[0-9A-Za-z_\-০-৯]{1,63}$",
                         description="id or ref of the ticket to merge into"),
            "version": version,
            "force": {"type": "boolean", "description": "merge tickets of different customers "
                                                        "(lead, admin)"}}},
        "MergeResult": {"type": "object", "required": ["ticket", "merged", "copied"], "properties": {
            "ticket": {**summary_ref, "description": "the ticket merged into"},
            "merged": {**summary_ref, "description": "this ticket, closed, merged_into set"},
            "copied": {"type": "integer", "description": "timeline items copied"}}},
        "SplitRequest": {"type": "object", "required": ["message"], "additionalProperties": False,
                         "properties": {
            "message": text(64, pattern=r"^[0-9A-Za-z_\-]{1,64}$",
                            description="id of an inbound message on the ticket"),
            "subject": text(200)}},
        "SplitResult": {"type": "object", "required": ["ticket", "original"], "properties": {
            "ticket": {**summary_ref, "description": "the new ticket"}, "original": summary_ref}},
    }


SCHEMAS = Schemas(_schemas)


@bp.route("/api/tickets", methods=["GET"], authorizer=iam)
@handle_errors
def list_tickets():
    agent = auth.require(bp.current_request)
    params = bp.current_request.query_params or {}  # a MultiDict: status may repeat
    wanted = queue.parse_filter({name: params.getlist(name) for name in params})
    return json_response(queue.page(wanted, agent))


@bp.route("/api/tickets", methods=["POST"], authorizer=iam, content_types=ANY_CONTENT)
@handle_errors
def start_conversation():
    agent = auth.require(bp.current_request)
    body = SCHEMAS.body(bp.current_request, "Conversation")
    return json_response(conversations.start(agent, body), 201)


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
    return json_response(work.update(ticket_id, agent,
                                     SCHEMAS.body(bp.current_request, "TicketChange")))


@bp.route("/api/tickets/{ticket_id}/replies", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def reply(ticket_id: str):
    agent = auth.require(bp.current_request)
    body = SCHEMAS.body(bp.current_request, "Reply")  # body or a macro (api/macros.py)
    return json_response(work.reply(ticket_id, agent, body.get("body"), body.get("channel"),
                                       attachments=body.get("attachments"),
                                       macro=body.get("macro"),
                                       macro_version=body.get("macro_version")), 201)


@bp.route("/api/tickets/{ticket_id}/decisions", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def ask_decision(ticket_id: str):
    agent = auth.require(bp.current_request)
    body = SCHEMAS.body(bp.current_request, "DecisionRequest")
    return json_response(decisions.ask(ticket_id, agent, body), 201)


@bp.route("/api/tickets/{ticket_id}/decisions/{decision_id}", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def decide(ticket_id: str, decision_id: str):
    agent = auth.require(bp.current_request, "lead")
    body = SCHEMAS.body(bp.current_request, "Decision")
    return json_response(decisions.decide(ticket_id, decision_id, agent, body))


@bp.route("/api/tickets/{ticket_id}/callbacks", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def schedule_callback(ticket_id: str):
    agent = auth.require(bp.current_request)
    body = SCHEMAS.body(bp.current_request, "Callback")
    return json_response(work.schedule_callback(ticket_id, agent, body), 201)


@bp.route("/api/tickets/{ticket_id}/notes", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def add_note(ticket_id: str):
    agent = auth.require(bp.current_request)
    body = SCHEMAS.body(bp.current_request, "Note")
    return json_response(work.add_note(ticket_id, agent, body.get("body")), 201)


# ---- actions: services/tickets/actions.py ----------------------------------------------------

@bp.route("/api/tickets/{ticket_id}/take", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def take(ticket_id: str):
    agent = auth.require(bp.current_request)
    from chalicelib.services.tickets import actions  # deferred: cold start

    body = SCHEMAS.body(bp.current_request, "TakeRequest", optional=True)
    return json_response(actions.take(ticket_id, agent, body))


@bp.route("/api/tickets/{ticket_id}/merge", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def merge(ticket_id: str):
    agent = auth.require(bp.current_request)
    from chalicelib.services.tickets import actions  # deferred: cold start

    return json_response(actions.merge(ticket_id, agent,
                                       SCHEMAS.body(bp.current_request, "MergeRequest")))


@bp.route("/api/tickets/{ticket_id}/split", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def split(ticket_id: str):
    agent = auth.require(bp.current_request)
    from chalicelib.services.tickets import actions  # deferred: cold start

    result, created = actions.split(ticket_id, agent,
                                    SCHEMAS.body(bp.current_request, "SplitRequest"))
    return json_response(result, 201 if created else 200)


def openapi_section() -> dict[str, Any]:
    from chalicelib.api.openapi import (  # deferred: cold start
        AGENT_ERRORS, TICKET_ID, ok, request_body)

    take_body = {**request_body("TakeRequest"), "required": False}
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
    }
