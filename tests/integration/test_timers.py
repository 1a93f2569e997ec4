"""First-response timers on the emulated Step Functions: breach, reply in time, stale and
early deliveries, redelivery."""
import json
from datetime import timedelta

import boto3
import pytest

from chalicelib import clock
from chalicelib.db.models import Ticket
from chalicelib.services.sla import timers
from tests.integration.helpers import ADMIN as ADMIN_ARN, Api, events, new_ticket, stored_body, wait_for


@pytest.fixture
def api(stack):
    return Api(stack.client)


def executions(stack, status=None):
    sfn = boto3.client("stepfunctions")
    kwargs = {"stateMachineArn": stack.outputs["TimerStateMachineArn"]}
    if status:
        kwargs["statusFilter"] = status
    return {e["name"]: e["status"] for e in sfn.list_executions(**kwargs)["executions"]}


def test_unanswered_ticket_breaches_first_response(api, stack):
    assert api.put("/api/sla-policies/default", {"first_response": "PT2S"})[0] == 200
    created = new_ticket(api)
    stack.pump.drain()
    assert f"T-{created['ref']}-first-response-g1" in executions(stack)
    wait_for(lambda: "sla.breached" in events(api, created["id"]), stack.pump, timeout=30)
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    assert ticket["sla"]["breached"] == ["first_response"]
    breach = [e for e in ticket["timeline"] if e.get("type") == "sla.breached"][0]
    assert breach["data"]["target"] == "first_response" and breach["data"]["late_by_seconds"] >= 0
    # the timer fired at or after its due time, never before
    assert breach["at"] >= ticket["sla"]["first_response_due"]
    # a late answer ends the wait; the breach stays on record
    assert api.post(f"/api/tickets/{created['id']}/replies", {"body": "Sorry for the wait"})[0] == 201
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    met = [e for e in ticket["timeline"] if e.get("type") == "sla.met"]
    assert [m["data"] for m in met] == [{"target": "first_response", "late": True}]
    assert ticket["sla"]["breached"] == ["first_response"]
    assert Ticket.get(created["id"]).timers["first_response"]["state"] == "answered"


def test_reply_in_time_stops_the_timer_and_nothing_breaches(api, stack):
    assert api.put("/api/sla-policies/default", {"first_response": "PT16S", "warn_before": "PT2S"})[0] == 200
    created = new_ticket(api)
    # the reply follows at once (the stream then starts the execution and stops it), so even a
    # loaded machine answers long before the warning at 14 s
    assert api.post(f"/api/tickets/{created['id']}/replies", {"body": "Hello!"})[0] == 201
    stack.pump.drain()
    name = f"T-{created['ref']}-first-response-g1"
    assert executions(stack)[name] == "ABORTED"
    # well past the due time: drive the pump and look again
    wait_for(lambda: clock.now() > clock.parse_iso(api.get(f"/api/tickets/{created['id']}")[1]["sla"]["first_response_due"]) + timedelta(seconds=3),
             stack.pump, timeout=30)
    stack.pump.drain()
    assert "sla.breached" not in events(api, created["id"])
    assert "sla.met" in events(api, created["id"])


def test_stale_generation_and_redelivery_do_nothing(api, stack):
    assert api.put("/api/sla-policies/default", {"first_response": "PT1H"})[0] == 200
    created = new_ticket(api)
    ticket = Ticket.get(created["id"])
    due = ticket.timers.as_dict()["first_response"]["due_at"]
    payload = {"ticket_id": created["id"], "ref": created["ref"], "kind": "first_response",
               "generation": 1, "due_at": due}
    late = clock.parse_iso(due) + timedelta(seconds=1)
    assert timers.fire({**payload, "generation": 0}, now=late) == "stale"
    assert timers.fire(payload, now=late) == "warned"  # the warning phase comes first
    assert timers.fire(payload, now=late) == "stale"  # the same message again
    breach = {**payload, "generation": 2}
    later = late + timedelta(seconds=1)
    assert timers.fire(breach, now=later) == "breached"
    assert timers.fire(breach, now=later) == "stale"
    assert [e for e in events(api, created["id"]) if e.startswith("sla.")] == ["sla.warning", "sla.breached"]


def test_early_delivery_is_rearmed_not_acted_on(api, stack):
    assert api.put("/api/sla-policies/default", {"first_response": "PT1H"})[0] == 200
    created = new_ticket(api)
    stack.pump.drain()
    timer = Ticket.get(created["id"]).timers.as_dict()["first_response"]
    wakes_at = timer["warn_at"]  # the first wake-up is the warning at 80% of the hour
    payload = {"ticket_id": created["id"], "ref": created["ref"], "kind": "first_response",
               "generation": 1, "due_at": wakes_at}
    assert timers.fire(payload, now=clock.parse_iso(wakes_at) - timedelta(seconds=2)) == "rearmed"
    assert "sla.breached" not in events(api, created["id"])
    assert any(name.startswith(f"T-{created['ref']}-first-response-g1-r") for name in executions(stack))


def test_malformed_and_unknown_timer_messages_are_dropped_not_retried(stack):
    sqs = boto3.client("sqs")
    url = stack.outputs["TimerQueueUrl"]
    for body in ("not json", json.dumps({"kind": "lunch"}),
                 json.dumps({"ticket_id": "t_gone", "kind": "first_response", "generation": 1,
                             "due_at": "2020-01-01T00:00:00Z"})):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    stack.pump.drain()
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_warning_then_breach_in_order(api, stack):
    assert api.put("/api/sla-policies/default", {"first_response": "PT4S", "warn_before": "PT2S"})[0] == 200
    created = new_ticket(api)
    wait_for(lambda: "sla.breached" in events(api, created["id"]), stack.pump, timeout=40)
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    sla_events = [e for e in ticket["timeline"] if e.get("type", "").startswith("sla.")]
    assert [e["type"] for e in sla_events] == ["sla.warning", "sla.breached"]
    warning, breach = sla_events
    assert warning["at"] >= warning["data"]["warn_at"] and breach["at"] >= ticket["sla"]["first_response_due"]
    assert warning["at"] < breach["at"]


def test_pending_pauses_resolution_and_reopening_resumes(api, stack):
    assert api.put("/api/sla-policies/default", {"first_response": "PT1H", "resolution": "PT3S"})[0] == 200
    created = new_ticket(api)
    assert api.post(f"/api/tickets/{created['id']}/replies", {"body": "Please send a photo."})[0] == 201
    status, pending = api.patch(f"/api/tickets/{created['id']}", {"status": "pending"})
    assert status == 200
    # well past the resolution due time while pending: nothing breaches
    import time
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        stack.pump.poll_once()
        time.sleep(0.3)
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    assert "sla.breached" not in [e.get("type") for e in ticket["timeline"]]
    assert ticket["sla"]["paused"] is True and ticket["sla"]["pauses"][-1]["to"] is None
    # the customer answers (status back to open): the clock resumes with the time that was left
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "open"})[0] == 200
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    assert ticket["sla"]["paused"] is False and ticket["sla"]["pauses"][-1]["to"]
    wait_for(lambda: "sla.breached" in events(api, created["id"]), stack.pump, timeout=30)
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    assert ticket["sla"]["breached"] == ["resolution"]


def test_reply_cancels_pending_timers_and_no_stale_event_appears(api, stack):
    # warning at 4 s, breach at 6 s: the reply comes at once, well before either, even on a
    # loaded machine
    assert api.put("/api/sla-policies/default", {"first_response": "PT6S", "next_reply": "PT6S",
                                                  "warn_before": "PT2S"})[0] == 200
    created = new_ticket(api)
    assert api.post(f"/api/tickets/{created['id']}/replies", {"body": "On it."})[0] == 201
    import time
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        stack.pump.poll_once()
        time.sleep(0.3)
    assert not [e for e in events(api, created["id"]) if e in ("sla.warning", "sla.breached")]


def test_callback_fires_at_its_time_and_a_new_one_replaces_the_old(api, stack):
    created = new_ticket(api)
    soon = (clock.now() + timedelta(seconds=3)).isoformat()
    later = (clock.now() + timedelta(hours=2)).isoformat()
    assert api.post(f"/api/tickets/{created['id']}/callbacks", {"at": later, "note": "first"})[0] == 201
    status, scheduled = api.post(f"/api/tickets/{created['id']}/callbacks", {"at": soon, "note": "ফোন করুন"})
    assert status == 201
    wait_for(lambda: "callback.due" in events(api, created["id"]), stack.pump, timeout=30)
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    due = [e for e in ticket["timeline"] if e.get("type") == "callback.due"]
    assert len(due) == 1 and due[0]["data"]["note"] == "ফোন করুন"
    assert due[0]["at"] >= scheduled["callback_at"]


@pytest.mark.parametrize("body,field", [({"at": "tomorrow"}, "at"), ({"at": "2026-01-01T10:00:00"}, "at"),
                                        ({"at": "2020-01-01T10:00:00+06:00"}, "at"),
                                        ({"at": "2099-01-01T10:00:00+06:00", "colour": 1}, "colour")])
def test_bad_callbacks_are_422(api, body, field):
    created = new_ticket(api)
    status, error = api.post(f"/api/tickets/{created['id']}/callbacks", body)
    assert status == 422 and field in error["error"]["fields"]


def _wait_quietly(stack, seconds):
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        stack.pump.poll_once()
        time.sleep(0.3)


def _resolved_with_checkin(api, stack, **contact):
    assert api.put("/api/sla-policies/default", {"first_response": "PT1H", "checkin_after": "PT2S"})[0] == 200
    created = new_ticket(api, **contact)
    assert api.post(f"/api/tickets/{created['id']}/replies", {"body": "Fixed the meter."})[0] == 201
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "resolved"})[0] == 200
    wait_for(lambda: "followup.sent" in events(api, created["id"]), stack.pump, timeout=30)
    stack.pump.drain()
    return created


def test_resolved_ticket_gets_checkin_and_csat_by_sms_and_a_no_reopens(api, stack):
    import json as _json

    created = _resolved_with_checkin(api, stack, email="", phone="01711000777")
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    followup = [i for i in ticket["timeline"] if i.get("kind") == "followup"][0]
    assert followup["channel"] == "sms" and followup["status"] == "sent"
    sns = boto3.client("sns")

    def text(body, message_id):
        sns.publish(TopicArn=stack.outputs["InboundSmsTopicArn"], Message=_json.dumps({
            "originationNumber": "+8801711000777", "messageBody": body, "inboundMessageId": message_id}))
        stack.pump.drain()

    text("৪", "csat-1")  # a score in Bengali digits
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    assert ticket["status"] == "resolved"
    assert [e["data"]["score"] for e in ticket["timeline"] if e.get("type") == "csat.received"] == [4]
    text("না, এখনো বিদ্যুৎ নেই", "csat-2")
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    assert ticket["status"] == "open"
    assert "followup.reopened" in [e.get("type") for e in ticket["timeline"]]


def test_checkin_by_email_with_a_csat_link_keeps_it_resolved(api, stack):
    from chalicelib.services.followup import checkin

    created = _resolved_with_checkin(api, stack, email="happy@example.com")
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    followup = [i for i in ticket["timeline"] if i.get("kind") == "followup"][0]
    assert followup["channel"] == "email" and "/csat/" in followup["body"]
    token = checkin.token(created["id"])
    assert f"/csat/{token}?score=5" in stored_body(created["id"], followup)
    assert token not in followup["body"]  # agents see the link masked
    # opening the mail's link (as a mail scanner would) shows the page with 5 chosen, records nothing
    response = stack.client.http.get(f"/csat/{token}?score=5")
    assert response.status_code == 200 and "৫".encode() in response.body  # the page is in Bengali
    assert b'id="score-5" name="score" value="5" checked>' in response.body
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    assert [e for e in ticket["timeline"] if e.get("type") == "csat.received"] == []
    form = {"content-type": "application/x-www-form-urlencoded", "accept": "text/html"}
    assert stack.client.http.get(f"/csat/{token[:-1]}x?score=5").status_code == 404
    assert stack.client.http.post(f"/csat/{token[:-1]}x", headers=form, body="score=5").status_code == 404
    assert stack.client.http.get(f"/csat/{token}?score=9").status_code == 422
    assert stack.client.http.post(f"/csat/{token}", headers=form, body="score=9").status_code == 422
    # the page's button posts the score
    assert stack.client.http.post(f"/csat/{token}", headers=form, body="score=5").status_code == 303
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    assert ticket["status"] == "resolved"
    assert [e["data"] for e in ticket["timeline"] if e.get("type") == "csat.received"] == [{"score": 5, "via": "link"}]


def test_reopened_before_the_checkin_gets_none(api, stack):
    assert api.put("/api/sla-policies/default", {"first_response": "PT1H", "checkin_after": "PT2S"})[0] == 200
    created = new_ticket(api)
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "resolved"})[0] == 200
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "open"})[0] == 200
    _wait_quietly(stack, 5)
    assert "followup.sent" not in events(api, created["id"])


def test_breach_escalates_assignee_then_lead_then_manager_until_answered(api, stack):
    from chalicelib.services.team import agents

    assignee = "arn:aws:iam::123456789012:user/rina"
    lead = "arn:aws:iam::123456789012:user/lead-karim"
    other_lead = "arn:aws:iam::123456789012:user/lead-billing"
    agents.ensure_agent(assignee, role="agent", email="rina@setu.local", departments={"general"})
    agents.ensure_agent(lead, role="lead", email="karim@setu.local", departments={"general"})
    agents.ensure_agent(other_lead, role="lead", email="b@setu.local", departments={"billing"})
    assert api.put("/api/sla-policies/default", {"first_response": "PT2S", "escalate_every": "PT2S",
                                                  "warn_before": "PT1S"})[0] == 200
    created = new_ticket(api)
    assert api.patch(f"/api/tickets/{created['id']}", {"assignee": assignee})[0] == 200
    answered = new_ticket(api)
    assert api.post(f"/api/tickets/{answered['id']}/replies", {"body": "Hi"})[0] == 201

    def levels():
        return [e for e in api.get(f"/api/tickets/{created['id']}")[1]["timeline"]
                if e.get("type") == "ticket.escalated"]

    wait_for(lambda: len(levels()) == 3, stack.pump, timeout=60)
    escalated = levels()
    assert [e["data"]["level"] for e in escalated] == [1, 2, 3]
    assert [e["data"]["to"] for e in escalated] == [[assignee], [lead], [ADMIN_ARN]]
    stack.pump.drain()
    notices = [i for i in api.get(f"/api/tickets/{created['id']}")[1]["timeline"] if i.get("kind") == "escalation"]
    assert sorted(n["recipient"] for n in notices) == ["karim@setu.local", "rina@setu.local"]
    assert all(n["status"] == "sent" for n in notices)
    assert "ticket.escalated" not in events(api, answered["id"])


def test_pending_ticket_reminds_the_customer_then_closes_with_a_reason(api, stack):
    # far enough apart that a late reminder (a loaded machine) still comes before the close
    assert api.put("/api/sla-policies/default", {"first_response": "PT1H", "remind_after": "PT2S",
                                                  "close_after": "PT9S"})[0] == 200
    created = new_ticket(api, email="", phone="01711000888")
    assert api.post(f"/api/tickets/{created['id']}/replies", {"body": "ছবি পাঠান।"})[0] == 201
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "pending"})[0] == 200
    wait_for(lambda: "ticket.auto_closed" in events(api, created["id"]), stack.pump, timeout=40)
    stack.pump.drain()
    _, ticket = api.get(f"/api/tickets/{created['id']}")
    assert ticket["status"] == "closed"
    kinds = [e.get("type") for e in ticket["timeline"]]
    assert kinds.index("reminder.sent") < kinds.index("ticket.auto_closed")
    [reminder] = [i for i in ticket["timeline"] if i.get("kind") == "reminder"]
    assert reminder["channel"] == "sms" and reminder["status"] == "sent"
    closing = [e for e in ticket["timeline"] if e.get("type") == "ticket.status_changed"][-1]
    assert closing["data"]["reason"] == "no answer from the customer"


def test_customer_answer_stops_the_reminder_and_the_close(api, stack):
    assert api.put("/api/sla-policies/default", {"first_response": "PT1H", "remind_after": "PT3S",
                                                  "close_after": "PT3S"})[0] == 200
    created = new_ticket(api)
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "pending"})[0] == 200
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "open"})[0] == 200
    _wait_quietly(stack, 5)
    assert not {"reminder.sent", "ticket.auto_closed"} & set(events(api, created["id"]))


def test_closing_a_resolved_ticket_arms_nothing(api, stack):
    assert api.put("/api/sla-policies/default", {"first_response": "PT1H", "resolution": "PT2H"})[0] == 200
    created = new_ticket(api)
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "resolved"})[0] == 200
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "closed"})[0] == 200
    armed = {k: v for k, v in Ticket.get(created["id"]).timers.as_dict().items() if v["state"] == "armed"}
    assert armed == {}
    assert api.patch(f"/api/tickets/{created['id']}", {"status": "open"})[0] == 200
    armed = {k for k, v in Ticket.get(created["id"]).timers.as_dict().items() if v["state"] == "armed"}
    assert armed == {"resolution"}


def test_each_escalation_level_waits_its_own_delay(api, stack):
    from chalicelib.services.team import agents

    lead = "arn:aws:iam::123456789012:user/lead-delay"
    agents.ensure_agent(lead, role="lead", email="lead-delay@setu.local", departments={"general"})
    assert api.put("/api/sla-policies/default", {
        "first_response": "PT1S", "escalate_lead_after": "PT1S",
        "escalate_manager_after": "PT7S"})[0] == 200
    created = new_ticket(api)

    def levels():
        return [e for e in api.get(f"/api/tickets/{created['id']}")[1]["timeline"]
                if e.get("type") == "ticket.escalated"]

    wait_for(lambda: len(levels()) == 3, stack.pump, timeout=60)
    at = [clock.parse_iso(e["at"]) for e in levels()]
    # level 1 (nobody assigned) at the breach, the lead 1 s later, the managers 7 s after that
    assert timedelta(seconds=1) <= at[1] - at[0] < timedelta(seconds=5)
    assert at[2] - at[1] >= timedelta(seconds=7)
