"""The console's shell and assets (chalicelib/api/console_pages.py), in-process, no emulator:
importing the app reads no console asset (they add nothing to the API's cold start), the shell's
Content-Security-Policy allows no inline script, every script and style the shell names is
served, unknown console pages are 404, assets are cached for a year only when asked for with
their current hash, and the stage prefix of an execute-api URL is found."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "chalicelib" / "console"

# Runs in a fresh interpreter: every file opened (or directory listed) while `import app` runs.
_WATCH = r"""
import json, sys
seen = []
def hook(event, args):
    if event in ("open", "os.listdir", "os.scandir") and args and args[0] is not None:
        seen.append(str(args[0]))
sys.addaudithook(hook)
import app  # noqa: F401
print(json.dumps(seen))
"""


@pytest.fixture(scope="module")
def client():
    from chalice.test import Client

    import app

    with Client(app.app, stage_name="local") as test_client:
        yield test_client


def _header(response, name: str) -> str | None:
    for key, value in response.headers.items():
        if key.lower() == name.lower():
            return value
    return None


def test_importing_the_app_reads_no_console_asset():
    run = subprocess.run([sys.executable, "-c", _WATCH], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    opened = json.loads(run.stdout.strip().splitlines()[-1])
    assert any("chalicelib" in path for path in opened), "the audit hook saw no import at all"
    def in_console(path: str) -> bool:
        if path.isdigit():  # a file descriptor
            return False
        full = Path(path) if Path(path).is_absolute() else ROOT / path
        return full == CONSOLE or CONSOLE in full.parents

    touched = [p for p in opened if in_console(p)]
    assert touched == [], f"importing app read console assets: {touched}"


def test_shell_csp_allows_no_inline_script_and_no_framing(client):
    response = client.http.get("/console")
    assert response.status_code == 200
    csp = _header(response, "Content-Security-Policy")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["default-src"] == ["'none'"]
    # a string handed to innerHTML (and every other HTML sink) is refused by the browser
    assert directives["require-trusted-types-for"] == ["'script'"]
    assert directives["trusted-types"] == ["'none'"]
    # a page elsewhere that opened the console keeps no handle on it (reverse tabnabbing)
    assert _header(response, "Cross-Origin-Opener-Policy") == "same-origin"
    assert _header(response, "Cache-Control") == "no-cache"
    body = response.body.decode()
    # the one inline <script> is JSON data (not executed), and it cannot be ended early
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", body)
    assert inline == [' type="application/json" id="setu-config"']
    config = re.search(r'<script type="application/json" id="setu-config">(.*?)</script>', body).group(1)
    assert json.loads(config)["root"] == "/console/"
    assert "<" not in config


def _named_assets(body: str) -> list[tuple[str, str]]:
    return re.findall(r'(?:src|href)="assets/([a-z0-9-]+\.(?:js|css|svg))(?:\?v=([0-9a-f]+))?"', body)


def test_every_asset_the_shell_names_exists_and_is_served(client):
    body = client.http.get("/console/queue").body.decode()
    named = _named_assets(body)
    scripts = [name for name, _ in named if name.endswith(".js")]
    assert scripts[0] == "core.js", "core.js (window.Setu) must come first"
    assert {"core.js", "signin.js", "queue.js", "ticket.js", "reports.js"} <= set(scripts)
    assert "console.css" in [name for name, _ in named]
    for name, version in named:
        assert (CONSOLE / name).is_file(), name
        response = client.http.get(f"/console/assets/{name}" + (f"?v={version}" if version else ""))
        assert response.status_code == 200, name
        assert response.body == (CONSOLE / name).read_bytes(), name
        content_type = _header(response, "Content-Type")
        assert content_type.startswith({"js": "text/javascript", "css": "text/css",
                                        "svg": "image/svg+xml"}[name.rsplit(".", 1)[1]]), name
        assert _header(response, "X-Content-Type-Options") == "nosniff"
    # every script is deferred, so core.js runs before the pages register themselves
    assert len(re.findall(r"<script defer src=", body)) == len(scripts)


@pytest.mark.parametrize("path", ["/console/nope", "/console/tickets/..%2f..", "/console/assets/app.py",
                                  "/console/assets/nothing.js", "/console/assets/Core.JS"])
def test_unknown_console_paths_are_404(client, path):
    response = client.http.get(path)
    assert response.status_code == 404, path
    assert _header(response, "Content-Security-Policy") == "default-src 'none'"


@pytest.mark.parametrize("path", ["/console", "/console/queue", "/console/signin", "/console/reports",
                                  "/console/tickets/1042", "/console/account",
                                  "/console/decisions", "/console/agents", "/console/macros",
                                  "/console/policies", "/console/held", "/console/departments"])
def test_console_pages_are_the_shell(client, path):
    response = client.http.get(path)
    assert response.status_code == 200, path
    assert b'id="setu-config"' in response.body


def test_asset_cache_headers(client):
    from chalicelib.api import console_pages

    body = client.http.get("/console").body.decode()
    version = dict(_named_assets(body))["core.js"]
    digest = console_pages._asset("core.js")[1]
    assert version == digest
    fresh = client.http.get(f"/console/assets/core.js?v={digest}")
    assert _header(fresh, "Cache-Control") == "public, max-age=31536000, immutable"
    assert _header(fresh, "ETag") == f'"{digest}"'
    for stale in ("/console/assets/core.js", "/console/assets/core.js?v=0",
                  "/console/assets/core.js?v=000000000000"):
        response = client.http.get(stale)
        assert response.status_code == 200
        assert _header(response, "Cache-Control") == "no-cache", stale


def test_prefix_of_an_execute_api_context():
    from chalicelib.api.console_pages import _prefix, shell_html

    assert _prefix({"stage": "api", "path": "/api/console"}) == "/api"
    assert _prefix({"stage": "api", "path": "/api/console/tickets/1042"}) == "/api"
    # a custom domain (or the local stack): the path does not start with the stage
    assert _prefix({"stage": "api", "path": "/console"}) == ""
    assert _prefix({"stage": "prod", "path": "/console/queue"}) == ""
    assert _prefix({}) == ""
    html = shell_html("/api")
    assert '<base href="/api/console/">' in html
    config = json.loads(re.search(r'id="setu-config">(.*?)</script>', html).group(1))
    assert config["api"] == "/api/console/api" and config["root"] == "/api/console/"


def test_the_consoles_password_rule_is_the_user_pools():
    """The sign-in and account pages ask for (minlength) and explain (signin.weak) the
    template's password policy, so a refusal never contradicts what the page said."""
    from infra import render

    policy = render.load_template()["Resources"]["ConsoleUserPool"]["Properties"]["Policies"][
        "PasswordPolicy"]
    core = (CONSOLE / "core.js").read_text(encoding="utf-8")
    assert re.search(r"Setu\.PASSWORD_MIN = (\d+);", core).group(1) == str(policy["MinimumLength"])
    signin = (CONSOLE / "signin.js").read_text(encoding="utf-8")
    weak = re.findall(r"'signin\.weak': '([^']*)'", signin)
    assert len(weak) == 2 and all("{n}" in text for text in weak), weak
    # what it asks for beyond the length: letters of both cases and a digit, a symbol only if needed
    english = weak[0]
    assert policy["RequireUppercase"] and policy["RequireLowercase"] and policy["RequireNumbers"]
    assert "upper and lower case" in english and "digit" in english
    assert ("symbol" in english) == bool(policy["RequireSymbols"])
    for name in ("signin.js", "account.js"):
        text = (CONSOLE / name).read_text(encoding="utf-8")
        assert "minlength: 8" not in text and "minlength: S.PASSWORD_MIN" in text, name


# ---- attacks on the shell and its assets (tests/browser/test_console_attacks.py has the pages) --

def test_a_configured_name_cannot_end_the_config_script(monkeypatch):
    """support_name is an environment variable: `</script><script>...` in it stays JSON data."""
    from chalicelib import config
    from chalicelib.api.console_pages import shell_html

    hostile = "Help</script><script>window.__pwned=1</script><!--"
    monkeypatch.setenv("SETU_SUPPORT_NAME", hostile)
    config.settings.cache_clear()
    try:
        html = shell_html("")
    finally:
        monkeypatch.undo()
        config.settings.cache_clear()
    assert html.count("</script>") == len(re.findall(r"<script\b", html))
    assert "<!--" not in html and "<script>window" not in html
    config_text = re.search(r'id="setu-config">(.*?)</script>', html).group(1)
    assert json.loads(config_text)["business"] == hostile


@pytest.mark.parametrize("path", ["/console/assets/..%2f..%2fapp.py", "/console/assets/..%2fapi%2fauth.py",
                                  "/console/assets/%2e%2e%2fconsole_pages.py", "/console/assets/core.js%00.py",
                                  "/console/assets/.core.js", "/console/assets/core.js%2f..%2f..%2fapp.py"])
def test_assets_cannot_be_reached_outside_the_console_folder(client, path):
    response = client.http.get(path)
    assert response.status_code == 404, path
    assert b"import" not in response.body


def test_the_console_api_allows_no_other_origin(client):
    """Bearer tokens are not sent by the browser on its own, and no other site may read an
    answer either: no CORS headers on /console/api (the preflight, through the local stack's
    gateway: tests/browser/test_console_attacks.py)."""
    response = client.http.get("/console/api/tickets", headers={"Origin": "https://evil.example"})
    assert response.status_code in (401, 403), response.status_code
    assert not any(k.lower().startswith("access-control-") for k in response.headers), response.headers


def test_console_api_answers_are_never_cached():
    """The answers carry customers' data: `no-store` on every /console/api and /api answer, data
    or error (the middleware adds it; the pages keep their own)."""
    from types import SimpleNamespace

    from chalicelib.api.http import error_middleware, json_response

    def answer(path, response):
        event = SimpleNamespace(path=path, method="GET", query_params=None)
        return error_middleware(event, lambda _event: response)

    data = answer("/console/api/tickets/{ticket_id}", json_response({"subject": "Parcel"}))
    assert _header(data, "Cache-Control") == "no-store"
    failed = answer("/console/api/tickets", json_response({"error": {}}, 403))
    assert _header(failed, "Cache-Control") == "no-store"
    assert _header(answer("/api/tickets", json_response({})), "Cache-Control") == "no-store"
    assert _header(answer("/s/{token}", json_response({})), "Cache-Control") is None  # pages: their own
    page = answer("/console/{page}", json_response({}, 200, {"Cache-Control": "no-cache"}))
    assert _header(page, "Cache-Control") == "no-cache"
