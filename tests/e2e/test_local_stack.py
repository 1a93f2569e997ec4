"""CONTRACT.md's local stack, from outside: health, local.json, the three form encodings, the
ack on the timeline, Idempotency-Key, a short first-response SLA breaching (and not breaching
once answered), and a clean shutdown."""
from __future__ import annotations

import signal
import time

import requests

from tests.e2e.conftest import ADMIN


def _wait_for(fetch, predicate, timeout=30.0, interval=0.3):
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if predicate(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        time.sleep(interval)


def _ticket(url: str, ticket_id: str) -> dict:
    response = requests.get(f"{url}/api/tickets/{ticket_id}", headers=ADMIN, timeout=10)
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


def test_tickets_by_json_form_and_multipart_are_listed_with_their_ack(local_stack_running):
    url = local_stack_running.url
    by_json = requests.post(f"{url}/tickets", json={
        "name": "রহিম উদ্দিন", "email": "rahim.e2e@example.com", "subject": "অর্ডার",
        "message": "আমার অর্ডার এখনো আসেনি", "lang": "bn"}, timeout=10)
    by_form = requests.post(f"{url}/tickets", data={
        "name": "Karim", "email": "karim.e2e@example.com", "message": "Refund please",
        "lang": "en"}, timeout=10)
    by_multipart = requests.post(f"{url}/tickets", data={
        "name": "Sumi", "phone": "01711000123", "email": "sumi.e2e@example.com",
        "message": "ছবি সংযুক্ত"}, files={"attachment": ("receipt.txt", b"paid 500 taka", "text/plain")},
        timeout=10)
    created = [r.json() for r in (by_json, by_form, by_multipart)]
    assert [r.status_code for r in (by_json, by_form, by_multipart)] == [201, 201, 201], created
    assert all(c["status"] == "new" and c["ref"] for c in created)

    listed = requests.get(f"{url}/api/tickets", headers=ADMIN, timeout=10).json()["items"]
    assert {c["id"] for c in created} <= {t["id"] for t in listed}
    for c in created:
        _wait_for(lambda: _ticket(url, c["id"]), _ack_sent)
    multipart = _ticket(url, created[2]["id"])
    received = [m for m in multipart["timeline"] if m["type"] == "message" and m["direction"] == "in"]
    assert [a["filename"] for a in received[0]["attachments"]] == ["receipt.txt"]
    assert multipart["customer"]["phone"] == "+8801711000123"


def test_same_idempotency_key_returns_the_same_ticket(local_stack_running):
    url = local_stack_running.url
    body = {"name": "Rina", "email": "rina.e2e@example.com", "message": "দ্বিতীয়বার পাঠালাম"}
    headers = {"Idempotency-Key": "e2e-retry-1"}
    first = requests.post(f"{url}/tickets", json=body, headers=headers, timeout=10)
    again = requests.post(f"{url}/tickets", json=body, headers=headers, timeout=10)
    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    listed = requests.get(f"{url}/api/tickets", params={"q": "rina.e2e@example.com"},
                          headers=ADMIN, timeout=10).json()["items"]
    assert [t["id"] for t in listed] == [first.json()["id"]]


def test_short_first_response_breaches_unless_answered(local_stack_running):
    url = local_stack_running.url
    policy = requests.put(f"{url}/api/sla-policies/default", json={"first_response": "PT4S"},
                          headers=ADMIN, timeout=10)
    assert policy.status_code == 200, policy.text
    try:
        ignored = requests.post(f"{url}/tickets", json={
            "email": "ignored.e2e@example.com", "message": "কেউ উত্তর দেবেন?"}, timeout=10).json()
        answered = requests.post(f"{url}/tickets", json={
            "email": "answered.e2e@example.com", "message": "উত্তর পেলাম?"}, timeout=10).json()
        reply = requests.post(f"{url}/api/tickets/{answered['id']}/replies",
                              json={"body": "জি, দেখছি।"}, headers=ADMIN, timeout=10)
        assert reply.status_code in (200, 201), reply.text

        breached = _wait_for(lambda: _ticket(url, ignored["id"]),
                             lambda t: "sla.breached" in _events(t), timeout=40)
        assert breached["sla"]["breached"] == ["first_response"], breached
        time.sleep(2)  # the answered ticket's (stopped) timer was due at the same moment
        fine = _ticket(url, answered["id"])
        assert "sla.breached" not in _events(fine), fine
        assert fine["sla"]["breached"] == [], fine
    finally:
        requests.put(f"{url}/api/sla-policies/default", json={"first_response": "PT1H"},
                     headers=ADMIN, timeout=10)


def test_sigterm_stops_everything(local_stack_running):
    running = local_stack_running
    aws = running.info["aws_endpoint_url"]
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(30) == 0
    assert not (running.state_dir / "local.json").exists()
    for endpoint in (running.url + "/health", aws + "/moto-api/"):
        _wait_for(lambda: _refused(endpoint), bool, timeout=10)


def _refused(endpoint: str) -> bool:
    try:
        requests.get(endpoint, timeout=2)
    except requests.ConnectionError:
        return True
    return False
