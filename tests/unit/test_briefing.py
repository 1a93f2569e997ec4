"""The daily briefing's decisions, without AWS: when a department's briefing is due (opening
time, weekends, holidays, half-days, DST, always-open calendars), which ticket goes in which
section, what each recipient's digest holds (capped lists with "and N more") and how it reads
in English and Bengali."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib import clock, config
from chalicelib.db.models import Ticket
from chalicelib.services.reports import briefing
from chalicelib.services.sla.calendars import ALWAYS, DHAKA, parse_calendar

UTC = timezone.utc


def dhaka(y, mo, d, h=0, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=UTC) - timedelta(hours=6)


SUNDAY = date(2026, 11, 22)
OPENING = dhaka(2026, 11, 22, 9, 30)
NOW = OPENING + timedelta(minutes=2)
SLOT = briefing.slot_for(DHAKA, NOW)
RAHIM = "arn:aws:iam::123456789012:user/rahim"
KARIM = "arn:aws:iam::123456789012:user/karim"


def ticket(n: int = 1, *, status="open", assignee=RAHIM, priority="normal", timers=None,
           breached=(), first_response_at=None, decision=None, subject=None) -> Ticket:
    t = Ticket(id=f"t_{n}", ref=str(1000 + n), subject=subject or f"Order {n} late",
               status=status, priority=priority, department="billing", assignee=assignee,
               customer_id="c_1", channel="email", created_at=NOW - timedelta(days=2),
               updated_at=NOW, queue_sort="x", first_response_at=first_response_at,
               sla={"breached": list(breached)},
               timers={kind: {"generation": 1, "state": state, "due_at": clock.iso(due), **extra}
                       for kind, (state, due, extra) in (timers or {}).items()})
    if decision is not None:
        t.decision = decision  # the manager-decision field (arriving in models.py separately)
    return t


def armed(due, **extra):
    return ("armed", due, extra)


def fired(due, **extra):
    return ("fired", due, extra)


def sections_of(t: Ticket, now=NOW, slot=SLOT) -> list[tuple[str, str]]:
    return [(line.section, line.what) for line in briefing.classify(t, slot, now)]


# ---- when -----------------------------------------------------------------------------------

def test_default_calendar_briefs_at_0930_dhaka_on_open_days_only():
    slot = briefing.slot_for(DHAKA, dhaka(2026, 11, 22, 8))
    assert slot.day == SUNDAY and slot.opens == OPENING and slot.closes == dhaka(2026, 11, 22, 18)
    assert not slot.is_due(dhaka(2026, 11, 22, 9, 29))
    assert slot.is_due(OPENING) and slot.is_due(dhaka(2026, 11, 22, 17, 59))
    assert not slot.is_due(dhaka(2026, 11, 22, 18))  # after closing: too late to brief
    assert slot.end_of_day == dhaka(2026, 11, 23)
    # Sunday looks back over the weekend to Thursday's opening for missed callbacks
    assert slot.since == dhaka(2026, 11, 19, 9, 30)
    assert briefing.slot_for(DHAKA, dhaka(2026, 11, 27, 10)) is None  # Friday
    assert briefing.slot_for(DHAKA, dhaka(2026, 11, 28, 10)) is None  # Saturday
    assert briefing.slot_for(DHAKA, dhaka(2026, 12, 16, 10)) is None  # Victory Day
    # just after local midnight it is already the new day's slot (opening later that morning)
    assert briefing.slot_for(DHAKA, dhaka(2026, 11, 23, 0, 1)).day == date(2026, 11, 23)


def test_each_calendar_opens_at_its_own_time_half_days_and_split_windows_included():
    shop = parse_calendar("shop", {
        "timezone": "Asia/Dhaka", "holidays_country": None,
        "hours": {d: [["08:00", "12:00"], ["13:00", "20:00"]] for d in ("sat", "sun", "mon")},
        "closed": ["2026-11-23"], "special": {"2026-11-28": [["11:00", "14:00"]]}})
    sunday = briefing.slot_for(shop, dhaka(2026, 11, 22, 7))
    assert (sunday.opens, sunday.closes) == (dhaka(2026, 11, 22, 8), dhaka(2026, 11, 22, 20))
    assert briefing.slot_for(shop, dhaka(2026, 11, 23, 9)) is None  # closed date
    half_day = briefing.slot_for(shop, dhaka(2026, 11, 28, 9))
    assert (half_day.opens, half_day.closes) == (dhaka(2026, 11, 28, 11), dhaka(2026, 11, 28, 14))
    assert half_day.since == dhaka(2026, 11, 22, 8)  # the previous open day (Monday was closed)


def test_dst_moves_the_opening_in_utc_not_in_local_time():
    london = parse_calendar("uk", {"timezone": "Europe/London", "holidays_country": None,
                                   "hours": {d: [["09:00", "17:00"]] for d in
                                             ("mon", "tue", "wed", "thu", "fri")}})
    winter = briefing.slot_for(london, datetime(2026, 3, 23, 12, tzinfo=UTC))
    summer = briefing.slot_for(london, datetime(2026, 3, 30, 12, tzinfo=UTC))  # BST since 29 Mar
    assert winter.opens == datetime(2026, 3, 23, 9, tzinfo=UTC)
    assert summer.opens == datetime(2026, 3, 30, 8, tzinfo=UTC)
    assert summer.end_of_day == datetime(2026, 3, 30, 23, tzinfo=UTC)
    # the Monday after the change looks back to Friday 09:00 GMT
    assert summer.since == datetime(2026, 3, 27, 9, tzinfo=UTC)


def test_always_open_departments_are_briefed_at_0930_dhaka_every_day():
    friday = briefing.slot_for(ALWAYS, dhaka(2026, 11, 27, 12))
    assert friday.opens == dhaka(2026, 11, 27, 9, 30) and friday.timezone == "Asia/Dhaka"
    assert friday.is_due(dhaka(2026, 11, 27, 23, 59)) and not friday.is_due(dhaka(2026, 11, 27, 9))


# ---- what -----------------------------------------------------------------------------------

def test_due_today_means_an_sla_target_due_before_local_midnight():
    t = ticket(timers={"first_response": armed(dhaka(2026, 11, 22, 14)),
                       "resolution": armed(dhaka(2026, 11, 22, 23, 59))})
    (line,) = briefing.classify(t, SLOT, NOW)  # one line per ticket, not one per target
    assert (line.section, line.what, line.also) == (
        "due_today", "first_response", (("resolution", dhaka(2026, 11, 22, 23, 59), False),))
    tomorrow = ticket(timers={"resolution": armed(dhaka(2026, 11, 23, 0, 1))})
    assert sections_of(tomorrow) == []


def test_breached_means_unmet_breaches_and_armed_targets_already_past_due():
    late = dhaka(2026, 11, 19, 17)
    assert sections_of(ticket(breached=["first_response"],
                              timers={"first_response": fired(late)})) == [("breached", "first_response")]
    answered_late = ticket(breached=["first_response"], first_response_at=NOW - timedelta(days=1),
                           timers={"first_response": fired(late)})
    assert sections_of(answered_late) == []
    assert sections_of(ticket(breached=["resolution"], timers={"resolution": fired(late)})) == [
        ("breached", "resolution")]
    # the breach event has not been processed yet, but the due time has passed
    overdue = ticket(timers={"next_reply": armed(NOW - timedelta(minutes=1))})
    (line,) = briefing.classify(overdue, SLOT, NOW)
    assert (line.section, line.what, line.overdue) == ("breached", "next_reply", True)
    # reopened after a resolution breach: a fresh target is armed, the old breach is history
    reopened = ticket(breached=["resolution"], timers={"resolution": armed(NOW + timedelta(days=2))})
    assert sections_of(reopened) == []


def test_waiting_on_decision_reads_the_decision_defensively():
    question = {"id": "d1", "state": "requested", "question": "Refund 5,000 Tk?",
                "requested_by": RAHIM, "requested_at": clock.iso(NOW - timedelta(hours=20)),
                "due_at": clock.iso(NOW + timedelta(hours=3))}
    (line,) = briefing.classify(ticket(decision=question), SLOT, NOW)
    assert (line.section, line.note, line.by, line.overdue) == ("decisions", "Refund 5,000 Tk?", RAHIM, False)
    assert sections_of(ticket(decision={**question, "state": "approved"})) == []
    assert sections_of(ticket(decision={"state": "requested"})) == [("decisions", "decision")]
    assert sections_of(ticket()) == []  # no decision attribute at all


def test_follow_ups_are_todays_callbacks_missed_callbacks_and_todays_auto_closes():
    today = ticket(timers={"callback": armed(dhaka(2026, 11, 22, 15), note="call about delivery")})
    (line,) = briefing.classify(today, SLOT, NOW)
    assert (line.section, line.what, line.note, line.overdue) == (
        "followups", "callback", "call about delivery", False)
    missed = ticket(timers={"callback": fired(dhaka(2026, 11, 19, 16))})  # Thursday afternoon
    assert [(l.what, l.overdue) for l in briefing.classify(missed, SLOT, NOW)] == [("callback", True)]
    assert sections_of(ticket(timers={"callback": fired(dhaka(2026, 11, 18, 16))})) == []  # older
    assert sections_of(ticket(timers={"callback": armed(dhaka(2026, 11, 24, 15))})) == []
    closing = ticket(status="pending", timers={"auto_close": armed(dhaka(2026, 11, 22, 16)),
                                               "reminder": armed(dhaka(2026, 11, 22, 11))})
    assert sections_of(closing) == [("followups", "auto_close")]


def test_resolved_and_closed_tickets_are_not_in_the_briefing():
    for status in ("resolved", "closed"):
        t = ticket(status=status, breached=["first_response"],
                   timers={"checkin": armed(dhaka(2026, 11, 22, 12))})
        assert briefing.classify(t, SLOT, NOW) == []


# ---- for whom -------------------------------------------------------------------------------

def _lines(tickets):
    return {t.id: briefing.classify(t, SLOT, NOW) for t in tickets}


def backlog():
    return [
        ticket(1, breached=["first_response"], timers={"first_response": fired(NOW - timedelta(days=1))},
               priority="urgent"),
        ticket(2, timers={"resolution": armed(dhaka(2026, 11, 22, 12))}),
        ticket(3, assignee=KARIM, timers={"first_response": armed(dhaka(2026, 11, 22, 11))}),
        ticket(4, assignee=None, timers={"first_response": armed(dhaka(2026, 11, 22, 10))}),
        ticket(5, assignee=None, timers={"resolution": armed(NOW + timedelta(days=3))}),
    ]


def test_department_digest_lists_everything_with_each_agents_share():
    tickets = backlog()
    digest = briefing.department_digest(
        "billing", {"en": "Billing", "bn": "বিল ও পেমেন্ট"}, SLOT, tickets, _lines(tickets),
        recipient=KARIM, recipient_name="Karim", names={RAHIM: "Rahim Uddin", KARIM: "Karim"})
    assert digest.counts() == {"breached": 1, "due_today": 3, "decisions": 0, "followups": 0}
    assert [l.ref for l in digest.section("due_today").lines] == ["1004", "1003", "1002"]  # by time
    assert (digest.active, digest.unassigned, digest.unassigned_due) == (5, 2, 1)
    assert [(w.name, w.active, w.breached, w.due_today) for w in digest.workload] == [
        ("Rahim Uddin", 2, 1, 1), ("Karim", 1, 0, 1)]


def test_agent_digest_holds_only_the_agents_own_tickets():
    tickets = backlog()
    digest = briefing.agent_digest("billing", {"en": "Billing"}, SLOT, tickets, _lines(tickets),
                                   recipient=RAHIM, recipient_name="Rahim")
    assert {l.ref for s in digest.sections for l in s.lines} == {"1001", "1002"}
    assert (digest.active, digest.unassigned, digest.unassigned_due) == (2, 2, 1)
    nobody = briefing.agent_digest("billing", {"en": "Billing"}, SLOT, tickets, _lines(tickets),
                                   recipient="arn:aws:iam::1:user/new", recipient_name="New")
    assert nobody.empty and nobody.active == 0


def test_thousands_of_tickets_are_capped_per_section_with_the_rest_counted():
    tickets = [ticket(n, timers={"resolution": armed(NOW + timedelta(minutes=n % 500 + 1))},
                      priority="urgent" if n % 7 == 0 else "normal") for n in range(5000)]
    digest = briefing.department_digest("billing", {"en": "Billing"}, SLOT, tickets,
                                        _lines(tickets), recipient=KARIM, recipient_name="Karim",
                                        names={})
    due = digest.section("due_today")
    assert (len(due.lines), due.total, due.more) == (briefing.MAX_LINES, 5000, 5000 - briefing.MAX_LINES)
    assert due.lines[0].at == NOW + timedelta(minutes=1)  # the most urgent first
    assert due.lines[0].priority == "urgent"  # n = 0, 3500: due first; urgent sorts before
    subject, text, html = briefing.render(digest, "en")
    assert "and 4980 more" in text and "and 4980 more" in html
    assert len(text) < 10_000 and len(html) < 20_000  # bounded, whatever the backlog


# ---- how it reads ---------------------------------------------------------------------------

def _digest(tickets, **kw):
    return briefing.department_digest("billing", {"en": "Billing", "bn": "বিল ও পেমেন্ট"}, SLOT,
                                      tickets, _lines(tickets), recipient=KARIM,
                                      recipient_name="Karim", names={RAHIM: "Rahim Uddin"}, **kw)


@pytest.fixture
def console(monkeypatch):
    """A console URL set: the briefing links each ticket to it."""
    monkeypatch.setenv("SETU_CONSOLE_URL", "https://help.example.com/console")
    config.reload()
    yield
    monkeypatch.delenv("SETU_CONSOLE_URL")
    config.reload()


def test_without_a_console_the_mail_links_nothing_a_browser_cannot_open():
    _, text, html = briefing.render(_digest(backlog()), "en")
    assert "#1001" in text and "/api/" not in text and "/api/" not in html and "href" not in html


def test_english_mail_names_the_sections_times_and_links(console):
    tickets = [*backlog(), ticket(6, decision={"state": "requested", "question": "Refund?",
                                               "requested_by": RAHIM,
                                               "due_at": clock.iso(dhaka(2026, 11, 23, 12))}),
               ticket(7, timers={"callback": armed(dhaka(2026, 11, 22, 15), note="call him")})]
    subject, text, html = briefing.render(_digest(tickets), "en")
    assert subject == ("Daily briefing, Billing, Sunday 22 November: 1 breached, 3 due today, "
                       "1 waiting on a decision, 1 follow-up")
    assert "BREACHED (1)" in text and "#1001 [urgent] Order 1 late" in text
    assert "first response was due Saturday 21 November, 09:32; Rahim Uddin" in text
    assert "first response due 10:00; unassigned" in text
    assert "decision due Monday 23 November, 12:00: “Refund?” (asked by Rahim Uddin)" in text
    assert "call back at 15:00 “call him”" in text
    assert "https://help.example.com/console/tickets/1004" in text
    assert "Unassigned in Billing: 2 (1 breached or due today)." in text
    assert '<a href="https://help.example.com/console/tickets/1001">#1001</a>' in html


def test_bengali_mail_uses_bengali_words_and_digits():
    subject, text, html = briefing.render(_digest(backlog()), "bn")
    assert subject.startswith("দৈনিক ব্রিফিং, বিল ও পেমেন্ট, রবিবার, ২২ নভেম্বর:")
    assert "সময়সীমা পেরিয়ে গেছে ১" in subject and "আজকের মধ্যে ৩" in subject
    assert "#১০০৪" in text and "প্রথম উত্তর: ১০:০০-এর মধ্যে" in text
    assert "কাউকে দেওয়া হয়নি" in text and '<html lang="bn">' in html


def test_subjects_in_html_are_escaped_and_an_empty_day_says_so():
    hostile = ticket(9, subject="<script>alert(1)</script>",
                     timers={"resolution": armed(dhaka(2026, 11, 22, 12))})
    _, text, html = briefing.render(_digest([hostile]), "en")
    assert "<script>" not in html and "&lt;script&gt;" in html and "<script>" in text
    subject, text, _ = briefing.render(_digest([ticket(10)]), "en")
    assert subject == "Daily briefing, Billing, Sunday 22 November: nothing due"
    assert "Nothing is breached, due today, waiting on a decision or to follow up." in text


@pytest.mark.parametrize("lang", ["en", "bn", "xx"])
def test_truncated_backlog_is_said_in_every_language(lang):
    _, text, _ = briefing.render(_digest(backlog(), truncated=True), lang)
    assert ("most urgent part" in text) if lang != "bn" else ("সবচেয়ে জরুরি" in text)


# ---- one line per ticket, consistent counts --------------------------------------------------

def test_a_ticket_is_one_line_in_its_worst_sla_state_with_its_other_targets_listed():
    both = ticket(timers={"first_response": armed(NOW - timedelta(minutes=30)),
                          "next_reply": fired(NOW - timedelta(hours=2)),
                          "resolution": armed(dhaka(2026, 11, 22, 16))}, breached=["next_reply"])
    (line,) = briefing.classify(both, SLOT, NOW)
    assert (line.section, line.what, line.at) == ("breached", "next_reply", NOW - timedelta(hours=2))
    assert [what for what, _, _ in line.also] == ["first_response", "resolution"]
    _, text, html = briefing.render(_digest([both]), "en")
    assert text.count("#1001") == 1 and html.count("#1001") == 1
    assert "next reply was due 07:32; first response was due 09:02; resolution due 16:00" in text
    _, text, _ = briefing.render(_digest([both]), "bn")
    assert text.count("#১০০১") == 1 and "সমাধান: ১৬:০০-এর মধ্যে" in text
    pending = ticket(status="pending", timers={"callback": armed(dhaka(2026, 11, 22, 15)),
                                               "auto_close": armed(dhaka(2026, 11, 22, 17))})
    (line,) = briefing.classify(pending, SLOT, NOW)
    assert (line.what, [w for w, _, _ in line.also]) == ("callback", ["auto_close"])


def _random_backlog(seed: int, n: int = 300) -> list[Ticket]:
    import random

    rng = random.Random(seed)
    people = [RAHIM, KARIM, None, None]
    out = []
    for i in range(n):
        timers = {}
        for target in briefing.SLA_TARGETS + ("callback", "auto_close"):
            if rng.random() < 0.5:
                due = NOW + timedelta(minutes=rng.randint(-3000, 3000))
                timers[target] = (rng.choice(["armed", "fired"]), due, {})
        breached = [t for t in briefing.SLA_TARGETS if rng.random() < 0.2]
        decision = ({"state": "requested", "due_at": clock.iso(NOW + timedelta(hours=1))}
                    if rng.random() < 0.1 else None)
        out.append(ticket(i, assignee=rng.choice(people), timers=timers, breached=breached,
                          status=rng.choice(["new", "open", "pending", "resolved"]),
                          decision=decision))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_count_identities_hold_for_any_backlog(seed):
    tickets = [t for t in _random_backlog(seed) if t.status in briefing.ACTIVE_STATUSES]
    lines = _lines(tickets)
    for own in lines.values():  # at most one line per section per ticket, never both SLA states
        assert len({l.section for l in own}) == len(own)
        assert not {"breached", "due_today"} <= {l.section for l in own}
    digest = briefing.department_digest("billing", {"en": "Billing"}, SLOT, tickets, lines,
                                        recipient=KARIM, recipient_name="K", names={})
    c = digest.tallied
    assert c.breached + c.due_today <= c.active and c.unassigned <= c.active
    assert c.unassigned_due == c.unassigned_breached + c.unassigned_due_today <= c.unassigned
    assert digest.counts() == {"breached": c.breached, "due_today": c.due_today,
                               "decisions": c.decisions, "followups": c.followups}
    assert sum(w.active for w in digest.workload) + c.unassigned == c.active
    assert sum(w.breached for w in digest.workload) + c.unassigned_breached == c.breached
    assert sum(w.due_today for w in digest.workload) + c.unassigned_due_today == c.due_today
    assert all(w.breached + w.due_today <= w.active for w in digest.workload)
    mine = briefing.agent_digest("billing", {"en": "Billing"}, SLOT, tickets, lines,
                                 recipient=RAHIM, recipient_name="R")
    rahim = next(w for w in digest.workload if w.assignee == RAHIM)
    assert (mine.active, mine.tallied.breached, mine.tallied.due_today) == (
        rahim.active, rahim.breached, rahim.due_today)
    assert mine.tallied.unassigned_due == c.unassigned_due


def test_unassigned_due_never_exceeds_unassigned():
    """The reported contradiction: a ticket breached on one target and due today on another was
    counted twice ("2 unassigned, of which 3 are overdue or due today")."""
    tickets = [ticket(n, assignee=None, breached=["first_response"],
                      timers={"first_response": fired(NOW - timedelta(hours=3)),
                              "resolution": armed(dhaka(2026, 11, 22, 17))}) for n in (1, 2)]
    digest = _digest(tickets)
    assert (digest.unassigned, digest.unassigned_due) == (2, 2)
    assert digest.counts()["breached"] == 2 and digest.counts()["due_today"] == 0
    _, text, _ = briefing.render(digest, "en")
    assert "Unassigned in Billing: 2 (2 breached or due today)." in text


def test_a_note_in_the_html_part_is_escaped():
    # `what` is a macro of the shared labels template: called from the HTML template its
    # output came back marked safe with the note unescaped.
    noted = ticket(11, timers={"callback": armed(dhaka(2026, 11, 22, 15),
                                                 note="<img src=x onerror=alert(1)>")})
    for lang in ("en", "bn"):
        _, text, html = briefing.render(_digest([noted]), lang)
        assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
        assert "<img src=x onerror=alert(1)>" in text
