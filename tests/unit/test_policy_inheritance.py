"""Policies inherit the fields they do not set from the default policy; "off" switches one
off; the one selection rule (policy.candidates) and which names apply (services/sla/policy.py)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.errors import ValidationFailed
from chalicelib.services.sla import policy as sla

DEFAULT = sla.parse_policy("default", {"first_response": "PT2H"}, sla.builtin_base())
BASE = sla.inheritable(DEFAULT)


def test_default_saved_with_targets_only_keeps_the_builtin_follow_ups():
    assert DEFAULT.checkin_after == timedelta(days=1)
    assert DEFAULT.remind_after == timedelta(days=2)
    assert DEFAULT.close_after == timedelta(days=5)
    assert DEFAULT.resolution == timedelta(days=3)
    assert DEFAULT.first_response == timedelta(hours=2)
    assert set(DEFAULT.inherited) == {"resolution", "checkin_after", "remind_after", "close_after"}
    assert DEFAULT.stored() == {"calendar": "24x7", "first_response": "PT2H"}


def test_a_policy_inherits_from_the_stored_default_not_only_the_builtin():
    default = sla.parse_policy("default", {"first_response": "PT2H", "checkin_after": "PT3H"},
                               sla.builtin_base())
    vip = sla.parse_policy("vip", {"first_response": "PT15M", "remind_after": None},
                           sla.inheritable(default))
    assert vip.checkin_after == timedelta(hours=3)
    assert vip.remind_after == timedelta(days=2)  # explicit null: inherited too
    assert "remind_after" in vip.inherited and "first_response" not in vip.inherited
    described = vip.describe()
    assert described["set"] == {"calendar": "24x7", "first_response": "PT15M"}
    assert described["checkin_after"] == described["effective"]["checkin_after"] == "PT3H"


def test_off_switches_a_follow_up_off_and_is_kept_as_set():
    quiet = sla.parse_policy("quiet", {"first_response": "PT1H", "checkin_after": "off",
                                       "close_after": "OFF"}, BASE)
    assert quiet.checkin_after is None and quiet.close_after is None
    assert quiet.remind_after == timedelta(days=2)
    assert quiet.stored()["checkin_after"] == "off" and quiet.stored()["close_after"] == "off"
    assert "checkin_after" not in quiet.inherited
    # the stored document reads back to the same policy
    assert sla.parse_policy("quiet", quiet.stored(), BASE) == quiet


def test_first_response_is_never_inherited_nor_off():
    with pytest.raises(ValidationFailed) as caught:
        sla.parse_policy("x", {"resolution": "P1D"}, BASE)
    assert caught.value.fields["first_response"] == "required"
    with pytest.raises(ValidationFailed) as caught:
        sla.parse_policy("x", {"first_response": "off"}, BASE)
    assert "first_response" in caught.value.fields


def test_without_a_base_nothing_is_inherited():
    bare = sla.parse_policy("bare", {"first_response": "PT1H"})
    assert bare.checkin_after is None and bare.inherited == ()


@pytest.mark.parametrize(("department", "priority", "existing", "chosen"), [
    ("billing", "urgent", {"urgent"}, "urgent"),
    ("billing", "urgent", {"urgent", "billing-urgent"}, "billing-urgent"),
    ("billing", "urgent", {"billing"}, "billing"),
    ("billing", "urgent", set(), "default"),
    ("billing", "high", {"urgent"}, "default"),
    ("billing", "normal", {"normal", "gold"}, "gold"),  # the department's default policy first
    ("billing", "urgent", {"urgent", "gold"}, "urgent"),  # a priority's policy beats it
    ("billing", "low", {"gold", "billing"}, "gold"),
])
def test_the_selection_rule(department, priority, existing, chosen):
    assert sla.choose(department, priority, "gold", existing.__contains__) == chosen


def test_usage_names_the_department_priority_pairs_each_policy_serves():
    used = sla.usage({"urgent", "billing-high", "foo"},
                     {"billing": None, "sales": None, "general": None})
    assert used["urgent"] == ["billing/urgent", "general/urgent", "sales/urgent"]
    assert used["billing-high"] == ["billing/high"]
    assert used["foo"] == []
    assert "sales/normal" in used["default"] and "billing/high" not in used["default"]


def test_applicable_names_and_the_warning():
    departments = {"billing": "gold", "sales": None}
    for name in ("default", "urgent", "low", "billing", "billing-urgent", "sales-low", "gold"):
        assert sla.applicable(name, departments), name
    for name in ("foo", "billing-vip", "urgent-billing", "general"):
        assert not sla.applicable(name, departments), name
    assert "no ticket uses policy 'foo'" in sla.unused_warning("foo")
