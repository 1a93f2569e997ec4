"""Retention (issue 20, data protection): a closed ticket's timeline gets the TTL attribute
(and loses it on reopening), rejected payloads expire, the TTLs are enabled on the tables and
old object versions expire in the mail bucket."""
from __future__ import annotations

import json
import time

import boto3

from chalicelib import clock
from chalicelib.db.models import Key, TimelineItem
from tests.integration.helpers import Api, new_ticket, wait_for
from tests.integration.test_sms import sms


def _ttls(ticket_id: str) -> list:
    return [i.expires_at for i in TimelineItem.query(ticket_id, consistent_read=True)]


def test_closed_tickets_content_expires_and_a_reopened_one_keeps_it(stack, monkeypatch):
    monkeypatch.setenv("SETU_RETENTION_CLOSED_DAYS", "90")
    api = Api(stack.client)
    created = new_ticket(api)
    stack.pump.drain()
    assert set(_ttls(created["id"])) == {None}
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "closed"})[0] == 200
    ttls = wait_for(lambda: (lambda t: t if None not in t else None)(_ttls(created["id"])), stack.pump)
    expected = clock.now().timestamp() + 90 * 86400
    assert all(abs(t - expected) < 600 for t in ttls)
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "open"})[0] == 200
    wait_for(lambda: set(_ttls(created["id"])) == {None}, stack.pump)


def test_retention_zero_keeps_content(stack, monkeypatch):
    monkeypatch.setenv("SETU_RETENTION_CLOSED_DAYS", "0")
    api = Api(stack.client)
    created = new_ticket(api)
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "closed"})[0] == 200
    stack.pump.drain()
    assert set(_ttls(created["id"])) == {None}


def test_rejected_payloads_expire(stack):
    boto3.client("sns").publish(TopicArn=stack.outputs["InboundSmsTopicArn"],
                                Message=json.dumps({"nonsense": True}))
    stack.pump.drain()
    rejected = [k for k in _keys_with_prefix(stack, "inbound#sms-rejected#")]
    assert rejected, "the rejected SMS notification was not recorded"
    for item in rejected:
        assert abs(int(item["expires_at"]["N"]) - (time.time() + 30 * 86400)) < 600
    # an accepted one keeps its marker (exactly-once needs it)
    sms(stack, "hello", sender="01711000991")
    stack.pump.drain()
    accepted = _keys_with_prefix(stack, "inbound#sms#")
    assert accepted and all("expires_at" not in k for k in accepted)


def _keys_with_prefix(stack, prefix: str) -> list[dict]:
    client = boto3.client("dynamodb")
    items = client.scan(TableName=stack.outputs["KeysTable"])["Items"]  # test only: tiny table
    return [i for i in items if i["pk"]["S"].startswith(prefix)]


def test_ttl_is_enabled_on_the_timeline_and_old_versions_expire():
    from infra import render

    resources = render.load_template()["Resources"]
    assert resources["TimelineTable"]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at", "Enabled": True}
    assert resources["KeysTable"]["Properties"]["TimeToLiveSpecification"]["Enabled"] is True
    rules = resources["MailBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert any("NoncurrentVersionExpiration" in r for r in rules)
