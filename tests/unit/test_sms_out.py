"""The End User Messaging SMS send path. The emulator has no SMS v2 API, so the request is
checked with botocore's Stubber, which validates it against the service's own API model (no
network, no hand-written fake of the client)."""
from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.integrations import sms_out


@pytest.fixture
def sms_v2(monkeypatch):
    client = boto3.session.Session().client(
        "pinpoint-sms-voice-v2", region_name="us-east-1", aws_access_key_id="test",
        aws_secret_access_key="test")
    monkeypatch.setattr(sms_out, "client", {"pinpoint-sms-voice-v2": client}.__getitem__)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_with_a_configuration_set_it_uses_send_text_message(sms_v2):
    sms_v2.add_response("send_text_message", {"MessageId": "eum-1"}, {
        "DestinationPhoneNumber": "+8801711000000", "MessageBody": "আপনার টিকিট #1001",
        "MessageType": "TRANSACTIONAL", "ConfigurationSetName": "setu-dev-sms",
        "OriginationIdentity": "+8809612000000"})
    assert sms_out.send("+8801711000000", "আপনার টিকিট #1001", sender="+8809612000000",
                        configuration_set="setu-dev-sms") == "eum-1"


def test_without_a_sender_the_configuration_set_picks_the_identity(sms_v2):
    sms_v2.add_response("send_text_message", {"MessageId": "eum-2"}, {
        "DestinationPhoneNumber": "+8801711000000", "MessageBody": "hello",
        "MessageType": "TRANSACTIONAL", "ConfigurationSetName": "setu-dev-sms"})
    assert sms_out.send("+8801711000000", "hello", configuration_set="setu-dev-sms") == "eum-2"


def test_a_provider_error_raises_for_dispatch_to_record(sms_v2):
    sms_v2.add_client_error("send_text_message", "ValidationException", "bad number")
    with pytest.raises(Exception, match="bad number"):
        sms_out.send("+8801711000000", "x", configuration_set="setu-dev-sms")
