"""Erasing a customer (issue 20, data protection): the API route (admin only, audited) and
`setu erase-customer` remove the personal data across the tables and every version of the
customer's objects in the mail bucket, keep anonymised ticket shells and the suppression of
their address, and a retry finishes an interrupted erasure."""
from __future__ import annotations

import json

import boto3
import pytest

from chalicelib import clock
from chalicelib.db import keys
from chalicelib.db.models import Customer, Key, Ticket, TimelineItem
from chalicelib.services.messaging import suppression
from chalicelib.services.team import agents, audit
from tests.integration.helpers import Api, new_ticket, wait_for
from tests.integration.test_email import mail, ses_deliver
from tests.integration.test_web_form import multipart

EMAIL, PHONE, NAME = "erase.me@example.com", "01711000777", "Rahima Erasable"
SUBJECT_WORD = "Zanzibarcase"
SECRET_TEXT = "my secret account 998877"
AGENT = "arn:aws:iam::123456789012:user/agent-erase"


@pytest.fixture
def api(stack):
    agents.ensure_agent(AGENT, role="lead", display_name="Lead, not admin")
    return Api(stack.client)


def _person(api, stack) -> tuple[str, list[str]]:
    """A customer with a web ticket (with an attachment), a mailed ticket (raw mail in the
    bucket, overwritten once so there are two versions) and a status on their address."""
    boto3.client("s3").put_bucket_versioning(  # as the template sets it on AWS
        Bucket=stack.outputs["MailBucket"], VersioningConfiguration={"Status": "Enabled"})
    content_type, body = multipart({"email": EMAIL, "phone": PHONE, "name": NAME,
                                    "subject": f"{SUBJECT_WORD} refund", "message": SECRET_TEXT},
                                   [("attachments", "passport.txt", b"passport no 12345")])
    status, created = api.call("POST", "/tickets", raw=body, content_type=content_type)[:2]
    assert status == 201, created
    ses_id = ses_deliver(stack, mail(sender=f"{NAME} <{EMAIL}>", subject=f"{SUBJECT_WORD} again",
                                     body=SECRET_TEXT + " by mail").as_bytes(), source=EMAIL)
    bucket = stack.outputs["MailBucket"]
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key=f"inbound/{ses_id}", Body=b"second version")  # a 2nd version

    def mailed():
        found = api.get(f"/api/tickets?q={EMAIL}")[1]["items"]
        return found if len(found) == 2 else None

    tickets = [t["id"] for t in wait_for(mailed, stack.pump)]
    customer = Ticket.get(created["id"]).customer_id
    Key(pk=suppression.pk(EMAIL), sk=keys.NO_SORT, target="bounce",
        data={"at": clock.iso(clock.now()), "detail": f"550 {EMAIL} unknown"}).save()
    return customer, tickets


def _versions(stack, prefix: str) -> list[dict]:
    page = boto3.client("s3").list_object_versions(Bucket=stack.outputs["MailBucket"], Prefix=prefix)
    return page.get("Versions", []) + page.get("DeleteMarkers", [])


def _stored_text(customer: str, tickets: list[str]) -> str:
    """Everything stored about the person, as one string."""
    parts = [json.dumps(Customer.get(customer).attribute_values, default=str)]
    for tid in tickets:
        parts.append(json.dumps(Ticket.get(tid).attribute_values, default=str))
        parts += [json.dumps(i.attribute_values, default=str) for i in TimelineItem.query(tid)]
    return "\n".join(parts)


def test_erase_removes_personal_data_everywhere_and_keeps_shells(api, stack):
    customer, tickets = _person(api, stack)
    raw_keys = [i.raw_key for t in tickets for i in TimelineItem.query(t) if i.raw_key]
    assert raw_keys and any(_versions(stack, f"attachments/{t}/") for t in tickets)
    assert len(_versions(stack, raw_keys[0])) == 2
    before = {t: Ticket.get(t) for t in tickets}

    # not for leads or agents
    status, refused = api.as_principal(AGENT).post(f"/api/customers/{customer}/erase")
    assert status == 403, refused
    status, result = api.post(f"/api/customers/{customer}/erase")
    assert status == 200, result
    assert result["state"] == "done" and result["tickets"] == 2 and result["versions"] >= 3

    stored = _stored_text(customer, tickets)
    for secret in (EMAIL, "01711000777", "8801711000777", NAME, SECRET_TEXT, SUBJECT_WORD,
                   "passport", "inbound/"):
        assert secret.casefold() not in stored.casefold(), secret
    # objects: every version gone
    for t in tickets:
        assert _versions(stack, f"attachments/{t}/") == []
    for key in raw_keys:
        assert _versions(stack, key) == []
    # identity and search keys gone, so nothing finds them
    assert keys.target(keys.email_pk(EMAIL)) is None
    assert keys.target(keys.phone_pk("+8801711000777")) is None
    assert list(Key.query(keys.word_pk(SUBJECT_WORD.casefold()))) == []
    assert api.get(f"/api/tickets?q={EMAIL}")[1]["items"] == []
    assert api.get(f"/api/customers?q={EMAIL}")[1]["items"] == []
    # the suppression of the address stays (never mailed again), without its detail
    assert suppression.reason(EMAIL) == "bounce"
    assert Key.get(suppression.pk(EMAIL), keys.NO_SORT).data is None
    # shells: status, department, times, customer id kept
    for t in tickets:
        after = Ticket.get(t)
        assert (after.status, after.department, after.created_at, after.customer_id, after.ref) == (
            before[t].status, before[t].department, before[t].created_at, before[t].customer_id,
            before[t].ref)
        assert after.subject == "[erased]" and after.erased_at is not None
    record = Customer.get(customer)
    assert record.erased.as_dict()["state"] == "done" and int(record.ticket_count) == 2
    # audited, without the data
    entries, _ = audit.day(audit.today(), limit=200)
    mine = [e for e in entries if e["target"] == f"customer:{customer}"]
    assert [e["action"] for e in mine][-2:] == ["customer.erase.started", "customer.erased"]
    assert EMAIL not in json.dumps(mine)
    # idempotent: again is the same answer, nothing more
    status, again = api.post(f"/api/customers/{customer}/erase")
    assert status == 200 and again["state"] == "done" and again["tickets"] == 2
    assert api.post("/api/customers/c_missing/erase")[0] == 404


def test_an_interrupted_erasure_is_finished_by_a_retry(api, stack, monkeypatch):
    from chalicelib.integrations import storage

    customer, tickets = _person(api, stack)
    real, calls = storage.delete_every_version, []

    def flaky(prefix, **kw):
        calls.append(prefix)
        if len(calls) == 2:
            raise RuntimeError("S3 went away")
        return real(prefix, **kw)

    monkeypatch.setattr(storage, "delete_every_version", flaky)
    status, failed = api.post(f"/api/customers/{customer}/erase")
    assert status == 500, failed
    assert Customer.get(customer).erased.as_dict()["state"] == "erasing"
    monkeypatch.setattr(storage, "delete_every_version", real)
    status, result = api.post(f"/api/customers/{customer}/erase")
    assert status == 200 and result["state"] == "done"
    stored = _stored_text(customer, tickets)
    assert EMAIL not in stored and SECRET_TEXT not in stored
    for t in tickets:
        assert _versions(stack, f"attachments/{t}/") == []


def test_many_tickets_are_erased_over_several_requests(api, stack, monkeypatch):
    from chalicelib.services.customers import erase

    monkeypatch.setattr(erase, "MAX_TICKETS_PER_REQUEST", 2)
    made = [new_ticket(api, email="many.tickets@example.com", phone="", subject=f"Case {n}")
            for n in range(5)]
    customer = Ticket.get(made[0]["id"]).customer_id
    answers = []
    for _ in range(4):
        status, result = api.post(f"/api/customers/{customer}/erase")
        answers.append((status, result["state"]))
    assert answers == [(202, "erasing"), (202, "erasing"), (200, "done"), (200, "done")]
    assert all(Ticket.get(t["id"]).subject == "[erased]" for t in made)


def test_setu_erase_customer_command(api, stack, capsys):
    from setu_cli.main import main

    created = new_ticket(api, email="cli.erase@example.com", phone="", subject="Cli case")
    customer = Ticket.get(created["id"]).customer_id
    assert main(["erase-customer", customer]) == 0
    assert "done, 1 tickets" in capsys.readouterr().out
    assert keys.target(keys.email_pk("cli.erase@example.com")) is None
    assert main(["erase-customer", customer]) == 0  # again: nothing left to do
    assert main(["erase-customer", "c_nobody"]) == 2
