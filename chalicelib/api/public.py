"""Public routes: the web form (POST /tickets, GET /form and its thank-you page), the ticket
status page (/s/{token}), the satisfaction page (/csat/{token}), the unsubscribe page and
one-click endpoint (/unsubscribe/{token}) and the health check. docs/pages.md describes them.

POST /tickets keeps its JSON contract for every client that does not ask for HTML; a browser
posting the HTML form (Accept: text/html) gets pages instead: the form again with the errors
next to the fields and the input kept (422), or a 303 to the thank-you page.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from chalice import Blueprint, Response

from chalicelib import clock, config
from chalicelib.api import forms
from chalicelib.api.http import error_response, json_response
from chalicelib.api.schemas import Schemas
from chalicelib.db.values import as_dict
from chalicelib.errors import ApiError, BadRequest, NotFound, ValidationFailed
from chalicelib.services.followup import checkin, satisfaction
from chalicelib.services.messaging import links, suppression, templates
from chalicelib.services.portal import captcha, status_page, webform
from chalicelib.services.team import departments
from chalicelib.services.tickets import intake
from chalicelib.services.tickets import store as ticket_store

bp = Blueprint(__name__)
ANY_CONTENT = ["*/*"]  # we check the content type ourselves, to answer in our error format
MAX_IDEMPOTENCY_KEY = 255
HTML = "text/html; charset=utf-8"
PAGE_ONLY_FIELDS = ("embed",)  # sent by the hosted form, not part of the ticket
FORM_LABELS = ("name", "email", "phone", "department", "subject", "message", "attachments")


def _schemas() -> dict[str, Any]:
    """The web form's payload. Its validator is services/portal/webform.validate, not a compiled
    schema: the same rules (lengths from its MAX_LENGTH), but each problem also as a code the
    HTML form shows in the customer's language, and urlencoded and multipart bodies too."""
    def text(field: str, **more: Any) -> dict[str, Any]:
        return {"type": "string", "maxLength": webform.MAX_LENGTH[field], **more}

    string = {"type": "string"}
    return {
        "WebForm": {"type": "object", "required": ["message"], "additionalProperties": False,
                    "description": "email or phone is required",
                    "properties": {
            "name": text("name"), "email": text("email"), "phone": text("phone"),
            "subject": text("subject"), "message": text("message", minLength=1),
            "department": {"type": "string", "pattern": departments.NAME_PATTERN,
                           "description": "an active department shown on GET /form"},
            "lang": {"enum": ["bn", "en"]},
            "website": {"type": "string", "maxLength": 0, "description": "Honeypot: must stay empty"}}},
        "Created": {"type": "object", "required": ["id", "ref", "status"], "properties": {
            "id": string, "ref": string, "status": string, "due_at": {"type": ["string", "null"]}}},
        # The customer pages' own forms (HTML flows: a problem is shown on the page, 422);
        # checked by the services named, other fields are ignored.
        "StatusReplyForm": {"type": "object", "required": ["body", "nonce"],
                            "description": "services/portal/status_page.add_reply",
                            "additionalProperties": {"type": "string"}, "properties": {
            "body": {"type": "string", "maxLength": status_page.MAX_REPLY},
            "nonce": {"type": "string", "maxLength": 64, "description": "one per form shown"},
            "lang": {"enum": ["bn", "en"]}}},
        "SatisfactionForm": {"type": "object", "required": ["score"],
                             "description": "services/followup/satisfaction.rate",
                             "additionalProperties": {"type": "string"}, "properties": {
            "score": {"enum": ["1", "2", "3", "4", "5"]},
            "comment": {"type": "string", "maxLength": satisfaction.MAX_COMMENT},
            "lang": {"enum": ["bn", "en"]}}},
        "UnsubscribeForm": {"type": "object", "additionalProperties": {"type": "string"},
                            "description": "RFC 8058 one-click, or the page's button (any body)",
                            "properties": {"List-Unsubscribe": {"const": "One-Click"}}},
    }


SCHEMAS = Schemas(_schemas)


@bp.route("/health", methods=["GET"])
def health():
    return json_response({"status": "ok"})


# ---- the web form ---------------------------------------------------------------------------

@bp.route("/tickets", methods=["POST"], content_types=ANY_CONTENT)
def create_ticket():
    request = bp.current_request
    wants_html = _wants_html(request)
    origin = request.headers.get("origin", "")
    cors = _cors_headers(origin, request)
    if not webform.origin_allowed(origin, _own_origins(request)):
        message = "Web pages on this origin may not post the form (SETU_FORM_ORIGINS)."
        if wants_html:
            try:
                lang = _lang_of(_parsed(request)[0].get("lang"))
            except ApiError:
                lang = "bn"
            return _form_page(request, lang=lang, values={}, problem="forbidden", status=403)
        return error_response(403, "forbidden", message, {"origin": origin})
    fields: dict[str, Any] = {}
    uploads: list = []
    try:
        fields, uploads = _parsed(request)
        if wants_html:
            fields = {k: v for k, v in fields.items() if k not in PAGE_ONLY_FIELDS}
        created = _create(request, fields, uploads)
    except ApiError as exc:
        if wants_html:
            return _form_error_page(request, fields, uploads, exc)
        return error_response(exc.status, exc.code, exc.message, exc.fields, {**exc.headers, **cors})
    if wants_html:
        token = links.thanks_token(created["id"], created["ref"])
        query = _query(lang=_lang_of(fields.get("lang")), embed=_embed(request))
        return Response(body="", status_code=303, headers={
            "Location": f"form/thanks/{token}{query}", "Cache-Control": "no-store", **cors})
    return json_response(created, 201, {"Location": f"/api/tickets/{created['id']}", **cors})


def _create(request, fields: dict[str, Any], uploads: list) -> dict[str, Any]:
    source_ip = ((request.context or {}).get("identity") or {}).get("sourceIp") or "unknown"
    captcha.require(fields, source_ip)  # when a stage turns it on: before anything else
    contact = webform.validate(fields, uploads, webform.limits_from_settings())
    key = (request.headers.get("idempotency-key") or "").strip()
    if not key:
        return intake.create_from_web(contact, source_ip).to_dict()
    if len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise BadRequest("Invalid Idempotency-Key.",
                         {"Idempotency-Key": f"printable, at most {MAX_IDEMPOTENCY_KEY} characters"})
    from chalicelib.api import idempotency  # deferred: cold start (not loaded by `import app`)

    return idempotency.once(key, contact.fingerprint(),
                            lambda: intake.create_from_web(contact, source_ip).to_dict(),
                            lambda_context=bp.lambda_context)


@bp.route("/tickets", methods=["OPTIONS"])
def tickets_preflight():
    """CORS preflight for scripts on the allowed origins (SETU_FORM_ORIGINS)."""
    request = bp.current_request
    origin = request.headers.get("origin", "")
    headers = _cors_headers(origin, request)
    if not headers:
        return error_response(403, "forbidden", "This origin may not call POST /tickets.",
                              {"origin": origin or "missing"})
    return Response(body="", status_code=204, headers={
        **headers, "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type, Idempotency-Key",
        "Access-Control-Max-Age": "600"})


@bp.route("/form", methods=["GET"])
def form():
    request = bp.current_request
    params = request.query_params or {}
    department = params.get("department")
    if not departments.is_department(department):
        department = "general"
    return _form_page(request, lang=_lang_of(params.get("lang")), values={"department": department})


@bp.route("/form/thanks/{token}", methods=["GET"])
def form_thanks(token: str):
    request = bp.current_request
    params = request.query_params or {}
    try:
        opened = links.open_thanks(token)
        ticket = ticket_store.load(opened.ticket_id)
    except (links.LinkInvalid, NotFound) as exc:
        return _link_error(request, exc, lang=_lang_of(params.get("lang")), frames=True)
    lang = _lang_of(params.get("lang"), ticket.lang)
    due = as_dict(ticket.sla).get("first_response_due")
    return _page(request, "thanks.html.j2", lang, frames=True, ref=ticket.ref,
                 due_at=_instant(due), form_url=_form_url(lang, ticket.department, request))


def _form_page(request, *, lang: str, values: dict[str, Any], errors: dict[str, str] | None = None,
               problem: str | None = None, files_again: bool = False, status: int = 200) -> Response:
    values = {name: str(values.get(name) or "") for name in
              ("name", "email", "phone", "subject", "message", "department")}
    if not departments.is_department(values["department"]):
        values["department"] = "general"
    embed = _embed(request)
    text = _text(lang)
    return _page(request, "form.html.j2", lang, status=status, frames=True,
                 switch_params={"department": values["department"], "embed": embed},
                 switch_base=_path_to(request, "form"),
                 action=_path_to(request, "tickets"), values=values, errors=errors or {},
                 problem=problem, files_again=files_again,
                 labels={name: text.form[name] if name != "attachments" else text.form["files"]
                         for name in FORM_LABELS},
                 max_files=config.settings().max_attachments, captcha=captcha.widget(),
                 departments=departments.form_choices(lang, also=values["department"]))


def _form_error_page(request, fields: dict[str, Any], uploads: list, exc: ApiError) -> Response:
    lang = _lang_of(fields.get("lang") if isinstance(fields.get("lang"), str) else None)
    values = {k: v for k, v in fields.items() if isinstance(v, str)}
    problems = dict(getattr(exc, "problems", None) or {})
    problem = None
    if problems.pop("website", None):
        problem = "honeypot"
    errors = webform.localized({k: v for k, v in problems.items() if k in FORM_LABELS}, lang)
    if not isinstance(exc, ValidationFailed) or not problems:
        problem = problem or (exc.code if exc.code in _text(lang).problems else "bad_request")
    elif set(problems) - set(FORM_LABELS):
        problem = problem or "validation_failed"
    status = exc.status
    headers = {k: v for k, v in exc.headers.items() if k.lower() == "retry-after"}
    response = _form_page(request, lang=lang, values=values, errors=errors, problem=problem,
                          files_again=bool(uploads), status=status)
    response.headers.update(headers)
    return response


# ---- ticket status page ---------------------------------------------------------------------

@bp.route("/s/{token}", methods=["GET"])
def status(token: str):
    request = bp.current_request
    params = request.query_params or {}
    try:
        opened = links.open_status(token)
        current = status_page.view(opened.ticket_id)
    except (links.LinkInvalid, NotFound) as exc:
        return _link_error(request, exc, lang=_lang_of(params.get("lang")))
    return _status_page(request, token, current, sent=params.get("sent") == "1")


@bp.route("/s/{token}", methods=["POST"], content_types=ANY_CONTENT)
def status_reply(token: str):
    request = bp.current_request
    params = request.query_params or {}
    try:
        opened = links.open_status(token)
    except links.LinkInvalid as exc:
        return _link_error(request, exc, lang=_lang_of(params.get("lang")))
    fields: dict[str, Any] = {}
    try:
        fields, _ = forms.parse(request.headers.get("content-type", ""), request.raw_body or b"")
        status_page.add_reply(opened.ticket_id, fields.get("body"), fields.get("nonce"))
    except ValidationFailed as exc:
        current = status_page.view(opened.ticket_id)
        lang = _lang_of(params.get("lang"), current.lang)
        return _status_page(request, token, current, status=422,
                            error=_reply_error(exc.fields, lang),
                            body=str(fields.get("body") or ""))
    except ApiError as exc:
        return _status_page(request, token, status_page.view(opened.ticket_id), status=exc.status,
                            error=_reply_error({"rate" if exc.status == 429 else "nonce": exc.message},
                                               _lang_of(params.get("lang"))))
    # done, or this form was already sent (same nonce): either way show the conversation
    return Response(body="", status_code=303, headers={
        "Location": f"{token}{_query(sent='1', lang=_chosen_lang(fields, params))}",
        "Cache-Control": "no-store"})


def _status_page(request, token: str, current: status_page.StatusView, *, sent: bool = False,
                 status: int = 200, error: str | None = None, body: str = "") -> Response:
    lang = _lang_of((request.query_params or {}).get("lang"), current.lang)
    return _page(request, "status.html.j2", lang, status=status, ref=current.ref,
                 subject=current.subject, state=current.status, created_at=current.created_at,
                 expected_reply=current.expected_reply, entries=current.entries, sent=sent,
                 nonce=status_page.new_nonce(current.ticket_id), action=_here(request), error=error, body=body,
                 max_reply=status_page.MAX_REPLY)


def _reply_error(fields: dict[str, str], lang: str) -> str:
    text = _text(lang).status["errors"]
    if "nonce" in fields:
        return text["nonce"]
    if "rate" in fields:  # SETU_STATUS_REPLIES_PER_HOUR on this ticket
        return text["too_many"]
    if "too long" in str(fields.get("body", "")) or "at most" in str(fields.get("body", "")):
        n = str(status_page.MAX_REPLY)
        return text["too_long"].replace("{n}", templates.bn_digits(n) if lang == "bn" else n)
    return text["required"]


# ---- satisfaction page ----------------------------------------------------------------------

def _csat_ticket(request, token: str) -> tuple[str, Response | None]:
    """The ticket a satisfaction link names, or the friendly page refusing it: expired (403),
    unknown or tampered (404)."""
    lang = _lang_of((request.query_params or {}).get("lang"))
    try:
        ticket_id = checkin.ticket_from_token(token)
    except links.LinkExpired as exc:
        return "", _link_error(request, exc, lang=lang)
    if ticket_id is None:
        return "", _link_error(request, None, lang=lang, reason="not_found", status=404)
    return ticket_id, None


@bp.route("/csat/{token}", methods=["GET"])
def csat(token: str):
    """The score links in the check-in mail (signed per ticket) open this page. A GET never
    records anything (mail scanners open every link in a mail): `?score=N` only pre-selects
    that score, and the page's button POSTs it. Once rated, every visit shows the answer."""

    request = bp.current_request
    params = request.query_params or {}
    ticket_id, refused = _csat_ticket(request, token)
    if refused is not None:
        return refused
    try:
        rating = satisfaction.current(ticket_id)
    except NotFound as exc:
        return _link_error(request, exc, lang=_lang_of(params.get("lang")), reason="not_found",
                           status=404)
    try:
        satisfaction.parse_score(params.get("score"))
    except ValidationFailed:
        lang = _lang_of(params.get("lang"), rating.lang)
        return _csat_page(request, rating, status=422, error=_text(lang).csat["error_score"])
    return _csat_page(request, rating)


@bp.route("/csat/{token}", methods=["POST"], content_types=ANY_CONTENT)
def csat_answer(token: str):
    request = bp.current_request
    params = request.query_params or {}
    ticket_id, refused = _csat_ticket(request, token)
    if refused is not None:
        return refused
    fields: dict[str, Any] = {}
    try:
        fields, _ = forms.parse(request.headers.get("content-type", ""), request.raw_body or b"")
        satisfaction.rate(ticket_id, satisfaction.parse_score(fields.get("score")), fields.get("comment"))
    except ValidationFailed as exc:
        rating = satisfaction.current(ticket_id)
        lang = _lang_of(fields.get("lang"), rating.lang)
        if "comment" in exc.fields:
            n = str(satisfaction.MAX_COMMENT)
            message = _text(lang).csat["error_comment"].replace("{n}", templates.bn_digits(n) if lang == "bn" else n)
        else:
            message = _text(lang).csat["error_score"]
        return _csat_page(request, rating, status=422, error=message,
                          comment=str(fields.get("comment") or ""), lang=lang,
                          chosen=fields.get("score"))
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.fields)
    return Response(body="", status_code=303, headers={
        "Location": f"{token}{_query(sent='1', lang=_chosen_lang(fields, params))}",
        "Cache-Control": "no-store"})


def _csat_page(request, rating: satisfaction.Rating, *, status: int = 200, error: str | None = None,
               comment: str = "", lang: str | None = None, chosen: Any = None) -> Response:
    """The survey (the score from `chosen` or ?score= pre-selected) or, once rated, the answer."""
    params = request.query_params or {}
    lang = lang or _lang_of(params.get("lang"), rating.lang)
    try:
        chosen = satisfaction.parse_score(params.get("score") if chosen is None else chosen)
    except ValidationFailed:
        chosen = None
    return _page(request, "csat.html.j2", lang, status=status, rating=rating, ref=rating.ref,
                 recorded_at=_instant(rating.at), error=error, comment=comment, chosen=chosen,
                 action=_here(request, keep_query=False),
                 just_sent=params.get("sent") == "1",
                 max_comment=satisfaction.MAX_COMMENT)


# ---- unsubscribe ----------------------------------------------------------------------------

@bp.route("/unsubscribe/{token}", methods=["GET"])
def unsubscribe_page(token: str):
    """The link in every automatic mail: a page with one button (a GET changes nothing, as
    mail scanners follow links); the button, like a mail client's one-click, POSTs."""
    request = bp.current_request
    params = request.query_params or {}
    lang = _lang_of(params.get("lang"))
    try:
        address = links.open_unsubscribe(token)
    except links.LinkInvalid as exc:
        return _link_error(request, exc, lang=lang)
    record = suppression.unsubscribed(address)
    return _page(request, "unsubscribe.html.j2", lang, address=address, record=record,
                 since=_instant(record.at) if record else None, action=_here(request))


@bp.route("/unsubscribe/{token}", methods=["POST"], content_types=ANY_CONTENT)
def unsubscribe(token: str):
    """RFC 8058 one-click (List-Unsubscribe=One-Click from the mail client) or the page's
    button: either way the address is suppressed once, with the time."""
    request = bp.current_request
    params = request.query_params or {}
    try:
        address = links.open_unsubscribe(token)
    except links.LinkInvalid as exc:
        if _wants_html(request):
            return _link_error(request, exc, lang=_lang_of(params.get("lang")))
        return error_response(403, "forbidden", "This unsubscribe link is not valid.")
    fields: dict[str, Any] = {}
    try:
        fields, _ = forms.parse(request.headers.get("content-type", ""), request.raw_body or b"")
    except ApiError:
        fields = {}  # the body does not matter: the signed URL says who
    one_click = fields.get("List-Unsubscribe") == "One-Click"
    record = suppression.unsubscribe(address, "one-click" if one_click and not _wants_html(request)
                                     else "unsubscribe page")
    if not _wants_html(request):
        return json_response({"status": "unsubscribed", "new": record.new, "at": record.at})
    lang = _lang_of(fields.get("lang") if isinstance(fields.get("lang"), str) else params.get("lang"))
    return _page(request, "unsubscribe.html.j2", lang, address=address, record=record,
                 since=_instant(record.at), action=_here(request))


# ---- page plumbing --------------------------------------------------------------------------

def _page(request, template: str, lang: str, *, status: int = 200, frames: bool = False,
          switch_params: dict[str, Any] | None = None, switch_base: str = "",
          **context: Any) -> Response:
    """A page in `lang`: text from pages/text.<lang>.j2, strict security headers (nothing but
    the inline stylesheet may load; only the form may be framed, by SETU_FORM_ORIGINS)."""
    embed = _embed(request)
    query = dict(request.query_params or {})
    query.update({k: v for k, v in (switch_params or {}).items()})
    query["lang"] = _other(lang)
    query = {k: v for k, v in query.items() if v and k not in ("sent",)}
    # pages reached by a signed link never leak it onwards; the form's own pages carry no
    # token and send their origin with the post (a no-referrer page posts `Origin: null`)
    referrer = "same-origin" if frames else "no-referrer"
    html = templates.render(f"pages/{template}", lang=lang, t=_text(lang), embed=embed,
                            referrer=referrer,
                            business=config.settings().support_name,
                            switch_url=switch_base + "?" + urlencode(query), **context)
    ancestors = " ".join(("'self'", *[o for o in webform.allowed_origins() if o != "*"])) \
        if frames else "'none'"
    if frames and "*" in webform.allowed_origins():
        ancestors = "*"
    # the only script a page may load: the CAPTCHA provider's widget, on the form, when on
    widget = captcha.widget() if template == "form.html.j2" else None
    origin = "/".join(widget["script"].split("/")[:3]) if widget and widget["script"] else ""
    scripts = f"; script-src {origin}; frame-src {origin}; connect-src {origin}" if origin else ""
    return Response(body=html, status_code=status, headers={
        "Content-Type": HTML,
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                                   f"form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
                                   + scripts,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": referrer,
        "Cache-Control": "no-store",
        "Content-Language": lang,
    })


def _link_error(request, exc: Exception | None, *, lang: str, reason: str | None = None,
                status: int = 403, frames: bool = False) -> Response:
    """The friendly page for a tampered, unknown or expired link (403; 404 for the survey)."""
    if reason is None:
        reason = "expired" if isinstance(exc, links.LinkExpired) else "invalid"
    if isinstance(exc, links.LinkExpired) and exc.ticket_id \
            and not (request.query_params or {}).get("lang"):
        try:
            lang = ticket_store.load(exc.ticket_id).lang or lang
        except NotFound:
            pass
    return _page(request, "link_error.html.j2", lang, status=status, frames=frames, reason=reason,
                 form_url=_form_url(lang, None, request))


def _text(lang: str):
    return templates.environment().get_template(f"pages/text.{lang}.j2").module


def _lang_of(value: Any, default: str = "bn") -> str:
    return value if value in webform.LANGS else (default if default in webform.LANGS else "bn")


def _chosen_lang(fields: dict[str, Any], params: dict[str, Any]) -> str | None:
    """The language the customer picked on the page (a form field or ?lang=), if any."""
    for value in (fields.get("lang"), params.get("lang")):
        if value in webform.LANGS:
            return value
    return None


def _other(lang: str) -> str:
    return "en" if lang == "bn" else "bn"


def _embed(request) -> str:
    """'1' when the page is shown inside another site's iframe (no header, no margins):
    ?embed=1, or the hosted form's hidden field of that name."""
    params = request.query_params or {}
    if params.get("embed") == "1":
        return "1"
    if request.method == "POST" and _wants_html(request) and b"embed" in (request.raw_body or b""):
        try:
            fields = _parsed(request)[0]
        except ApiError:
            return ""
        return "1" if fields.get("embed") == "1" else ""
    return ""


def _parsed(request) -> tuple[dict[str, Any], list]:
    """The request's form fields and files, parsed once per request."""
    cached = getattr(request, "_setu_parsed", None)
    if cached is None:
        cached = forms.parse(request.headers.get("content-type", ""), request.raw_body or b"")
        request._setu_parsed = cached
    return cached


def _wants_html(request) -> bool:
    """A browser posting the HTML form says Accept: text/html,...; API clients do not."""
    accept = (request.headers.get("accept") or "").lower()
    return "text/html" in accept and "application/json" not in accept


def _own_origins(request) -> tuple[str, ...]:
    host = request.headers.get("host", "")
    proto = request.headers.get("x-forwarded-proto", "http").split(",")[0].strip() or "http"
    own = {f"{scheme}://{host}" for scheme in (proto, "http", "https")} if host else set()
    public = config.settings().public_url
    if public:
        parts = urlsplit(public)
        own.add(f"{parts.scheme}://{parts.netloc}")
    return tuple(own)


def _cors_headers(origin: str, request) -> dict[str, str]:
    """Access-Control-Allow-Origin for an allowed other origin (a script on the business's
    site calling POST /tickets), else nothing."""
    origin = (origin or "").strip().rstrip("/")
    if not origin or origin in _own_origins(request):
        return {}
    allowed = webform.allowed_origins()
    if origin in allowed or "*" in allowed:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
                "Access-Control-Expose-Headers": "Location, Retry-After"}
    return {}


def _query(**params: Any) -> str:
    kept = {k: v for k, v in params.items() if v}
    return ("?" + urlencode(kept)) if kept else ""


def _path_to(request, path: str) -> str:
    """A link to `path` (e.g. "tickets") relative to this page, whatever prefix the API is
    served under (a stage name on API Gateway, a custom domain, the local server)."""
    depth = max(0, (request.context or {}).get("resourcePath", "/").count("/") - 1)
    return "../" * depth + path if depth else path


def _here(request, keep_query: bool = True) -> str:
    """This page's own URL, relative (the last path segment), for forms posting back."""
    resource = (request.context or {}).get("resourcePath", "")
    token = (request.uri_params or {}).get("token", "")
    last = quote(token, safe="") if token else resource.rsplit("/", 1)[-1]
    params = {k: v for k, v in (request.query_params or {}).items()
              if keep_query and k in ("lang",)}
    return last + _query(**params)


def _form_url(lang: str, department: str | None, request) -> str:
    return _path_to(request, "form") + _query(lang=lang, department=department,
                                              embed=_embed(request))


def _instant(value: Any):
    if not value:
        return None
    try:
        return clock.parse_iso(str(value))
    except ValueError:
        return None

