"""POST /tickets against the emulated AWS: every content type, attachments, idempotency,
rate limiting, and bad input that must write nothing."""
import json
from urllib.parse import urlencode

import boto3
import pytest

from chalicelib import runtime
from chalicelib.db.models import Key, Ticket, TimelineItem
from tests.integration.helpers import Api, events, new_ticket, timeline

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def api(stack):
    return Api(stack.client)


def multipart(fields: dict, files: list[tuple[str, str, bytes]], boundary="SetuBoundary7MA4YWxk"):
    chunks = []
    for name, value in fields.items():
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                      + value.encode() + b"\r\n")
    for filename, content_type, data in files:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; '
                      f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
                      + data + b"\r\n")
    return f"multipart/form-data; boundary={boundary}", b"".join(chunks) + f"--{boundary}--\r\n".encode()


def test_json_ticket_appears_in_list_with_queued_then_sent_ack(api, stack):
    created = new_ticket(api, lang="en", department="sales")
    assert set(created) >= {"id", "ref", "status"} and created["status"] == "new"
    status, page = api.get("/api/tickets")
    assert status == 200 and created["id"] in [t["id"] for t in page["items"]]

    entries = timeline(api, created["id"])
    ack = [e for e in entries if e.get("kind") == "ack"]
    assert len(ack) == 1 and ack[0]["status"] == "queued" and ack[0]["channel"] == "email"
    assert ack[0]["subject"].startswith(f"[#{created['ref']}]")

    stack.pump.drain()
    entries = timeline(api, created["id"])
    ack = [e for e in entries if e.get("kind") == "ack"][0]
    assert ack["status"] == "sent" and ack["provider_id"] and ack["message_id"].startswith("<m_")
    assert events(api, created["id"])[:2] == ["ticket.created", "message.received"]
    assert "message.sent" in events(api, created["id"])
    assert boto3.client("ses").get_send_quota()["SentLast24Hours"] >= 1


def test_urlencoded_form_in_bengali(api):
    status, created = api.post("/tickets", raw=urlencode(
        {"name": "করিম", "phone": "01711-000000", "message": "বিল ভুল এসেছে", "lang": "bn"}),
        content_type="application/x-www-form-urlencoded")
    assert status == 201
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    assert ticket["customer"]["phone"] == "+8801711000000"
    assert ticket["customer"]["name"] == "করিম"
    ack = [e for e in ticket["timeline"] if e.get("kind") == "ack"][0]
    assert ack["channel"] == "sms" and f"#{created['ref'].translate(str.maketrans('0123456789', '০১২৩৪৫৬৭৮৯'))}" in ack["body"]


def test_multipart_with_attachments_stores_them_in_s3(api, stack):
    content_type, body = multipart({"email": "m@example.com", "message": "see photo"},
                                   [("ছবি.png", "image/png", PNG), ("notes.txt", "text/plain", b"hello")])
    status, created = api.post("/tickets", raw=body, content_type=content_type)
    assert status == 201, created
    message = [e for e in timeline(api, created["id"]) if e.get("direction") == "in"][0]
    assert [(a["filename"], a["content_type"], a["size"]) for a in message["attachments"]] == [
        ("ছবি.png", "image/png", len(PNG)), ("notes.txt", "text/plain", 5)]
    s3 = boto3.client("s3")
    stored = s3.get_object(Bucket=stack.outputs["MailBucket"], Key=message["attachments"][0]["key"])
    assert stored["Body"].read() == PNG and stored["ContentType"] == "image/png"


def test_same_person_by_email_and_phone_is_one_customer(api):
    first = new_ticket(api, email="one@example.com", phone="+8801811000000")
    second = new_ticket(api, email="ONE@example.com", message="again")
    third = new_ticket(api, phone="01811-000000", message="by phone")
    customers = {api.get(f"/api/tickets/{t['id']}")[1]["customer_id"] for t in (first, second, third)}
    assert len(customers) == 1


def test_idempotency_key_returns_the_same_ticket(api):
    body = {"email": "idem@example.com", "message": "once please"}
    s1, first = api.post("/tickets", body, headers={"Idempotency-Key": "abc-123"})
    s2, again = api.post("/tickets", body, headers={"Idempotency-Key": "abc-123"})
    assert (s1, s2) == (201, 201) and first == again
    status, error = api.post("/tickets", {**body, "message": "different"},
                             headers={"Idempotency-Key": "abc-123"})
    assert status == 422 and "Idempotency-Key" in error["error"]["fields"]
    assert len(api.get("/api/tickets?q=idem@example.com")[1]["items"]) == 1


def test_rate_limit_per_ip_answers_429(api, monkeypatch):
    monkeypatch.setenv("SETU_FORM_LIMIT_PER_HOUR", "3")
    runtime.reset()
    results = [api.post("/tickets", {"email": f"r{n}@example.com", "message": "hi"})[0] for n in range(5)]
    assert results == [201, 201, 201, 429, 429]
    status, body, headers = api.call("POST", "/tickets", {"email": "z@example.com", "message": "x"})
    assert status == 429 and body["error"]["code"] == "rate_limited" and int(headers["Retry-After"]) > 0
    assert not list(Key.query("email#r3@example.com"))  # the refused contact left nothing behind


BAD_INPUT = [
    ("malformed json", "application/json", b'{"message": ', 400, "body"),
    ("json array", "application/json", b"[]", 400, "body"),
    ("wrong content type", "text/plain", b"message=hi", 415, "content-type"),
    ("missing message", "application/json", json.dumps({"email": "a@example.com"}).encode(), 422, "message"),
    ("missing contact", "application/json", json.dumps({"message": "hi"}).encode(), 422, "email"),
    ("invalid email", "application/json", json.dumps({"email": "nope", "message": "hi"}).encode(), 422, "email"),
    ("invalid phone", "application/json", json.dumps({"phone": "123", "message": "hi"}).encode(), 422, "phone"),
    ("honeypot", "application/json", json.dumps({"email": "a@example.com", "message": "hi", "website": "x"}).encode(), 422, "website"),
    ("unknown field", "application/json", json.dumps({"email": "a@example.com", "message": "hi", "admin": "1"}).encode(), 422, "admin"),
    ("oversized field", "application/json", json.dumps({"email": "a@example.com", "message": "x" * 20001}).encode(), 422, "message"),
    ("repeated field", "application/x-www-form-urlencoded", b"email=a%40example.com&message=a&message=b", 422, "message"),
]


@pytest.mark.parametrize("name,content_type,body,status,field", BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_is_a_named_4xx_and_writes_nothing(api, name, content_type, body, status, field):
    before = sum(1 for _ in Ticket.all_index.query("ticket"))
    got, error = api.post("/tickets", raw=body, content_type=content_type)
    assert got == status, error
    assert field in error["error"].get("fields", {}), error
    assert sum(1 for _ in Ticket.all_index.query("ticket")) == before


def test_oversized_attachment_is_422_and_nothing_is_stored(api, stack):
    content_type, body = multipart({"email": "big@example.com", "message": "big"},
                                   [("big.png", "image/png", PNG + b"\x00" * (3 * 1024 * 1024))])
    status, error = api.post("/tickets", raw=body, content_type=content_type)
    assert status == 422 and "attachments" in error["error"]["fields"]
    listed = boto3.client("s3").list_objects_v2(Bucket=stack.outputs["MailBucket"], Prefix="attachments/")
    assert listed.get("KeyCount", 0) == 0
    assert not list(Key.query("email#big@example.com"))


def test_body_over_lambda_limit_is_413(api):
    status, error = api.post("/tickets", raw=b'{"message":"' + b"x" * (6 * 1024 * 1024) + b'"}')
    assert status == 413 and error["error"]["code"] == "payload_too_large"


def test_hosted_form_in_both_languages(stack):
    for lang, label in (("bn", "বার্তা"), ("en", "Message")):
        response = stack.client.http.get(f"/form?lang={lang}&department=billing")
        html = response.body.decode()
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
        assert f'lang="{lang}"' in html and label in html
        assert 'value="billing" selected' in html and 'name="website"' in html


def test_health(stack):
    response = stack.client.http.get("/health")
    assert response.status_code == 200 and json.loads(response.body) == {"status": "ok"}


def test_timeline_items_are_written_atomically_with_the_ticket(api):
    created = new_ticket(api)
    kinds = [(i.item_type, i.type or i.kind) for i in TimelineItem.query(created["id"])]
    assert kinds == [("event", "ticket.created"), ("message", "message"),
                     ("event", "message.received"), ("message", "ack")]
