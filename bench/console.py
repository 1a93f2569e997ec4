"""The agent console's first screen (issue 23): time until the queue is visible in headless
Chromium on the local stack, cold browser cache, median of 5; the console's assets in bytes
(raw and gzip); and the console files the API reads when it is imported (none: the assets are
read on first request, so they add nothing to a Lambda cold start).

How the time is taken: the stack is started as `make dev` starts it (`python -m local`, free
ports, its own state directory), a few web-form tickets are created and the local console agent
signs in once (Cognito's USER_PASSWORD_AUTH, as the sign-in page does). Then, 5 times, a new
Chromium with an empty profile (nothing cached) opens `/health` on the stack's origin (no console
asset), puts that session into localStorage `setu.session` as the sign-in page would, and
navigates to `/console/queue`. A script Chromium runs before the page's own (DevTools'
addScriptToEvaluateOnNewDocument: the page's CSP does not apply to it) watches the DOM and notes
`performance.now()` (milliseconds since navigation start) at the first moment the queue table
has rows, or the empty-queue text shows. The viewport is a phone's (420 px).

Goal (enforced): median < 1000 ms. Chromium comes from `make browser` (Debian's chromium and
chromium-driver); without it the figure is reported as not measured.
"""
from __future__ import annotations

import base64
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.figures import Figure

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
GOAL_MS = 1000
TICKETS = 5
WATCH = r"""
(function () {
  function seen() {
    var table = document.querySelector('table.queue');
    if (table && !table.hidden && table.querySelector('tbody tr')) return true;
    var count = document.querySelector('.queue-page p.count');
    return !!(count && count.textContent.trim() && count.offsetParent !== null);
  }
  function check() {
    if (window.__setuQueueVisible || !seen()) return;
    window.__setuQueueVisible = performance.now();
    observer.disconnect();
  }
  var observer = new MutationObserver(check);
  observer.observe(document, { childList: true, subtree: true, characterData: true, attributes: true });
})();
"""


def _start_stack(state: Path, tries: int = 3) -> tuple[subprocess.Popen, dict]:
    """The local stack on free ports; again on other ports when one of them was taken between
    being found free and being bound (an ephemeral port another connection got meanwhile)."""
    for attempt in range(1, tries + 1):
        try:
            return _start_stack_once(state)
        except RuntimeError as exc:
            if "address already in use" not in str(exc) or attempt == tries:
                raise
            for leftover in ("local.json", "stack.log"):
                (state / leftover).unlink(missing_ok=True)
    raise AssertionError("unreachable")


def _start_stack_once(state: Path) -> tuple[subprocess.Popen, dict]:
    from local import stack

    log = state / "stack.log"
    env = {**os.environ, "SETU_API_PORT": str(stack.free_port()),
           "SETU_AWS_PORT": str(stack.free_port()), "SETU_SMTP_PORT": str(stack.free_port()),
           "SETU_STATE_DIR": str(state), "SETU_SCHEDULE_SECONDS": "0",
           "SETU_LOG_LEVEL": "WARNING"}
    for name in [k for k in env if k.startswith("AWS_")]:
        del env[name]  # the launcher sets its own emulator credentials and endpoint
    with open(log, "wb") as out:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen([sys.executable, "-m", "local"], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    info_path = state / "local.json"
    deadline = time.monotonic() + 120
    while not info_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            stack.stop(process)
            raise RuntimeError("the local stack did not become ready:\n"
                               + "\n".join(log.read_text(errors="replace").splitlines()[-30:]))
        time.sleep(0.2)
    return process, json.loads(info_path.read_text())


def _session(info: dict) -> dict:
    """The console agent's tokens, kept as the sign-in page keeps them (core.js saveTokens)."""
    from local import stack

    idp = stack.client("cognito-idp", info["aws_endpoint_url"], info["region"])
    result = idp.initiate_auth(ClientId=info["user_pool_client_id"], AuthFlow="USER_PASSWORD_AUTH",
                               AuthParameters={"USERNAME": info["console_user"],
                                               "PASSWORD": info["console_password"]})
    tokens = result["AuthenticationResult"]
    payload = tokens["IdToken"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return {"id": tokens["IdToken"], "access": tokens["AccessToken"],
            "refresh": tokens.get("RefreshToken"), "exp": claims["exp"] * 1000,
            "username": info["console_user"]}


def _tickets(info: dict, count: int) -> None:
    import requests

    for n in range(count):
        response = requests.post(f"{info['api_url']}/tickets", timeout=15, json={
            "name": f"Bench {n}", "email": f"bench.console.{n}@example.com",
            "subject": f"Order {n} late", "message": "My order has not arrived", "lang": "en"})
        response.raise_for_status()


def _one_run(info: dict, session: dict) -> dict[str, Any]:
    """A fresh Chromium profile: the time from navigation start to the queue being visible."""
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.browser.conftest import chromium

    generator = chromium(info["api_url"], javascript=True, lang="en-US")
    browser = next(generator)
    try:
        driver = browser.driver
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": 420, "height": 900, "deviceScaleFactor": 1, "mobile": True})
        browser.open("/health")  # the origin, for localStorage; no console asset is loaded
        driver.execute_script("localStorage.setItem('setu.session', arguments[0]);"
                              "localStorage.setItem('setu.lang', 'en');", json.dumps(session))
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
        browser.open("/console/queue")
        visible = WebDriverWait(driver, 30, poll_frequency=0.05).until(
            lambda d: d.execute_script("return window.__setuQueueVisible || null"))
        timing = driver.execute_script("""
          var n = performance.getEntriesByType('navigation')[0];
          var r = performance.getEntriesByType('resource');
          return {response_end_ms: n.responseEnd, dom_content_loaded_ms: n.domContentLoadedEventEnd,
                  requests: r.length, transferred_bytes: r.reduce(function (s, e) { return s + (e.transferSize || 0); }, 0),
                  api_calls: r.filter(function (e) { return e.name.indexOf('/console/api/') >= 0; }).length};""")
        rows = driver.execute_script("return document.querySelectorAll('table.queue tbody tr').length")
        return {"visible_ms": round(visible, 1), "rows": rows,
                **{k: round(v, 1) if isinstance(v, float) else v for k, v in timing.items()}}
    finally:
        generator.close()


def asset_sizes() -> dict[str, Any]:
    """What a cold browser downloads for the console: the shell and every asset it names."""
    from chalicelib.api import console_pages

    names = list(console_pages.SCRIPTS) + list(console_pages.STYLES) + ["icon.svg"]
    files = {name: (console_pages.ASSETS / name).read_bytes() for name in names}
    files["(shell)"] = console_pages.shell_html("").encode()
    return {"bytes": sum(len(d) for d in files.values()),
            "gzip_bytes": sum(len(gzip.compress(d, 9)) for d in files.values()),
            "files": {name: {"bytes": len(d), "gzip_bytes": len(gzip.compress(d, 9))}
                      for name, d in files.items()}}


def files_read_at_import() -> list[str]:
    """Console files opened while a fresh interpreter imports the app (should be none)."""
    watch = ("import json, sys\nseen = []\n"
             "def hook(event, args):\n"
             "    if event in ('open', 'os.listdir', 'os.scandir') and args and args[0] is not None:\n"
             "        seen.append(str(args[0]))\n"
             "sys.addaudithook(hook)\nimport app  # noqa: F401\nprint(json.dumps(seen))\n")
    run = subprocess.run([sys.executable, "-c", watch], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True)
    opened = json.loads(run.stdout.strip().splitlines()[-1])
    from chalicelib.api.console_pages import ASSETS

    def in_console(path: str) -> bool:
        full = Path(path) if Path(path).is_absolute() else ROOT / path
        return not path.isdigit() and (full == ASSETS or ASSETS in full.parents)

    return [p for p in opened if in_console(p)]


def measure(runs: int = RUNS) -> list[Figure]:
    sizes = asset_sizes()
    read = files_read_at_import()
    figures = [
        Figure(name="console assets (shell, scripts, styles, icon), gzip", value=sizes["gzip_bytes"],
               unit="bytes", note=f"{sizes['bytes']:,} bytes uncompressed",
               details={**sizes, "lines": [
                   f"{sizes['bytes']:,} bytes raw, {sizes['gzip_bytes']:,} gzip: " + ", ".join(
                       f"{n} {f['gzip_bytes']:,}" for n, f in sizes["files"].items())]}),
        Figure(name="console files read when the app is imported (cold start)", value=len(read),
               unit="files", goal=0, details={"files": read}),
    ]
    if not (os.access(os.environ.get("SETU_CHROMIUM", "/usr/bin/chromium"), os.X_OK)
            and os.access(os.environ.get("SETU_CHROMEDRIVER", "/usr/bin/chromedriver"), os.X_OK)):
        figures.append(Figure(name="console first screen (queue visible), cold cache, median",
                              value=None, unit="ms", goal=GOAL_MS,
                              error="no Chromium: run `make browser`"))
        return figures
    state = Path(tempfile.mkdtemp(prefix="setu-bench-console-"))
    from local import stack

    process, info = _start_stack(state)
    try:
        _tickets(info, TICKETS)
        session = _session(info)
        results = [_one_run(info, session) for _ in range(runs)]
    finally:
        stack.stop(process, 30)
    times = [r["visible_ms"] for r in results]
    median = round(statistics.median(times), 1)
    figures.append(Figure(
        name=f"console first screen (queue visible), cold cache, median of {runs}", value=median,
        unit="ms", goal=GOAL_MS,
        note="navigation start to the queue's rows on screen, fresh Chromium profile each run, "
             "signed-in session in localStorage, local stack",
        details={"runs": results, "lines": [
            "runs (ms): " + ", ".join(f"{t:g}" for t in times),
            (f"first run: {results[0]['requests']} requests ({results[0]['api_calls']} to "
             f"/console/api), {results[0]['transferred_bytes']:,} bytes transferred, shell "
             f"received at {results[0]['response_end_ms']:g} ms, DOMContentLoaded "
             f"{results[0]['dom_content_loaded_ms']:g} ms")]}))
    return figures
