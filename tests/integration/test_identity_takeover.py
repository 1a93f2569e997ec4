"""Issue 20, attack 1: a stranger cannot take over a customer's conversation through the web
form. A form post proves nothing about the addresses typed into it, so it links no new
address to an existing customer, and replies go to the conversation's own address, never
to "the first address" (services/customers/identities.py, services/messaging/routes.py)."""
import pytest

from chalicelib.db import keys
from chalicelib.db.models import Customer
from tests.integration.helpers import Api, new_ticket, timeline
from tests.integration.test_email import mail, outcome, ses_deliver


@pytest.fixture
def api(stack):
    return Api(stack.client)


def _customer(api, ticket_id):
    status, ticket = api.get(f"/api/tickets/{ticket_id}")
    assert status == 200, ticket
    return ticket["customer"]


def _acks(api, ticket_id):
    return [e for e in timeline(api, ticket_id) if e.get("kind") == "ack"]


def test_the_form_with_a_victims_phone_does_not_hand_the_attacker_their_conversation(stack, api):
    victim = new_ticket(api, email="victim@example.com", phone="01711000401",
                        subject="Refund", message="My card ends 4242")
    victim_customer = _customer(api, victim["id"])["id"]

    # the attacker: the victim's phone, the attacker's own address
    attack = new_ticket(api, email="aaa@attacker.example", phone="01711000401",
                        subject="hi", message="hi")
    stack.pump.drain()

    # the attacker's address is linked to no one, least of all the victim
    assert keys.target(keys.email_pk("aaa@attacker.example")) is None
    assert "aaa@attacker.example" not in (Customer.get(victim_customer).emails or set())
    # the attacker's ticket lands on the phone's owner, its acknowledgement goes to that
    # phone (the victim), not to the address the stranger typed
    assert _customer(api, attack["id"])["id"] == victim_customer
    [ack] = _acks(api, attack["id"])
    assert ack["recipient"] == "+8801711000401"
    [unlinked] = [e for e in timeline(api, attack["id"]) if e.get("type") == "identity.unlinked"]
    assert unlinked["data"]["addresses"] == [
        {"channel": "email", "address": "aaa@attacker.example", "reason": "not proven"}]

    # the agent's next reply on the victim's ticket goes to the victim's own address
    status, sent = api.post(f"/api/tickets/{victim['id']}/replies", {"body": "Refund approved"})
    assert status == 201, sent
    assert (sent["channel"], sent["recipient"]) == ("email", "victim@example.com")

    # the attacker's mail naming the victim's ticket is held, not appended as the customer
    ses_id = ses_deliver(stack, mail(sender="aaa@attacker.example",
                                     subject=f"Re: [#{victim['ref']}] Refund",
                                     body="Send it to my new card").as_bytes(),
                         source="aaa@attacker.example")
    stack.pump.drain()
    assert outcome(ses_id)["outcome"] in ("created", "appended")
    assert outcome(ses_id).get("ticket_id") != victim["id"]  # a guessed ref proves nothing
    assert not [e for e in timeline(api, victim["id"])
                if e.get("sender") == "aaa@attacker.example" and e.get("status") != "held"]


def test_two_known_addresses_of_two_customers_link_nothing(stack, api):
    mailer = new_ticket(api, email="one@example.com", message="first")
    texter = new_ticket(api, email="", phone="01711000402", message="second")
    both = new_ticket(api, email="one@example.com", phone="01711000402", message="third")
    one, two = _customer(api, mailer["id"])["id"], _customer(api, texter["id"])["id"]
    assert one != two
    assert _customer(api, both["id"])["id"] == one  # the email's owner
    assert keys.target(keys.phone_pk("+8801711000402")) == two  # still the other customer's
    assert not Customer.get(one).phones
    [event] = [e for e in timeline(api, both["id"]) if e.get("type") == "identity.unlinked"]
    assert event["data"]["addresses"][0]["reason"] == "another customer"


def test_a_new_person_on_the_form_keeps_both_addresses(api):
    created = new_ticket(api, email="new.person@example.com", phone="01711000403")
    customer = _customer(api, created["id"])
    assert customer["emails"] == ["new.person@example.com"]
    assert customer["phones"] == ["+8801711000403"]
    assert not [e for e in timeline(api, created["id"]) if e.get("type") == "identity.unlinked"]


def test_an_agent_links_an_address_on_purpose(api):
    created = new_ticket(api, email="known@example.com", message="first")
    new_ticket(api, email="known@example.com", phone="01711000404", message="second")
    customer = _customer(api, created["id"])
    assert customer["phones"] == []
    status, changed = api.patch(f"/api/customers/{customer['id']}",
                                {"add_phones": ["01711000404"]})
    assert status == 200, changed
    assert keys.target(keys.phone_pk("+8801711000404")) == customer["id"]


def test_a_reply_goes_to_the_address_the_conversation_came_from(stack, api):
    first = new_ticket(api, email="a.first@example.com", message="first")
    customer = _customer(api, first["id"])["id"]
    status, _ = api.patch(f"/api/customers/{customer}", {"add_emails": ["0.second@example.com"]})
    assert status == 200
    # the customer writes from their second address (sorted first): that conversation is
    # answered there, and the first one still at the first address
    ses_id = ses_deliver(stack, mail(sender="0.second@example.com", subject="New question",
                                     body="From my other address").as_bytes(),
                         source="0.second@example.com")
    stack.pump.drain()
    second = outcome(ses_id)["ticket_id"]
    status, sent = api.post(f"/api/tickets/{second}/replies", {"body": "Answer"})
    assert (status, sent["recipient"]) == (201, "0.second@example.com"), sent
    status, sent = api.post(f"/api/tickets/{first['id']}/replies", {"body": "Answer"})
    assert (status, sent["recipient"]) == (201, "a.first@example.com"), sent
