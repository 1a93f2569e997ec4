"""Held items (/api/held): what customers sent that is not on a ticket, and the inbound events
Setu rejected, for admins to read, release to a ticket or discard (services/inbound/held.py;
docs/email.md, "Held items")."""
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
from chalicelib.services.inbound import held

bp = Blueprint(__name__)


@bp.route("/api/held", methods=["GET"], authorizer=iam)
@handle_errors
def list_held():
    auth.require(bp.current_request, "admin")
    params = bp.current_request.query_params or {}
    return json_response(held.page(
        kind=params.get("kind", ""), state=params.get("state", "held"),
        cursor=params.get("cursor", ""), limit=int_param(params, "limit", held.PAGE_DEFAULT)))


@bp.route("/api/held/{held_id}", methods=["GET"], authorizer=iam)
@handle_errors
def get_held(held_id: str):
    auth.require(bp.current_request, "admin")
    return json_response(held.get(held_id))


@bp.route("/api/held/{held_id}/release", methods=["POST"], authorizer=iam, content_types=ANY_CONTENT)
@handle_errors
def release_held(held_id: str):
    admin = auth.require(bp.current_request, "admin")
    return json_response(held.release(held_id, admin.principal, SCHEMAS.body(bp.current_request, "HeldRelease")))


@bp.route("/api/held/{held_id}/discard", methods=["POST"], authorizer=iam, content_types=ANY_CONTENT)
@handle_errors
def discard_held(held_id: str):
    admin = auth.require(bp.current_request, "admin")
    return json_response(held.discard(held_id, admin.principal))


def _schemas() -> dict[str, Any]:
    string = {"type": "string"}
    nullable = {"type": ["string", "null"]}
    return {
            "Held": {"type": "object", "required": ["id", "kind", "reason", "at", "state"],
                     "properties": {
                "id": string, "kind": {"enum": list(held.KINDS)},
                "reason": {**string, "description": "no_sender, unparseable, too_large, spam, "
                           "virus, raw_missing, unmatched_bounce, unreadable_sms, "
                           "empty_message, unreadable_event, unauthenticated"},
                "detail": string, "at": {"type": "string", "format": "date-time"},
                "state": {"enum": ["held", "released", "discarded"]},
                "source": string, "provider_id": string, "sender": string, "subject": string,
                "snippet": string, "releasable": {"type": "boolean"},
                "raw": {"type": "object", "description": "{bucket, key} of the raw mail, or "
                        "{marker}: the keys-table item holding the raw notification"},
                "ticket_id": nullable, "ref": nullable, "decided_by": nullable,
                "decided_at": nullable}},
            "HeldPage": {"type": "object", "required": ["items", "next"], "properties": {
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/Held"}},
                "next": nullable}},
            "HeldRelease": {"type": "object", "additionalProperties": False,
                            "description": "exactly one of ticket, email, phone (the service "
                                           "names the field when there is not exactly one)",
                            "properties": {
                "ticket": {**string, "maxLength": 64, "description": "an existing ticket's id or ref"},
                "email": {**string, "maxLength": 320, "description": "a new ticket for this address"},
                "phone": {**string, "maxLength": 32, "description": "a new ticket for this number"},
                "name": {**string, "maxLength": 100}}},
        }


SCHEMAS = Schemas(_schemas)


def openapi_section() -> dict[str, Any]:
    from chalicelib.api.openapi import AGENT_ERRORS, ok, request_body  # deferred: cold start

    string = {"type": "string"}
    sigv4 = [{"sigv4": []}]
    held_id = path_parameter("held_id")

    def query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
        found = {"name": name, "in": "query", "schema": schema}
        return {**found, "description": description} if description else found

    return {
        "paths": {
            "/api/held": {"get": {
                "summary": "Held items and rejected events, newest first (admin)",
                "security": sigv4, "parameters": [
                    query("kind", {"enum": list(held.KINDS)}),
                    query("state", {"enum": list(held.STATES)}, "held (default) or closed"),
                    query("cursor", string, "`next` of the previous page"),
                    query("limit", {"type": "integer", "minimum": 1, "maximum": held.PAGE_MAX})],
                "responses": {"200": ok("HeldPage"), **AGENT_ERRORS}}},
            "/api/held/{held_id}": {"get": {
                "summary": "One held item, with the SMS text (admin)", "security": sigv4,
                "parameters": [held_id], "responses": {"200": ok("Held"), **AGENT_ERRORS}}},
            "/api/held/{held_id}/release": {"post": {
                "summary": "Release to a ticket: an existing one, or a new one for a chosen "
                           "email or phone (admin; audited; retried: the same answer)",
                "security": sigv4, "parameters": [held_id],
                "requestBody": request_body("HeldRelease"),
                "responses": {"200": ok("Held"), **AGENT_ERRORS}}},
            "/api/held/{held_id}/discard": {"post": {
                "summary": "Discard (admin; audited); the raw mail stays in the bucket",
                "security": sigv4, "parameters": [held_id],
                "responses": {"200": ok("Held"), **AGENT_ERRORS}}},
        },
    }
