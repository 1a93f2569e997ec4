"""HTTP plumbing shared by the blueprints: JSON responses, errors in the CONTRACT.md shape.

Views raise chalicelib.errors.ApiError; `handle_errors` turns it into a response. The app
middleware (`error_middleware`) rewrites Chalice's own error bodies (415, 405, 500 ...) into
the same shape, so no client ever has to parse two formats.
"""
from __future__ import annotations

import functools
import json
import logging
import re
from contextvars import ContextVar
from typing import Any, Callable

from chalice import IAMAuthorizer, Response

from chalicelib import untrusted_json
from chalicelib.errors import ApiError, BadRequest, NotFound, UnsupportedMediaType, ValidationFailed

log = logging.getLogger("setu.api")
JSON = "application/json; charset=utf-8"
# Agent routes: SigV4 on API Gateway (api/auth.py maps the principal to an agent).
iam = IAMAuthorizer()
# Routes that parse their own body take any content type, so a wrong one is our 415, not Chalice's.
ANY_CONTENT = ["*/*"]
_request: ContextVar[Any] = ContextVar("setu_request", default=None)  # set by error_middleware


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body, ensure_ascii=False), status_code=status,
                    headers={"Content-Type": JSON, **(headers or {})})


def error_response(status: int, code: str, message: str, fields: dict | None = None,
                   headers: dict[str, str] | None = None,
                   details: dict[str, Any] | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return json_response({"error": {**error, **(details or {})}}, status, headers)


_NAME = r"^[\w-]{1,64}$"  # settings' names (calendars, policies, macros): safe in a key and a URL
# Every path parameter of the API, checked before the view runs (nothing malformed reaches
# DynamoDB) and documented from the same table (path_parameter, api/openapi.py). A malformed
# ticket, decision or customer id names nothing: 404 (as a lookup answered before); a malformed
# agent id or name (of a setting a PUT creates) is a bad request: 400.
NOT_FOUND_IF_MALFORMED = frozenset({"ticket_id", "decision_id", "customer_id", "held_id"})
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "ticket_id": {"type": "string", "minLength": 1, "maxLength": 64,
                  "pattern": r"^#?[0-9A-Za-z_\-০-৯]{1,63}$",
                  "description": "Ticket id, or its ref (ASCII or Bengali digits)"},
    "decision_id": {"type": "string", "minLength": 1, "maxLength": 64,
                    "pattern": r"^[0-9A-Za-z_\-]{1,64}$", "description": "The decision's id"},
    "customer_id": {"type": "string", "minLength": 1, "maxLength": 64,
                    "pattern": r"^[0-9A-Za-z_]{1,64}$", "description": "Customer id (c_...)"},
    "agent_id": {"type": "string", "minLength": 23, "maxLength": 23, "pattern": r"^ag_[0-9a-f]{20}$",
                 "description": "The agent's id (`id` in GET /api/agents)"},
    "name": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": _NAME,
             "description": "letters, digits, - and _; at most 64"},
    "held_id": {"type": "string", "minLength": 28, "maxLength": 28,
                "pattern": r"^\d{8}T\d{9}Z\.[0-9a-f]{8}$", "description": "A held item's `id`"},
    "department": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": _NAME,
                   "description": "a department's name"},
}


# Every query parameter each agent route takes, by route and method: `handle_errors`
# answers 422 for any other (a misspelt filter must not silently return every ticket), and
# api/openapi.py documents each route's query parameters from here (a route's own section may
# give a parameter a richer schema; tests/unit/test_queue_filters.py holds the two equal).
# A route not listed takes none. The customers' pages (/form, /s, /csat, /unsubscribe) and
# the public POST /tickets are outside the rule: links in mail and on other sites collect
# tracking parameters (utm_*, fbclid), and a customer's link must never fail on them.
QUERY_PARAMETERS: dict[str, dict[str, dict[str, str]]] = {
    "/api/tickets": {"GET": {
        "status": "one or more statuses, comma-separated or repeated",
        "department": "a department's name",
        "assignee": "me, none, an agent id (ag_...), a principal ARN or a short name",
        "q": "a ref, email, phone, subject words or the beginning of the customer's name",
        "priority": "a priority", "channel": "web, email or sms",
        "breached": "true or false (as sla=breached / sla=on_track)",
        "sla": "breached or on_track",
        "due_within": "ISO 8601 duration: an SLA due time within it (overdue included)",
        "due_before": "an SLA due time before this time (2026-12-07 18:00: business time "
                      "zone; or ISO 8601 with an offset)",
        "has_decision": "true: a decision requested and waiting; false: none waiting",
        "cursor": "`next` of the previous page", "limit": "page size, 1-100"}},
    "/api/agents": {"GET": {"department": "a department's name",
                            "cursor": "`next` of the previous page", "limit": "page size"}},
    "/api/audit": {"GET": {"date": "the day", "cursor": "`next` of the previous page",
                           "limit": "page size"}},
    "/api/customers": {"GET": {"q": "email, phone or name"}},
    "/api/customers/{customer_id}": {"GET": {"cursor": "`next` of the tickets' page",
                                             "limit": "page size"}},
    "/api/held": {"GET": {"kind": "the kind held", "state": "held or closed",
                          "cursor": "`next` of the previous page", "limit": "page size"}},
    "/api/macros": {"GET": {"archived": "true or false", "cursor": "`next` of the previous page",
                            "limit": "page size"}},
    "/api/macros/{name}": {"GET": {"version": "that version"}},
    "/api/reports": {"GET": {"from": "first day", "to": "last day", "department": "a department",
                             "by": "grouping", "format": "json or csv"}},
    "/api/briefing": {"GET": {"department": "a department", "date": "the business day",
                              "agent": "as this agent would get it", "lang": "bn or en"}},
}
QUERY_CHECKED_PREFIX = "/api/"
CONSOLE_MIRROR = "/console/api/"


def check_query(path: str, method: str, params: Any) -> None:
    """422 naming the query parameters `path` (the route, e.g. /api/tickets/{ticket_id})
    does not take with `method`, and the ones it does (QUERY_PARAMETERS)."""
    if path.startswith(CONSOLE_MIRROR):  # the console's copy of the route (api/console.py)
        path = path[len(CONSOLE_MIRROR) - len(QUERY_CHECKED_PREFIX):]
    if not path.startswith(QUERY_CHECKED_PREFIX) or not params:
        return
    allowed = QUERY_PARAMETERS.get(path, {}).get(method.upper(), {})
    unknown = sorted(name for name in params if name not in allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) if allowed else "none"
        raise ValidationFailed(
            f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
            f"This route takes: {takes}.",
            {name: f"unknown query parameter; allowed: {takes}" for name in unknown})


def path_parameter(name: str, **extra: Any) -> dict[str, Any]:
    """The OpenAPI parameter object of a path parameter (PATH_PARAMETERS)."""
    schema = {k: v for k, v in PATH_PARAMETERS[name].items() if k != "description"}
    return {"name": name, "in": "path", "required": True,
            "description": PATH_PARAMETERS[name]["description"], "schema": {**schema, **extra}}


def check_path(parameters: dict[str, Any]) -> None:
    bad = {}
    for name, value in parameters.items():
        rule = PATH_PARAMETERS.get(name)
        if rule is None:
            continue
        if not isinstance(value, str) or not (rule["minLength"] <= len(value) <= rule["maxLength"]) \
                or not re.fullmatch(rule["pattern"], value):
            bad[name] = rule["description"]
    if bad and set(bad) <= NOT_FOUND_IF_MALFORMED:
        raise NotFound("No such resource: a malformed id.", bad)
    if bad:
        raise BadRequest("Invalid path parameter.", bad)


def handle_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """ApiError -> its JSON response; path parameters are checked first (PATH_PARAMETERS),
    then the query's names (QUERY_PARAMETERS)."""
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            check_path(kwargs)
            request = _request.get()
            if request is not None:
                check_query(getattr(request, "path", "") or "", request.method or "",
                            request.query_params)
            return view(*args, **kwargs)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers,
                                  exc.details)
    return wrapper


_CHALICE_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found",
                  405: "method_not_allowed", 413: "payload_too_large",
                  415: "unsupported_media_type", 500: "internal_error"}


def error_middleware(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice answers some requests itself ({"Code", "Message"}); give those our shape.
    It also keeps the request at hand for `handle_errors`, which checks its query, and marks
    every /api/... and /console/api/... answer `Cache-Control: no-store`."""
    token = _request.set(event)  # handle_errors checks its query (a view was reached)
    try:
        response = get_response(event)
    except Exception:  # noqa: BLE001 - last resort: never leak a trace, always JSON
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on our side.")
    finally:
        _request.reset(token)
    if str(getattr(event, "path", "") or "").startswith((CONSOLE_MIRROR, QUERY_CHECKED_PREFIX)):
        # customers' data, fetched with a token or a signature: never kept by a browser's
        # cache or any cache between (after signing out, Back or a shared computer shows none
        # of it; a proxy in front of a script calling /api/... keeps none either)
        response.headers.setdefault("Cache-Control", "no-store")
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        status = response.status_code
        message = str(body.get("Message") or "")
        if status >= 500:
            message = "Something went wrong on our side."
        return error_response(status, _CHALICE_CODES.get(status, "error"), message,
                              headers={k: v for k, v in response.headers.items()
                                       if k.lower() in ("allow", "cache-control")})
    return response


def json_body(request) -> Any:
    """The request body as JSON; 415 unless it is JSON, 400 when malformed."""
    content_type = (request.headers.get("content-type") or "application/json").split(";")[0]
    if content_type.strip().lower() != "application/json":
        raise UnsupportedMediaType("Send application/json.", {"content-type": content_type})
    raw = request.raw_body or b""
    try:
        return untrusted_json.loads(raw.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("Malformed JSON.", {"body": "malformed JSON"}) from None


def int_param(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number.", {name: "a whole number"}) from None


def check_name(name: str, field: str = "name") -> None:
    """Names of settings (calendars, policies, macros ...): safe in a key and in a URL."""
    if not isinstance(name, str) or not re.fullmatch(_NAME, name):
        raise BadRequest("Invalid name.", {field: "letters, digits, - and _; at most 64"})
