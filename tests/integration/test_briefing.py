"""The daily briefing against the emulated AWS: tickets and agents in DynamoDB, mail through
SES (read back from the emulator), markers in the keys table. `now` is passed in: the
briefing is a pure function of the clock, the calendars and the data."""
from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import datetime, timedelta
from email import message_from_bytes, policy

import pytest

from chalicelib import clock
from chalicelib.db.models import Key, Ticket
from chalicelib.integrations import email_out
from chalicelib.services.team import agents
from chalicelib.services.reports import briefing_send
from chalicelib.services.sla.calendars import DHAKA
from chalicelib.services.tickets.store import refresh_queue_sort
from tests.integration.helpers import Api, new_ticket


def _opening(after_days: int = 14, weekday: int | None = None) -> datetime:
    """A future opening of the default calendar (Asia/Dhaka 09:30), on `weekday` if given."""
    day = (clock.now() + timedelta(days=after_days)).astimezone(DHAKA.zone).date()
    while not DHAKA.windows(day) or (weekday is not None and day.weekday() != weekday):
        day += timedelta(days=1)
    return DHAKA.windows(day)[0][0]


OPENS = _opening()
NOW = OPENS + timedelta(minutes=5)
DAY = NOW.astimezone(DHAKA.zone).date().isoformat()


@pytest.fixture
def api(stack):
    return Api(stack.client)


@pytest.fixture
def people():
    tag = uuid.uuid4().hex[:8]
    arn = "arn:aws:iam::123456789012:user/{}-" + tag
    who = {"lead": arn.format("lead"), "rahim": arn.format("rahim"),
           "nomail": arn.format("nomail"), "karim": arn.format("karim")}
    agents.ensure_agent(who["lead"], role="lead", display_name="Lead Laila",
                        email=f"lead-{tag}@example.com", departments={"billing"})
    agents.ensure_agent(who["rahim"], display_name="Rahim Uddin", email=f"rahim-{tag}@example.com",
                        departments={"billing"})
    agents.ensure_agent(who["nomail"], display_name="No Mail", departments={"billing"})
    agents.ensure_agent(who["karim"], display_name="Karim", email=f"karim-{tag}@example.com",
                        departments={"sales"})
    who["tag"] = tag
    return who


def shape(ticket_id: str, *, assignee=None, status=None, timers=None, breached=()):
    """Put a ticket in the state a day of work would leave it in."""
    ticket = Ticket.get(ticket_id)
    ticket.assignee = assignee
    if status:
        ticket.status = status
    ticket.timers = {kind: {"generation": 1, "state": state, "due_at": clock.iso(due)}
                     for kind, (state, due) in (timers or {}).items()}
    ticket.sla = {**ticket.sla.as_dict(), "breached": list(breached)}
    refresh_queue_sort(ticket)
    ticket.save()
    return ticket


def sent_mail(stack, tag: str) -> list:
    """Mail the emulator's SES sent to this test's addresses, parsed."""
    with urllib.request.urlopen(f"{stack.endpoint}/moto-api/data.json", timeout=10) as response:
        data = json.load(response)
    raw = data.get("ses", {}).get("RawMessage", [])
    out = []
    for message in raw:
        if any(tag in d for d in message["destinations"]):
            mail = message_from_bytes(message["raw_data"].encode(), policy=policy.default)
            out.append(mail)
    return out


def text_of(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def billing(api, people):
    """Four billing tickets: a breached one and a callback for Rahim, an unassigned one due
    today, a resolved one; and nothing in sales."""
    created = {n: new_ticket(api, department="billing", subject=f"Billing case {n}") for n in range(4)}
    shape(created[0]["id"], assignee=people["rahim"], breached=["first_response"],
          timers={"first_response": ("fired", NOW - timedelta(days=1))})
    shape(created[1]["id"], timers={"first_response": ("armed", NOW + timedelta(hours=2))})
    shape(created[2]["id"], assignee=people["rahim"],
          timers={"callback": ("armed", NOW + timedelta(hours=5)),
                  "resolution": ("armed", NOW + timedelta(days=2))})
    shape(created[3]["id"], assignee=people["rahim"], status="resolved",
          breached=["first_response"], timers={"checkin": ("armed", NOW + timedelta(hours=1))})
    return {n: c["ref"] for n, c in created.items()}


def test_briefing_goes_once_to_the_lead_and_each_agent_with_work(stack, people, billing):
    assert briefing_send.run(OPENS - timedelta(minutes=1)) == []  # before opening: nothing
    assert sent_mail(stack, people["tag"]) == []

    outcomes = {o.department: o for o in briefing_send.run(NOW)}
    assert set(outcomes) == {"billing", "general", "sales", "technical"}  # all open at 09:30
    billing_run = outcomes["billing"]
    assert sorted(billing_run.sent) == sorted([people["lead"], people["rahim"]])
    assert billing_run.skipped[people["nomail"]] == "nothing to report"  # no tickets of theirs
    assert billing_run.counts == {"breached": 1, "due_today": 1, "decisions": 0, "followups": 1}
    assert outcomes["sales"].skipped[people["karim"]] == "nothing to report"

    mails = {m["To"]: m for m in sent_mail(stack, people["tag"])}
    assert set(mails) == {f"lead-{people['tag']}@example.com", f"rahim-{people['tag']}@example.com"}
    lead = mails[f"lead-{people['tag']}@example.com"]
    assert lead["Subject"].startswith("Daily briefing, Billing, ")
    assert lead["Subject"].endswith(": 1 breached, 1 due today, 1 follow-up")
    assert lead["Auto-Submitted"] == "auto-generated" and lead["From"].addresses[0].username == "support"
    text = text_of(lead)
    for n in (0, 1, 2):
        assert f"#{billing[n]} " in text
    assert f"#{billing[3]} " not in text  # resolved
    assert "Rahim Uddin: 2 active, 1 breached, 0 due today" in text
    rahim = text_of(mails[f"rahim-{people['tag']}@example.com"])
    assert f"#{billing[0]} " in rahim and f"#{billing[2]} " in rahim and f"#{billing[1]} " not in rahim
    assert "Unassigned in Billing: 1 (1 breached or due today)." in rahim

    markers = {k.sk: k for k in Key.query(f"briefing#billing#{DAY}")}
    assert markers["_"].target == "done"
    assert markers[f"to#{people['rahim']}"].data["state"] == "sent"
    assert markers[f"to#{people['rahim']}"].data["refs"]["breached"] == [billing[0]]

    # the next ticks, a redelivery: no mail
    assert briefing_send.run(NOW + timedelta(minutes=5)) == []
    assert briefing_send.run(NOW + timedelta(minutes=10)) == []
    # even with the department's done marker lost (the process died before writing it)
    markers["_"].delete()
    again = {o.department: o for o in briefing_send.run(NOW + timedelta(minutes=15))}
    assert sorted(again["billing"].already) == sorted([people["lead"], people["rahim"]])
    assert again["billing"].sent == []
    assert len(sent_mail(stack, people["tag"])) == 2


def test_closed_day_and_after_hours_send_nothing(stack, people, billing):
    friday = _opening(weekday=4 - 1) + timedelta(days=1)  # the day after a Thursday opening
    assert DHAKA.windows(friday.astimezone(DHAKA.zone).date()) == []
    assert briefing_send.run(friday) == []
    assert briefing_send.run(OPENS.replace(hour=OPENS.hour + 9)) == []  # 18:30 Dhaka: closed
    assert sent_mail(stack, people["tag"]) == []


def test_a_refused_mail_is_tried_again_on_the_next_tick(stack, people, billing, monkeypatch):
    real_send, calls = email_out.send, []

    def flaky(message, *, source, destination):
        calls.append(destination)
        if destination.startswith("rahim-") and calls.count(destination) == 1:
            raise RuntimeError("SES throttled")
        return real_send(message, source=source, destination=destination)

    monkeypatch.setattr(email_out, "send", flaky)
    first = {o.department: o for o in briefing_send.run(NOW)}["billing"]
    assert list(first.failed) == [people["rahim"]] and first.sent == [people["lead"]]
    marker = Key.get(f"briefing#billing#{DAY}", "_").data  # the lead is settled, Rahim waits
    assert marker["pending"] == [people["rahim"]] and people["lead"] in marker["settled"]

    second = {o.department: o for o in briefing_send.run(NOW + timedelta(minutes=5))}["billing"]
    assert second.sent == [people["rahim"]] and second.already == []  # the lead is not re-tried
    assert sorted(m["To"].split("-")[0] for m in sent_mail(stack, people["tag"])) == ["lead", "rahim"]


def test_a_recipient_ses_keeps_refusing_is_tried_with_backoff_then_given_up(
        stack, people, billing, monkeypatch):
    tries = []

    def refusing(message, *, source, destination):
        if destination.startswith("rahim-"):
            tries.append(destination)
            raise RuntimeError("SES: Daily message quota exceeded")
        return real_send(message, source=source, destination=destination)

    real_send = email_out.send
    monkeypatch.setattr(email_out, "send", refusing)
    ticks = [NOW + timedelta(minutes=5 * n) for n in range(40)]  # every five minutes, 3h15
    tried_at, outcome = [], None
    for tick in ticks:
        before = len(tries)
        latest = {o.department: o for o in briefing_send.run(tick)}.get("billing")
        if len(tries) > before:
            tried_at.append(int((tick - NOW).total_seconds() // 60))
        if latest is None:
            break  # the department is done for the day
        outcome = latest
    # 5, 10, 20, 40 and 80 minutes apart, six tries in all, then given up
    assert tried_at == [0, 5, 15, 35, 75, 155] and len(tries) == briefing_send.MAX_ATTEMPTS
    assert "refused 6 times" in outcome.skipped[people["rahim"]]
    assert Key.count(f"briefing#billing#{DAY}", Key.sk == "_") == 1  # settled: no more ticks
    claim = Key.get(f"briefing#billing#{DAY}", f"to#{people['rahim']}")
    assert claim.data["state"] == "gave_up" and "quota" in claim.data["error"]
    assert [m["To"].split("-")[0] for m in sent_mail(stack, people["tag"])] == ["lead"]


def test_missing_email_and_department_without_people(stack, people, api):
    created = new_ticket(api, department="technical", subject="Router down")
    shape(created["id"], assignee=people["nomail"],
          timers={"first_response": ("armed", NOW + timedelta(hours=1))})
    outcome = {o.department: o for o in briefing_send.run(NOW)}["technical"]
    # technical has no lead: its digest goes to the admins; the seeded admin has no address
    assert outcome.skipped[stack_admin()] == "no email address"
    assert outcome.skipped[people["nomail"]] == "no email address"  # has work, has no address
    assert outcome.sent == [] and outcome.counts["due_today"] == 1
    assert Key.get(f"briefing#technical#{DAY}", "_").data["skipped"][people["nomail"]] == "no email address"


def stack_admin() -> str:
    from local.stack import ADMIN_ARN

    return ADMIN_ARN


def test_each_department_opens_by_its_own_calendar(stack, people, billing, api):
    early = {"timezone": "Asia/Dhaka", "hours": {d: [["08:00", "16:00"]] for d in
                                                 ("sun", "mon", "tue", "wed", "thu")}}
    assert api.put("/api/calendars/billing-early", early)[0] == 200
    assert api.put("/api/sla-policies/billing", {"first_response": "PT4H",
                                                 "calendar": "billing-early"})[0] == 200
    at_0805 = OPENS - timedelta(minutes=85)
    assert [o.department for o in briefing_send.run(at_0805)] == ["billing"]
    assert {m["To"].split("-")[0] for m in sent_mail(stack, people["tag"])} == {"lead", "rahim"}
    assert "billing" not in [o.department for o in briefing_send.run(NOW)]  # done at 08:05


def test_the_scheduled_handler_runs_through_the_pump(stack):
    result = stack.pump.tick()
    assert set(result) == {"daily_briefing"}
    assert isinstance(result["daily_briefing"]["briefed"], list)  # open or not, it answered


# ---- per recipient, empty days, preview and resend ------------------------------------------

def test_a_lead_added_later_the_same_day_gets_the_briefing(stack, people, billing):
    first = {o.department: o for o in briefing_send.run(NOW)}["billing"]
    assert sorted(first.sent) == sorted([people["lead"], people["rahim"]])
    assert briefing_send.run(NOW + timedelta(minutes=5)) == []  # settled: one BatchGetItem
    late = people["lead"].replace("lead-", "late-")
    agents.ensure_agent(late, role="lead", display_name="Late Lead",
                        email=f"late-{people['tag']}@example.com", departments={"billing"})
    again = {o.department: o for o in briefing_send.run(NOW + timedelta(hours=1))}
    assert set(again) == {"billing"}  # only the department with someone new
    assert again["billing"].sent == [late] and again["billing"].already == []
    mails = sent_mail(stack, people["tag"])
    assert sorted(m["To"].split("-")[0] for m in mails) == ["late", "lead", "rahim"]
    late_mail = next(m for m in mails if m["To"].startswith("late-"))
    assert late_mail["Subject"].endswith(": 1 breached, 1 due today, 1 follow-up")
    assert late in Key.get(f"briefing#billing#{DAY}", "_").data["settled"]
    assert briefing_send.run(NOW + timedelta(hours=1, minutes=5)) == []


def test_an_empty_day_tells_the_lead_and_is_not_done_for_people_who_join_later(stack, people):
    sales_lead = people["karim"].replace("karim-", "saleslead-")
    agents.ensure_agent(sales_lead, role="lead", display_name="Sales Lead",
                        email=f"saleslead-{people['tag']}@example.com", departments={"sales"})
    sales = {o.department: o for o in briefing_send.run(NOW)}["sales"]
    assert sales.active == 0 and sales.sent == [sales_lead]  # a short "nothing waiting" mail
    assert sales.skipped[people["karim"]] == "nothing to report"  # no personal mail
    (mail,) = [m for m in sent_mail(stack, people["tag"]) if m["To"].startswith("saleslead-")]
    assert mail["Subject"].endswith(": nothing due")
    assert "Nothing is breached, due today, waiting on a decision or to follow up." in text_of(mail)
    # someone joins sales later that day: the day is not done for them
    newcomer = people["karim"].replace("karim-", "newlead-")
    agents.ensure_agent(newcomer, role="lead", display_name="New Lead",
                        email=f"newlead-{people['tag']}@example.com", departments={"sales"})
    later = {o.department: o for o in briefing_send.run(NOW + timedelta(hours=3))}
    assert later["sales"].sent == [newcomer]
    assert [m["To"].split("-")[0] for m in sent_mail(stack, people["tag"])].count("saleslead") == 1


def _id(principal: str) -> str:
    return agents.agent_id(principal)


def test_preview_shows_the_sections_counts_and_mail_to_a_lead_of_the_department(
        stack, people, billing, api):
    lead = api.as_principal(people["lead"])
    status, body = lead.get(f"/api/briefing?department=billing&date={DAY}")
    assert status == 200, body
    assert (body["kind"], body["date"], body["scheduled"]) == ("department", DAY, True)
    assert body["counts"]["breached"] == 1 and body["counts"]["due_today"] == 1
    assert body["counts"]["unassigned"] == 1 and body["counts"]["unassigned_due"] == 1
    assert body["counts"]["active"] == 3  # the resolved one is not active
    breached = next(s for s in body["sections"] if s["key"] == "breached")
    (line,) = breached["lines"]
    assert line["ref"] == billing[0] and line["assignee"]["name"] == "Rahim Uddin"
    assert line["assignee"]["id"] == _id(people["rahim"])
    assert body["subject"].endswith(": 1 breached, 1 due today, 1 follow-up")
    assert "Good morning Lead Laila" in body["text"] and "<html" in body["html"]
    assert body["deliveries"] == []  # nothing sent yet that day
    # a lead's only department is the default; the same day as the scheduled mail shows it
    briefing_send.run(NOW)
    status, same = lead.get(f"/api/briefing?date={DAY}&lang=bn")
    assert status == 200 and same["department"] == "billing" and same["lang"] == "bn"
    assert "দৈনিক ব্রিফিং" in same["subject"]
    assert {d["agent"]["name"]: d["state"] for d in same["deliveries"]} == {
        "Lead Laila": "sent", "Rahim Uddin": "sent"}
    # the digest Rahim would get
    status, mine = lead.get(f"/api/briefing?department=billing&date={DAY}&agent={_id(people['rahim'])}")
    assert status == 200 and mine["kind"] == "agent" and mine["counts"]["active"] == 2


def test_preview_is_in_the_language_of_whoever_reads_it(stack, people, billing, api):
    lead = api.as_principal(people["lead"])
    assert api.patch(f"/api/agents/{_id(people['lead'])}", {"lang": "bn"})[0] == 200
    status, body = lead.get(f"/api/briefing?department=billing&date={DAY}")
    assert status == 200 and body["lang"] == "bn" and "দৈনিক ব্রিফিং" in body["subject"], body["subject"]
    assert lead.get(f"/api/briefing?department=billing&date={DAY}&lang=en")[1]["lang"] == "en"
    # an agent named: their language (Rahim has none set: English)
    status, body = lead.get(f"/api/briefing?department=billing&date={DAY}&agent={_id(people['rahim'])}")
    assert status == 200 and body["lang"] == "en"


@pytest.mark.parametrize("query, status", [
    ("department=sales", 403),  # not the lead's department
    ("department=nowhere", 400),
    ("department=billing&date=yesterday", 400),
    ("department=billing&date=2020-01-01", 400),  # past: cannot be rebuilt
    ("department=billing&date=2999-01-01", 400),  # too far ahead
    ("department=billing&lang=fr", 400),
    ("department=billing&colour=red", 422),  # unknown parameter: api/http.QUERY_PARAMETERS
    ("department=billing&agent=ag_00000000000000000000", 404),
])
def test_preview_refuses_bad_input_and_other_departments(stack, people, api, query, status):
    assert api.as_principal(people["lead"]).get(f"/api/briefing?{query}")[0] == status


def test_preview_is_for_leads_and_admins_only(stack, people, api):
    assert api.as_principal(people["rahim"]).get("/api/briefing?department=billing")[0] == 403
    status, body = api.get("/api/briefing")  # an admin must say which department
    assert status == 400 and "department" in body["error"]["fields"]


def test_a_lead_resends_to_one_agent_and_it_is_audited(stack, people, billing, api):
    from chalicelib.services.team import audit

    lead = api.as_principal(people["lead"])
    status, body = lead.post("/api/briefing/send",
                             {"department": "billing", "to": _id(people["rahim"])})
    assert status == 200, body
    assert [s["name"] for s in body["sent"]] == ["Rahim Uddin"] and body["skipped"] == []
    (mail,) = sent_mail(stack, people["tag"])
    assert mail["To"] == f"rahim-{people['tag']}@example.com"
    assert mail["Subject"].startswith("Daily briefing, Billing, ")
    entries = [e for e in audit.day(audit.today(), limit=200)[0]
               if e["action"] == "briefing.sent" and e["actor"] == people["lead"]]
    assert len(entries) == 1 and entries[0]["departments"] == ["billing"]
    assert entries[0]["after"]["sent"] == [people["rahim"]]
    # every recipient of the department: the lead's digest, Rahim's; No Mail has no address
    status, body = lead.post("/api/briefing/send", {"department": "billing"})
    assert status == 200
    assert sorted(s["name"] for s in body["sent"]) == ["Lead Laila", "Rahim Uddin"]
    assert {s["name"]: s["reason"] for s in body["skipped"]} == {"No Mail": "nothing to report"}
    assert len(sent_mail(stack, people["tag"])) == 3
    # the scheduled briefing is not held back by a resend
    scheduled = {o.department: o for o in briefing_send.run(NOW)}["billing"]
    assert sorted(scheduled.sent) == sorted([people["lead"], people["rahim"]])


@pytest.mark.parametrize("body, status", [
    ({"department": "sales"}, 403),
    ({"department": "billing", "to": "karim"}, 400),  # not an agent id
    ({"department": "billing", "date": "2020-01-01"}, 400),  # only today
    ({"department": "billing", "extra": 1}, 400),
    ({}, 400),
])
def test_resend_refuses_bad_input(stack, people, api, body, status):
    assert api.as_principal(people["lead"]).post("/api/briefing/send", body)[0] in (status, 422)


def test_resend_to_someone_outside_the_department_is_refused(stack, people, api):
    status, body = api.as_principal(people["lead"]).post(
        "/api/briefing/send", {"department": "billing", "to": _id(people["karim"])})
    assert status == 400 and "agent" in body["error"]["fields"]
    assert sent_mail(stack, people["tag"]) == []
