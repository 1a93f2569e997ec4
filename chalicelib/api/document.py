"""GET /api/openapi.json: the API's OpenAPI document, built on request by api/openapi.py."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import auth
from chalicelib.api.http import handle_errors, iam, json_response

bp = Blueprint(__name__)


@bp.route("/api/openapi.json", methods=["GET"], authorizer=iam)
@handle_errors
def openapi():
    auth.require(bp.current_request)
    from chalicelib.api import openapi as document  # deferred: cold start

    return json_response(document.build())

