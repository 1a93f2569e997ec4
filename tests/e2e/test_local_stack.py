"""CONTRACT.md's local stack, from outside: health, local.json, the three form encodings, the
ack on the timeline, Idempotency-Key, a short first-response SLA breaching (and not breaching
once answered), and a clean shutdown."""
from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import requests

from tests.e2e.conftest import ADMIN, wait_for


def _ticket(url: str, ticket_id: str) -> dict:
    response = requests.get(f"{url}/api/tickets/{ticket_id}", headers=ADMIN, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _ack_sent(ticket: dict) -> bool:
    return any(item.get("kind") == "ack" and item.get("direction") == "out"
               and item.get("status") == "sent" for item in ticket["timeline"])


def _events(ticket: dict) -> list[str]:
    return [item["type"] for item in ticket["timeline"] if item.get("type") != "message"]


def test_health_and_local_json(local_stack_running):
    info = local_stack_running.info
    response = requests.get(f"{info['api_url']}/health", timeout=5)
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    for key in ("api_url", "aws_endpoint_url", "region", "support_address", "sms_number",
                "inbound_sms_topic_arn", "ses_events_topic_arn"):
        assert info[key], key
    assert info["api_url"].startswith("http://127.0.0.1:")
    assert info["aws_endpoint_url"].startswith("http://127.0.0.1:")
    assert info["sms_number"].startswith("+")
    assert set(info["tables"]) >= {"TicketsTable", "TimelineTable", "CustomersTable"}
    assert info["queues"]["timer"] and info["bucket"] and info["state_machines"]["timer"]
    assert info["queues"]["stream_failures"].endswith("-stream-failures")


def test_the_console_user_of_local_json_signs_in_and_is_the_local_console_agent(local_stack_running):
    import boto3

    info = local_stack_running.info
    idp = boto3.client("cognito-idp", endpoint_url=info["aws_endpoint_url"],
                       region_name=info["region"], aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    auth = idp.initiate_auth(ClientId=info["user_pool_client_id"], AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": info["console_user"],
                                             "PASSWORD": info["console_password"]})
    token = auth["AuthenticationResult"]["IdToken"]
    url = info["api_url"]
    me = requests.get(f"{url}/console/api/me", headers={"Authorization": f"Bearer {token}"},
                      timeout=30)
    assert me.status_code == 200, me.text
    assert me.json()["console_user"] == info["console_user"] and me.json()["role"] == "admin"
    # a console-only agent (no IAM user): the IAM path never reaches its identity
    assert me.json()["principal"] == "console:console", me.json()
    assert requests.get(f"{url}/api/me", headers={"X-Setu-Principal": me.json()["principal"]},
                        timeout=30).status_code == 403
    tampered = token[:-6] + ("A" * 6 if not token.endswith("A" * 6) else "B" * 6)
    refused = requests.get(f"{url}/console/api/me", timeout=30,
                           headers={"Authorization": f"Bearer {tampered}"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated"
    # the local IAM stand-in opens no console route
    assert requests.get(f"{url}/console/api/me", headers=ADMIN, timeout=30).status_code == 401
    # the console itself: its shell names the pool's app client and the emulator's Cognito
    assert info["console_url"] == f"{url}/console"
    shell = requests.get(info["console_url"], timeout=30)
    assert shell.status_code == 200 and "text/html" in shell.headers["Content-Type"]
    config = json.loads(shell.text.split('id="setu-config">', 1)[1].split("</script>", 1)[0])
    assert config["clientId"] == info["user_pool_client_id"]
    assert config["cognito"] == info["aws_endpoint_url"] and config["api"] == "/console/api"
    assert info["aws_endpoint_url"] in shell.headers["Content-Security-Policy"]


def test_tickets_by_json_form_and_multipart_are_listed_with_their_ack(local_stack_running):
    url = local_stack_running.url
    by_json = requests.post(f"{url}/tickets", json={
        "name": "রহিম উদ্দিন", "email": "rahim.e2e@example.com", "subject": "অর্ডার",
        "message": "আমার অর্ডার এখনো আসেনি", "lang": "bn"}, timeout=30)
    by_form = requests.post(f"{url}/tickets", data={
        "name": "Karim", "email": "karim.e2e@example.com", "message": "Refund please",
        "lang": "en"}, timeout=30)
    by_multipart = requests.post(f"{url}/tickets", data={
        "name": "Sumi", "phone": "01711000123", "email": "sumi.e2e@example.com",
        "message": "ছবি সংযুক্ত"}, files={"attachment": ("receipt.txt", b"paid 500 taka", "text/plain")},
        timeout=30)
    created = [r.json() for r in (by_json, by_form, by_multipart)]
    assert [r.status_code for r in (by_json, by_form, by_multipart)] == [201, 201, 201], created
    assert all(c["status"] == "new" and c["ref"] for c in created)

    listed = requests.get(f"{url}/api/tickets", headers=ADMIN, timeout=30).json()["items"]
    assert {c["id"] for c in created} <= {t["id"] for t in listed}
    for c in created:
        wait_for(lambda: _ticket(url, c["id"]), _ack_sent)
    multipart = _ticket(url, created[2]["id"])
    received = [m for m in multipart["timeline"] if m["type"] == "message" and m["direction"] == "in"]
    assert [a["filename"] for a in received[0]["attachments"]] == ["receipt.txt"]
    assert multipart["customer"]["phone"] == "+8801711000123"


def test_same_idempotency_key_returns_the_same_ticket(local_stack_running):
    url = local_stack_running.url
    body = {"name": "Rina", "email": "rina.e2e@example.com", "message": "দ্বিতীয়বার পাঠালাম"}
    headers = {"Idempotency-Key": "e2e-retry-1"}
    first = requests.post(f"{url}/tickets", json=body, headers=headers, timeout=30)
    again = requests.post(f"{url}/tickets", json=body, headers=headers, timeout=30)
    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    listed = requests.get(f"{url}/api/tickets", params={"q": "rina.e2e@example.com"},
                          headers=ADMIN, timeout=30).json()["items"]
    assert [t["id"] for t in listed] == [first.json()["id"]]


def test_short_first_response_breaches_unless_answered(local_stack_running):
    url = local_stack_running.url
    policy = requests.put(f"{url}/api/sla-policies/default", json={"first_response": "PT4S"},
                          headers=ADMIN, timeout=30)
    assert policy.status_code == 200, policy.text
    try:
        ignored = requests.post(f"{url}/tickets", json={
            "email": "ignored.e2e@example.com", "message": "কেউ উত্তর দেবেন?"}, timeout=30).json()
        answered = requests.post(f"{url}/tickets", json={
            "email": "answered.e2e@example.com", "message": "উত্তর পেলাম?"}, timeout=30).json()
        reply = requests.post(f"{url}/api/tickets/{answered['id']}/replies",
                              json={"body": "জি, দেখছি।"}, headers=ADMIN, timeout=30)
        assert reply.status_code in (200, 201), reply.text

        # a view reads the ticket, then its timeline: a poll may read the ticket just before
        # the breach is written and the timeline just after (the event, not yet the ticket's
        # list); the next poll shows both
        breached = wait_for(lambda: _ticket(url, ignored["id"]),
                             lambda t: "sla.breached" in _events(t) and t["sla"]["breached"],
                             timeout=40)
        assert breached["sla"]["breached"] == ["first_response"], breached
        time.sleep(2)  # the answered ticket's (stopped) timer was due at the same moment
        fine = _ticket(url, answered["id"])
        assert "sla.breached" not in _events(fine), fine
        assert fine["sla"]["breached"] == [], fine
    finally:
        requests.put(f"{url}/api/sla-policies/default", json={"first_response": "PT1H"},
                     headers=ADMIN, timeout=30)


def _send_mail(info: dict, message) -> None:
    import smtplib

    with smtplib.SMTP("127.0.0.1", info["smtp_port"], timeout=30) as smtp:
        smtp.send_message(message, to_addrs=[message["To"]])


def _mail(sender, subject, body, **headers):
    from email.message import EmailMessage
    from email.utils import make_msgid

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, headers.pop("to"), subject
    message["Message-ID"] = make_msgid(domain="client.example.com")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def _find(url: str, q: str) -> list[dict]:
    return requests.get(f"{url}/api/tickets", params={"q": q}, headers=ADMIN, timeout=30).json()["items"]


def test_email_by_smtp_threads_replies_and_skips_autoreplies(local_stack_running):
    info, url = local_stack_running.info, local_stack_running.url
    support = info["support_address"]
    _send_mail(info, _mail("Nadia <nadia.e2e@example.com>", "ইন্টারনেট সংযোগ নেই",
                           "গতকাল থেকে ইন্টারনেট নেই।", to=support))
    [ticket] = wait_for(lambda: _find(url, "nadia.e2e@example.com"), bool)
    ack = wait_for(lambda: _ticket(url, ticket["id"]), _ack_sent)
    ack = [i for i in ack["timeline"] if i.get("kind") == "ack"][0]

    # the customer replies from a mail client: In-Reply-To/References and the quote below
    _send_mail(info, _mail("Nadia <nadia.e2e@example.com>", "Re: " + ack["subject"],
                           "রাউটার রিস্টার্ট করেছি, কাজ হয়নি।\n\n"
                           "সোম, ২৩ নভে, ২০২৬ তারিখে Setu <support@setu.local> লিখেছেন:\n> আগের বার্তা\n",
                           to=ack["reply_to"], In_Reply_To=ack["message_id"], References=ack["message_id"]))
    replied = wait_for(lambda: _ticket(url, ticket["id"]),
                        lambda t: len([i for i in t["timeline"] if i.get("direction") == "in"]) == 2)
    latest = [i for i in replied["timeline"] if i.get("direction") == "in"][-1]
    assert latest["body"] == "রাউটার রিস্টার্ট করেছি, কাজ হয়নি।"
    assert len(_find(url, "nadia.e2e@example.com")) == 1

    # an out-of-office reply opens nothing new that gets an ack
    _send_mail(info, _mail("Away <away.e2e@example.com>", "Automatic reply: hello",
                           "I am out of the office.", to=support, Auto_Submitted="auto-replied"))
    [away] = wait_for(lambda: _find(url, "away.e2e@example.com"), bool)
    time.sleep(1.5)
    assert not [i for i in _ticket(url, away["id"])["timeline"] if i.get("kind") == "ack"]

    # an agent's reply goes out threaded to the customer's mail
    sent = requests.post(f"{url}/api/tickets/{ticket['id']}/replies", json={"body": "টেকনিশিয়ান পাঠাচ্ছি।"},
                         headers=ADMIN, timeout=30)
    assert sent.status_code == 201 and sent.json()["channel"] == "email"
    done = wait_for(lambda: _ticket(url, ticket["id"]), lambda t: any(
        i.get("kind") == "reply" and i.get("status") == "sent" for i in t["timeline"]))
    reply = [i for i in done["timeline"] if i.get("kind") == "reply"][0]
    assert reply["in_reply_to"] and reply["reply_to"].startswith("support+")


def test_sms_by_topic_opens_a_ticket_with_an_sms_ack(local_stack_running):
    import json as _json

    import boto3

    info, url = local_stack_running.info, local_stack_running.url
    sns = boto3.client("sns", endpoint_url=info["aws_endpoint_url"], region_name=info["region"],
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    sns.publish(TopicArn=info["inbound_sms_topic_arn"], Message=_json.dumps({
        "originationNumber": "+8801711555001", "destinationNumber": info["sms_number"],
        "messageBody": "আমার বিল ভুল", "inboundMessageId": "e2e-sms-1"}))
    [ticket] = wait_for(lambda: _find(url, "01711555001"), bool)
    full = wait_for(lambda: _ticket(url, ticket["id"]), _ack_sent)
    ack = [i for i in full["timeline"] if i.get("kind") == "ack"][0]
    assert ack["channel"] == "sms" and ack["segments"] >= 1


def test_logs_are_structured_and_carry_no_bodies_or_tokens(local_stack_running):
    """What reaches CloudWatch on AWS: JSON lines with correlation ids, never a customer's words,
    a signed reply address or a CSAT token."""
    import json as _json
    import re

    import boto3

    info, url = local_stack_running.info, local_stack_running.url
    secrets = {"web": "গোপন-ওয়েব-বার্তা-7731", "mail": "secret mail words 4412",
               "sms": "গোপন এসএমএস ৯৯১২"}
    created = requests.post(f"{url}/tickets", json={
        "name": "Log Check", "email": "logcheck.e2e@example.com", "message": secrets["web"]},
        timeout=30).json()
    _send_mail(info, _mail("Mail Check <mailcheck.e2e@example.com>", "log check", secrets["mail"],
                           to=info["support_address"]))
    boto3.client("sns", endpoint_url=info["aws_endpoint_url"], region_name=info["region"],
                 aws_access_key_id="testing", aws_secret_access_key="testing").publish(
        TopicArn=info["inbound_sms_topic_arn"], Message=_json.dumps({
            "originationNumber": "+8801711555077", "destinationNumber": info["sms_number"],
            "messageBody": secrets["sms"], "inboundMessageId": "e2e-log-1"}))
    web = wait_for(lambda: _ticket(url, created["id"]), _ack_sent)
    [mailed] = wait_for(lambda: _find(url, "mailcheck.e2e@example.com"), bool)
    wait_for(lambda: _ticket(url, mailed["id"]), _ack_sent)
    [texted] = wait_for(lambda: _find(url, "01711555077"), bool)
    wait_for(lambda: _ticket(url, texted["id"]), _ack_sent)
    time.sleep(1)  # the pump's last lines

    log = local_stack_running.log.read_text(encoding="utf-8", errors="replace")
    structured = [_json.loads(line) for line in log.splitlines() if line.startswith('{"level"')]
    assert structured and any(line.get("correlation_id") for line in structured)
    assert any(line.get("ticket_id") == created["id"] for line in structured)
    for what, text in secrets.items():
        assert text not in log, f"the {what} message body is in the logs"
    ack = [i for i in web["timeline"] if i.get("kind") == "ack"][0]
    token = ack["reply_to"].split("+", 1)[1].split("@", 1)[0]
    assert token not in log, "a signed reply address is in the logs"
    assert not re.search(r"/csat/[A-Za-z0-9._-]{8,}", log), "a CSAT token is in the logs"


def test_no_call_outside_its_functions_policy(local_stack_running):
    """Every AWS call the handlers made in the tests above was inside its function's policy
    (the stack enforces them, so a denial would also have failed its flow)."""
    info = local_stack_running.info
    assert info["iam"]["mode"] == "enforce"
    denials = Path(info["iam"]["denials_log"])
    assert not denials.exists() or not denials.read_text().strip(), denials.read_text()


def test_sigterm_stops_everything(local_stack_running):
    running = local_stack_running
    aws = running.info["aws_endpoint_url"]
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(30) == 0
    assert not (running.state_dir / "local.json").exists()
    for endpoint in (running.url + "/health", aws + "/moto-api/"):
        wait_for(lambda: _refused(endpoint), bool, timeout=30)


def _refused(endpoint: str) -> bool:
    try:
        requests.get(endpoint, timeout=2)
    except requests.ConnectionError:
        return True
    return False
