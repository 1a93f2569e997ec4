"""HTTP plumbing shared by the blueprints: JSON responses, errors in the CONTRACT.md shape.

Views raise chalicelib.errors.ApiError; `handle_errors` turns it into a response. The app
middleware (`error_middleware`) rewrites Chalice's own error bodies (415, 405, 500 ...) into
the same shape, so no client ever has to parse two formats.
"""
from __future__ import annotations

import functools
import json
import logging
from typing import Any, Callable

from chalice import Response

from chalicelib.errors import ApiError

log = logging.getLogger("setu.api")
JSON = "application/json; charset=utf-8"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body, ensure_ascii=False), status_code=status,
                    headers={"Content-Type": JSON, **(headers or {})})


def error_response(status: int, code: str, message: str, fields: dict | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return json_response({"error": error}, status, headers)


def handle_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)
    return wrapper


_CHALICE_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found",
                  405: "method_not_allowed", 413: "payload_too_large",
                  415: "unsupported_media_type", 500: "internal_error"}


def error_middleware(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice answers some requests itself ({"Code", "Message"}); give those our shape."""
    try:
        response = get_response(event)
    except Exception:  # noqa: BLE001 - last resort: never leak a trace, always JSON
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on our side.")
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        status = response.status_code
        message = str(body.get("Message") or "")
        if status >= 500:
            message = "Something went wrong on our side."
        return error_response(status, _CHALICE_CODES.get(status, "error"), message,
                              headers={k: v for k, v in response.headers.items()
                                       if k.lower() == "allow"})
    return response
