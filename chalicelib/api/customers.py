"""Customer routes (/api/customers...): find, read, edit (agents, in their scope), merge and
unmerge (leads), erase (admins: services/customers/erase.py).

The logic is in services/customers/admin.py. A customer merged into another still answers
GET with 200: its own record as it was, `merged_into` naming the survivor (where its tickets
and identities now are) and `merge` with the details; clients follow `merged_into`.
"""
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

bp = Blueprint(__name__)


def _schemas() -> dict[str, Any]:
    from chalicelib.services.customers import admin  # deferred: cold start

    string = {"type": "string"}
    nullable = {"type": ["string", "null"]}
    strings = {"type": "array", "items": string}
    changes = {"type": "array", "maxItems": admin.MAX_CHANGES,
               "items": {"type": "string", "minLength": 1, "maxLength": 254}}
    return {
        "CustomerSummary": {"type": "object", "required": ["id", "emails", "phones", "version"],
                            "properties": {"id": string, "name": nullable, "emails": strings,
                                           "phones": strings, "lang": {"enum": ["bn", "en"]},
                                           "ticket_count": {"type": "integer"},
                                           "version": {"type": "integer"},
                                           "merged_into": nullable}},
        "CustomerMatches": {"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array", "maxItems": 1,
                      "items": {"$ref": "#/components/schemas/CustomerSummary"}}}},
        "CustomerChannel": {"type": "object", "properties": {
            "channel": {"enum": ["email", "sms"]}, "address": string,
            "state": {"enum": ["ok", "opted_out", "suppressed"]},
            "reason": nullable, "at": nullable, "detail": nullable, "source": nullable,
            "scope": {"type": ["string", "null"], "description":
                      "automatic: only automatic messages stop (an unsubscribe); all: every message"}}},
        "Customer": {"allOf": [{"$ref": "#/components/schemas/CustomerSummary"}, {
            "type": "object", "properties": {
                "created_at": nullable, "last_contact_at": nullable,
                "channels": {"type": "array",
                             "items": {"$ref": "#/components/schemas/CustomerChannel"}},
                "opted_out": {"type": "object", "description": "channel -> {at, source, ...}"},
                "tickets": {"$ref": "#/components/schemas/TicketPage"},
                "merge": {"type": ["object", "null"], "description":
                          "on a customer merged away: into, state, at, by, emails, phones"},
                "merged_from": {"type": "array", "items": {"type": "object"}, "description":
                                "customers merged into this one: id, at, by, state, and the "
                                "emails, phones and opt-out channels gained"}}}]},
        "CustomerChange": {"type": "object", "additionalProperties": False, "minProperties": 1,
                           "properties": {
                               "name": {"type": ["string", "null"], "maxLength": admin.MAX_NAME},
                               "lang": {"enum": ["bn", "en"]},
                               "add_emails": changes, "remove_emails": changes,
                               "add_phones": changes, "remove_phones": changes,
                               "version": {"type": "integer", "minimum": 0}}},
        "CustomerOther": {"type": "object", "required": ["other"], "additionalProperties": False,
                          "properties": {"other": {
                              "type": "string", "minLength": 1, "maxLength": 64,
                              "pattern": "^[0-9A-Za-z_]{1,64}$",
                              "description": "the other customer's id"}}},
        "CustomerMergeResult": {"type": "object", "required": ["state", "survivor", "other"],
                                "properties": {
                                    "state": {"enum": ["done", "moving", "unmerging"]},
                                    "survivor": {"$ref": "#/components/schemas/Customer"},
                                    "other": {"type": "object"},
                                    "moved": {"type": "object", "properties": {
                                        "identities": {"type": "integer"},
                                        "tickets": {"type": "integer"}}}}},
    }


SCHEMAS = Schemas(_schemas)


@bp.route("/api/customers", methods=["GET"], authorizer=iam)
@handle_errors
def find_customers():
    from chalicelib.services.customers import admin  # deferred: cold start

    agent = auth.require(bp.current_request)
    params = bp.current_request.query_params or {}
    return json_response(admin.find(params.get("q", ""), agent))


@bp.route("/api/customers/{customer_id}", methods=["GET"], authorizer=iam)
@handle_errors
def get_customer(customer_id: str):
    from chalicelib.services.customers import admin  # deferred: cold start

    agent = auth.require(bp.current_request)
    params = bp.current_request.query_params or {}
    return json_response(admin.get(
        customer_id, agent=agent, cursor=params.get("cursor", ""),
        limit=int_param(params, "limit", admin.PAGE_DEFAULT)))


@bp.route("/api/customers/{customer_id}", methods=["PATCH"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def update_customer(customer_id: str):
    from chalicelib.services.customers import admin  # deferred: cold start

    agent = auth.require(bp.current_request)
    body = SCHEMAS.body(bp.current_request, "CustomerChange")
    return json_response(admin.update(customer_id, agent, body))


@bp.route("/api/customers/{customer_id}/merge", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def merge_customers(customer_id: str):
    from chalicelib.services.customers import admin  # deferred: cold start

    agent = auth.require(bp.current_request, "lead")
    other = admin.merge_body(SCHEMAS.body(bp.current_request, "CustomerOther"))
    result, finished = admin.merge(customer_id, other, agent)
    return json_response(result, 200 if finished else 202)


@bp.route("/api/customers/{customer_id}/unmerge", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def unmerge_customers(customer_id: str):
    from chalicelib.services.customers import admin  # deferred: cold start

    agent = auth.require(bp.current_request, "lead")
    other = admin.merge_body(SCHEMAS.body(bp.current_request, "CustomerOther"))
    result, finished = admin.unmerge(customer_id, other, agent)
    return json_response(result, 200 if finished else 202)


@bp.route("/api/customers/{customer_id}/erase", methods=["POST"], authorizer=iam,
          content_types=ANY_CONTENT)
@handle_errors
def erase_customer(customer_id: str):
    from chalicelib.services.customers import erase  # deferred: cold start

    admin_agent = auth.require(bp.current_request, "admin")
    result = erase.erase(customer_id, admin_agent.principal,
                         max_tickets=erase.MAX_TICKETS_PER_REQUEST)
    return json_response(result, 200 if result["state"] == "done" else 202)


def openapi_section() -> dict[str, Any]:
    from chalicelib.api.openapi import AGENT_ERRORS, ok, request_body  # deferred: cold start
    from chalicelib.services.customers import admin  # deferred: cold start

    string = {"type": "string"}
    customer_id = path_parameter("customer_id")
    secured = {"security": [{"sigv4": []}]}
    in_progress = {"description": "Started, not finished (many tickets, or stopped by a "
                                  "failure): POST the same body again to continue",
                   "content": {"application/json": {"schema": {
                       "$ref": "#/components/schemas/CustomerMergeResult"}}}}
    return {
        "paths": {
            "/api/customers": {"get": {
                **secured, "summary": "Find a customer by email, phone (exact), the ref of one "
                                      "of their tickets, or id; at most one match",
                "parameters": [{"name": "q", "in": "query", "required": True,
                                "schema": {"type": "string", "minLength": 1, "maxLength": 320}}],
                "responses": {"200": ok("CustomerMatches"), **AGENT_ERRORS}}},
            "/api/customers/{customer_id}": {
                "get": {**secured,
                        "summary": "A customer: channels with consent state, a page of tickets "
                                   "(queue order), merges. One merged away answers 200 with "
                                   "merged_into naming the survivor",
                        "parameters": [customer_id,
                                       {"name": "cursor", "in": "query", "schema": string},
                                       {"name": "limit", "in": "query", "schema": {
                                           "type": "integer", "minimum": 1,
                                           "maximum": admin.PAGE_MAX}}],
                        "responses": {"200": ok("Customer"), **AGENT_ERRORS}},
                "patch": {**secured,
                          "summary": "Edit name, language, emails and phones (409 when an address "
                                     "belongs to another customer: merge them; or on a stale "
                                     "version)",
                          "parameters": [customer_id], "requestBody": request_body("CustomerChange"),
                          "responses": {"200": ok("Customer"), **AGENT_ERRORS}}},
            "/api/customers/{customer_id}/merge": {"post": {
                **secured, "summary": "Merge another customer into this one (they are one "
                                      "person): identities, tickets and opt-outs move here",
                "parameters": [customer_id], "requestBody": request_body("CustomerOther"),
                "responses": {"200": ok("CustomerMergeResult"), "202": in_progress,
                              **AGENT_ERRORS}}},
            "/api/customers/{customer_id}/erase": {"post": {
                **secured, "summary": "Erase the customer's personal data (admin; audited): "
                                      "record, identities, ticket subjects and search keys, "
                                      "message texts, attachments and raw mail (every object "
                                      "version); anonymised ticket shells stay. Idempotent: "
                                      "POST again to finish an interrupted erasure",
                "parameters": [customer_id],
                "responses": {"200": {"description": "Erased", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["customer", "state"],
                               "properties": {"customer": string, "state": string,
                                              "at": {"type": ["string", "null"]},
                                              "tickets": {"type": "integer"},
                                              "versions": {"type": "integer"}}}}}},
                              "202": {"description": "Started, not finished (many tickets): "
                                                     "POST again to continue"},
                              **AGENT_ERRORS}}},
            "/api/customers/{customer_id}/unmerge": {"post": {
                **secured, "summary": "Undo a merge: what it moved goes back to the other customer",
                "parameters": [customer_id], "requestBody": request_body("CustomerOther"),
                "responses": {"200": ok("CustomerMergeResult"), "202": in_progress,
                              **AGENT_ERRORS}}},
        },
    }
