"""The agent console (issue 23) in headless Chromium with JavaScript on, in English and Bengali,
against the local stack (`pages_stack`, shared with the customer pages when one worker runs
both): sign in as the local console agent (local.json's console_user / console_password), find
a new web-form ticket in the queue, open it, reply with a macro, see the reply in the timeline
and the customer's email sent, change the status and see it stick after a reload, open the
reports and see their charts; the header's language switch turns every string over and is
remembered; every console path without a session (none, expired, signed out) shows the sign-in
page and no ticket data; the SMS segment counter (Setu.smsSegments) agrees with a reference
implementation. People other than the admin (made with the admin API, invited, given a known
password in the emulator's Cognito): an invited agent's first sign-in (a new password; a weak
one refused), an agent's navigation, queue (their department's tickets only), the role message,
Take and a reply as that agent; a deactivated agent's live session refused, and its sign-in
too; the account page's password change; a lead's navigation. Screenshots:
build/screenshots/console-<page>-<lang>.png (420 px wide).

Selectors are the console's shared contract (docs/console.md); one browser per language,
waits on conditions (WebDriverWait), no sleeps.
"""
from __future__ import annotations

import base64
import json
import math
import random
import re
import time
import uuid

import pytest
import requests

from tests.browser.conftest import ADMIN, chromium

LANGS = {"en": "en-US", "bn": "bn-BD"}
WAIT = 20
PHONE, DESKTOP = 420, 1280
BENGALI = re.compile(r"[\u0980-\u09FF]")
LATIN = re.compile(r"[A-Za-z]")
# kept in Latin letters in Bengali too, as a Dhaka support team writes them
ACRONYMS = re.compile(r"\b(SLA|CSV|TOTP|ID|URL)\b")
ADMIN_PAGES = ("decisions", "agents", "macros", "policies", "held", "departments", "account")


# ---- helpers ---------------------------------------------------------------------------------

class Console:
    """One language's browser on the console: sign in, open pages, wait for things."""

    def __init__(self, browser, stack, lang: str):
        self.b = browser
        self.driver = browser.driver
        self.stack = stack
        self.lang = lang
        self.size(PHONE)

    def size(self, width: int, height: int = 900):
        """The viewport: headless Chromium's window is never narrower than 500 px, so a phone's
        420 px is emulated (as DevTools' device mode does)."""
        self.width = width
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 720})

    def fits_width(self):
        """Nothing makes the page wider than the screen (wide tables scroll inside their own
        box). A phone widens its layout viewport to the content, so innerWidth is no measure."""
        widths = [self.js("return document.documentElement.scrollWidth"), self.width]
        wide = self.js("""
          var out = [], limit = arguments[0];
          document.querySelectorAll('body *').forEach(function (e) {
            var r = e.getBoundingClientRect();
            if (r.right > limit + 0.5 && !e.closest('.table-wrap, nav, .tabs'))
              out.push(e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ').join('.') : '')
                       + ' ' + Math.round(r.right) + 'px: ' + (e.textContent || '').trim().slice(0, 60));
          });
          return out.slice(0, 8);""", self.width)
        assert widths[0] <= widths[1], \
            f"the page is {widths[0]} px wide on a {widths[1]} px screen: {wide}"

    def wait(self, condition, timeout: float = WAIT, what: str = "condition"):
        from selenium.common.exceptions import (
            StaleElementReferenceException,
            TimeoutException,
        )
        from selenium.webdriver.support.ui import WebDriverWait

        def check(_driver):
            try:
                return condition()
            except StaleElementReferenceException:
                return False

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(check)
        except TimeoutException:
            self.b.screenshot(f"console-failed-{self.lang}")
            raise AssertionError(f"{what}: not within {timeout}s at {self.driver.current_url}\n"
                                 f"{self.body_text()[:1500]}\nJS: {self.js_errors()}") from None

    def visible(self, css: str, timeout: float = WAIT):
        return self.wait(lambda: next((e for e in self.b.all(css) if e.is_displayed()), None),
                         timeout, f"visible {css}")

    def open(self, path: str):
        self.b.open(f"/console/{path}" if path else "/console")
        return self

    def body_text(self) -> str:
        try:
            return self.driver.find_element("css selector", "body").text
        except Exception:  # noqa: BLE001 - only for messages
            return ""

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def js_errors(self) -> list[str]:
        """Script errors logged since the last call (failed loads, 401s, are not errors)."""
        try:
            entries = self.driver.get_log("browser")
        except Exception:  # noqa: BLE001 - a driver without the log
            return []
        return [e["message"] for e in entries if e.get("level") == "SEVERE"
                and "Failed to load resource" not in e["message"]]

    def forget_session(self):
        if not self.driver.current_url.startswith(self.stack.url):
            self.open("signin")
        self.js("localStorage.removeItem('setu.session'); sessionStorage.clear();")

    def on_signin_page(self):
        self.visible("input[name=username]")
        self.wait(lambda: self.b.all("form button[type=submit]"), what="sign-in button")
        assert self.driver.current_url.endswith("/console/signin"), self.driver.current_url
        assert not self.b.all("header.top"), "the header (with navigation) before sign-in"

    def sign_in(self, password: str | None = None, user: str | None = None):
        """Sign in through the form (from wherever the browser is: the sign-in page shows), as
        the local console agent unless another user is named."""
        self.visible("input[name=username]")
        name = self.b.find("input[name=username]")
        name.clear()
        name.send_keys(user or self.stack.info["console_user"])
        secret = self.b.find("input[name=password]")
        secret.clear()
        secret.send_keys(password or self.stack.info["console_password"])
        self.b.find("form button[type=submit]").click()
        return self

    def signed_in(self):
        """The browser with a session, on some console page."""
        self.open("queue")
        self.wait(lambda: self.b.all("header.top") or self.b.all("input[name=username]"),
                  what="the queue or the sign-in page")
        if not self.b.all("header.top"):
            self.sign_in()
            self.visible("header.top")
        return self

    def select(self, css: str, value: str):
        from selenium.webdriver.support.ui import Select

        element = self.visible(css)
        Select(element).select_by_value(value)
        return element

    def lang_attr(self) -> str:
        return self.js("return document.documentElement.lang")

    def screenshot(self, page: str):
        # from the top: a sticky header would otherwise be drawn where the page was scrolled to
        self.js("window.scrollTo(0, 0)")
        return self.b.screenshot(f"console-{page}-{self.lang}")


@pytest.fixture(scope="module")
def consoles(pages_stack):
    """console(lang) -> that language's Console: one Chromium per language for this file."""
    opened: dict[str, Console] = {}
    generators = []

    def console(lang: str) -> Console:
        if lang not in opened:
            generator = chromium(pages_stack.url, javascript=True, lang=LANGS[lang])
            generators.append(generator)
            opened[lang] = Console(next(generator), pages_stack, lang)
        return opened[lang]

    yield console
    for generator in generators:
        generator.close()  # quits Chromium, removes its profile


TICKETS: dict[str, dict] = {}


def ticket_for(stack, lang: str) -> dict:
    """This language's web-form ticket (one per language per file), with a unique subject and
    customer name to look for (and not find, without a session)."""
    if lang not in TICKETS:
        tag = uuid.uuid4().hex[:8]
        body = {"name": f"Rahim {tag}" if lang == "en" else f"রহিম {tag}",
                "email": f"rahim.console.{lang}.{tag}@example.com",
                "subject": f"Parcel missing {tag}" if lang == "en" else f"পার্সেল পাইনি {tag}",
                "message": "My parcel has not arrived" if lang == "en" else "আমার পার্সেল আসেনি",
                "lang": lang}
        response = requests.post(f"{stack.url}/tickets", json=body, timeout=15)
        assert response.status_code == 201, response.text
        TICKETS[lang] = {**response.json(), **body, "tag": tag}
    return TICKETS[lang]


def sent_mail_text(stack, address: str) -> list[str]:
    """Plain text of every mail the emulator's SES sent to `address`."""
    from email import message_from_bytes, policy

    data = requests.get(f"{stack.info['aws_endpoint_url']}/moto-api/data.json", timeout=30).json()
    texts = []
    for raw in data.get("ses", {}).get("RawMessage", []):
        if address in raw["destinations"]:
            mail = message_from_bytes(raw["raw_data"].encode(), policy=policy.default)
            body = mail.get_body(preferencelist=("plain",))
            texts.append(f"{mail['Subject']}\n{body.get_content() if body else ''}")
    return texts


def chrome_text(console: Console) -> str:
    """The console's own words on the page: header and main, without data (table rows, the
    agent's name, option labels that are department names) and without the language switch
    (it names the other language in that language); placeholders and aria-labels included."""
    return console.js("""
      var out = [];
      function skip(el) {
        return el.closest('tbody, .me, button.lang, .customer, .timeline, input, textarea') ||
               (el.closest('option') && el.closest('option').value !== '');
      }
      document.querySelectorAll('header.top, main').forEach(function (root) {
        var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
          var node = walker.currentNode;
          if (node.textContent.trim() && !skip(node.parentElement)) out.push(node.textContent.trim());
        }
        root.querySelectorAll('[placeholder], [aria-label]').forEach(function (el) {
          if (el.closest('tbody, .me, button.lang')) return;
          ['placeholder', 'aria-label'].forEach(function (a) { if (el.getAttribute(a)) out.push(el.getAttribute(a)); });
        });
      });
      return out.join(' | ');""")


# ---- the working flow, per language -----------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "bn"])
def test_sign_in_with_a_wrong_password_then_the_right_one(consoles, pages_stack, lang):
    console = consoles(lang)
    console.forget_session()
    console.open("")
    console.on_signin_page()
    assert console.lang_attr() == lang  # the browser's language, nothing stored yet
    button = console.b.find("form button[type=submit]").text
    assert button == ("Sign in" if lang == "en" else "সাইন ইন")
    console.fits_width()
    console.screenshot("signin")

    console.sign_in(password="Not-The-Password-1")
    error = console.visible("form .error[role=alert]")
    assert error.text == ("Wrong email or password." if lang == "en" else "ইমেইল বা পাসওয়ার্ড ভুল।")
    assert console.js("return localStorage.getItem('setu.session')") is None
    console.b.find("input[name=password]").clear()
    console.sign_in()
    console.visible("header.top")
    console.wait(lambda: console.driver.current_url.endswith("/console/queue"), what="the queue")
    session = json.loads(console.js("return localStorage.getItem('setu.session')"))
    assert session["id"] and session["refresh"] and session["exp"] > time.time() * 1000
    assert console.js_errors() == []


@pytest.mark.parametrize("lang", ["en", "bn"])
def test_a_new_web_form_ticket_shows_in_the_queue(consoles, pages_stack, lang):
    ticket = ticket_for(pages_stack, lang)
    console = consoles(lang).signed_in()
    ref = ticket["ref"]
    console.open("queue?view=unassigned")
    console.wait(lambda: console.b.all("table.queue tbody tr") or console.b.all("p.count"),
                 what="the queue")
    row_css = f'table.queue tbody tr[data-ref="{ref}"]'
    if not console.b.all(row_css):  # more than a page of unassigned tickets: search by ref
        search = console.visible("input[name=q]")
        search.clear()
        search.send_keys(ref)
        console.b.find("form.filters button[type=submit]").click()
    row = console.visible(row_css)
    link = row.find_element("css selector", "td.ref a")
    assert link.text == f"#{ref}"
    assert ticket["subject"] in row.text
    # the console's words in the browser's language; dates in its digits
    heading = console.b.find("main h1").text
    assert heading == ("Unassigned" if lang == "en" else "কারও নয়")
    when = row.find_element("css selector", "td.when").text
    if lang == "bn":
        assert when and not re.search(r"[0-9]", when), when
    console.fits_width()
    console.screenshot("queue")
    console.size(DESKTOP)
    console.screenshot("queue-desktop")
    console.size(PHONE)

    link.click()
    console.visible(f'section.ticket-page[data-ref="{ref}"]')
    assert console.driver.current_url.endswith(f"/console/tickets/{ref}")
    assert console.js_errors() == []


def _macro(stack, lang: str, tag: str) -> str:
    name = f"console-test-{lang}-{tag}"
    response = requests.put(f"{stack.url}/api/macros/{name}", headers=ADMIN, timeout=15, json={
        "title": f"Parcel on its way {tag} / পার্সেল পথে {tag}",
        "body": {"en": "Dear {{ customer.first_name or 'customer' }},\nyour parcel "
                       f"{{{{ ticket.ref | ref }}}} is on its way (note {tag}).\n\nThanks,\n{{{{ agent.name }}}}",
                 "bn": "প্রিয় {{ customer.first_name or 'গ্রাহক' }},\nআপনার পার্সেল "
                       f"{{{{ ticket.ref | ref }}}} পথে আছে (নোট {tag})।\n\nধন্যবাদ,\n{{{{ agent.name }}}}"},
        "channels": ["email", "sms"], "version": 0})
    assert response.status_code == 200, response.text
    return name


@pytest.mark.parametrize("lang", ["en", "bn"])
def test_reply_with_a_macro_reaches_the_timeline_and_the_customers_mailbox(consoles, pages_stack, lang):
    ticket = ticket_for(pages_stack, lang)
    tag, ref = ticket["tag"], ticket["ref"]
    macro = _macro(pages_stack, lang, tag)
    console = consoles(lang).signed_in()
    console.open(f"tickets/{ref}")
    console.visible(f'section.ticket-page[data-ref="{ref}"]')
    inbound = console.visible("ol.timeline > li.entry[data-kind=message][data-direction=in]")
    assert inbound.get_attribute("data-channel") == "web"

    reply = console.visible("form.reply")
    # the macro list is loaded when the page opens: wait for this one
    console.wait(lambda: reply.find_elements("css selector", f'select[name=macro] option[value="{macro}"]'),
                 what=f"macro {macro} in the list")
    console.select("form.reply select[name=macro]", macro)
    preview = console.wait(lambda: next((p for p in console.b.all("form.reply .macro-preview, .macro-preview")
                                         if tag in p.text), None), what="the macro's preview")
    assert ("your parcel" if lang == "en" else "আপনার পার্সেল") in preview.text
    channel = reply.find_elements("css selector", "select[name=channel]")
    if channel and channel[0].find_elements("css selector", "option[value=email]"):
        console.select("form.reply select[name=channel]", "email")
    assert reply.find_elements("css selector", "textarea[name=body]")
    assert reply.find_elements("css selector", "input[type=file][name=attachments]")
    send = reply.find_element("css selector", "button[type=submit]")
    assert ("Send" if lang == "en" else "পাঠান") in send.text
    console.fits_width()
    console.screenshot("ticket")
    console.size(DESKTOP)
    console.fits_width()
    console.screenshot("ticket-desktop")
    console.size(PHONE)
    send = console.b.find("form.reply button[type=submit]")
    send.click()

    console.wait(lambda: [e for e in console.b.all(
        "ol.timeline > li.entry[data-kind=message][data-direction=out]") if tag in e.text],
        what="the reply in the timeline")
    def replies() -> list[dict]:
        sent = pages_stack.api("GET", f"/api/tickets/{ticket['id']}")
        return [m for m in sent["timeline"] if m.get("entry") == "message"
                and m.get("direction") == "out" and tag in (m.get("body") or "")]

    try:
        found = pages_stack.wait_for(replies, timeout=10)
    except AssertionError:
        timeline = pages_stack.api("GET", f"/api/tickets/{ticket['id']}")["timeline"]
        raise AssertionError(f"no reply with {tag} on the ticket: {timeline}") from None
    assert len(found) == 1, found
    [message] = found
    assert message["channel"] == "email" and message.get("kind") == "reply", message
    assert (message.get("macro") or {}).get("name", macro) == macro
    first_name = ticket["name"].split()[0]
    assert first_name in message["body"]
    mails = pages_stack.wait_for(lambda: [m for m in sent_mail_text(pages_stack, ticket["email"])
                                          if tag in m], timeout=30)
    assert len(mails) == 1 and first_name in mails[0]
    console.fits_width()
    console.screenshot("ticket-replied")
    assert console.js_errors() == []


def _apply_status(console: Console, status: str):
    """Choose the status; if its form has a save button (other than the reply's), press it."""
    element = console.select("select[name=status]", status)
    console.js("""
      var form = arguments[0].closest('form');
      if (form && !form.classList.contains('reply')) {
        var button = form.querySelector('button[type=submit]');
        if (button) button.click();
      }""", element)


@pytest.mark.parametrize("lang,status", [("en", "pending"), ("bn", "resolved")])
def test_status_change_sticks_after_a_reload(consoles, pages_stack, lang, status):
    ticket = ticket_for(pages_stack, lang)
    console = consoles(lang).signed_in()
    console.open(f"tickets/{ticket['ref']}")
    console.visible(f'section.ticket-page[data-ref="{ticket["ref"]}"]')
    for name in ("status", "priority", "department", "assignee"):
        console.visible(f"select[name={name}]")
    assert console.b.all("button.take") or console.b.all("select[name=assignee]")
    _apply_status(console, status)
    pages_stack.wait_for(lambda: pages_stack.api("GET", f"/api/tickets/{ticket['id']}")["status"] == status,
                         timeout=WAIT)
    console.driver.refresh()
    console.visible(f'section.ticket-page[data-ref="{ticket["ref"]}"]')
    console.wait(lambda: console.b.find("select[name=status]").get_attribute("value") == status,
                 what=f"status {status} after the reload")
    # the change is on the timeline too
    console.wait(lambda: console.b.all("ol.timeline > li.entry[data-kind=event]"), what="events")
    assert console.js_errors() == []


@pytest.mark.parametrize("lang", ["en", "bn"])
def test_reports_show_charts_with_data(consoles, pages_stack, lang):
    ticket_for(pages_stack, lang)
    console = consoles(lang).signed_in()
    console.open("reports")
    console.visible("section.reports-page")
    for css in ("input[name=from]", "input[name=to]", "select[name=department]"):
        console.visible(css)
    console.wait(lambda: console.b.all("section.reports-page svg.chart"), what="charts")
    charts = console.js("""
      return Array.prototype.map.call(document.querySelectorAll('section.reports-page svg.chart'), function (svg) {
        var title = svg.querySelector('title');
        return {title: title ? title.textContent.trim() : '', series: svg.getAttribute('data-series') || '',
                marks: svg.querySelectorAll('rect, path, circle, polyline, line').length,
                width: svg.getBoundingClientRect().width};
      });""")
    assert charts
    for chart in charts:
        assert chart["title"], chart
        assert chart["series"], chart
        assert 0 < chart["width"] <= 420, chart  # fits the phone's width
        if lang == "bn":
            assert BENGALI.search(chart["title"]), chart
    assert any(chart["marks"] > 0 for chart in charts), charts
    assert console.b.all("a.csv") or console.b.all("button.csv")
    console.fits_width()
    console.screenshot("reports")
    console.size(DESKTOP)
    console.wait(lambda: console.js("return document.querySelector('svg.chart').getBoundingClientRect().width") > 420,
                 what="the charts widen on a desktop")
    console.fits_width()
    console.screenshot("reports-desktop")
    console.size(PHONE)
    assert console.js_errors() == []


@pytest.mark.parametrize("lang", ["en", "bn"])
def test_admin_pages_that_exist_open(consoles, pages_stack, lang):
    console = consoles(lang).signed_in()
    registered = console.js("return Object.keys(Setu.PAGES)")
    present = [name for name in ADMIN_PAGES if name in registered]
    for name in present:
        console.open(name)
        console.visible(f"section.{name}-page")
        console.fits_width()
        console.screenshot(name)
    assert console.js_errors() == []


# ---- the language switch --------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "bn"])
def test_the_language_switch_flips_every_string_and_is_remembered(consoles, pages_stack, lang):
    ticket_for(pages_stack, lang)
    console = consoles(lang).signed_in()
    other = "bn" if lang == "en" else "en"
    console.open("queue?view=open")
    console.visible("header.top")
    console.wait(lambda: console.b.find("p.count").text, what="the queue's count")
    assert console.lang_attr() == lang
    console.b.find(f"button.lang[data-lang={other}]").click()
    console.wait(lambda: console.lang_attr() == other, what=f"lang={other}")
    console.wait(lambda: console.b.find("p.count").text, what="the queue again")

    def foreign_words() -> list[str]:
        pattern = LATIN if other == "bn" else BENGALI
        return [part for part in chrome_text(console).split(" | ")
                if pattern.search(ACRONYMS.sub("", part))]

    console.wait(lambda: not foreign_words(), timeout=5,
                 what=f"every string in {other}: still {foreign_words()}")
    if other == "bn":
        assert not re.search(r"[0-9]", console.b.find("p.count").text)
    assert console.b.find(f"button.lang[data-lang={lang}]")  # the way back
    assert console.js("return localStorage.getItem('setu.lang')") == other

    console.driver.refresh()
    console.visible("header.top")
    console.wait(lambda: console.b.find("p.count").text, what="the queue after the reload")
    assert console.lang_attr() == other
    assert not foreign_words(), foreign_words()
    console.screenshot(f"queue-switched-to-{other}")

    console.b.find(f"button.lang[data-lang={lang}]").click()
    console.wait(lambda: console.lang_attr() == lang, what=f"lang={lang} again")
    assert console.js("return localStorage.getItem('setu.lang')") == lang
    assert console.js_errors() == []


# ---- no session, no data --------------------------------------------------------------------

def _no_ticket_data(console: Console):
    html = console.b.html
    for ticket in TICKETS.values():
        for secret in (ticket["subject"], ticket["name"], ticket["email"], ticket["tag"]):
            assert secret not in html, f"{secret!r} shown without a session"


def _fake_jwt(claims: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'kid': 'nope'})}.{part(claims)}.{part({'sig': 'bad'})}"


def test_without_a_session_every_console_path_is_the_sign_in_page(consoles, pages_stack):
    ticket = ticket_for(pages_stack, "en")
    console = consoles("en")
    console.forget_session()
    for path in ("", "queue", f"tickets/{ticket['ref']}", "reports", "account"):
        console.open(path)
        console.on_signin_page()
        _no_ticket_data(console)
    # where the person was going is where they land after signing in
    console.open("queue?view=open")
    console.on_signin_page()
    console.sign_in()
    console.wait(lambda: console.driver.current_url.endswith("/console/queue?view=open"),
                 what="back to the view asked for")
    console.visible("header.top")


@pytest.mark.parametrize("kind", ["expired", "refused"])
def test_an_expired_session_gets_the_sign_in_page(consoles, pages_stack, kind):
    ticket = ticket_for(pages_stack, "en")
    console = consoles("en")
    console.forget_session()
    now_ms = int(time.time() * 1000)
    # expired: the ID token's expiry has passed, and the refresh token is refused;
    # refused: the session looks current, but the API refuses the token (401) and so does Cognito
    exp = now_ms - 3_600_000 if kind == "expired" else now_ms + 3_600_000
    info = pages_stack.info
    token = _fake_jwt({"sub": "x", "email": info["console_user"], "token_use": "id", "exp": exp // 1000,
                       "aud": info.get("user_pool_client_id", "x"), "iss": "nope"})
    session = {"id": token, "access": token, "refresh": "not-a-refresh-token", "exp": exp,
               "username": info["console_user"]}
    console.js("localStorage.setItem('setu.session', arguments[0])", json.dumps(session))
    console.open(f"tickets/{ticket['ref']}")
    console.on_signin_page()
    _no_ticket_data(console)
    console.wait(lambda: console.js("return localStorage.getItem('setu.session')") is None,
                 what="the dead session forgotten")


def test_after_signing_out_back_shows_the_sign_in_page(consoles, pages_stack):
    ticket = ticket_for(pages_stack, "en")
    console = consoles("en").signed_in()
    console.open(f"queue?q={ticket['ref']}")
    console.visible(f'table.queue tbody tr[data-ref="{ticket["ref"]}"]')
    console.b.find("button.signout").click()
    console.on_signin_page()
    assert console.js("return localStorage.getItem('setu.session')") is None
    console.driver.back()
    console.on_signin_page()
    _no_ticket_data(console)
    console.driver.back()
    console.on_signin_page()
    _no_ticket_data(console)


def test_the_console_api_refuses_without_a_token(pages_stack):
    for path in ("/console/api/tickets", "/console/api/me", "/console/api/reports"):
        response = requests.get(pages_stack.url + path, timeout=15)
        assert response.status_code == 401, (path, response.text)
        assert "Parcel" not in response.text


# ---- the SMS segment counter ------------------------------------------------------------------

GSM7_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
              "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = "^{}\\[~]|€"


def reference_segments(text: str) -> dict:
    """GSM 03.38: GSM-7 text is 160 septets in one segment, 153 per part (an extension character
    costs two septets); anything else is UCS-2, counted in UTF-16 code units: 70 in one, 67 per
    part."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION or ch in "\x1b\f" for ch in text):
        units = sum(2 if ch in GSM7_EXTENSION or ch == "\f" else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
        single, multi, encoding = 70, 67, "UCS-2"
    return {"encoding": encoding, "units": units,
            "segments": 1 if units <= single else math.ceil(units / multi)}


BOUNDARIES = [
    "a" * 160, "a" * 161, "a" * 306, "a" * 307, "a" * 459, "a" * 460,
    "€" * 80, "€" * 81, "a" * 159 + "€", "a" * 158 + "[", "{}" * 40 + "a",
    "ক" * 70, "ক" * 71, "ক" * 134, "ক" * 135, "ক" * 201, "ক" * 202,
    "আপনার টিকিট #১০৪২ সমাধান হয়েছে। ধন্যবাদ!",
    "a" * 69 + "ক", "a" * 70 + "ক", "😀" * 35, "😀" * 36, "ক" * 69 + "😀",
    "Your order #1042 is on its way.", "Price: 100৳", "Çà va? ñ ü Ø",
]


def _random_texts(seed: int, count: int = 40) -> list[str]:
    rng = random.Random(seed)
    pools = [GSM7_BASIC, GSM7_BASIC + GSM7_EXTENSION, "অআইঈউকখগঘচছজঝটঠডঢণতথদধনপফবভমযরলশষসহড়ঢ়য়ৎংঃঁ০১২৩৪৫৬৭৮৯ ািীুূেৈোৌ্।",
             GSM7_BASIC + "অআকখ।", "😀🙏👍" + GSM7_BASIC]
    texts = []
    for _ in range(count):
        pool = rng.choice(pools)
        length = rng.choice([rng.randint(1, 200), rng.randint(60, 75), rng.randint(130, 170),
                             rng.randint(300, 320)])
        texts.append("".join(rng.choice(pool) for _ in range(length)))
    return texts


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 23])
def test_sms_segments_agree_with_the_reference(consoles, pages_stack, seed):
    from chalicelib.services.messaging.sms_text import segments as server_segments

    console = consoles("en")
    if not console.js("return !!window.Setu"):
        console.open("signin")
    console.wait(lambda: console.js("return !!(window.Setu && Setu.PAGES && Setu.PAGES.signin)"),
                 what="the console's scripts")
    assert console.js("return typeof Setu.smsSegments") == "function", \
        "Setu.smsSegments (the ticket page's SMS counter) is missing"
    texts = (BOUNDARIES if seed == 0 else []) + _random_texts(seed)
    answers = console.js("return arguments[0].map(function (t) { return Setu.smsSegments(t); });", texts)
    for text, answer in zip(texts, answers):
        expected = reference_segments(text)
        # the reference is the server's rule too (the API counts what it will send)
        assert server_segments(text).to_dict() == expected, text
        if isinstance(answer, (int, float)):
            got = {"segments": int(answer)}
        else:
            got = {k: answer[k] for k in ("encoding", "units", "segments") if k in answer}
            if "segments" not in got and "count" in answer:
                got["segments"] = answer["count"]
        assert got == {k: expected[k] for k in got} and "segments" in got, (text, got, expected)


# ---- the ticket page's other tools (one language: the flow above covers both) ---------------

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


def test_ticket_tools_customer_take_note_sms_counter_files_callback_merge(consoles, pages_stack, tmp_path):
    """In Bengali: the customer's other ticket is linked, Take assigns the ticket to me, a note
    lands on the timeline, the SMS counter counts Bengali as UCS-2 in Bengali digits, an email
    reply carries a file, a callback is scheduled, and the ticket is merged into the other."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    tag = uuid.uuid4().hex[:8]
    customer = {"name": f"করিম {tag}", "email": f"karim.{tag}@example.com", "phone": "+8801711000222",
                "lang": "bn"}
    first = requests.post(f"{pages_stack.url}/tickets", timeout=15,
                          json={**customer, "subject": f"বিল ভুল {tag}", "message": "বিলে ভুল আছে"}).json()
    second = requests.post(f"{pages_stack.url}/tickets", timeout=15,
                           json={**customer, "subject": f"আবার বিল {tag}", "message": "আবার লিখছি"}).json()
    console = consoles("bn").signed_in()
    console.open(f"tickets/{second['ref']}")
    console.visible(f'section.ticket-page[data-ref="{second["ref"]}"]')

    other = console.wait(lambda: [a for a in console.b.all(".customer .other-tickets a")
                                  if first["ref"] in a.text or
                                  (a.get_attribute("href") or "").endswith(f"/tickets/{first['ref']}")],
                         what="the customer's other ticket")
    assert other

    def ticket() -> dict:
        return pages_stack.api("GET", f"/api/tickets/{second['id']}")

    console.visible("button.take").click()
    pages_stack.wait_for(lambda: ticket()["assignee"], timeout=WAIT)

    note = console.visible("form.note textarea[name=note]")
    note.send_keys(f"গ্রাহক আবার ফোন করবেন {tag}")
    console.b.find("form.note button[type=submit]").click()
    console.wait(lambda: [e for e in console.b.all("ol.timeline > li.entry[data-kind=note]") if tag in e.text],
                 what="the note on the timeline")

    # the SMS counter: 71 Bengali letters are two UCS-2 parts (70 fit in one)
    console.select("form.reply select[name=channel]", "sms")
    body = console.visible("form.reply textarea[name=body]")
    body.send_keys("ক" * 70)
    counter = console.visible("form.reply .sms-counter")
    console.wait(lambda: "১টি অংশ" in counter.text and "৭০" in counter.text, what=f"one part: {counter.text}")
    body.send_keys("ক")
    console.wait(lambda: "২টি অংশ" in counter.text and "৭১" in counter.text, what=f"two parts: {counter.text}")
    assert not re.search(r"[0-9]", counter.text), counter.text
    body.clear()
    body.send_keys(" ")  # an input event: the draft is emptied too

    # an email reply with a file
    console.select("form.reply select[name=channel]", "email")
    assert not console.b.find("form.reply .sms-counter").is_displayed()
    picture = tmp_path / "receipt.png"
    picture.write_bytes(PNG)
    console.b.find("form.reply input[type=file][name=attachments]").send_keys(str(picture))
    body = console.b.find("form.reply textarea[name=body]")
    body.clear()
    body.send_keys(f"রসিদটি সংযুক্ত করলাম {tag}")
    console.b.find("form.reply button[type=submit]").click()
    console.wait(lambda: [e for e in console.b.all("ol.timeline > li.entry[data-kind=message][data-direction=out]")
                          if tag in e.text and "receipt.png" in e.text], what="the reply with its file")
    [reply] = pages_stack.wait_for(lambda: [m for m in ticket()["timeline"] if m.get("direction") == "out"
                                            and tag in (m.get("body") or "")], timeout=WAIT)
    assert reply["channel"] == "email"
    assert [a.get("filename") for a in reply.get("attachments") or []] == ["receipt.png"], reply

    # a callback tomorrow at 11:00, business time
    tomorrow = (datetime.now(ZoneInfo("Asia/Dhaka")) + timedelta(days=1)).strftime("%Y-%m-%d")
    at = console.visible("form.callback input[name=at]")
    console.js("arguments[0].value = arguments[1];"
               "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", at, f"{tomorrow}T11:00")
    console.b.find("form.callback button[type=submit]").click()
    pages_stack.wait_for(lambda: [e for e in ticket()["timeline"] if e.get("type") == "callback.scheduled"],
                         timeout=WAIT)
    console.fits_width()
    console.screenshot("ticket-tools")

    # merge into the first ticket: asked to confirm, then on the first ticket
    into = console.visible("form.merge input[name=into]")
    into.send_keys(f"#{first['ref']}")
    console.b.find("form.merge button[type=submit]").click()
    console.visible("form.merge .confirm-merge").click()
    console.visible(f'section.ticket-page[data-ref="{first["ref"]}"]')
    merged = ticket()
    assert merged["status"] == "merged" or merged.get("merged_into"), merged["status"]
    assert console.js_errors() == []


# ---- people other than the admin --------------------------------------------------------------
# Console-only agents made from outside, as an admin makes them: POST /api/agents by email, POST
# .../invite (Cognito creates the user with a temporary password), the emulator's Cognito given
# a known password. Each test has its own person and forgets the session before and after, so
# the admin's tests above and below sign in as the local admin again.

WEAK = {"en": "That password is too weak: at least 12 characters, with upper and lower case "
              "letters and a digit.",
        "bn": "পাসওয়ার্ডটি দুর্বল: অন্তত ১২ অক্ষর দিন, তাতে বড় ও ছোট হাতের অক্ষর এবং একটি সংখ্যা থাকবে।"}
NEW_PASSWORD_TITLE = {"en": "Choose your password", "bn": "আপনার পাসওয়ার্ড বেছে নিন"}
ROLE_MESSAGE = {"en": "Your role cannot open this page. Ask an admin if you need it.",
                "bn": "আপনার ভূমিকায় এই পাতা খোলা যায় না। দরকার হলে একজন অ্যাডমিনকে বলুন।"}
WRONG_PASSWORD = {"en": "Wrong email or password.", "bn": "ইমেইল বা পাসওয়ার্ড ভুল।"}
SWITCHED_OFF = {"en": "Your account is switched off", "bn": "আপনার অ্যাকাউন্ট বন্ধ করা আছে"}
SIGN_IN_DISABLED = {"en": "This account is switched off. Ask an admin.",
                    "bn": "এই অ্যাকাউন্টটি বন্ধ। একজন অ্যাডমিনকে বলুন।"}
LEAD_PAGES = {"decisions", "agents", "macros", "policies", "reports"}
ADMIN_ONLY_PAGES = {"held", "departments"}


def _cognito(stack):
    import boto3

    return boto3.client("cognito-idp", endpoint_url=stack.info["aws_endpoint_url"],
                        region_name=stack.info["region"], aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def _person(stack, role: str, departments: tuple[str, ...] = (), *, temporary: bool = False) -> dict:
    """A console-only agent created by email and invited through the admin API, whose Cognito
    user then gets a known password: temporary (the first sign-in must choose its own, as with
    the invitation's) or permanent."""
    tag = uuid.uuid4().hex[:8]
    email = f"{role}.{tag}@shop.example"
    agent = stack.api("POST", "/api/agents", json={
        "email": email, "role": role, "departments": list(departments),
        "display_name": f"Nusrat {tag}"})
    invited = stack.api("POST", f"/api/agents/{agent['id']}/invite")
    assert invited["invitation"] == "sent" and invited["agent"]["console_user"] == email, invited
    password = f"Temp-{tag}-Aa1" if temporary else f"Kaj-{tag}-Bb2"
    _cognito(stack).admin_set_user_password(UserPoolId=stack.info["user_pool_id"], Username=email,
                                            Password=password, Permanent=not temporary)
    return {**agent, "email": email, "password": password, "tag": tag}


def _department_ticket(stack, department: str, tag: str) -> dict:
    body = {"name": f"Shirin {tag}", "email": f"shirin.{department}.{tag}@example.com",
            "subject": f"{department.title()} question {tag}", "message": "Please call me back",
            "department": department, "lang": "en"}
    response = requests.post(f"{stack.url}/tickets", json=body, timeout=15)
    assert response.status_code == 201, response.text
    ticket = {**response.json(), **body}
    assert stack.ticket_by_ref(ticket["ref"])["department"] == department
    return ticket


def _header_pages(console: Console, css: str = "header.top a[href]") -> set[str]:
    """The console pages the header links to (their last path segment)."""
    hrefs = console.js("return Array.prototype.map.call(document.querySelectorAll(arguments[0]),"
                       " function (a) { return a.getAttribute('href'); });", css)
    return {href.rstrip("/").split("/")[-1] for href in hrefs}


def _script_errors(console: Console) -> list[str]:
    """console.js_errors(), less the emulator's answer to Sign out's RevokeToken: moto lacks the
    operation, and its error has no CORS header (docs/console.md: locally the browser only
    forgets the tokens)."""
    endpoint = console.stack.info["aws_endpoint_url"].rstrip("/")
    return [e for e in console.js_errors() if not (f"fetch at '{endpoint}/'" in e and "CORS" in e)]


def _session(console: Console):
    return console.js("return localStorage.getItem('setu.session')")


@pytest.fixture
def someone_else(consoles):
    """consoles(lang) with no session, for a person other than the local admin; forgotten
    again afterwards."""
    used: list[Console] = []

    def console(lang: str) -> Console:
        chosen = consoles(lang)
        chosen.forget_session()
        used.append(chosen)
        return chosen

    yield console
    for chosen in used:
        chosen.forget_session()


@pytest.mark.parametrize("lang", ["bn", "en"])
def test_an_invited_agent_signs_in_first_and_works_only_their_departments(someone_else, pages_stack, lang):
    stack = pages_stack
    person = _person(stack, "agent", ("billing",), temporary=True)
    tag = person["tag"]
    billing = _department_ticket(stack, "billing", tag)
    sales = _department_ticket(stack, "sales", tag)
    console = someone_else(lang)
    console.open("")
    console.on_signin_page()

    # the invitation's temporary password: Cognito asks for a new one
    console.sign_in(password=person["password"], user=person["email"])
    console.visible("input[name=new_password]")
    assert console.b.find("form h1").text == NEW_PASSWORD_TITLE[lang]
    assert not console.b.all("header.top") and _session(console) is None
    console.fits_width()
    console.screenshot("agent-first-sign-in")
    console.b.find("input[name=new_password]").send_keys(f"nocapitals{tag}9")  # the pool refuses it
    console.b.find("form button[type=submit]").click()
    error = console.visible("form .error[role=alert]")
    assert error.text == WEAK[lang]
    assert _session(console) is None
    console.screenshot("agent-weak-password")
    chosen = console.b.find("input[name=new_password]")
    chosen.clear()
    chosen.send_keys(f"Amar-Notun-{tag}-7")
    console.b.find("form button[type=submit]").click()
    console.visible("header.top")
    console.wait(lambda: console.driver.current_url.endswith("/console/queue"), what="the queue")
    assert _session(console)
    # the header names the person (a link to the account page; hidden on a phone)
    assert console.js("return document.querySelector('header.top .me').textContent") == f"Nusrat {tag}"

    # an agent's navigation: the queue, no lead's or admin's page
    linked = _header_pages(console)
    assert "queue" in linked and not linked & (LEAD_PAGES | ADMIN_ONLY_PAGES), linked

    # the queue: the billing ticket, never the sales one
    console.open("queue?view=unassigned")
    console.visible(f'table.queue tbody tr[data-ref="{billing["ref"]}"]')
    assert not console.b.all(f'table.queue tbody tr[data-ref="{sales["ref"]}"]')
    assert sales["subject"] not in console.b.html
    console.fits_width()
    console.screenshot("agent-queue")
    console.open(f"queue?q={sales['ref']}")
    console.wait(lambda: console.b.find("p.count").text, what="the search's answer")
    assert not console.b.all("table.queue tbody tr") and sales["subject"] not in console.b.html

    # an admin's page: the role message, no agent's data
    console.open("agents")
    message = console.visible("main p.error")
    assert message.text == ROLE_MESSAGE[lang]
    assert not console.b.all("section.agents-page")
    for secret in (stack.info["console_user"], "Local console agent", "Local admin"):
        assert secret not in console.b.html, secret

    # take the billing ticket and reply: the reply is this agent's
    console.open(f"tickets/{billing['ref']}")
    console.visible(f'section.ticket-page[data-ref="{billing["ref"]}"]')
    console.visible("button.take").click()
    stack.wait_for(lambda: stack.ticket_by_ref(billing["ref"])["assignee"] == person["principal"],
                   timeout=WAIT)
    console.visible("form.reply textarea[name=body]").send_keys(f"We are on it ({tag}).")
    console.b.find("form.reply button[type=submit]").click()
    console.wait(lambda: [e for e in console.b.all(
        "ol.timeline > li.entry[data-kind=message][data-direction=out]") if tag in e.text],
        what="the reply in the timeline")
    [reply] = stack.wait_for(lambda: [m for m in stack.ticket_by_ref(billing["ref"])["timeline"]
                                      if m.get("direction") == "out" and tag in (m.get("body") or "")],
                             timeout=WAIT)
    assert (reply["sender"], reply["channel"], reply["kind"]) == (person["principal"], "email", "reply")
    assert _script_errors(console) == []


def test_a_deactivated_agent_with_a_session_gets_no_data_and_cannot_sign_in_again(someone_else, pages_stack):
    stack = pages_stack
    person = _person(stack, "agent", ("billing",))
    ticket = _department_ticket(stack, "billing", person["tag"])
    console = someone_else("en")
    console.open("queue?view=unassigned")
    console.on_signin_page()
    console.sign_in(password=person["password"], user=person["email"])
    console.visible(f'table.queue tbody tr[data-ref="{ticket["ref"]}"]')

    version = stack.api("GET", f"/api/agents/{person['id']}")["version"]
    stack.api("PATCH", f"/api/agents/{person['id']}", json={"active": False, "version": version})

    # the session is still in the browser (its ID token has not expired): Setu refuses it
    for reload in (console.driver.refresh, lambda: console.open(f"tickets/{ticket['ref']}")):
        reload()
        refused = console.visible("section.refused-page")
        assert refused.find_element("css selector", "h1").text == SWITCHED_OFF["en"]
        assert not console.b.all("header.top") and not console.b.all("table.queue")
        for secret in (ticket["subject"], ticket["name"], ticket["email"]):
            assert secret not in console.b.html, secret
    console.fits_width()
    console.screenshot("agent-switched-off")

    console.b.find("button.signout").click()
    console.on_signin_page()
    assert _session(console) is None
    console.sign_in(password=person["password"], user=person["email"])
    error = console.visible("form .error[role=alert]")
    assert error.text == SIGN_IN_DISABLED["en"]
    assert _session(console) is None
    assert _script_errors(console) == []


def test_an_agent_changes_the_password_on_the_account_page(someone_else, pages_stack):
    stack = pages_stack
    person = _person(stack, "agent", ("general",))
    changed = f"Notun-{person['tag']}-Cc3"
    console = someone_else("bn")
    console.open("account")
    console.on_signin_page()
    console.sign_in(password=person["password"], user=person["email"])
    console.visible("section.account-page")  # where the person was going

    def change(old: str):
        for name, value in (("old_password", old), ("new_password", changed)):
            field = console.b.find(f"form.password input[name={name}]")
            field.clear()
            field.send_keys(value)
        console.b.find("form.password button[type=submit]").click()

    change("Bhul-Password-9")
    console.wait(lambda: console.b.find("form.password .result.error").text == "বর্তমান পাসওয়ার্ডটি ভুল।",
                 what="the wrong current password")
    change(person["password"])
    console.wait(lambda: console.b.find("form.password .result.notice").text == "আপনার পাসওয়ার্ড বদলানো হয়েছে।",
                 what="the password changed")
    console.fits_width()

    console.b.find("button.signout").click()
    console.on_signin_page()
    console.sign_in(password=person["password"], user=person["email"])  # the old one
    assert console.visible("form .error[role=alert]").text == WRONG_PASSWORD["bn"]
    console.sign_in(password=changed, user=person["email"])
    console.visible("header.top")
    console.wait(lambda: console.driver.current_url.endswith("/console/queue"), what="the queue")
    assert _script_errors(console) == []


def test_a_lead_sees_decisions_and_reports_but_not_departments_or_held(someone_else, pages_stack):
    person = _person(pages_stack, "lead")
    console = someone_else("en")
    console.open("")
    console.on_signin_page()
    console.sign_in(password=person["password"], user=person["email"])
    console.visible("header.top")
    linked = _header_pages(console, "header.top nav a[href]")
    assert {"queue", "decisions", "reports"} <= linked and not linked & ADMIN_ONLY_PAGES, linked
    console.open("held")
    assert console.visible("main p.error").text == ROLE_MESSAGE["en"]
    assert not console.b.all("section.held-page")
    console.open("decisions")
    console.visible("section.decisions-page")
    assert _script_errors(console) == []
