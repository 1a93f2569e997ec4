"""The agent console's pages (docs/console.md): one HTML shell and its static assets, served by
the app under /console, no build step. The console's data comes only from /console/api/...
(api/console.py: Cognito ID tokens); nothing here reads a ticket, a token or an agent, so a
visitor who has not signed in gets the shell, whose script shows the sign-in page, and never
data.

Guarantees:
* no AWS calls, and nothing read at import: the assets (chalicelib/console/) are read on the
  first request for them and kept for the container's life, so they add nothing to the
  API's cold start (tests/unit/test_console_pages.py imports the app and watches for it);
* assets are addressed `assets/<name>?v=<hash of the file>`: the shell names the current
  hash, and an asset asked for with it is cached for a year (`immutable`); the shell itself
  is `no-cache`, so a deployment shows at the next page load;
* the shell's Content-Security-Policy allows scripts, styles and connections only from the
  app itself, plus the Cognito endpoint the browser signs in at (SETU_COGNITO_ENDPOINT);
  no inline script, no framing (nor a handle for a page that opened it: COOP), and Trusted
  Types required with no policy (the console never hands HTML to the DOM: a string given to
  innerHTML and the like is refused);
* the configuration in the shell is JSON with "<" escaped: no configured value (support_name
  is an environment variable) can end its <script> element.

Paths are relative to `<base href>`, which is the stage's prefix on an execute-api URL
(`/api/console/`) and `/console/` on a custom domain or the local stack.
"""
from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path

from chalice import Blueprint, Response

from chalicelib import clock, config

bp = Blueprint(__name__)
ASSETS = Path(__file__).resolve().parent.parent / "console"
# in this order in the shell: core first (window.Setu), then the pages it routes to
SCRIPTS = ("core.js", "signin.js", "queue.js", "ticket.js", "reports.js", "admin.js",
           "account.js")
STYLES = ("console.css",)
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8"}
# the pages the console's router knows (core.js ROUTES); other names are 404
PAGES = ("queue", "reports", "decisions", "agents", "macros", "policies", "held", "account",
         "departments", "signin")
ASSET_NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}\.(js|css|svg|txt)$")
YEAR = 365 * 24 * 3600


@lru_cache(maxsize=32)
def _asset(name: str) -> tuple[bytes, str] | None:
    """(content, hash) of an asset, read once per container; None if there is none."""
    if not ASSET_NAME.match(name):
        return None
    path = ASSETS / name
    if not path.is_file():
        return None
    data = path.read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:12]


def _prefix(context: dict) -> str:
    """The stage's path prefix when the request came through an execute-api URL."""
    stage = str(context.get("stage") or "")
    path = str(context.get("path") or "")
    return f"/{stage}" if stage and path.startswith(f"/{stage}/") else ""


def _origin(url: str) -> str:
    return "/".join(url.split("/")[:3])


def shell_html(prefix: str) -> str:
    settings = config.settings()
    conf = {"api": f"{prefix}/console/api", "root": f"{prefix}/console/",
            "region": settings.region, "clientId": settings.user_pool_client_id,
            "cognito": settings.cognito_endpoint, "timezone": clock.business_zone().key,
            "stage": settings.stage, "business": settings.support_name}
    # JSON inside <script type="application/json">: "<" escaped, so no "</script>" can end it
    data = json.dumps(conf, ensure_ascii=False).replace("<", "\\u003c")

    def url(name: str) -> str:
        found = _asset(name)
        return f"assets/{name}?v={found[1] if found else 0}"

    styles = "".join(f'<link rel="stylesheet" href="{url(n)}">' for n in STYLES)
    scripts = "".join(f'<script defer src="{url(n)}"></script>' for n in SCRIPTS)
    return ("<!doctype html><html lang=\"bn\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<base href=\"{prefix}/console/\"><title>Setu</title>"
            "<link rel=\"icon\" href=\"assets/icon.svg\">"
            f"{styles}<script type=\"application/json\" id=\"setu-config\">{data}</script>"
            f"{scripts}</head><body><div id=\"app\" aria-live=\"polite\"></div>"
            "<noscript>Setu's console needs JavaScript. / সেতু কনসোলের জন্য JavaScript চালু করুন।"
            "</noscript></body></html>")


def _shell() -> Response:
    context = bp.current_request.context or {}
    cognito = _origin(config.settings().cognito_endpoint)
    return Response(body=shell_html(_prefix(context)), status_code=200, headers={
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' {cognito}; font-src 'self'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'; "
            "require-trusted-types-for 'script'; trusted-types 'none'"),
        "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
        # a page elsewhere that opened the console (a link in webmail) keeps no handle on it
        "Cross-Origin-Opener-Policy": "same-origin"})


def _not_found() -> Response:
    return Response(body="Not found. <a href=\"./\">Setu console</a>", status_code=404,
                    headers={"Content-Type": "text/html; charset=utf-8",
                             "Content-Security-Policy": "default-src 'none'",
                             "Cache-Control": "no-cache"})


@bp.route("/console", methods=["GET"])
def console_home():
    return _shell()


@bp.route("/console/{page}", methods=["GET"])
def console_page(page):
    return _shell() if page in PAGES else _not_found()


@bp.route("/console/tickets/{ref}", methods=["GET"])
def console_ticket(ref):
    return _shell() if re.fullmatch(r"[0-9A-Za-z_]{1,40}", ref or "") else _not_found()


@bp.route("/console/assets/{asset}", methods=["GET"])
def console_asset(asset):
    found = _asset(asset)
    if found is None:
        return _not_found()
    data, digest = found
    asked = (bp.current_request.query_params or {}).get("v")
    cache = f"public, max-age={YEAR}, immutable" if asked == digest else "no-cache"
    suffix = asset[asset.rindex("."):]
    return Response(body=data.decode("utf-8"), status_code=200, headers={
        "Content-Type": TYPES[suffix], "Cache-Control": cache, "ETag": f'"{digest}"',
        "X-Content-Type-Options": "nosniff"})
