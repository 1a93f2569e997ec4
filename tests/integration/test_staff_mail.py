"""Staff mail on the emulated AWS: each kind reaches the agent once, in their language and Dhaka
time, through SES; preferences (kinds, quiet hours, digest) are honoured; nobody is told of
what they did themselves; a redelivered event does not mail twice."""
from __future__ import annotations

import json
import time
import urllib.request
from datetime import timedelta
from email import message_from_bytes, policy

import pytest

from chalicelib import clock
from chalicelib.db.models import StaffDigest
from chalicelib.services.messaging import staff
from chalicelib.services.team import agents
from tests.integration.helpers import Api, new_ticket, timeline, wait_for

NUSRAT = "arn:aws:iam::123456789012:user/nusrat"
KARIM = "arn:aws:iam::123456789012:user/karim"
LEAD = "arn:aws:iam::123456789012:user/lead-mita"


# the emulator keeps every test's sent mail: each test's agents have addresses of their own
MAIL: dict[str, str] = {}


@pytest.fixture
def api(stack):
    MAIL.update({NUSRAT: f"nusrat-{stack.stage}@staff.test", KARIM: f"karim-{stack.stage}@staff.test",
                 LEAD: f"mita-{stack.stage}@staff.test"})
    agents.ensure_agent(NUSRAT, role="agent", email=MAIL[NUSRAT], departments={"general"},
                        display_name="Nusrat")
    agents.ensure_agent(KARIM, role="agent", email=MAIL[KARIM], departments={"general"},
                        display_name="Karim")
    agents.ensure_agent(LEAD, role="lead", email=MAIL[LEAD], departments={"general"},
                        display_name="Mita")
    admin = Api(stack.client)
    # Nusrat reads Bengali; Karim English (the default)
    status, changed = admin.patch(f"/api/agents/{agents.agent_id(NUSRAT)}", {"lang": "bn"})
    assert status == 200, changed
    return admin


def sent_mail(stack, address: str) -> list:
    """Mail the emulator's SES sent to `address`, parsed, oldest first."""
    with urllib.request.urlopen(f"{stack.endpoint}/moto-api/data.json", timeout=10) as response:
        data = json.load(response)
    return [message_from_bytes(m["raw_data"].encode(), policy=policy.default)
            for m in data.get("ses", {}).get("RawMessage", []) if address in m["destinations"]]


def text_of(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def html_of(mail) -> str:
    return mail.get_body(preferencelist=("html",)).get_content()


def staff_items(api, ticket_id: str, kind: str) -> list[dict]:
    return [i for i in timeline(api, ticket_id) if i.get("kind") == kind]


def test_assignment_mail_in_the_agents_language_and_dhaka_time(stack, api):
    created = new_ticket(api, name="রহিম উদ্দিন")
    assert api.put("/api/sla-policies/default", {"first_response": "PT4H"})[0] == 200
    status, _ = api.patch(f"/api/tickets/{created['id']}", {"assignee": NUSRAT})
    assert status == 200
    stack.pump.drain()
    [mail] = sent_mail(stack, MAIL[NUSRAT])
    bn_ref = "#" + created["ref"].translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯"))
    assert mail["Subject"].startswith(f"[{bn_ref}] আপনাকে দেওয়া হয়েছে: Order late")
    text = text_of(mail)
    assert "রহিম উদ্দিন" in text and "সাধারণ" in text and "ওয়েব ফর্ম" in text
    # the link opens the ticket in the agent console (<SETU_PUBLIC_URL>/console: api/console_pages.py)
    assert "(ঢাকা)" in text and f"/console/tickets/{created['ref']}" in text
    assert "/api/" not in text and "/api/" not in html_of(mail)
    # with a console to open, the status in words is left to it (staff.py: without one it is said)
    # on the ticket's timeline as a sent staff message
    [item] = staff_items(api, created["id"], "staff_assigned")
    assert item["status"] == "sent" and item["recipient"] == MAIL[NUSRAT]


def test_no_mail_to_the_agent_who_assigned_themselves_or_without_an_assignee(stack, api):
    created = new_ticket(api)
    as_karim = api.as_principal(KARIM)
    assert as_karim.patch(f"/api/tickets/{created['id']}", {"assignee": KARIM})[0] == 200
    stack.pump.drain()
    assert sent_mail(stack, MAIL[KARIM]) == []
    assert staff_items(api, created["id"], "staff_assigned") == []


def test_customer_reply_reopening_a_pending_ticket_tells_the_assignee_once(stack, api):
    from tests.integration.test_email import mail, ses_deliver

    ses_deliver(stack, mail(sender="Salma <salma@example.com>", subject="Router").as_bytes(),
                source="salma@example.com")
    stack.pump.drain()
    [ticket] = api.get("/api/tickets?q=salma@example.com")[1]["items"]
    assert api.patch(f"/api/tickets/{ticket['id']}", {"assignee": KARIM, "status": "pending"})[0] == 200
    stack.pump.drain()
    assert len(sent_mail(stack, MAIL[KARIM])) == 1  # assigned
    reply = mail(sender="Salma <salma@example.com>", subject=f"Re: [#{ticket['ref']}] Router",
                 body="It still blinks red.")
    ses_id = ses_deliver(stack, reply.as_bytes(), source="salma@example.com")
    ses_deliver(stack, reply.as_bytes(), source="salma@example.com", ses_id=ses_id)  # again
    stack.pump.drain()
    mails = sent_mail(stack, MAIL[KARIM])
    assert len(mails) == 2, [m["Subject"] for m in mails]
    replied = mails[1]
    assert replied["Subject"] == f"[#{ticket['ref']}] Customer replied: Router"
    text = text_of(replied)
    assert "Salma replied on your ticket" in text and "was pending and is open again" in text
    assert "It still blinks red." in text and "(Dhaka time)" in text and "/api/" not in text


def test_callback_due_reaches_the_assignee_when_the_timer_fires(stack, api):
    created = new_ticket(api)
    assert api.patch(f"/api/tickets/{created['id']}", {"assignee": KARIM})[0] == 200
    at = clock.iso(clock.now() + timedelta(seconds=2))
    status, _ = api.post(f"/api/tickets/{created['id']}/callbacks", {"at": at, "note": "ask about the refund"})
    assert status in (200, 201)
    wait_for(lambda: staff_items(api, created["id"], "staff_callback"), stack.pump, timeout=40)
    stack.pump.drain()
    [item] = staff_items(api, created["id"], "staff_callback")
    assert item["status"] == "sent"
    [due] = [m for m in sent_mail(stack, MAIL[KARIM]) if "Callback due" in m["Subject"]]
    assert "ask about the refund" in text_of(due)


def test_preferences_switch_a_kind_off_and_only_the_agent_or_an_admin_edits_them(stack, api):
    as_karim = api.as_principal(KARIM)
    status, prefs = as_karim.get("/api/me/notifications")
    assert status == 200 and prefs["kinds"] == list(staff.KINDS) and prefs["quiet_hours"] is None
    status, prefs = as_karim.put("/api/me/notifications", {"kinds": ["escalation"]})
    assert status == 200, prefs
    assert prefs == {"kinds": ["escalation"], "quiet_hours": None, "digest_after": 5}
    for bad in ({"kinds": ["nope"]}, {"quiet_hours": {"start": "25:00", "end": "08:00"}},
                {"digest_after": -1}, {"colour": "red"}):
        status, error = as_karim.put("/api/me/notifications", bad)
        assert status in (400, 422), (bad, error)
    # another agent may not change Karim's; an admin may
    status, _ = api.as_principal(NUSRAT).patch(f"/api/agents/{agents.agent_id(KARIM)}",
                                               {"notifications": None})
    assert status == 403
    created = new_ticket(api)
    assert api.patch(f"/api/tickets/{created['id']}", {"assignee": KARIM})[0] == 200
    stack.pump.drain()
    assert sent_mail(stack, MAIL[KARIM]) == []  # "assigned" is off
    status, changed = api.patch(f"/api/agents/{agents.agent_id(KARIM)}", {"notifications": None})
    assert status == 200 and changed["notifications"]["kinds"] == list(staff.KINDS)


@pytest.fixture
def one_window(monkeypatch):
    """A window of a day, and not its last ten minutes: everything the test does lands in one
    window, whatever the machine's speed (a 15-minute window could end mid-test)."""
    monkeypatch.setenv("SETU_STAFF_DIGEST_MINUTES", "1440")
    left = staff.window_end(clock.now()) - clock.now()
    if left < timedelta(minutes=10):
        time.sleep(left.total_seconds() + 1)


def test_many_in_a_window_become_one_digest_sent_once(stack, api, one_window):
    assert api.patch(f"/api/agents/{agents.agent_id(KARIM)}",
                     {"notifications": {"digest_after": 1}})[0] == 200
    tickets = [new_ticket(api, subject=f"Parcel {n}") for n in range(3)]
    for created in tickets:
        assert api.patch(f"/api/tickets/{created['id']}", {"assignee": KARIM})[0] == 200
    stack.pump.drain()
    statuses = [staff_items(api, t["id"], "staff_assigned")[0]["status"] for t in tickets]
    assert sorted(statuses) == ["digest", "digest", "sent"]
    assert len(sent_mail(stack, MAIL[KARIM])) == 1
    assert staff.send_digests(clock.now())["sent"] == 0  # the window has not ended
    later = staff.window_end(clock.now()) + timedelta(seconds=1)
    assert staff.send_digests(later) == {"sent": 1, "failed": 0}
    assert staff.send_digests(later + timedelta(minutes=5)) == {"sent": 0, "failed": 0}
    mails = sent_mail(stack, MAIL[KARIM])
    assert len(mails) == 2
    digest = text_of(mails[1])
    assert mails[1]["Subject"] == "2 notifications on 2 tickets"
    held = [t for t, s in zip(tickets, statuses) if s == "digest"]
    for created in held:
        assert f"#{created['ref']} {created_subject(api, created)}" in digest
        assert f"/console/tickets/{created['ref']}" in digest
    assert "/api/" not in digest and "/api/" not in html_of(mails[1])


def created_subject(api, created) -> str:
    return api.get(f"/api/tickets/{created['id']}")[1]["subject"]


def test_quiet_hours_hold_everything_until_they_end(stack, api):
    now = clock.now().astimezone(clock.business_zone())
    start = (now - timedelta(hours=1)).strftime("%H:%M")
    end = (now + timedelta(hours=1)).strftime("%H:%M")
    status, prefs = api.as_principal(NUSRAT).put("/api/me/notifications",
                                                 {"quiet_hours": {"start": start, "end": end}})
    assert status == 200, prefs
    created = new_ticket(api)
    assert api.patch(f"/api/tickets/{created['id']}", {"assignee": NUSRAT})[0] == 200
    stack.pump.drain()
    assert staff_items(api, created["id"], "staff_assigned")[0]["status"] == "digest"
    assert sent_mail(stack, MAIL[NUSRAT]) == []
    [held] = list(StaffDigest.query("staff-digest"))
    assert held.quiet and held.sk.endswith("#quiet")
    assert staff.send_digests(clock.now() + timedelta(minutes=30))["sent"] == 0  # still quiet
    assert staff.send_digests(clock.now() + timedelta(hours=1, minutes=1))["sent"] == 1
    [mail] = sent_mail(stack, MAIL[NUSRAT])
    text = text_of(mail)
    assert "বিশ্রামের সময় শেষ হয়েছে" in text and "(ঢাকা)" in text
    assert "#" + created["ref"].translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")) in text


def test_round_robin_assignment_tells_the_chosen_agent(stack, api):
    status, body = api.put("/api/routing", {"rules": [], "assignment": {"general": "round_robin"}})
    if status not in (200, 201):
        pytest.fail(f"routing set-up: {status} {body}")
    created = new_ticket(api)
    stack.pump.drain()
    ticket = api.get(f"/api/tickets/{created['id']}")[1]
    assert ticket["assignee"] in (NUSRAT, KARIM, LEAD)
    [item] = staff_items(api, created["id"], "staff_assigned")
    assert item["recipient"] == MAIL[ticket["assignee"]] and item["status"] == "sent"


def test_setu_notifications_shows_and_sets_an_agents_preferences(stack, api, capsys):
    from setu_cli.main import main

    assert main(["notifications", "--principal", KARIM]) == 0
    assert "kinds: assigned, customer_replied" in capsys.readouterr().out
    assert main(["notifications", "--principal", KARIM, "--kinds", "escalation,callback_due",
                 "--quiet", "22:00-08:00", "--digest-after", "3"]) == 0
    out = capsys.readouterr().out
    assert "kinds: callback_due, escalation" in out and "22:00-08:00 (Asia/Dhaka)" in out
    status, me = api.as_principal(KARIM).get("/api/me/notifications")
    assert me == {"kinds": ["callback_due", "escalation"],
                  "quiet_hours": {"start": "22:00", "end": "08:00"}, "digest_after": 3}
    assert main(["notifications", "--principal", KARIM, "--quiet", "25:00-08:00"]) == 2
    assert "quiet_hours" in capsys.readouterr().err
    assert main(["notifications", "--principal", KARIM, "--reset"]) == 0
    assert api.as_principal(KARIM).get("/api/me/notifications")[1]["kinds"] == list(staff.KINDS)
    assert main(["notifications", "--principal", "arn:aws:iam::123456789012:user/nobody"]) == 2


def test_sla_warning_reaches_the_assignee_in_bengali(stack, api):
    assert api.put("/api/sla-policies/default", {"first_response": "PT4S", "warn_before": "PT2S",
                                                  "calendar": "24x7"})[0] == 200
    created = new_ticket(api)
    assert api.patch(f"/api/tickets/{created['id']}", {"assignee": NUSRAT})[0] == 200
    wait_for(lambda: [i for i in staff_items(api, created["id"], "staff_sla_warning")
                      if i["status"] == "sent"], stack.pump, timeout=40)
    [warning] = [m for m in sent_mail(stack, MAIL[NUSRAT]) if "এসএলএ সতর্কতা" in m["Subject"]]
    text = text_of(warning)
    assert "প্রথম উত্তর" in text and "(ঢাকা)" in text and "/api/" not in text


def test_the_asker_hears_the_decision_and_approvers_get_the_question_in_their_language(stack, api):
    created = new_ticket(api)
    status, asked = api.as_principal(KARIM).post(f"/api/tickets/{created['id']}/decisions", {
        "question": "Refund 5,000 taka?", "approver": LEAD, "within": "PT1H"})
    assert status == 201, asked
    stack.pump.drain()
    [ask] = sent_mail(stack, MAIL[LEAD])
    assert ask["Subject"] == f"[#{created['ref']}] Decision needed: Order late"
    assert "Karim asks for your decision" in text_of(ask) and "Refund 5,000 taka?" in text_of(ask)
    assert "(Dhaka time)" in text_of(ask) and "/api/" not in text_of(ask)
    status, _ = api.as_principal(LEAD).post(
        f"/api/tickets/{created['id']}/decisions/{asked['decision']['id']}",
        {"outcome": "rejected", "comment": "over budget"})
    assert status == 200
    stack.pump.drain()
    [told] = sent_mail(stack, MAIL[KARIM])
    assert told["Subject"] == f"[#{created['ref']}] Decision rejected: Order late"
    assert "Mita rejected the decision you asked for" in text_of(told)
    assert "over budget" in text_of(told)
    assert len(sent_mail(stack, MAIL[LEAD])) == 1  # the decider is not told of their own act


def test_erasing_the_customer_erases_what_staff_mail_kept_of_them(stack, api):
    from chalicelib.db.models import TimelineItem

    created = new_ticket(api, name="Erase Me", email="erase-me@example.com")
    assert api.patch(f"/api/tickets/{created['id']}", {"assignee": NUSRAT})[0] == 200
    stack.pump.drain()
    ticket = api.get(f"/api/tickets/{created['id']}")[1]
    [mail] = [i for i in TimelineItem.query(created["id"]) if i.kind == "staff_assigned"]
    assert "Erase Me" in mail.body and mail.data is not None
    status, _ = api.post(f"/api/customers/{ticket['customer']['id']}/erase")
    assert status in (200, 202)
    [mail] = [i for i in TimelineItem.query(created["id"]) if i.kind == "staff_assigned"]
    assert mail.body == "[erased]" and mail.html is None and mail.data is None


def test_a_full_window_still_counts_and_the_digest_says_how_many_more(stack, api, monkeypatch,
                                                                     one_window):
    monkeypatch.setattr(staff, "MAX_ENTRIES", 1)
    assert api.patch(f"/api/agents/{agents.agent_id(KARIM)}",
                     {"notifications": {"digest_after": 0}})[0] == 200
    tickets = [new_ticket(api, subject=f"Box {n}") for n in range(2)]
    for created in tickets:
        assert api.patch(f"/api/tickets/{created['id']}", {"assignee": KARIM})[0] == 200
    stack.pump.drain()
    assert [staff_items(api, t["id"], "staff_assigned")[0]["status"] for t in tickets] == ["digest"] * 2
    [window] = list(StaffDigest.query("staff-digest"))
    assert window.count == 2 and len(window.entries) == 1
    assert staff.send_digests(staff.window_end(clock.now()) + timedelta(seconds=1))["sent"] == 1
    [digest] = sent_mail(stack, MAIL[KARIM])
    assert digest["Subject"] == "2 notifications on 1 ticket"
    assert "… and 1 more not listed here." in text_of(digest)


OUTSIDER = "arn:aws:iam::123456789012:user/sabbir-billing"


def test_no_customer_text_by_mail_to_an_agent_outside_the_tickets_department(stack, api):
    # Assignment takes any active agent; the agent's scope (team/scope.py) does not let them
    # open a general ticket, so its mail must not carry the customer's name and words either.
    MAIL[OUTSIDER] = f"sabbir-{stack.stage}@staff.test"
    agents.ensure_agent(OUTSIDER, role="agent", email=MAIL[OUTSIDER], departments={"billing"},
                        display_name="Sabbir")
    created = new_ticket(api, name="Secret Customer", subject="Private matter")
    assert api.as_principal(OUTSIDER).get(f"/api/tickets/{created['id']}")[0] == 404
    assert api.patch(f"/api/tickets/{created['id']}", {"assignee": OUTSIDER})[0] == 200
    from tests.integration.test_email import mail, ses_deliver

    ses_deliver(stack, mail(sender="Secret Customer <rahim@example.com>",
                            subject=f"Re: [#{created['ref']}] Private matter",
                            body="my card number is 4111").as_bytes(), source="rahim@example.com")
    stack.pump.drain()
    assert any(i.get("direction") == "in" and "4111" in (i.get("body") or "")
               for i in timeline(api, created["id"]))  # the reply joined the ticket
    assert sent_mail(stack, MAIL[OUTSIDER]) == []
    assert staff_items(api, created["id"], "staff_assigned") == []
    assert staff_items(api, created["id"], "staff_replied") == []
    # moved into their department, the ticket's mail reaches them
    assert api.patch(f"/api/tickets/{created['id']}", {"department": "billing"})[0] == 200
    assert api.patch(f"/api/tickets/{created['id']}", {"assignee": None})[0] == 200
    assert api.patch(f"/api/tickets/{created['id']}", {"assignee": OUTSIDER})[0] == 200
    stack.pump.drain()
    assert len(sent_mail(stack, MAIL[OUTSIDER])) == 1


def test_a_digest_window_full_of_the_longest_entries_still_fits_its_item(stack, api):
    # A customer with the longest name and subject (4-byte characters: 800 bytes each) who
    # writes and writes: every staff mail past `digest_after` joins the window's item, which
    # holds at most MAX_ENTRIES; each entry must be small enough that a full list stays under
    # DynamoDB's 400 KB an item (else every further mail's hold fails, a ValidationException).
    from chalicelib.db.models import Ticket

    created = new_ticket(api, name="\U0001F600" * 200, subject="\U0001F4E6" * 200)
    ticket = Ticket.get(created["id"])
    now = clock.now()
    [item] = staff.notify(ticket, "customer_replied", KARIM, now=now,
                          excerpt="\U0001F600" * 400)
    for _ in range(staff.MAX_ENTRIES + 5):
        staff.hold(item, now)
    [window] = list(StaffDigest.query("staff-digest"))
    assert window.count == staff.MAX_ENTRIES + 5 and len(window.entries) == staff.MAX_ENTRIES
    entry = window.entries[0].as_dict() if hasattr(window.entries[0], "as_dict") else window.entries[0]
    assert entry["ref"] == created["ref"] and entry["subject"].startswith("\U0001F4E6")


def test_a_digest_is_not_sent_to_an_agent_deactivated_since(stack, api, one_window):
    # Held entries carry customers' words; an agent deactivated (left the company) before the
    # window ends must not get them at the address stored when they were held. A changed
    # address gets the digest at the new address.
    assert api.patch(f"/api/agents/{agents.agent_id(KARIM)}",
                     {"notifications": {"digest_after": 0}})[0] == 200
    assert api.patch(f"/api/agents/{agents.agent_id(NUSRAT)}",
                     {"notifications": {"digest_after": 0}})[0] == 200
    first, second = new_ticket(api, subject="Parcel A"), new_ticket(api, subject="Parcel B")
    assert api.patch(f"/api/tickets/{first['id']}", {"assignee": KARIM})[0] == 200
    assert api.patch(f"/api/tickets/{second['id']}", {"assignee": NUSRAT})[0] == 200
    stack.pump.drain()
    assert staff_items(api, first["id"], "staff_assigned")[0]["status"] == "digest"
    assert api.patch(f"/api/agents/{agents.agent_id(KARIM)}", {"active": False})[0] == 200
    moved = f"nusrat-new-{stack.stage}@example.com"
    assert api.patch(f"/api/agents/{agents.agent_id(NUSRAT)}", {"email": moved})[0] == 200
    agents.clear_cache()
    later = staff.window_end(clock.now()) + timedelta(seconds=1)
    assert staff.send_digests(later)["sent"] == 1
    assert sent_mail(stack, MAIL[KARIM]) == []
    assert sent_mail(stack, MAIL[NUSRAT]) == [] and len(sent_mail(stack, moved)) == 1
