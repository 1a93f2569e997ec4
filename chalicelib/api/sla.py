"""SLA policies and business calendars (/api/sla-policies/{name}, /api/calendars/{name}):
thin adapters over services/sla/store.py. Admins write, every agent reads."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import auth
from chalicelib.api.http import ANY_CONTENT, check_name, handle_errors, iam, json_body, json_response
from chalicelib.services.sla import store as policies

bp = Blueprint(__name__)


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
