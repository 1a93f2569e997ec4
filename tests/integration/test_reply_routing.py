"""An agent's reply goes where it went before suppressions stopped being read first
(services/tickets._reply: the transaction checks the chosen recipient instead)."""
import pytest

from chalicelib.db.models import Key
from chalicelib.services.messaging import suppression
from tests.integration.helpers import Api, new_ticket, timeline


@pytest.fixture
def api(stack):
    return Api(stack.client)


@pytest.fixture
def reads(monkeypatch):
    """The suppression reads a reply makes (only the slow path reads them)."""
    seen = []
    original = suppression.reason
    monkeypatch.setattr(suppression, "reason", lambda *a, **k: seen.append(a) or original(*a, **k))
    return seen


def _replies(api, ticket_id):
    return [e for e in timeline(api, ticket_id) if e.get("kind") == "reply"]


def test_a_bounced_address_makes_the_reply_go_by_sms_once(api, reads):
    created = new_ticket(api, email="bounced@example.com", phone="01711000071", lang="en")
    suppression.add("bounced@example.com", "bounce")
    status, sent = api.post(f"/api/tickets/{created['id']}/replies", {"body": "We called you"})
    assert status == 201, sent
    assert (sent["channel"], sent["recipient"]) == ("sms", "+8801711000071")
    assert reads  # the transaction's check failed, so the route was made knowing
    [reply] = _replies(api, created["id"])  # the cancelled first attempt left nothing behind
    assert reply["channel"] == "sms" and reply["id"] == sent["id"]


def test_asking_for_a_suppressed_channel_is_refused(api):
    created = new_ticket(api, email="complained@example.com", phone="01711000072")
    suppression.add("complained@example.com", "complaint")
    status, error = api.post(f"/api/tickets/{created['id']}/replies",
                             {"body": "x", "channel": "email"})
    assert status == 422 and "channel" in error["error"]["fields"]
    assert _replies(api, created["id"]) == []


def test_an_unsubscribe_does_not_stop_a_personal_reply(api, reads):
    created = new_ticket(api, email="quiet@example.com", phone="01711000073")
    suppression.add("quiet@example.com", suppression.UNSUBSCRIBE)
    status, sent = api.post(f"/api/tickets/{created['id']}/replies", {"body": "Personally: done."})
    assert status == 201 and (sent["channel"], sent["recipient"]) == ("email", "quiet@example.com")
    assert reads == []  # the transaction's check lets an unsubscribed address through


def test_an_opted_out_number_is_not_texted(api):
    created = new_ticket(api, email="text@example.com", phone="01711000074")
    suppression.add("+8801711000074", "opt-out", channel="sms")
    status, sent = api.post(f"/api/tickets/{created['id']}/replies",
                            {"body": "Replying by mail", "channel": None})
    assert status == 201 and sent["channel"] == "email"
    status, error = api.post(f"/api/tickets/{created['id']}/replies",
                             {"body": "x", "channel": "sms"})
    assert status == 422


def test_a_reply_with_nothing_suppressed_reads_no_suppression(api, reads):
    created = new_ticket(api, email="fine@example.com", phone="01711000075")
    status, sent = api.post(f"/api/tickets/{created['id']}/replies", {"body": "On it"})
    assert status == 201 and sent["channel"] == "email" and reads == []
    with pytest.raises(Key.DoesNotExist):
        Key.get(suppression.pk("fine@example.com"), "_")
