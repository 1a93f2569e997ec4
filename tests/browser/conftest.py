"""Browser tests: Debian's headless Chromium, driven by Selenium through Debian's chromedriver,
against the local stack started as `make dev` starts it (`python -m local`, free ports, its own
state directory), with JavaScript switched off to prove the pages need none.

The pages are in one file, and `make test` runs `--dist loadfile`, so one worker starts one
stack and one browser for all of them; test_staff_mail.py renders staff mail without a stack
(only a browser of its own). Screenshots of every page, both languages,
go to build/screenshots/ (SETU_SCREENSHOTS to change it).

Chromium and its driver come from `make browser` (apt, only when /usr/bin/chromium is
missing). Without them these tests skip, unless SETU_REQUIRE_BROWSER=1 (`make test` sets it)
makes that a failure.
"""
from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from local import stack as local_stack

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SETU_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SETU_CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = Path(os.environ.get("SETU_SCREENSHOTS", ROOT / "build" / "screenshots"))
ADMIN = {"X-Setu-Principal": local_stack.ADMIN_ARN}
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", "--disable-extensions", "--disable-default-apps",
         "--lang=bn-BD", "--window-size=420,900")


def _have_browser() -> bool:
    return os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)


@pytest.fixture(scope="session")
def browser_available():
    if not _have_browser():
        message = f"no {CHROMIUM} / {CHROMEDRIVER}: run `make browser` (Debian chromium, chromium-driver)"
        if os.environ.get("SETU_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)


# ---- a second web site, to embed the form and post it cross-origin --------------------------

class _Shop(http.server.BaseHTTPRequestHandler):
    pages: dict[str, str] = {}

    def do_GET(self):  # noqa: N802 - the stdlib's name
        body = self.pages.get(self.path.split("?")[0])
        if body is None:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@dataclass
class Site:
    url: str
    server: http.server.ThreadingHTTPServer

    def page(self, path: str, html: str) -> str:
        _Shop.pages[path] = html
        return self.url + path


@pytest.fixture(scope="session")
def shop(browser_available):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Shop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Site(f"http://127.0.0.1:{server.server_address[1]}", server)
    server.shutdown()
    server.server_close()


# ---- the local stack ------------------------------------------------------------------------

@dataclass
class Stack:
    process: subprocess.Popen
    info: dict
    log: Path

    @property
    def url(self) -> str:
        return self.info["api_url"]

    def api(self, method: str, path: str, **kw):
        response = requests.request(method, f"{self.url}{path}", headers=ADMIN, timeout=15, **kw)
        assert response.status_code < 300, response.text
        return response.json()

    def ticket_by_ref(self, ref: str) -> dict:
        return self.api("GET", f"/api/tickets/{ref}")

    def wait_for(self, predicate, timeout: float = 30.0, interval: float = 0.3):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"condition not met within {timeout}s")

    def stored_body(self, ticket_id: str, entry: dict) -> str:
        """A timeline message's body as stored (the agent API masks signed links in it: the
        customer's links are only in what was sent to the customer)."""
        import boto3

        client = boto3.client("dynamodb", endpoint_url=self.info["aws_endpoint_url"],
                              region_name=self.info["region"], aws_access_key_id="testing",
                              aws_secret_access_key="testing")
        item = client.get_item(TableName=self.info["tables"]["TimelineTable"],
                               Key={"ticket_id": {"S": ticket_id}, "sk": {"S": entry["sk"]}},
                               ConsistentRead=True)["Item"]
        return item["body"]["S"]

    def signing_secret(self) -> str:
        """The stack's signing secret as Secrets Manager holds it (JSON: signing.parse), for a
        test that needs a validly signed but expired link."""
        import boto3

        client = boto3.client("secretsmanager", endpoint_url=self.info["aws_endpoint_url"],
                              region_name=self.info["region"], aws_access_key_id="testing",
                              aws_secret_access_key="testing")
        return client.get_secret_value(SecretId=self.info["outputs"]["SigningSecretArn"])["SecretString"]


@pytest.fixture(scope="session")
def pages_stack(browser_available, shop, tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("setu-browser")
    env = {**os.environ, "SETU_API_PORT": str(local_stack.free_port()),
           "SETU_AWS_PORT": str(local_stack.free_port()),
           "SETU_SMTP_PORT": str(local_stack.free_port()),
           "SETU_STATE_DIR": str(state_dir), "SETU_FORM_LIMIT_PER_HOUR": "100",
           "SETU_SCHEDULE_SECONDS": "0", "SETU_FORM_ORIGINS": shop.url,
           # handlers run under their functions' policies (local/iam.py); denials land here
           "SETU_IAM": "enforce", "SETU_IAM_LOG": str(state_dir / "iam-denials.jsonl")}
    log = state_dir / "stack.log"
    process = subprocess.Popen([sys.executable, "-m", "local"], cwd=ROOT, env=env,
                               stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    info_path = state_dir / "local.json"
    deadline = time.monotonic() + 90
    while not info_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the local stack did not become ready:\n{log.read_text()}")
        time.sleep(0.2)
    running = Stack(process, json.loads(info_path.read_text()), log)
    yield running
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    denials = state_dir / "iam-denials.jsonl"
    assert not denials.exists() or not denials.read_text().strip(), \
        f"calls outside their function's IAM policy:\n{denials.read_text()}"


# ---- the browser ----------------------------------------------------------------------------

class Browser:
    """A thin layer over Selenium: pages by URL, fields by their label's `for`, screenshots."""

    def __init__(self, driver, base_url: str):
        self.driver = driver
        self.base_url = base_url

    def open(self, url: str):
        self.driver.get(url if url.startswith("http") else self.base_url + url)
        return self

    @property
    def html(self) -> str:
        return self.driver.page_source

    @property
    def url(self) -> str:
        return self.driver.current_url

    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        return self.find(css).text

    def field(self, label_text: str):
        """The control whose <label> reads `label_text` (as a screen reader finds it)."""
        for label in self.all("label"):
            if label.text.strip().startswith(label_text):
                return self.find("#" + label.get_attribute("for"))
        raise AssertionError(f"no field labelled {label_text!r}")

    def fill(self, label_text: str, value: str):
        element = self.field(label_text)
        element.clear()
        element.send_keys(value)
        return element

    def submit(self, css: str = "form button[type=submit]"):
        """Click the form's button and wait until the next page has replaced this one."""
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        old = self.find("html")

        def replaced(_driver) -> bool:
            try:
                old.is_enabled()
                return False
            except StaleElementReferenceException:
                return True
            except WebDriverException as error:
                # chromedriver asked mid-navigation answers this instead of "stale element"
                if "does not belong to the document" in str(error):
                    return True
                raise

        self.find(css).click()
        WebDriverWait(self.driver, 30).until(replaced)
        WebDriverWait(self.driver, 30).until(lambda d: self.all("main") or self.all("body > *"))
        return self

    def screenshot(self, name: str) -> Path:
        """The whole page (not just the window) as build/screenshots/<name>.png."""
        import base64

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
        path = SCREENSHOTS / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def status_code(self) -> int | None:
        """The HTTP status of the last navigation (from Chromium's performance log)."""
        for entry in reversed(self.driver.get_log("performance")):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.responseReceived" and \
                    message["params"].get("type") == "Document":
                return int(message["params"]["response"]["status"])
        return None


def chromium(base_url: str, *, performance_log: bool = False, javascript: bool = False,
             lang: str = "bn-BD"):
    """Headless Chromium, in its own profile, yielding a Browser on base_url; quit and cleaned
    up after. JavaScript is off unless asked for: every customer page must work as plain HTML
    forms; the agent console (tests/browser/test_console.py) is the one JavaScript application."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="setu-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag if not flag.startswith("--lang=") else f"--lang={lang}")
    options.add_argument(f"--user-data-dir={profile}")
    prefs = {"intl.accept_languages": lang}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    if performance_log:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield Browser(driver, base_url)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(pages_stack):
    yield from chromium(pages_stack.url, performance_log=True)


@pytest.fixture
def page(browser):
    browser.driver.get_log("performance")  # forget earlier navigations
    return browser


def link_in(text: str, path_prefix: str) -> str:
    """The first URL in `text` whose path starts with `path_prefix`."""
    found = re.search(r"https?://[^\s\"'<>]+" + re.escape(path_prefix) + r"[^\s\"'<>]+", text)
    assert found, f"no {path_prefix} link in {text!r}"
    return found.group(0).replace("&amp;", "&")
