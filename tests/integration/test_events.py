"""Event handlers on redelivery: a queued message is sent once."""
from chalicelib.db.models import TimelineItem
from chalicelib.services.messaging import dispatch
from tests.integration.helpers import Api, new_ticket, timeline


def test_a_queued_message_is_sent_once_when_its_record_is_redelivered(stack):
    api = Api(stack.client)
    created = new_ticket(api)
    ack = [i for i in TimelineItem.query(created["id"]) if i.kind == "ack"][0]
    outcomes = [dispatch.dispatch(TimelineItem.get(created["id"], ack.sk)) for _ in range(1)]
    # the stored item is now `sent`; a redelivered stream record carries the old image (queued)
    outcomes.append(dispatch.dispatch(ack))
    stack.pump.drain()
    assert outcomes == ["sent", "already-claimed"]
    sent = [e for e in timeline(api, created["id"]) if e.get("type") == "message.sent"]
    assert len(sent) == 1
