"""Each handler runs under its own function's generated policy (local/iam.py, from
infra/permissions.yaml): the flows need what is declared, and taking one permission away
breaks the flow that needs it, with the error AWS gives."""
from __future__ import annotations

import time

import boto3
import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import GetError

from chalicelib.db.models import Customer, Ticket
from infra import permissions
from local import iam, stack as local_stack
from tests.integration.helpers import Api, events, new_ticket, timeline, wait_for
from tests.integration.test_email import mail, ses_deliver


@pytest.fixture
def api(stack):
    return Api(stack.client)


def mail_with_attachment(filename: str, data: bytes):
    message = mail(sender="Rahim <rahim@example.com>", subject="Invoice", body="See the attached invoice.")
    message.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    return message


def _without(function: str, sid: str) -> dict:
    """The declaration with one grant of one function taken away."""
    declaration = permissions.declaration()
    grants = declaration["functions"][function]
    assert sid in [g["sid"] for g in grants], f"{function} has no grant {sid}"
    declaration["functions"][function] = [g for g in grants if g["sid"] != sid]
    return declaration


def _resolve_with_checkin(api, stack) -> dict:
    assert api.put("/api/sla-policies/default", {"first_response": "PT1H", "checkin_after": "PT2S"})[0] == 200
    created = new_ticket(api, email="happy@example.com")
    assert api.post(f"/api/tickets/{created['id']}/replies", {"body": "Fixed the meter."})[0] == 201
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "resolved"})[0] == 200
    return created


@pytest.mark.iam_denials_expected
@pytest.mark.parametrize("declared", ["as declared", "without timer_fired's read of customers"])
def test_a_checkin_needs_the_timer_function_to_read_customers(api, stack, declared):
    if declared != "as declared":
        iam.use_stack(stack.endpoint, stack.stage, support_domain=local_stack.SUPPORT_DOMAIN,
                      declaration=_without("timer_fired", "Customers"))
    created = _resolve_with_checkin(api, stack)
    if declared == "as declared":
        wait_for(lambda: "followup.sent" in events(api, created["id"]), stack.pump, timeout=30)
        assert not [d for d in iam.denials() if d.function == "timer_fired"]
        return

    customers = f"arn:aws:dynamodb:us-east-1:123456789012:table/setu-{stack.stage}-customers"
    denial = iam.Denial("timer_fired", "dynamodb:GetItem", customers, "GetItem")
    wait_for(lambda: denial in iam.denials(), stack.pump, timeout=30)
    deadline = time.monotonic() + 4  # and the check-in does not go out
    while time.monotonic() < deadline:
        stack.pump.poll_once()
        time.sleep(0.3)
    assert "followup.sent" not in events(api, created["id"])
    # the message stays on the timer queue, to be retried and then dead-lettered, as on AWS
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.outputs["TimerQueueUrl"], AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert int(attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"]) >= 1

    # what the handler got: DynamoDB's AccessDeniedException, in AWS's words
    customer_id = Ticket.get(created["id"]).customer_id
    with iam.as_function("timer_fired"), pytest.raises(GetError) as caught:
        Customer.get(customer_id)
    assert caught.value.cause_response_code == "AccessDeniedException"
    assert caught.value.cause_response_message == (
        f"User: arn:aws:sts::123456789012:assumed-role/setu-{stack.stage}-TimerFiredRole/"
        f"setu-{stack.stage}-timer_fired is not authorized to perform: dynamodb:GetItem on "
        f"resource: {customers} because no identity-based policy allows the dynamodb:GetItem action")


@pytest.mark.iam_denials_expected
def test_api_requests_run_as_api_handler(api, stack):
    iam.use_stack(stack.endpoint, stack.stage, support_domain=local_stack.SUPPORT_DOMAIN,
                  declaration=_without("api_handler", "Data"))
    status, body = api.get("/api/tickets")
    assert status >= 500 or status == 403 or status == 401, (status, body)
    assert any(d.function == "api_handler" for d in iam.denials())


def test_mail_with_an_attachment_stores_it_under_the_email_function(api, stack):
    """inbound_email stores a mail's attachments (s3:PutObject on attachments/*)."""
    ses_deliver(stack, mail_with_attachment("invoice.pdf", b"%PDF-1.4 receipt").as_bytes())
    found = wait_for(lambda: api.get("/api/tickets?q=rahim@example.com")[1]["items"], stack.pump)
    message = [e for e in timeline(api, found[0]["id"]) if e.get("direction") == "in"][0]
    assert [a["filename"] for a in message["attachments"]] == ["invoice.pdf"]
    stored = boto3.client("s3").get_object(Bucket=stack.outputs["MailBucket"],
                                           Key=message["attachments"][0]["key"])
    assert stored["Body"].read() == b"%PDF-1.4 receipt"
    assert not iam.denials()


def test_no_flow_in_this_file_was_denied_as_declared(api, stack):
    """A web-form ticket, its ack, an agent reply with an attachment and a status change."""
    import base64

    created = new_ticket(api, lang="en")
    pdf = b"%PDF-1.4 hello"
    status, _ = api.post(f"/api/tickets/{created['id']}/replies", {"body": "Your receipt.", "attachments": [
        {"filename": "r.pdf", "content_type": "application/pdf", "content_base64": base64.b64encode(pdf).decode()}]})
    assert status == 201
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "pending"})[0] == 200
    stack.pump.drain()
    sent = [e for e in timeline(api, created["id"]) if e.get("kind") == "reply"]
    assert sent and sent[0]["status"] == "sent"
    assert not iam.denials(), iam.denials()


@pytest.mark.iam_denials_expected
def test_lambda_polls_the_timer_queue_with_the_functions_role(stack):
    """The event source mapping's own calls use the function's role too (as_event_source)."""
    iam.use_stack(stack.endpoint, stack.stage, support_domain=local_stack.SUPPORT_DOMAIN,
                  declaration=_without("timer_fired", "TimerQueue"))
    with pytest.raises(ClientError) as caught:
        stack.pump._poll_source("timer_fired")
    error = caught.value.response["Error"]
    assert error["Code"] == "AccessDenied"
    assert "perform: sqs:ReceiveMessage on resource: arn:aws:sqs:us-east-1:123456789012:" \
           f"setu-{stack.stage}-timers because" in error["Message"]
    # the other sources are read as before
    stack.pump._poll_source("ticket_changed")
    stack.pump._poll_source("inbound_sms")
    assert {d.function for d in iam.denials()} == {"timer_fired"}


@pytest.mark.iam_denials_expected
def test_the_signing_secret_is_read_only_for_the_functions(stack):
    """The signing keys are made at deploy time: the functions that sign or verify may read the
    secret and not change it, and the inbound functions no longer write settings at all (they
    used to create the secret there on a new stage)."""
    secrets = boto3.client("secretsmanager")
    arn = stack.outputs["SigningSecretArn"]
    dynamodb = boto3.client("dynamodb")
    table = stack.outputs["SettingsTable"]
    for function in ("api_handler", "timer_fired", "timeline_appended", "inbound_email", "inbound_sms",
                     "ses_events", "sms_events"):
        with iam.as_function(function):
            assert "k1" in secrets.get_secret_value(SecretId=arn)["SecretString"]
            with pytest.raises(ClientError) as caught:
                secrets.put_secret_value(SecretId=arn, SecretString="{}")
        assert caught.value.response["Error"]["Code"] == "AccessDeniedException", function
    for function in ("ticket_changed", "report_events", "report_timeline", "daily_briefing"):
        with iam.as_function(function), pytest.raises(ClientError) as caught:
            secrets.get_secret_value(SecretId=arn)
        assert caught.value.response["Error"]["Code"] == "AccessDeniedException", function
    for function in ("inbound_email", "inbound_sms"):
        with iam.as_function(function), pytest.raises(ClientError) as caught:
            dynamodb.put_item(TableName=table, Item={"kind": {"S": "secret"}, "name": {"S": "reply-signing"}})
        assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"kind": {"S": "secret"},
                                                                 "name": {"S": "reply-signing"}})
