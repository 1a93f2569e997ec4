"""Issue 24's working day, end to end: one local stack started as a user starts it
(`python -m local`), driven only from outside — the HTTP API (`X-Setu-Principal` stands in for
IAM on the local stage), the SMTP ingress, the inbound SMS topic — with the mail it sent read
back from the AWS emulator. The steps are one day in order (pytest runs them in file order and
they share `DAY`); docs/agents.md, "A lead's day in Setu", walks through the same day.

1. The admin sets up: a lead and two agents (bn, en), a new department `returns` (listed, on
   the web form, its address), a policy saved with only its targets (inherited follow-ups in
   the answer), `urgent` for every department, an unused policy name warned about, the lists.
2. Customers write: the web form (a Bengali name), mail to the department's address, an SMS;
   an agent starts an SMS conversation with that customer, whose answer joins it (no new
   ticket, no second acknowledgement, the starter's).
3. The queue answers agents' questions (me, none, several statuses, a Bengali name, 422).
4. Handing over by short name: staff mail in the assignee's language and Dhaka time, no
   `/api/` link; `setu tickets --assignee karim` shows it with the offset.
5. A customer's reply (staff mail), a callback typed in Dhaka time (and one falling due:
   staff mail), a refund decision asked of the lead and decided, resolutions, STOP (বন্ধ) by
   SMS and the reply that can no longer go by SMS.
6-8. The lead: reports by agent (names, resolved == handled, sums), the audit of their
   department (refs), the briefing preview (counts = the queue's, one line per ticket), a
   resend to a lead added later, and the scheduled briefing reaching her too.
Every AWS call a handler made was inside its function's IAM policy (the last step).
"""
from __future__ import annotations

import json
import os
import smtplib
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import boto3
import pytest
import requests

from local import stack as local_stack
from tests.e2e.conftest import started, wait_for

DHAKA = ZoneInfo("Asia/Dhaka")
ACCOUNT = "arn:aws:iam::123456789012:user/"
ADMIN = local_stack.ADMIN_ARN
LAILA, NUSRAT, KARIM, MITA = (ACCOUNT + n for n in ("laila", "nusrat", "karim", "mita"))
MAIL = {LAILA: "laila@staff.example", NUSRAT: "nusrat@staff.example",
        KARIM: "karim@staff.example", MITA: "mita@staff.example"}
RETURNS_LABELS = {"bn": "ফেরত ও বদল", "en": "Returns"}
RAHIM = {"name": "রহিম উদ্দিন", "email": "rahim.day@example.com"}
SALMA = "salma.day@example.com"
SMS_CUSTOMER = "+8801711555201"  # writes by SMS only: no email address
BN_DIGITS = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")
BN_MONTHS = ("জানুয়ারি", "ফেব্রুয়ারি", "মার্চ", "এপ্রিল", "মে", "জুন", "জুলাই", "আগস্ট",
             "সেপ্টেম্বর", "অক্টোবর", "নভেম্বর", "ডিসেম্বর")

# what the steps learn and hand on (ids, refs); `done` names the steps that finished
DAY: dict = {"done": []}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # `.setu` as in a checkout: `setu ... --local` run beside it finds this stack's local.json
    state_dir = tmp_path_factory.mktemp("setu-day") / ".setu"
    state_dir.mkdir()
    # the scheduled handlers (the daily briefing, staff digests) every 5 s instead of 60
    yield from started(state_dir, SETU_SCHEDULE_SECONDS="5", SETU_IAM="enforce",
                       SETU_IAM_LOG=str(state_dir / "iam-denials.jsonl"))


def after(step: str) -> None:
    """The steps build on each other: say which one to look at instead of a KeyError."""
    assert step in DAY["done"], f"step {step!r} did not finish: its failure comes first"


# ---- talking to the stack from outside ---------------------------------------------------------

class As:
    """The HTTP API as one principal: (status, JSON body)."""

    def __init__(self, url: str, principal: str):
        self.url, self.principal = url, principal

    def call(self, method: str, path: str, body=None):
        response = requests.request(method, self.url + path, json=body, timeout=30,
                                    headers={"X-Setu-Principal": self.principal})
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, body=None):
        return self.call("POST", path, body)

    def put(self, path, body=None):
        return self.call("PUT", path, body)

    def patch(self, path, body=None):
        return self.call("PATCH", path, body)


def ok(answer, *expected: int):
    status, body = answer
    assert status in (expected or (200,)), f"HTTP {status}: {body}"
    return body


def ticket(stack, ticket_id: str) -> dict:
    return ok(As(stack.url, ADMIN).get(f"/api/tickets/{ticket_id}"))


def find(stack, q: str, who: str = ADMIN) -> list[dict]:
    return ok(As(stack.url, who).get(f"/api/tickets?q={quote(q)}"))["items"]


def queue(stack, who: str, query: str) -> set[str]:
    return {t["id"] for t in ok(As(stack.url, who).get(f"/api/tickets?{query}"))["items"]}


def timeline_of(stack, ticket_id: str) -> list[dict]:
    return ticket(stack, ticket_id)["timeline"]


def acks(items: list[dict]) -> list[dict]:
    return [i for i in items if i.get("kind") == "ack" and i.get("direction") == "out"]


def sent(item: dict) -> bool:
    return item.get("status") in ("sent", "delivered")


def send_mail(stack, sender: str, to: str, subject: str, body: str, **headers) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = make_msgid(domain="client.example.com")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    with smtplib.SMTP("127.0.0.1", stack.info["smtp_port"], timeout=30) as smtp:
        smtp.send_message(message, to_addrs=[to])


def send_sms(stack, body: str, message_id: str) -> None:
    info = stack.info
    boto3.client("sns", endpoint_url=info["aws_endpoint_url"], region_name=info["region"],
                 aws_access_key_id="testing", aws_secret_access_key="testing").publish(
        TopicArn=info["inbound_sms_topic_arn"], Message=json.dumps({
            "originationNumber": SMS_CUSTOMER, "destinationNumber": info["sms_number"],
            "messageBody": body, "inboundMessageId": message_id}))


def setu(stack, *args: str) -> str:
    """The `setu` command against this stack (`--local`), as an admin runs it; its output."""
    run = subprocess.run([sys.executable, "-m", "setu_cli", *args, "--local"],
                         cwd=stack.state_dir.parent, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(local_stack.ROOT)})
    assert run.returncode == 0, f"setu {' '.join(args)}: {run.returncode}\n{run.stdout}\n{run.stderr}"
    return run.stdout


def mail_to(stack, address: str) -> list:
    """Mail the emulator's SES sent to `address`, parsed, oldest first."""
    data = requests.get(f"{stack.info['aws_endpoint_url']}/moto-api/data.json", timeout=30).json()
    return [message_from_bytes(m["raw_data"].encode(), policy=policy.default)
            for m in data.get("ses", {}).get("RawMessage", []) if address in m["destinations"]]


def text_of(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def html_of(mail) -> str:
    return mail.get_body(preferencelist=("html",)).get_content()


def mail_with(stack, address: str, subject_start: str, what: str, *, once: bool = True,
              timeout: float = 30.0):
    """The mail to `address` whose subject starts so (`once`: and only one such mail)."""
    found = wait_for(lambda: [m for m in mail_to(stack, address)
                              if str(m["Subject"]).startswith(subject_start)], bool, what,
                     timeout=timeout)
    assert not once or len(found) == 1, f"{what}: {len(found)} mails, {[m['Subject'] for m in found]}"
    return found[-1]


def dhaka_bn(iso: str) -> str:
    """A time as Bengali staff mail shows it: `৭ ডিসেম্বর ২০২৬, ১৮:০৪ (ঢাকা)`."""
    local = parse(iso).astimezone(DHAKA)
    return (f"{local.day} {BN_MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"
            .translate(BN_DIGITS) + " (ঢাকা)")


def dhaka_en(iso: str) -> str:
    local = parse(iso).astimezone(DHAKA)
    return f"{local.day} {local:%b} {local.year}, {local:%H:%M} (Dhaka time)"


def parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def today() -> str:
    return datetime.now(timezone.utc).astimezone(DHAKA).date().isoformat()


# ---- 1. the admin sets up ----------------------------------------------------------------------

def test_1_admin_sets_up_people_a_new_department_and_policies(stack):
    admin = As(stack.url, ADMIN)
    builtin = [d["name"] for d in ok(admin.get("/api/departments"))["items"]]
    assert builtin == ["billing", "general", "sales", "technical"], builtin

    domain = stack.info["support_address"].split("@", 1)[1]
    returns = ok(admin.put("/api/departments/returns", {"labels": RETURNS_LABELS, "order": 2}))
    assert returns["effective_address"] == f"returns@{domain}" and returns["active"], returns
    DAY["returns_address"] = returns["effective_address"]
    listed = {d["name"]: d for d in ok(admin.get("/api/departments"))["items"]}
    assert listed["returns"]["labels"] == RETURNS_LABELS, listed.get("returns")

    people = [(LAILA, "lead", "Laila Akter", ["returns"], "bn"),
              (NUSRAT, "agent", "Nusrat Jahan", ["general", "returns"], "bn"),
              (KARIM, "agent", "Karim Hasan", ["returns"], "en")]
    for principal, role, name, departments, lang in people:
        created = ok(admin.post("/api/agents", {
            "principal": principal, "role": role, "display_name": name, "email": MAIL[principal],
            "departments": departments, "lang": lang}), 201)
        assert created["departments"] == departments and created["lang"] == lang, created
        DAY[principal] = created["id"]
    assert ok(As(stack.url, KARIM).get("/api/me"))["id"] == DAY[KARIM]

    # the web form offers it, in Bengali and English
    for lang in ("bn", "en"):
        page = requests.get(f"{stack.url}/form?lang={lang}", timeout=30)
        assert page.status_code == 200 and 'value="returns"' in page.text, lang
        assert RETURNS_LABELS[lang] in page.text, f"the {lang} form does not show the label"

    # a policy saved with only its targets keeps the default's follow-ups (inherited, shown)
    saved = ok(admin.put("/api/sla-policies/returns", {"first_response": "PT2H",
                                                       "resolution": "PT8H"}))
    assert (saved["checkin_after"], saved["remind_after"], saved["close_after"]) == (
        "P1D", "P2D", "P5D"), saved
    assert {"checkin_after", "remind_after", "close_after"} <= set(saved["inherited"]), saved
    assert "checkin_after" not in saved["set"] and saved["set"]["first_response"] == "PT2H"
    assert saved["warnings"] == [] and "returns/normal" in saved["used_by"], saved
    # `urgent` is every department's urgent policy
    urgent = ok(admin.put("/api/sla-policies/urgent", {"first_response": "PT30M"}))
    assert {"returns/urgent", "general/urgent", "billing/urgent"} <= set(urgent["used_by"]), urgent
    assert urgent["checkin_after"] == "P1D" and urgent["warnings"] == [], urgent
    # a name no ticket would ever get is stored, and said so
    unused = ok(admin.put("/api/sla-policies/returns-vip", {"first_response": "PT15M"}))
    assert unused["warnings"] and "returns-vip" in unused["warnings"][0], unused
    assert unused["used_by"] == []

    # the list routes, read by an agent
    karim = As(stack.url, KARIM)
    policies = {p["name"]: p for p in ok(karim.get("/api/sla-policies"))["items"]}
    assert {"default", "returns", "urgent", "returns-vip"} <= set(policies), sorted(policies)
    assert policies["default"]["builtin"] and policies["returns"]["checkin_after"] == "P1D"
    assert policies["returns-vip"]["used_by"] == []
    calendars = {c["name"] for c in ok(karim.get("/api/calendars"))["items"]}
    assert {"24x7", "default"} <= calendars, calendars
    assert "returns" in {d["name"] for d in ok(karim.get("/api/departments"))["items"]}
    assert ok(karim.get("/api/departments/returns"))["labels"] == RETURNS_LABELS
    assert karim.put("/api/departments/returns", {"labels": RETURNS_LABELS})[0] == 403
    DAY["done"].append("1")


# ---- 2. customers write ------------------------------------------------------------------------

def test_2_contacts_by_form_mail_and_sms_and_an_agent_started_conversation(stack):
    after("1")
    # the web form, in the new department, from a customer with a Bengali name
    created = requests.post(f"{stack.url}/tickets", json={
        **RAHIM, "subject": "ভুল সাইজের জুতা", "message": "৪২ সাইজ চেয়েছিলাম, ৪০ এসেছে। বদলাতে চাই।",
        "department": "returns", "lang": "bn"}, timeout=30)
    assert created.status_code == 201, created.text
    form = created.json()
    shown = wait_for(lambda: ticket(stack, form["id"]), lambda t: any(map(sent, acks(t["timeline"]))),
                     "the form ticket's acknowledgement")
    assert shown["department"] == "returns" and shown["sla"]["policy"] == "returns", shown["sla"]
    due = parse(shown["sla"]["first_response_due"]) - parse(shown["created_at"])
    assert timedelta(hours=2) - timedelta(seconds=5) <= due <= timedelta(hours=2, seconds=5), due
    DAY["form"] = form

    # mail to the department's own address opens its ticket there
    send_mail(stack, f"Salma Akter <{SALMA}>", DAY["returns_address"], "Kettle arrived broken",
              "The kettle I ordered arrived with a cracked lid. I want a refund.")
    [mailed] = wait_for(lambda: find(stack, SALMA), bool, "the mailed ticket")
    assert mailed["department"] == "returns", mailed
    wait_for(lambda: timeline_of(stack, mailed["id"]), lambda t: any(map(sent, acks(t))),
             "the mailed ticket's acknowledgement")
    DAY["mailed"] = mailed

    # another customer texts; their ticket is acknowledged by SMS
    send_sms(stack, "আমার পার্সেল এখনো আসেনি", "day-sms-1")
    [texted] = wait_for(lambda: find(stack, SMS_CUSTOMER), bool, "the SMS ticket")
    items = wait_for(lambda: timeline_of(stack, texted["id"]), lambda t: any(map(sent, acks(t))),
                     "the SMS ticket's acknowledgement")
    assert [a["channel"] for a in acks(items)] == ["sms"]
    DAY["texted"] = texted

    # `urgent` applies in every department; a normal ticket keeps its department's policy
    admin = As(stack.url, ADMIN)
    answer = requests.post(f"{stack.url}/tickets", json={
        "name": "Tania Rahman", "email": "tania.day@example.com", "subject": "Wrong colour",
        "message": "I ordered blue, got red. Need it before Friday.", "department": "returns",
        "lang": "en"}, timeout=30)
    assert answer.status_code == 201, answer.text
    urgent = answer.json()
    for ticket_id in (urgent["id"], texted["id"]):
        changed = ok(admin.patch(f"/api/tickets/{ticket_id}", {"priority": "urgent"}))
        assert changed["priority"] == "urgent"
        assert ticket(stack, ticket_id)["sla"]["policy"] == "urgent", ticket_id
    assert ticket(stack, texted["id"])["department"] == "general"
    assert ticket(stack, mailed["id"])["sla"]["policy"] == "returns"
    DAY["urgent"] = urgent

    # Nusrat starts an SMS conversation with the customer who has that other open ticket
    nusrat = As(stack.url, NUSRAT)
    started_answer = ok(nusrat.post("/api/tickets", {
        "phone": "01711555201", "department": "returns",
        "body": "আপনার ফেরতের পার্সেল কাল কুরিয়ার নিতে আসবে। সকাল ১০টায় ঠিক আছে?"}), 201)
    conversation = started_answer["ticket"]
    assert conversation["assignee"] == NUSRAT, conversation  # the agent who started it
    wait_for(lambda: timeline_of(stack, conversation["id"]),
             lambda t: any(i.get("kind") == "reply" and sent(i) for i in t),
             "the conversation's first SMS")
    # the other ticket is worked on afterwards: it is the customer's most recently active one
    ok(admin.post(f"/api/tickets/{texted['id']}/notes", {"body": "কুরিয়ারকে জিজ্ঞেস করেছি"}), 201)

    send_sms(stack, "হ্যাঁ, ১০টায় ঠিক আছে", "day-sms-2")
    joined = wait_for(lambda: ticket(stack, conversation["id"]),
                      lambda t: any(i.get("direction") == "in" for i in t["timeline"]),
                      "the customer's answer on the conversation")
    assert joined["assignee"] == NUSRAT and joined["status"] == "open", joined["status"]
    time.sleep(1.5)  # an acknowledgement would be queued by now
    tickets = find(stack, SMS_CUSTOMER)
    assert {t["id"] for t in tickets} == {texted["id"], conversation["id"]}, "a second ticket"
    assert [i["body"] for i in timeline_of(stack, texted["id"]) if i.get("direction") == "in"] == [
        "আমার পার্সেল এখনো আসেনি"], "the answer went to the older ticket"
    sms_acks = [a for t in tickets for a in acks(timeline_of(stack, t["id"]))]
    assert len(sms_acks) == 1, f"the answer was acknowledged again: {sms_acks}"
    DAY["conversation"] = conversation
    DAY["done"].append("2")


# ---- 3. agents work ----------------------------------------------------------------------------

def test_3_the_queue_answers_agents_questions(stack):
    after("2")
    form, mailed, urgent = DAY["form"]["id"], DAY["mailed"]["id"], DAY["urgent"]["id"]
    conversation, texted = DAY["conversation"]["id"], DAY["texted"]["id"]
    assert queue(stack, NUSRAT, "assignee=me") == {conversation}
    assert queue(stack, KARIM, "assignee=me") == set()
    # Karim works returns only: the general SMS ticket is not his to see
    assert queue(stack, KARIM, "assignee=none") == {form, mailed, urgent}
    assert texted in queue(stack, NUSRAT, "assignee=none")
    assert queue(stack, KARIM, "status=new") == {form, mailed, urgent}
    assert queue(stack, KARIM, "status=open,pending") == {conversation}
    assert queue(stack, KARIM, "status=new&status=open") == {form, mailed, urgent, conversation}
    assert queue(stack, KARIM, "assignee=nusrat") == {conversation}
    status, error = As(stack.url, KARIM).get("/api/tickets?decision=requested")
    assert status == 422 and "decision" in error["error"]["fields"], (status, error)

    page = ok(As(stack.url, KARIM).get(f"/api/tickets?q={quote('রহিম')}"))
    assert [t["id"] for t in page["items"]] == [form], page
    [item] = page["items"]
    assert item["customer_name"] == RAHIM["name"] and item["last_activity_at"].endswith("Z"), item
    assert page["timezone"] == "Asia/Dhaka"
    DAY["done"].append("3")


def test_4_handing_over_by_short_name_mails_the_assignee_in_their_language(stack):
    after("3")
    karim, nusrat = As(stack.url, KARIM), As(stack.url, NUSRAT)
    # an agent lists the active agents to pick whom to hand a ticket to (no ARNs, no mail)
    cards = {a["short_name"]: a for a in ok(karim.get("/api/agents"))["items"]}
    assert {"laila", "nusrat", "karim"} <= set(cards), sorted(cards)
    assert cards["nusrat"]["display_name"] == "Nusrat Jahan" and cards["nusrat"]["id"] == DAY[NUSRAT]
    assert not {"principal", "email"} & set(cards["nusrat"]), cards["nusrat"]

    form = DAY["form"]
    handed = ok(karim.patch(f"/api/tickets/{form['id']}", {"assignee": "nusrat"}))
    assert handed["assignee"] == NUSRAT, handed
    bn_ref = "#" + form["ref"].translate(BN_DIGITS)
    mail = mail_with(stack, MAIL[NUSRAT], f"[{bn_ref}] আপনাকে দেওয়া হয়েছে: ভুল সাইজের জুতা",
                     "Nusrat's assignment mail (Bengali)")
    text = text_of(mail)
    due = ticket(stack, form["id"])["sla"]["first_response_due"]
    assert f"Karim Hasan টিকেট {bn_ref} আপনাকে দিয়েছেন" in text, text
    assert dhaka_bn(due) in text, f"the SLA due time in Dhaka time, Bengali digits: {dhaka_bn(due)}"
    assert "বিভাগ: " + RETURNS_LABELS["bn"] in text and RAHIM["name"] in text, text
    link = f"{stack.info['console_url']}/tickets/{form['ref']}"
    assert link in text, "the link that opens the ticket in the console"
    assert form["ref"] not in text.replace(link, ""), "an ASCII ref outside the console link"
    assert "/api/" not in text and "/api/" not in html_of(mail)

    # and back the other way: English for Karim
    mailed = DAY["mailed"]
    assert ok(nusrat.patch(f"/api/tickets/{mailed['id']}", {"assignee": "karim"}))["assignee"] == KARIM
    mail = mail_with(stack, MAIL[KARIM], f"[#{mailed['ref']}] Assigned to you: Kettle arrived broken",
                     "Karim's assignment mail (English)")
    due = ticket(stack, mailed["id"])["sla"]["first_response_due"]
    assert dhaka_en(due) in text_of(mail) and "Nusrat Jahan assigned ticket" in text_of(mail)
    assert "/api/" not in text_of(mail)
    # the admin's command line answers the same question, in Dhaka time with the offset
    out = setu(stack, "tickets", "--assignee", "karim")
    [row] = [line for line in out.splitlines() if line.startswith(mailed["ref"] + " ")]
    local_due = parse(due).astimezone(DHAKA).strftime("%Y-%m-%d %H:%M") + " +06"
    assert " karim " in row and local_due in row and "Salma Akter" in row, out
    assert out.rstrip().endswith("(1 ticket)"), out
    DAY["done"].append("4")


def test_5_a_customer_reply_a_local_time_callback_and_stop_by_sms(stack):
    after("4")
    nusrat, karim = As(stack.url, NUSRAT), As(stack.url, KARIM)
    form = DAY["form"]
    reply = ok(nusrat.post(f"/api/tickets/{form['id']}/replies",
                           {"body": "দুঃখিত! ৪২ সাইজ পাঠাচ্ছি। পুরোনোটা কুরিয়ারকে দিয়ে দেবেন।"}), 201)
    assert reply["channel"] == "email"
    ok(nusrat.patch(f"/api/tickets/{form['id']}", {"status": "pending"}))
    out = wait_for(lambda: [i for i in timeline_of(stack, form["id"])
                            if i.get("id") == reply["id"] and sent(i)], bool, "Nusrat's reply")[0]
    # the customer answers from their mail client: the ticket reopens, Nusrat is told
    send_mail(stack, f"{RAHIM['name']} <{RAHIM['email']}>", out["reply_to"], "Re: " + out["subject"],
              "ঠিক আছে, কাল দিয়ে দেব।", In_Reply_To=out["message_id"], References=out["message_id"])
    bn_ref = "#" + form["ref"].translate(BN_DIGITS)
    mail = mail_with(stack, MAIL[NUSRAT], f"[{bn_ref}] গ্রাহক উত্তর দিয়েছেন:",
                     "Nusrat's customer-replied mail")
    text = text_of(mail)
    assert f"{RAHIM['name']} আপনার টিকেট {bn_ref}-এ উত্তর দিয়েছেন" in text, text
    assert "আবার খোলা হয়েছে" in text and "ঠিক আছে, কাল দিয়ে দেব।" in text, text
    assert ticket(stack, form["id"])["status"] == "open"

    # a callback typed as people do: Dhaka wall time, no offset
    tomorrow = (datetime.now(timezone.utc).astimezone(DHAKA) + timedelta(days=1)).date()
    scheduled = ok(nusrat.post(f"/api/tickets/{form['id']}/callbacks",
                               {"at": f"{tomorrow.isoformat()} 15:00", "note": "সাইজ মিলল কি না"}), 201)
    expected = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, 0, tzinfo=timezone.utc)
    assert parse(scheduled["callback_at"]) == expected, scheduled  # 15:00 in Dhaka is 09:00Z

    # one typed to the second falls due while we work: Nusrat is told (below)
    talk = DAY["conversation"]
    soon = datetime.now(timezone.utc).astimezone(DHAKA) + timedelta(seconds=8)
    ok(nusrat.post(f"/api/tickets/{talk['id']}/callbacks",
                   {"at": soon.strftime("%Y-%m-%d %H:%M:%S"), "note": "কুরিয়ার গেল কি না"}), 201)

    # the day's resolutions, one each (reports, step 6)
    ok(nusrat.post(f"/api/tickets/{form['id']}/replies", {"body": "পার্সেল রওনা হয়েছে।"}), 201)
    ok(nusrat.patch(f"/api/tickets/{form['id']}", {"status": "resolved"}))
    # a refund is the lead's to decide: Karim asks Laila, each hears in their language
    mailed = DAY["mailed"]
    asked = ok(karim.post(f"/api/tickets/{mailed['id']}/decisions", {
        "question": "Refund 1,450 taka for the cracked kettle?", "approver": LAILA}), 201)
    assert queue(stack, KARIM, "has_decision=true") == {mailed["id"]}
    bn_ref = "#" + mailed["ref"].translate(BN_DIGITS)
    question = text_of(mail_with(stack, MAIL[LAILA], f"[{bn_ref}] সিদ্ধান্ত প্রয়োজন: Kettle arrived broken",
                                 "Laila's decision request"))
    assert f"Karim Hasan টিকেট {bn_ref}-এ আপনার সিদ্ধান্ত চান" in question, question
    assert dhaka_bn(asked["decision"]["due_at"]) in question and "Refund 1,450 taka" in question
    assert "/api/" not in question
    ok(As(stack.url, LAILA).post(f"/api/tickets/{mailed['id']}/decisions/{asked['decision']['id']}",
                                 {"outcome": "approved", "comment": "Yes, the courier broke it."}))
    told = mail_with(stack, MAIL[KARIM], f"[#{mailed['ref']}] Decision approved:", "Karim hears it")
    assert "Laila Akter approved" in text_of(told) and "the courier broke it" in text_of(told)
    assert queue(stack, KARIM, "has_decision=true") == set()
    ok(karim.post(f"/api/tickets/{mailed['id']}/replies",
                  {"body": "Sorry about the lid. The refund of 1,450 taka is on its way."}), 201)
    ok(karim.patch(f"/api/tickets/{mailed['id']}", {"status": "resolved"}))

    # বন্ধ (STOP) by SMS: on the conversation's timeline (and on the customer's other ticket)
    conversation, texted = DAY["conversation"]["id"], DAY["texted"]["id"]
    send_sms(stack, "বন্ধ", "day-sms-3")
    items = wait_for(lambda: timeline_of(stack, conversation),
                     lambda t: any(i.get("type") == "opted_out" for i in t), "the opt-out event")
    [stop] = [i for i in items if i.get("kind") == "opt_out"]
    assert stop["body"] == "বন্ধ" and stop["direction"] == "in", stop
    [event] = [i for i in items if i.get("type") == "opted_out"]
    assert event["data"]["channel"] == "sms" and event["data"]["keyword"] == "বন্ধ", event
    assert any(i.get("type") == "opted_out" for i in timeline_of(stack, texted))
    view = ticket(stack, conversation)
    assert view["channels"]["sms"]["usable"] is False and view["reply_channel"] is None, view["channels"]
    # a reply without a channel: no SMS any more and no email to fall back on: 422 that says when
    status, error = nusrat.post(f"/api/tickets/{conversation}/replies", {"body": "কুরিয়ার কি এসেছিল?"})
    assert status == 422, (status, error)
    now = datetime.now(timezone.utc).astimezone(DHAKA)
    message = error["error"]["message"]
    assert message.startswith(f"The customer opted out of SMS on {now.day} {now:%B %Y}"), message
    assert "(Asia/Dhaka)" in message and error["error"]["channels"] == [], error

    bn_ref = "#" + talk["ref"].translate(BN_DIGITS)
    mail = mail_with(stack, MAIL[NUSRAT], f"[{bn_ref}] কলব্যাকের সময় হয়েছে:",
                     "Nusrat's callback-due mail", timeout=45)
    assert "কুরিয়ার গেল কি না" in text_of(mail) and "(ঢাকা)" in text_of(mail), text_of(mail)
    DAY["done"].append("5")


# ---- 4. the lead -------------------------------------------------------------------------------

def test_6_the_lead_reads_reports_by_agent_with_names_and_consistent_counts(stack):
    after("5")
    laila = As(stack.url, LAILA)
    day = today()

    def report():
        return ok(laila.get(f"/api/reports?from={day}&to={day}&by=agent"))

    def settled(found):
        rows = {g["principal"]: g for g in found["groups"]}
        return all(rows.get(p, {}).get("handled") == 1 for p in (NUSRAT, KARIM))

    found = wait_for(report, settled, "both resolutions in the report", timeout=40)
    rows = {g["principal"]: g for g in found["groups"]}
    assert rows[NUSRAT]["name"] == "Nusrat Jahan" and rows[KARIM]["name"] == "Karim Hasan", rows
    assert rows[NUSRAT]["key"] == DAY[NUSRAT] and rows[KARIM]["key"] == DAY[KARIM]
    for row in found["groups"]:
        assert row["resolved"] == row["handled"] == row["resolution"]["count"], row
    totals = found["totals"]
    assert totals["handled"] == sum(g["handled"] for g in found["groups"]) == 2, totals
    assert totals["handled"] <= totals["resolved"]
    assert totals["replies_out"] == sum(g["replies_out"] for g in found["groups"]), totals
    assert As(stack.url, KARIM).get(f"/api/reports?from={day}&to={day}")[0] == 403
    DAY["done"].append("6")


def test_7_the_lead_reads_the_audit_of_their_department_with_refs(stack):
    after("6")
    status, page = As(stack.url, LAILA).get("/api/audit?limit=200")
    assert status == 200, page
    assert page["date"] == today() and page["timezone"] == "Asia/Dhaka", page
    entries = page["items"]
    assert entries, "the lead sees nothing of the day's work"
    outside = [e for e in entries if "returns" not in (e.get("departments") or [])]
    assert not outside, f"entries of other departments or admin-level: {outside[:3]}"
    form = DAY["form"]
    handed = [e for e in entries if e["target"] == f"ticket:{form['id']}"
              and (e.get("after") or {}).get("assignee") == NUSRAT]
    assert handed, [e["target"] for e in entries]
    assert handed[0]["target_label"] == f"ticket #{form['ref']}", handed[0]
    assert handed[0]["actor_name"] == "Karim Hasan" and handed[0]["actor_id"] == DAY[KARIM]
    assert As(stack.url, KARIM).get("/api/audit")[0] == 403
    DAY["done"].append("7")


def test_8_the_lead_previews_the_briefing_and_resends_it_to_a_lead_added_later(stack):
    after("7")
    laila, admin = As(stack.url, LAILA), As(stack.url, ADMIN)
    preview = ok(laila.get("/api/briefing?department=returns"))
    assert preview["department"] == "returns" and preview["kind"] == "department", preview
    assert preview["date"] == today() and preview["lang"] == "bn"  # Laila reads Bengali
    counts = preview["counts"]
    # the same tickets the queue shows as active in the department
    active = queue(stack, ADMIN, "department=returns&status=new,open,pending")
    unassigned = queue(stack, ADMIN, "department=returns&status=new,open,pending&assignee=none")
    assert active == {DAY["urgent"]["id"], DAY["conversation"]["id"]}, active
    assert counts["active"] == len(active) and counts["unassigned"] == len(unassigned), counts
    assert counts["breached"] + counts["due_today"] <= counts["active"], counts
    assert counts["unassigned_due"] <= counts["unassigned"] <= counts["active"], counts
    for section in preview["sections"]:
        refs = [line["ref"] for line in section["lines"]]
        assert len(refs) == len(set(refs)), f"a ticket twice in {section['key']}: {refs}"
        assert section["total"] == counts[section["key"]], (section["key"], section["total"], counts)
        assert {line["ticket_id"] for line in section["lines"]} <= active, section
    assert "<html" in preview["html"] and preview["subject"]

    # a lead who joins in the afternoon gets today's briefing on request
    mita = ok(admin.post("/api/agents", {"principal": MITA, "role": "lead", "display_name": "Mita",
                                         "email": MAIL[MITA], "departments": ["returns"],
                                         "lang": "en"}), 201)
    theirs = ok(laila.get(f"/api/briefing?department=returns&agent={mita['id']}"))
    assert theirs["kind"] == "department" and theirs["lang"] == "en", theirs
    assert theirs["counts"] == counts, (theirs["counts"], counts)
    resent = ok(laila.post("/api/briefing/send", {"department": "returns", "to": mita["id"]}))
    assert [s["name"] for s in resent["sent"]] == ["Mita"] and resent["skipped"] == [], resent
    # (the scheduled tick may brief her too, within its minute: a lead added later is not settled)
    mail = mail_with(stack, MAIL[MITA], "Daily briefing, Returns, ", "Mita's briefing", once=False)
    assert mail["Subject"] == theirs["subject"], (mail["Subject"], theirs["subject"])
    assert "/api/" not in text_of(mail)
    # the command line shows the same digest
    out = setu(stack, "briefing", "--preview", "--department", "returns", "--lang", "en")
    assert theirs["subject"] in out, out
    entries = ok(laila.get("/api/audit?limit=200"))["items"]
    assert [e["after"]["sent"] for e in entries if e["action"] == "briefing.sent"] == [[MITA]]

    # the scheduled briefing: once the department's day has opened (09:30 Dhaka on its 24x7
    # calendar) it went to Laila — even before there was anything to report — and a lead who
    # joins later is not left out: the next tick sends it to Mita too
    if parse(preview["as_of"]) >= parse(preview["opens"]):
        def states():
            return {d["agent"]["name"]: d["state"]
                    for d in ok(laila.get("/api/briefing?department=returns"))["deliveries"]}
        got = wait_for(states, lambda s: s.get("Mita") == "sent", "the scheduled briefing to Mita")
        assert got["Laila Akter"] == "sent", got
        assert mail_with(stack, MAIL[LAILA], "দৈনিক ব্রিফিং", "Laila's briefing", once=False)
    else:  # before the opening nobody has had it yet
        assert preview["deliveries"] == [], preview["deliveries"]
    DAY["done"].append("8")


def test_9_no_call_outside_its_functions_policy(stack):
    """Every AWS call the handlers made during the day was inside its function's IAM policy."""
    assert stack.info["iam"]["mode"] == "enforce"
    denials = Path(stack.info["iam"]["denials_log"])
    assert not denials.exists() or not denials.read_text().strip(), denials.read_text()
