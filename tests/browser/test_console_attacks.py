"""Attacks on the agent console (issue 23) in headless Chromium with JavaScript on, against the
local stack (`pages_stack`): what a hostile customer writes (name, subject, message, email
display name and subject, attachment file names, SMS text, a held forged mail) is shown to the
agent as text on every page that shows it (queue, ticket with its customer box, decisions, held,
reports), and no script of theirs runs: each payload sets `window.__pwned`, which must stay
undefined, and no element of theirs (img, script, iframe, svg, an on* attribute, a javascript:
link) is in the page. Chromium's console shows no Content-Security-Policy violation and no
script error on any page. Also: Setu.h refuses on* strings and javascript:/data: links,
an API answer with data is `no-store`, the page after sign-in is always on this site (the
`setu.next` path), and signing out forgets this tab's drafts.

The server side (shell, CSP, assets, CORS) is in tests/unit/test_console_pages.py.
"""
from __future__ import annotations

import json
import smtplib
import uuid
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import boto3
import pytest
import requests

from tests.browser.conftest import ADMIN, chromium
from tests.browser.test_console import Console

# every payload, if it ran, would set window.__pwned; a page must show each one as its text
IMG = '<img src=x onerror="window.__pwned=\'img\'">'
SCRIPT = "<script>window.__pwned='script'</script>"
SVG = "\"><svg onload=window.__pwned='svg'>"
JS_LINK = "javascript:window.__pwned='link'"
ANCHOR = "<a href=\"javascript:window.__pwned='a'\">click</a>"
IFRAME = "<iframe srcdoc=\"<script>parent.__pwned='iframe'</script>\"></iframe>"


def _foreign_elements(console: Console) -> list[str]:
    """Elements of the console's #app a payload would have made: what was parsed as HTML."""
    return console.js("""
      var out = [];
      document.querySelectorAll('#app *').forEach(function (el) {
        var tag = el.tagName.toLowerCase();
        if (['script', 'iframe', 'img', 'object', 'embed', 'frame'].indexOf(tag) >= 0) out.push(tag);
        if (tag === 'svg' && !el.closest('svg.chart') && !el.classList.contains('chart')) out.push('svg');
        for (var i = 0; i < el.attributes.length; i++) {
          var a = el.attributes[i];
          if (/^on/i.test(a.name)) out.push(tag + '[' + a.name + ']');
          if (/^\\s*(javascript|data|vbscript):/i.test(a.value) && /href|src|action/i.test(a.name)) out.push(tag + '[' + a.name + '=' + a.value + ']');
        }
      });
      return out;""")


def _problems_in_log(console: Console) -> list[str]:
    """CSP violations and script errors Chromium logged since the last call."""
    return [e["message"] for e in console.driver.get_log("browser")
            if "Content Security Policy" in e["message"] or "Refused to" in e["message"]
            or (e.get("level") == "SEVERE" and "Failed to load resource" not in e["message"])]


def _page_text(console: Console) -> str:
    return console.js("return document.getElementById('app').textContent")


def _unharmed(console: Console, page: str, shown: tuple[str, ...] = ()):
    """No payload ran or became an element; each of `shown` is on the page as text; no CSP
    violation or script error."""
    assert console.js("return typeof window.__pwned") == "undefined", \
        f"{page}: a payload ran: {console.js('return window.__pwned')!r}"
    assert _foreign_elements(console) == [], f"{page}: parsed as HTML: {_foreign_elements(console)}"
    text = _page_text(console)
    for payload in shown:
        assert payload in text, f"{page}: {payload!r} not shown as text"
    assert _problems_in_log(console) == [], f"{page}: {_problems_in_log(console)}"


@pytest.fixture(scope="module")
def console(pages_stack):
    generator = chromium(pages_stack.url, javascript=True, lang="en-US")
    opened = Console(next(generator), pages_stack, "en")
    opened.size(1280)  # the customer box and the queue's columns all shown
    opened.signed_in()
    yield opened
    generator.close()


@pytest.fixture(scope="module")
def hostile(pages_stack):
    """A web-form ticket whose every field is hostile, with a hostile attachment file name, and
    a decision with a hostile question waiting on it."""
    tag = uuid.uuid4().hex[:8]
    fields = {"name": f"{IMG} Rahim {tag}", "email": f"hostile.{tag}@example.com",
              "subject": f"{SCRIPT}{SVG} {tag}",
              "message": f"{JS_LINK}\n{ANCHOR}\n{IFRAME}\n{IMG}", "lang": "en"}
    files = {"attachments": (f"{IMG}.txt", b"hello", "text/plain")}
    response = requests.post(f"{pages_stack.url}/tickets", data=fields, files=files, timeout=15)
    assert response.status_code == 201, response.text
    ticket = response.json()
    question = f"{IMG} refund? {tag}"
    requests.post(f"{pages_stack.url}/api/tickets/{ticket['id']}/decisions", headers=ADMIN,
                  json={"question": question}, timeout=15).raise_for_status()
    return {**ticket, **fields, "tag": tag, "question": question}


def _smtp(stack, message: EmailMessage):
    with smtplib.SMTP("127.0.0.1", int(stack.info["smtp_port"]), timeout=15) as client:
        client.send_message(message, from_addr=str(message["X-Envelope-From"]),
                            to_addrs=[stack.info["support_address"]])


def _mail(stack, sender: str, display: str, subject: str, tag: str,
          verdict: str | None = None) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f'"{display}" <{sender}>'
    mail["To"] = stack.info["support_address"]
    mail["Subject"] = subject
    mail["Message-ID"] = make_msgid(domain="example.com")
    mail["Date"] = format_datetime(datetime.now().astimezone())
    mail["X-Envelope-From"] = sender
    if verdict:
        mail["X-Setu-Test-Verdict"] = verdict
    mail.set_content(f"{IMG}\n{JS_LINK} {tag}")
    mail.add_alternative(f"<p>{tag}</p>{SCRIPT}<img src=x onerror=\"window.__pwned='html'\">",
                         subtype="html")
    mail.add_attachment(b"hello", maintype="text", subtype="plain", filename=f"{IMG}.txt")
    return mail


def _tickets_of(stack, q: str) -> list[dict]:
    return requests.get(f"{stack.url}/api/tickets", params={"q": q}, headers=ADMIN,
                        timeout=15).json().get("items", [])


# ---- customer content on the agent's pages -------------------------------------------------

def test_a_hostile_web_form_ticket_is_text_in_the_queue(console, pages_stack, hostile):
    console.open(f"queue?q={hostile['ref']}")
    console.visible(f'table.queue tbody tr[data-ref="{hostile["ref"]}"]')
    _unharmed(console, "queue", (hostile["subject"],))


def test_a_hostile_web_form_ticket_is_text_on_the_ticket_page(console, pages_stack, hostile):
    console.open(f"tickets/{hostile['ref']}")
    console.visible(f'section.ticket-page[data-ref="{hostile["ref"]}"] ol.timeline > li.entry')
    console.wait(lambda: hostile["tag"] in console.js(
        "var c = document.querySelector('.customer'); return c ? c.textContent : ''"),
        what="the customer box")
    filenames = console.js("return Array.prototype.map.call(document.querySelectorAll("
                           "'ul.attachments .file'), function (e) { return e.textContent; })")
    assert any("onerror" in name for name in filenames), filenames  # its name, as text
    _unharmed(console, "ticket", (hostile["subject"], hostile["name"], IFRAME, ANCHOR, JS_LINK))
    # the customer's name in the customer box too, as text
    box = console.js("return document.querySelector('.customer').textContent")
    assert hostile["name"] in box


def test_a_hostile_email_is_text_on_the_ticket_page(console, pages_stack):
    tag = uuid.uuid4().hex[:8]
    sender = f"mailer.{tag}@example.com"
    _smtp(pages_stack, _mail(pages_stack, sender, f"{IMG} Karim {tag}", f"{SCRIPT} {tag}", tag))
    tickets = pages_stack.wait_for(lambda: _tickets_of(pages_stack, sender), timeout=60)
    ref = tickets[0]["ref"]
    console.open(f"tickets/{ref}")
    console.visible(f'section.ticket-page[data-ref="{ref}"] ol.timeline > li.entry[data-kind=message]')
    _unharmed(console, "ticket (email)", (f"{SCRIPT} {tag}", f"Karim {tag}", JS_LINK))
    console.open(f"queue?q={ref}")
    console.visible(f'table.queue tbody tr[data-ref="{ref}"]')
    _unharmed(console, "queue (email)", (f"{SCRIPT} {tag}",))


def test_a_hostile_sms_is_text_on_the_ticket_page(console, pages_stack):
    tag = uuid.uuid4().hex[:8]
    phone = "0171" + str(uuid.uuid4().int)[:7]
    info = pages_stack.info
    client = boto3.client("sns", endpoint_url=info["aws_endpoint_url"], region_name=info["region"],
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    body = f"{IMG} {ANCHOR} {tag}"
    client.publish(TopicArn=info["outputs"]["InboundSmsTopicArn"], Message=json.dumps({
        "originationNumber": phone, "destinationNumber": info["sms_number"], "messageBody": body,
        "inboundMessageId": str(uuid.uuid4()), "messageKeyword": "KEYWORD_123456789012",
        "previousPublishedMessageId": None}))
    tickets = pages_stack.wait_for(lambda: _tickets_of(pages_stack, tag) or
                                   _tickets_of(pages_stack, "+88" + phone), timeout=60)
    ref = tickets[0]["ref"]
    console.open(f"tickets/{ref}")
    console.visible(f'section.ticket-page[data-ref="{ref}"] ol.timeline > li.entry[data-channel=sms]')
    _unharmed(console, "ticket (sms)", (body,))


def test_a_hostile_decision_question_is_text_on_the_decisions_page(console, pages_stack, hostile):
    console.open("decisions")
    console.visible(f'section.decisions-page li[data-ref="{hostile["ref"]}"]')
    _unharmed(console, "decisions", (hostile["question"], hostile["subject"]))


def test_a_held_forged_mail_is_text_on_the_held_page(console, pages_stack):
    tag = uuid.uuid4().hex[:8]
    sender = f"boss.{tag}@example.com"
    _smtp(pages_stack, _mail(pages_stack, sender, f"{IMG} Boss {tag}", f"{SCRIPT} transfer {tag}", tag,
                             verdict="dmarc"))

    def held():
        items = requests.get(f"{pages_stack.url}/api/held", headers=ADMIN, timeout=15).json()["items"]
        return [i for i in items if tag in json.dumps(i, ensure_ascii=False)]

    pages_stack.wait_for(held, timeout=60)
    console.open("held")
    console.visible("section.held-page")
    console.wait(lambda: tag in _page_text(console), what="the held mail")
    _unharmed(console, "held", (f"transfer {tag}",))
    # its details open too (the whole text), still as text
    for button in console.b.all("section.held-page button[aria-expanded=false]"):
        if button.is_displayed():
            button.click()
    _unharmed(console, "held (details)")


def test_reports_and_the_other_pages_have_no_csp_violation(console, pages_stack, hostile):
    # a department label an admin typed carelessly is text on the reports page too (not on the
    # web form, and Bengali in bn: test_console.py may share this stack)
    name = "d" + hostile["tag"]
    pages_stack.api("PUT", f"/api/departments/{name}",
                    json={"labels": {"en": f"{IMG} Sales", "bn": "বিক্রি"}, "form": False})
    for page in ("queue", "reports", "agents", "macros", "policies", "departments", "account"):
        console.open(page)
        console.visible("main section, main table.queue")
        console.wait(lambda: not console.b.all("main .loading"), what=f"{page} loaded")
        _unharmed(console, page, (f"{IMG} Sales",) if page in ("reports", "departments") else ())
    console.open("reports")
    console.visible("section.reports-page svg.chart")
    _unharmed(console, "reports (charts)")


# ---- the console's own defences ------------------------------------------------------------

def test_h_refuses_inline_handlers_and_script_links(console, pages_stack):
    console.open("queue")
    console.visible("header.top")
    made = console.js("""
      var h = Setu.h;
      var out = [
        h('a', { href: 'javascript:window.__pwned=1' }, 'x'),
        h('a', { href: ' \\tJaVaScRiPt:window.__pwned=1' }, 'x'),
        h('a', { href: 'java\\nscript:window.__pwned=1' }, 'x'),
        h('a', { href: 'data:text/html,<script>window.__pwned=1</script>' }, 'x'),
        h('img', { src: 'data:image/svg+xml,<svg onload=alert(1)>' }),
        h('form', { action: 'javascript:window.__pwned=1' }),
        h('div', { onclick: 'window.__pwned=1', ONMOUSEOVER: 'window.__pwned=1' }, 'x'),
        h('a', { href: 'tickets/1042' }, 'ok'), h('a', { href: 'mailto:a@example.com' }, 'ok'),
        h('a', { href: 'otpauth://totp/Setu?secret=A' }, 'ok')
      ];
      return out.map(function (el) {
        return el.getAttribute('href') || el.getAttribute('src') || el.getAttribute('action') ||
               el.getAttribute('onclick') || el.getAttribute('onmouseover') || '';
      });""")
    assert made == [""] * 7 + ["tickets/1042", "mailto:a@example.com", "otpauth://totp/Setu?secret=A"]
    # a function is still an event listener
    assert console.js("""
      var hit = 0; var b = Setu.h('button', { onclick: function () { hit++; } }); b.click(); return hit;""") == 1


def test_console_api_answers_with_data_are_not_cached(console, pages_stack, hostile):
    console.open("queue")
    console.visible("header.top")
    headers = console.driver.execute_async_script("""
      var ref = arguments[0], done = arguments[arguments.length - 1];
      Setu.idToken().then(function (token) {
        return fetch(Setu.conf.api + '/tickets/' + ref, { headers: { Authorization: 'Bearer ' + token } });
      }).then(function (r) {
        done({ status: r.status, cache: r.headers.get('Cache-Control'), cors: r.headers.get('Access-Control-Allow-Origin') });
      }, function (e) { done({ error: String(e) }); });""", hostile["ref"])
    assert headers == {"status": 200, "cache": "no-store", "cors": None}


@pytest.mark.parametrize("next_path", ["//evil.example/queue", "https://evil.example/", "/\\evil.example",
                                       "javascript:window.__pwned=1", "../../evil"])
def test_after_sign_in_the_next_page_is_always_the_console(console, pages_stack, next_path):
    """`setu.next` (where the person was going) never takes them off this site, nor runs."""
    console.b.find("button.signout").click() if console.b.all("button.signout") else None
    console.on_signin_page()
    console.js("sessionStorage.setItem('setu.next', arguments[0])", next_path)
    console.sign_in()
    console.wait(lambda: console.b.all("header.top") or console.b.all("main .error"),
                 what="signed in")
    assert console.driver.current_url.startswith(pages_stack.url + "/"), console.driver.current_url
    assert console.js("return typeof window.__pwned") == "undefined"
    console.open("queue")
    console.visible("header.top")


def test_signing_out_forgets_this_tabs_drafts(console, pages_stack, hostile):
    console.open(f"tickets/{hostile['ref']}")
    body = console.visible("form.reply textarea[name=body]")
    body.send_keys("a private draft")
    console.wait(lambda: console.js(
        "return Object.keys(sessionStorage).some(function (k) { return k.indexOf('setu.draft.') === 0; })"),
        what="the draft kept")
    console.b.find("button.signout").click()
    console.on_signin_page()
    assert console.js("return Object.keys(sessionStorage).filter(function (k) { return k.indexOf('setu.draft.') === 0; })") == []
    console.sign_in()
    console.visible("header.top")


# ---- a signed-in agent beyond their role and departments ---------------------------------------

@pytest.fixture(scope="module")
def agent_token(pages_stack):
    """An ID token of a console user who is an agent (role agent) of the department `general`
    only, invited as an admin invites one; and a department of which they are not a member,
    with a ticket in it."""
    info, url = pages_stack.info, pages_stack.url
    tag = uuid.uuid4().hex[:8]
    email = f"agent.{tag}@example.com"
    created = pages_stack.api("POST", "/api/agents", json={
        "principal": f"arn:aws:iam::123456789012:user/agent-{tag}", "role": "agent",
        "email": email, "departments": ["general"], "display_name": f"Agent {tag}"})
    agent = created.get("agent", created)
    pages_stack.api("POST", f"/api/agents/{agent['id']}/invite")
    cognito = boto3.client("cognito-idp", endpoint_url=info["aws_endpoint_url"],
                           region_name=info["region"], aws_access_key_id="testing",
                           aws_secret_access_key="testing")
    password = f"Agent-{tag}-Pw1"
    cognito.admin_set_user_password(UserPoolId=info["outputs"]["UserPoolId"], Username=email,
                                    Password=password, Permanent=True)
    tokens = cognito.initiate_auth(ClientId=info["outputs"]["UserPoolClientId"],
                                   AuthFlow="USER_PASSWORD_AUTH",
                                   AuthParameters={"USERNAME": email, "PASSWORD": password})
    department = f"x{tag}"
    pages_stack.api("PUT", f"/api/departments/{department}",
                    json={"labels": {"en": "Other", "bn": "অন্য"}, "form": False})
    ticket = requests.post(f"{url}/tickets", json={"email": f"c.{tag}@example.com",
                                                   "subject": f"Other {tag}", "message": "hi"},
                           timeout=15).json()
    current = pages_stack.ticket_by_ref(ticket["ref"])
    pages_stack.api("PATCH", f"/api/tickets/{ticket['id']}",
                    json={"department": department, "version": current["version"]})
    return {"id": tokens["AuthenticationResult"]["IdToken"], "agent": agent,
            "department": department, "ticket": ticket}


def _console_api(stack, token: str, method: str, path: str, **kw):
    headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
    return requests.request(method, f"{stack.url}/console/api{path}", headers=headers, timeout=15, **kw)


def test_an_agent_cannot_reach_another_departments_ticket(pages_stack, agent_token):
    token, ticket = agent_token["id"], agent_token["ticket"]
    me = _console_api(pages_stack, token, "GET", "/me")
    assert me.status_code == 200 and me.json()["role"] == "agent", me.text
    for path in (f"/tickets/{ticket['ref']}", f"/tickets/{ticket['id']}"):
        response = _console_api(pages_stack, token, "GET", path)
        assert response.status_code == 404, (path, response.text)
        assert ticket["ref"] not in response.text.replace(f"/{ticket['ref']}", "")
    response = _console_api(pages_stack, token, "GET", f"/tickets?department={agent_token['department']}")
    assert response.status_code == 403, response.text
    response = _console_api(pages_stack, token, "POST", f"/tickets/{ticket['id']}/notes", json={"body": "x"})
    assert response.status_code == 404, response.text
    listed = _console_api(pages_stack, token, "GET", "/tickets?limit=100").json()["items"]
    assert ticket["ref"] not in [t["ref"] for t in listed]


def test_an_agent_cannot_act_as_a_lead_or_admin(pages_stack, agent_token):
    token, me = agent_token["id"], agent_token["agent"]
    admin_header = {"X-Setu-Principal": pages_stack.info["admin_principal"]}
    attempts = [
        ("PATCH", f"/agents/{me['id']}", {"role": "admin"}),
        ("PATCH", f"/agents/{me['id']}", {"departments": ["general", agent_token["department"]]}),
        ("POST", "/agents", {"principal": "arn:aws:iam::123456789012:user/mallory", "role": "admin"}),
        ("PUT", f"/departments/{agent_token['department']}", {"labels": {"en": "Mine", "bn": "আমার"}}),
        ("GET", "/reports", None),
    ]
    for method, path, body in attempts:
        for headers in ({}, admin_header):  # the local stand-in for IAM is never read here
            response = _console_api(pages_stack, token, method, path, json=body, headers=headers)
            assert response.status_code == 403, (method, path, headers, response.status_code, response.text)
    # an ID token is for /console/api only: /api/... is SigV4's (locally X-Setu-Principal)
    response = requests.get(f"{pages_stack.url}/api/tickets", timeout=15,
                            headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in (401, 403), response.text


# ---- another site ----------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["OPTIONS", "GET"])
def test_another_site_may_not_read_the_console_api(pages_stack, agent_token, method):
    """No CORS on /console/api: a preflight from another origin is refused, and an answer names
    no other origin (a page elsewhere that got hold of a token still could not read data)."""
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET",
               "Access-Control-Request-Headers": "authorization"}
    if method == "GET":
        headers["Authorization"] = f"Bearer {agent_token['id']}"
    response = requests.request(method, f"{pages_stack.url}/console/api/me", headers=headers, timeout=15)
    assert not [k for k in response.headers if k.lower().startswith("access-control-")], response.headers
    assert response.status_code == (405 if method == "OPTIONS" else 200), response.text


def test_the_console_refuses_to_be_framed(pages_stack):
    for path in ("/console", "/console/queue", "/console/tickets/1001", "/console/signin"):
        response = requests.get(pages_stack.url + path, timeout=15)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and response.headers["X-Frame-Options"] == "DENY"


def test_a_page_elsewhere_that_opens_the_console_keeps_no_handle_on_it(console, pages_stack, shop):
    """Reverse tabnabbing: a page that opened the console (window.open, a link in webmail)
    cannot later send that tab elsewhere (a fake sign-in page) or read it."""
    driver = console.driver
    home = driver.current_window_handle
    console.b.open(shop.page("/opener.html", "<!doctype html><title>shop</title><p>shop</p>"))
    driver.execute_script("window.opened = window.open(arguments[0], '_blank');",
                          pages_stack.url + "/console/queue")
    console.wait(lambda: len(driver.window_handles) == 2, what="the console's tab")
    popup = next(w for w in driver.window_handles if w != home)
    driver.switch_to.window(popup)
    console.visible("header.top")
    driver.switch_to.window(home)
    assert driver.execute_script("return window.opened.closed") is True
    driver.switch_to.window(popup)
    assert driver.execute_script("return window.opener") is None
    driver.close()
    driver.switch_to.window(home)
    console.open("queue")
    console.visible("header.top")


# ---- hostile text does not break the phone layout ------------------------------------------------

def test_hostile_text_keeps_every_page_phone_wide(console, pages_stack, hostile):
    """Long unbroken words from customers (payloads, URLs) wrap: no page is wider than a phone
    (test_console.py checks the same with ordinary text; they may share a stack)."""
    console.size(420)
    try:
        for path, ready in ((f"queue?q={hostile['tag']}", "table.queue tbody tr"),
                            (f"tickets/{hostile['ref']}", "ol.timeline > li.entry"),
                            ("decisions", "section.decisions-page li"),
                            ("held", "section.held-page"), ("agents", "section.agents-page"),
                            ("departments", "section.departments-page")):
            console.open(path)
            console.visible(ready)
            console.wait(lambda: not console.b.all("main .loading"), what=f"{path} loaded")
            console.fits_width()
            console.screenshot("attack-" + path.split("?")[0].replace("/", "-"))
    finally:
        console.size(1280)
