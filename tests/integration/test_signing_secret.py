"""The signing keys (services/messaging/signing.py) come from the stack's Secrets Manager secret,
read by each function under its own policy (fresh containers: every invocation reads it again),
and `setu rotate-signing-key` rotates them without breaking links already sent while their key
is kept; dropping the key ends them."""
from __future__ import annotations

import json
import re

import boto3
import pytest

from chalicelib.services.followup import checkin
from chalicelib.services.messaging import signing
from local import iam, stack as local_stack
from setu_cli.main import main as setu
from tests.integration.helpers import Api, new_ticket, timeline, wait_for
from tests.integration.test_email import mail, ses_deliver
from tests.integration.test_iam import _without
from tests.integration.test_pages import http, status_path


@pytest.fixture
def api(stack):
    return Api(stack.client)


def _ack(api, ticket_id: str) -> dict:
    return [e for e in timeline(api, ticket_id) if e.get("kind") == "ack"][0]


def _rotate(*args: str, secret: str) -> None:
    assert setu(["rotate-signing-key", "--secret", secret, *args]) == 0
    signing.reset()  # the test process's own cache (the functions' containers are fresh)


def _incoming(api, ticket_id: str) -> int:
    return len([e for e in timeline(api, ticket_id) if e.get("direction") == "in"])


def test_links_carry_the_key_id_and_survive_a_rotation_until_the_key_is_dropped(api, stack):
    arn = stack.outputs["SigningSecretArn"]
    value = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
    assert value["current"] == "k1" and len(value["k1"]) == 64

    # signed by timeline_appended (the ack), opened by api_handler, reply address by inbound_email
    created = new_ticket(api, lang="en")
    stack.pump.drain()
    old_status = status_path(api, created["id"])
    old_reply_to = _ack(api, created["id"])["reply_to"]
    assert ".k1." in old_status and re.search(r"^support\+\d+\.[0-9a-z]+\.k1\.[a-z0-9]{10}@", old_reply_to)
    old_csat = checkin.token(created["id"])
    assert ".k1." in old_csat
    assert http(stack, "GET", old_status)[0] == 200

    _rotate(secret=arn)
    value = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
    assert value["current"] == "k2" and set(value) == {"current", "k1", "k2"}

    # old links keep working while k1 is kept
    assert http(stack, "GET", old_status)[0] == 200
    assert http(stack, "GET", f"/csat/{old_csat}?score=5")[0] == 200
    ses_deliver(stack, mail(to=old_reply_to, subject="something else entirely",
                            body="one more thing").as_bytes())
    wait_for(lambda: _incoming(api, created["id"]) == 2, stack.pump)
    # new ones are signed with k2
    second = new_ticket(api, lang="en", email="karim@example.com")
    stack.pump.drain()
    new_status = status_path(api, second["id"])
    assert ".k2." in new_status and ".k2." in _ack(api, second["id"])["reply_to"]
    assert http(stack, "GET", new_status)[0] == 200

    # after the grace period: k1 dropped, its links refused, k2's still work
    _rotate("--drop", "k1", secret=arn)
    assert http(stack, "GET", old_status)[0] == 403
    assert http(stack, "GET", f"/csat/{old_csat}?score=5")[0] == 404
    assert http(stack, "GET", new_status)[0] == 200
    assert setu(["rotate-signing-key", "--secret", arn, "--drop", "k2"]) == 2  # the current one
    assert not iam.denials(), iam.denials()


@pytest.mark.iam_denials_expected
def test_signing_needs_the_functions_read_of_the_secret(api, stack):
    iam.use_stack(stack.endpoint, stack.stage, support_domain=local_stack.SUPPORT_DOMAIN,
                  declaration=_without("timeline_appended", "SigningKeys"))
    created = new_ticket(api, lang="en")
    denial = iam.Denial("timeline_appended", "secretsmanager:GetSecretValue",
                        stack.outputs["SigningSecretArn"], "GetSecretValue")
    wait_for(lambda: denial in iam.denials(), stack.pump, timeout=30)
    assert not [e for e in timeline(api, created["id"]) if e.get("kind") == "ack"
                and e.get("status") == "sent"]
