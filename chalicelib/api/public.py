"""Public routes: the web form (POST /tickets, GET /form), the satisfaction link (GET /csat)
and the health check."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import config
from chalicelib.api import forms
from chalicelib.api.http import handle_errors, json_response
from chalicelib.errors import BadRequest
from chalicelib.services import departments, intake, templates, tickets, webform

bp = Blueprint(__name__)
ANY_CONTENT = ["*/*"]  # we check the content type ourselves, to answer in our error format
MAX_IDEMPOTENCY_KEY = 255


@bp.route("/health", methods=["GET"])
def health():
    return json_response({"status": "ok"})


@bp.route("/tickets", methods=["POST"], content_types=ANY_CONTENT)
@handle_errors
def create_ticket():
    request = bp.current_request
    current = config.settings()
    fields, uploads = forms.parse(request.headers.get("content-type", ""), request.raw_body or b"")
    contact = webform.validate(fields, uploads, webform.Limits(
        max_attachment_bytes=current.max_attachment_bytes,
        max_total_bytes=current.max_request_attachments_bytes,
        max_attachments=current.max_attachments))
    source_ip = ((request.context or {}).get("identity") or {}).get("sourceIp") or "unknown"
    key = (request.headers.get("idempotency-key") or "").strip()
    if key:
        if len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
            raise BadRequest("Invalid Idempotency-Key.",
                             {"Idempotency-Key": f"printable, at most {MAX_IDEMPOTENCY_KEY} characters"})
        from chalicelib.api import idempotency

        created = idempotency.once(key, contact.fingerprint(),
                                   lambda: intake.create_from_web(contact, source_ip).to_dict(),
                                   lambda_context=bp.lambda_context)
    else:
        created = intake.create_from_web(contact, source_ip).to_dict()
    return json_response(created, 201, {"Location": f"/api/tickets/{created['id']}"})


@bp.route("/csat/{token}", methods=["GET"])
@handle_errors
def csat(token: str):
    """The score links in the check-in mail (signed per ticket; a click may repeat)."""
    score = (bp.current_request.query_params or {}).get("score", "")
    ticket = tickets.record_csat(token, score)
    html = templates.render("pages/csat.html.j2", lang=ticket.lang, ref=ticket.ref, score=int(score))
    return Response(body=html, status_code=200,
                    headers={"Content-Type": "text/html; charset=utf-8",
                             "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                             "X-Content-Type-Options": "nosniff"})


@bp.route("/form", methods=["GET"])
def form():
    params = bp.current_request.query_params or {}
    lang = params.get("lang") if params.get("lang") in webform.LANGS else "bn"
    department = params.get("department")
    if department not in departments.DEPARTMENT_NAMES:
        department = "general"
    html = templates.render(f"pages/form.{lang}.html.j2", lang=lang, selected=department,
                            departments=[(key, departments.display_name(key, lang))
                                         for key in departments.DEPARTMENTS])
    return Response(body=html, status_code=200,
                    headers={"Content-Type": "text/html; charset=utf-8",
                             "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
                             "X-Content-Type-Options": "nosniff"})
