"""The audit log's business days and labels, without AWS: entries are stored by UTC day but
read by business day (Asia/Dhaka: midnight is 18:00 UTC), and say what they are about in
words people read."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

from chalicelib import clock
from chalicelib.services.team import audit

UTC = timezone.utc


def test_a_dhaka_day_runs_from_1800_utc_to_1800_utc():
    start, end = clock.business_day_bounds(date(2026, 12, 7))
    assert (start, end) == (datetime(2026, 12, 6, 18, tzinfo=UTC), datetime(2026, 12, 7, 18, tzinfo=UTC))


def test_entries_around_dhaka_midnight_fall_on_the_right_business_day():
    before = datetime(2026, 12, 6, 17, 59, 59, 999000, tzinfo=UTC)  # 23:59:59.999 in Dhaka
    after = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)  # 00:00 on the 7th in Dhaka
    for at, day in ((before, "2026-12-06"), (after, "2026-12-07")):
        key = audit.entry("arn:aws:iam::1:user/a", "ticket.updated", "ticket:t_1", at=at)
        assert key.pk == "audit#2026-12-06"  # stored by UTC day ...
        assert audit._within(key.sk.split("#", 1)[0], day)  # ... read by business day
        other = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
        assert not audit._within(key.sk.split("#", 1)[0], other)


def test_today_is_the_business_day(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 12, 6, 19, tzinfo=UTC))
    assert audit.today() == "2026-12-07"  # 01:00 in Dhaka; still the 6th in UTC
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 12, 6, 17, tzinfo=UTC))
    assert audit.today() == "2026-12-06"


def test_a_ticket_entry_keeps_its_ref_and_departments_before_and_after_a_move():
    ticket = SimpleNamespace(id="t_01abc", ref="1042", department="billing")
    key = audit.entry("arn:aws:iam::1:user/a", "ticket.updated", "ticket:t_01abc",
                      before={"department": "sales"}, after={"department": "billing"},
                      about=ticket)
    assert key.data["target"] == "ticket:t_01abc"  # the id, for machines
    assert key.data["label"] == "ticket #1042"
    assert key.data["departments"] == ["billing", "sales"]
    plain = audit.entry("arn:aws:iam::1:user/a", "agent.updated", "agent:arn:aws:iam::1:user/b")
    assert "departments" not in plain.data and "label" not in plain.data


def test_readable_names_the_target_and_the_actor():
    names = {"arn:aws:iam::1:user/a": "Nusrat", "arn:aws:iam::1:user/b": "Karim"}.get
    entry = {"actor": "arn:aws:iam::1:user/a", "action": "ticket.note_added",
             "target": "ticket:t_1", "label": "ticket #1042", "departments": ["billing"]}
    out = audit.readable(entry, names, lambda principal: "ag_" + principal[-1])
    assert (out["target"], out["target_label"], out["actor_name"], out["actor_id"]) == (
        "ticket:t_1", "ticket #1042", "Nusrat", "ag_a")
    assert "label" not in out
    agent = audit.readable({"actor": "cli:ops", "target": "agent:arn:aws:iam::1:user/b"}, names)
    assert (agent["target_label"], agent["actor_name"], agent["departments"]) == (
        "agent Karim", None, [])
    unknown = audit.readable({"actor": "x", "target": "ack-template:billing"}, names)
    assert unknown["target_label"] == "ack template billing"
