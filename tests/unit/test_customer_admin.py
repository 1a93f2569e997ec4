"""The pure parts of services/customers/admin.py: search text, PATCH bodies, consent states."""
from __future__ import annotations

import pytest

from chalicelib.errors import BadRequest, ValidationFailed
from chalicelib.services.customers import admin as ca


@pytest.mark.parametrize("q,expected", [
    ("Rahim@Example.COM", ("email", "Rahim@example.com")),
    ("  c_01jd0000000000000000000000 ", ("id", "c_01jd0000000000000000000000")),
    ("1234", ("ref", "1234")), ("#১২৩৪", ("ref", "1234")), ("#0012345678901", ("ref", "12345678901")),
    ("01711000001", ("phone", "+8801711000001")), ("+880 1711-000001", ("phone", "+8801711000001")),
    ("০১৭১১০০০০০১", ("phone", "+8801711000001")),
])
def test_classify(q, expected):
    assert ca.classify(q) == expected


@pytest.mark.parametrize("q,error", [("", BadRequest), ("   ", BadRequest), ("x" * 321, BadRequest),
                                     ("a@", ValidationFailed), ("hello", ValidationFailed),
                                     ("99999999999", ValidationFailed),
                                     ("c_no-dash", ValidationFailed)])
def test_classify_refuses(q, error):
    with pytest.raises(error):
        ca.classify(q)


def test_parse_changes_normalises():
    changes = ca.parse_changes({"name": "  Karim ", "lang": "en", "add_emails": ["A@Example.com", "A@Example.com"],
                                "remove_phones": ["01711000001"], "version": 3})
    assert changes.name == "Karim" and changes.lang == "en" and changes.version == 3
    assert changes.add_emails == ["A@example.com"] and changes.remove_phones == ["+8801711000001"]
    assert ca.parse_changes({"name": None}).name is None
    assert ca.parse_changes({"name": ""}).name is None
    assert ca.parse_changes({"lang": "bn"}).name is ...


@pytest.mark.parametrize("body,error,field", [
    (None, BadRequest, "body"), ([], BadRequest, "body"), ({}, BadRequest, "body"),
    ({"emails": []}, BadRequest, "emails"),
    ({"add_emails": ["nope"]}, ValidationFailed, "add_emails"),
    ({"add_phones": [1]}, ValidationFailed, "add_phones"),
    ({"lang": "de"}, ValidationFailed, "lang"), ({"version": True}, ValidationFailed, "version"),
    ({"version": -1}, ValidationFailed, "version"), ({"name": "x" * 201}, ValidationFailed, "name"),
    ({"add_phones": ["01711000001"], "remove_phones": ["+8801711000001"]}, ValidationFailed, "add_phones"),
    ({"remove_emails": [f"r{n}@example.com" for n in range(21)]}, ValidationFailed, "body"),
])
def test_parse_changes_refuses(body, error, field):
    with pytest.raises(error) as raised:
        ca.parse_changes(body)
    assert field in raised.value.fields


@pytest.mark.parametrize("body,fields", [
    # a million entries: refused on their number alone, none normalised, a small answer
    ({"add_emails": ["a@example.com"] * 1_000_000}, {"add_emails", "body"}),
    ({"remove_phones": ["not a phone"] * 1_000_000, "name": "x" * 201},
     {"remove_phones", "body", "name"}),
    # each list short enough, together too many
    ({"add_emails": [f"a{n}@example.com" for n in range(15)],
      "add_phones": [f"0171100{n:04}" for n in range(6)]}, {"body"}),
    ({"add_phones": "01711000001", "remove_emails": {"a": 1}}, {"add_phones", "remove_emails"}),
])
def test_parse_changes_checks_list_types_and_lengths_before_normalising(body, fields, monkeypatch):
    import json

    calls = []
    monkeypatch.setattr(ca.contacts, "normalise_email", lambda v: calls.append(v) or v)
    monkeypatch.setattr(ca.contacts, "normalise_phone", lambda v: calls.append(v) or v)
    with pytest.raises(ValidationFailed) as raised:
        ca.parse_changes(body)
    assert set(raised.value.fields) == fields, raised.value.fields
    assert calls == []
    assert len(json.dumps(raised.value.fields)) < 1000


def test_channel_states():
    records = {"suppress#email#gone@example.com": {"reason": "bounce", "at": "T1", "detail": "550"},
               "suppress#sms#+8801711000001": {"reason": "opt-out", "at": "T2", "detail": "keyword 'STOP'"},
               "suppress#email#news@example.com": {"reason": "unsubscribe", "at": "T3", "detail": "link"}}
    opted = {"sms": {"at": "T2", "source": "sms keyword STOP"},
             "email": {"at": "T3", "source": "unsubscribe", "scope": "automatic",
                       "address": "News@example.com"}}
    states = {s["address"]: s for s in ca.channel_states(
        ["ok@example.com", "gone@example.com", "News@example.com"],
        ["+8801711000001", "+8801711000002"], opted, records)}
    assert states["ok@example.com"]["state"] == "ok" and states["ok@example.com"]["source"] is None
    assert states["gone@example.com"] == {"channel": "email", "address": "gone@example.com",
                                          "state": "suppressed", "reason": "bounce", "at": "T1",
                                          "detail": "550", "scope": "all", "source": None}
    assert states["News@example.com"]["state"] == "opted_out"
    assert states["News@example.com"]["scope"] == "automatic"
    assert states["News@example.com"]["source"] == "unsubscribe"
    assert states["+8801711000001"]["state"] == "opted_out"
    assert states["+8801711000001"]["source"] == "sms keyword STOP"
    assert states["+8801711000002"]["state"] == "ok" and states["+8801711000002"]["source"] is None
    # an opt-out on the customer without its suppression record (one number): still shown
    only = ca.channel_states([], ["+8801711000003"], {"sms": {"at": "T4", "source": "x"}}, {})
    assert only[0]["state"] == "opted_out" and only[0]["at"] == "T4"
