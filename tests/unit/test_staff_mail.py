"""Staff mail without AWS: rendering in both languages, Dhaka time, the ticket link setting,
preferences and quiet hours, digest windows and grouping."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import clock, config
from chalicelib.db.models import StaffDigest, Ticket
from chalicelib.services.messaging import staff
from chalicelib.services.team import notifications

UTC = timezone.utc
DUE = "2026-12-07T05:19:00.000Z"


def ticket(**fields) -> Ticket:
    now = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    values = dict(id="t_1", ref="1042", subject="Router down", status="open", priority="normal",
                  department="billing", customer_id="c_1", channel="email", created_at=now,
                  updated_at=now, queue_sort="x",
                  timers={"first_response": {"state": "armed", "due_at": DUE, "generation": 1},
                          "resolution": {"state": "armed", "due_at": "2026-12-09T05:19:00.000Z",
                                         "generation": 1},
                          "next_reply": {"state": "stopped", "due_at": "2026-12-01T00:00:00.000Z",
                                         "generation": 1}})
    values.update(fields)
    return Ticket(**values)


def test_times_are_dhaka_time_with_the_zone_and_bengali_digits():
    assert staff.when(DUE, "en") == "7 Dec 2026, 11:19 (Dhaka time)"
    assert staff.when(DUE, "bn") == "৭ ডিসেম্বর ২০২৬, ১১:১৯ (ঢাকা)"
    assert staff.when(datetime(2026, 12, 31, 20, 0, tzinfo=UTC), "en") == "1 Jan 2027, 02:00 (Dhaka time)"
    assert staff.when(None, "en") is None


def test_sla_due_is_the_earliest_armed_target():
    assert staff.sla_due(ticket()) == DUE
    assert staff.sla_due(ticket(timers={})) is None


@pytest.mark.parametrize("kind", notifications.KINDS)
def test_every_kind_renders_in_both_languages(kind):
    extra = {"assigned": {}, "customer_replied": {"excerpt": "still   broken\n\nplease"},
             "callback_due": {"callback_at": DUE}, "sla_warning": {"target": "next_reply", "target_due": DUE},
             "decision_requested": {"question": "Refund?", "decision_due": DUE},
             "decision_decided": {"outcome": "rejected"}, "escalation": {"level": 3, "target": "resolution"}}[kind]
    for lang in ("bn", "en"):
        n = staff.facts(ticket(), kind, lang, recipient="Nusrat", customer_name="Rahim", **extra)
        subject, text, html, headline = staff.render(n, lang)
        ref = "#১০৪২" if lang == "bn" else "#1042"
        assert subject.startswith(f"[{ref}] ") and subject.endswith("Router down")
        assert headline and headline in text and ref in headline
        assert "(ঢাকা)" in text if lang == "bn" else "(Dhaka time)" in text
        assert "setu tickets --q 1042" in text and "/api/" not in text + html
        assert ("বিল ও পেমেন্ট" if lang == "bn" else "Billing") in text
        assert "Rahim" in text and "<html lang=\"%s\">" % lang in html
    if kind == "customer_replied":
        assert "still broken please" in text  # whitespace folded


def test_english_texts_of_decisions_and_escalations():
    n = staff.facts(ticket(), "decision_requested", "en", recipient="Karim", customer_name="",
                    actor_name="Rina", question="Refund?", decision_due=DUE)
    subject, text, _, headline = staff.render(n, "en")
    assert subject == "[#1042] Decision needed: Router down"
    assert headline == "Rina asks for your decision on ticket #1042, due 7 Dec 2026, 11:19 (Dhaka time)."
    n = staff.facts(ticket(), "decision_requested", "en", recipient="Karim", customer_name="",
                    question="Refund?", decision_due=DUE, reminder=True, overdue=True)
    assert staff.render(n, "en")[0] == "[#1042] Decision overdue: Router down"
    n = staff.facts(ticket(), "escalation", "bn", recipient="K", customer_name="", level=2,
                    target="first_response")
    assert staff.render(n, "bn")[0] == "[#১০৪২] এসকেলেশন (স্তর ২): Router down"
    with pytest.raises(TypeError):
        staff.facts(ticket(), "assigned", "en", recipient="K", customer_name="", colour="red")


def test_the_ticket_link_waits_for_a_console_url(monkeypatch):
    monkeypatch.delenv("SETU_CONSOLE_URL", raising=False)
    monkeypatch.delenv("SETU_PUBLIC_URL", raising=False)
    config.reload()
    assert staff.staff_link("1042") is None
    monkeypatch.setenv("SETU_PUBLIC_URL", "https://abc.execute-api.ap-south-1.amazonaws.com/api/")
    config.reload()  # the console the app serves (api/console_pages.py)
    assert staff.staff_link("7") == "https://abc.execute-api.ap-south-1.amazonaws.com/api/console/tickets/7"
    monkeypatch.setenv("SETU_CONSOLE_URL", "https://desk.example.com/console/")
    config.reload()
    try:
        assert staff.staff_link("1042") == "https://desk.example.com/console/tickets/1042"
        n = staff.facts(ticket(), "assigned", "en", recipient="K", customer_name="")
        _, text, html, _ = staff.render(n, "en")
        assert "Open the ticket: https://desk.example.com/console/tickets/1042" in text
        assert 'href="https://desk.example.com/console/tickets/1042"' in html
    finally:
        monkeypatch.delenv("SETU_CONSOLE_URL")
        config.reload()


def test_preferences_validate_and_default():
    assert notifications.effective(None) == notifications.defaults()
    stored, errors = notifications.validate({"kinds": ["escalation", "assigned"],
                                             "quiet_hours": {"start": "22:00", "end": "08:00"}})
    assert errors == {} and stored["kinds"] == ["assigned", "escalation"]  # in KINDS order
    assert stored["digest_after"] == notifications.DEFAULT_DIGEST_AFTER
    for bad, field in (({"kinds": "all"}, "notifications.kinds"),
                       ({"quiet_hours": {"start": "22:00"}}, "notifications.quiet_hours"),
                       ({"quiet_hours": {"start": "08:00", "end": "08:00"}}, "notifications.quiet_hours"),
                       ({"digest_after": True}, "notifications.digest_after"),
                       ({"digest_after": 101}, "notifications.digest_after"),
                       ({"sound": "on"}, "notifications.sound"), ("loud", "notifications")):
        stored, errors = notifications.validate(bad)
        assert stored is None and field in errors, bad
    assert notifications.validate(None) == (None, {})


def dhaka(hour: int, minute: int = 0, day: int = 7) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=clock.business_zone()).astimezone(UTC)


def test_quiet_hours_span_midnight_in_dhaka_time():
    prefs = {"quiet_hours": {"start": "22:00", "end": "08:00"}}
    assert notifications.quiet_until(prefs, dhaka(21, 59)) is None
    assert notifications.quiet_until(prefs, dhaka(22, 0)) == dhaka(8, 0, day=8)
    assert notifications.quiet_until(prefs, dhaka(3, 0)) == dhaka(8, 0)
    assert notifications.quiet_until(prefs, dhaka(8, 0)) is None
    lunch = {"quiet_hours": {"start": "13:00", "end": "14:00"}}
    assert notifications.quiet_until(lunch, dhaka(13, 30)) == dhaka(14, 0)
    assert notifications.quiet_until(lunch, dhaka(14, 30)) is None
    assert notifications.quiet_until({"quiet_hours": None}, dhaka(3)) is None


def test_windows_end_on_whole_minutes(monkeypatch):
    monkeypatch.setenv("SETU_STAFF_DIGEST_MINUTES", "15")
    assert staff.window_end(datetime(2026, 12, 7, 5, 0, tzinfo=UTC)) == datetime(2026, 12, 7, 5, 15, tzinfo=UTC)
    assert staff.window_end(datetime(2026, 12, 7, 5, 14, 59, tzinfo=UTC)) == datetime(2026, 12, 7, 5, 15, tzinfo=UTC)
    monkeypatch.setenv("SETU_STAFF_DIGEST_MINUTES", "60")
    assert staff.window_end(datetime(2026, 12, 7, 5, 30, tzinfo=UTC)) == datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def entry(ref: str, at: str, kind: str = "assigned") -> dict:
    return {"ref": ref, "ticket_id": f"t_{ref}", "kind": kind, "at": at, "line": f"{kind} {ref}",
            "subject": f"S{ref}"}


def test_held_entries_are_those_past_digest_after_or_all_in_quiet_hours():
    entries = [entry("1", "2026-12-07T05:00:01.000Z"), entry("2", "2026-12-07T05:00:02.000Z"),
               entry("3", "2026-12-07T05:00:03.000Z")]
    window = StaffDigest("staff-digest", "x#ag", entries=entries, quiet=False, after=2)
    assert [e["ref"] for e in staff.held_entries(window)] == ["3"]
    quiet = StaffDigest("staff-digest", "x#ag#quiet", entries=entries, quiet=True, after=0)
    assert [e["ref"] for e in staff.held_entries(quiet)] == ["1", "2", "3"]


def test_digest_groups_by_ticket_in_order_of_first_entry():
    groups = staff.group([entry("2", "2026-12-07T05:03:00.000Z", "callback_due"),
                          entry("1", "2026-12-07T05:01:00.000Z"),
                          entry("2", "2026-12-07T05:02:00.000Z", "customer_replied")])
    assert [g["ref"] for g in groups] == ["1", "2"]
    assert [line["kind"] for line in groups[1]["lines"]] == ["customer_replied", "callback_due"]


def test_notify_tells_nobody_without_an_assignee_or_the_actor():
    # no AWS: these return before any lookup
    now = datetime(2026, 12, 7, tzinfo=UTC)
    assert staff.notify(ticket(), "assigned", None, now=now) == []
    assert staff.notify(ticket(), "assigned", "arn:x", now=now, actor="arn:x") == []
    with pytest.raises(ValueError):
        staff.notify(ticket(), "birthday", "arn:x", now=now)


def test_quiet_end_plus_window_never_collide():
    end = (dhaka(8) + timedelta(0)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert staff.keys.staff_digest_sk(end, "ag_1", quiet=True) != staff.keys.staff_digest_sk(end, "ag_1")


def test_a_full_digest_says_how_many_more():
    entries = [entry(str(n), f"2026-12-07T05:00:0{n}.000Z") for n in range(3)]
    digest = StaffDigest("staff-digest", "2026-12-07T05:15:00.000Z#ag_1", entries=entries,
                         quiet=False, after=1, count=7, lang="en", agent="arn:x/karim")
    subject, text, html = staff.render_digest(digest, {}, "Karim")
    assert subject == "6 notifications on 2 tickets"
    assert "… and 4 more not listed here." in text and "4 more" in html
    digest.lang = "bn"
    assert "আরও ৪টি এখানে দেখানো হয়নি" in staff.render_digest(digest, {}, "Karim")[1]


@pytest.mark.parametrize("lang", ["en", "bn"])
def test_customer_text_in_the_html_part_is_escaped(lang):
    # The headline, title and subject line are macros of the shared (non-escaping) labels
    # template; called from the HTML template they came back marked safe, unescaped.
    hostile = ticket(subject='<img src=x onerror="alert(1)">')
    n = staff.facts(hostile, "customer_replied", lang, recipient="Nusrat",
                    customer_name="<script>steal()</script>", excerpt="<b>bold</b>")
    subject, text, html, headline = staff.render(n, lang)
    assert "<script>" not in html and "<img" not in html and "<b>bold" not in html
    assert "&lt;script&gt;steal()&lt;/script&gt;" in html and "&lt;img src=x" in html
    assert "<script>steal()</script>" in text and "<script>" in headline  # plain text stays as written
    assert "\n" not in subject and "<img" in subject  # a header: one line, not HTML


def test_clip_keeps_whole_characters_within_the_byte_budget():
    assert staff.clip("short", 10) == "short"
    clipped = staff.clip("\U0001F600" * 100, 50)
    assert len(clipped.encode("utf-8")) <= 50 and clipped.endswith("…")
    assert set(clipped[:-1]) == {"\U0001F600"}
    assert staff.clip("ক" * 200, 300).encode("utf-8")[:3] == "ক".encode("utf-8")
