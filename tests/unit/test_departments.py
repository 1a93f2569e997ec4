"""Departments as data (services/team/departments.py): the built-in four until an admin saves,
addresses, web-form choices, the 422 message that lists the departments."""
from __future__ import annotations

import time

import pytest

from chalicelib import config
from chalicelib.db import settings
from chalicelib.errors import ValidationFailed
from chalicelib.services.team import departments


def _stored(items):
    settings._cache[(departments.KIND, departments.NAME)] = (time.monotonic() + 3600,
                                                             {"items": items})


def test_the_builtin_departments_are_the_data_until_one_is_saved():
    assert departments.names() == ["billing", "general", "sales", "technical"]
    assert departments.display_name("billing", "bn") == "বিল ও পেমেন্ট"
    assert [name for name, _ in departments.form_choices("en")] == [
        "general", "sales", "billing", "technical"]


def test_a_stored_department_is_everywhere_and_a_deactivated_one_only_readable():
    _stored({**departments.SEEDS,
             "repairs": {"labels": {"bn": "মেরামত", "en": "Repairs"}, "order": 5,
                         "links": [{"label": {"bn": "ফর্ম", "en": "Form"},
                                    "url": "https://example.com/repair"}]},
             "sales": {**departments.SEEDS["sales"], "active": False}})
    assert departments.names() == ["billing", "general", "repairs", "technical"]
    assert departments.is_department("repairs") and not departments.is_department("sales")
    assert departments.known("sales")
    assert [n for n, _ in departments.form_choices("bn")][:2] == ["general", "repairs"]
    assert departments.links("repairs", "en", "https://x") == [
        {"label": "Form", "url": "https://example.com/repair"}]
    assert "deactivated" in departments.problem("sales")
    with pytest.raises(ValidationFailed) as caught:
        departments.require("nope")
    assert caught.value.fields["department"] == (
        "no such department; one of: billing, general, repairs, technical")


def test_addresses_default_to_the_name_at_the_support_domain():
    domain = config.settings().support_address.rpartition("@")[2]
    _stored({**departments.SEEDS, "repairs": {"labels": {"bn": "ম", "en": "R"}},
             "billing": {**departments.SEEDS["billing"], "address": f"accounts@{domain}"}})
    assert departments.sender_address("general") == config.settings().support_address
    assert departments.sender_address("repairs") == f"repairs@{domain}"
    assert departments.for_address(f"Repairs+x@{domain.upper()}") == "repairs"
    assert departments.for_address(f"accounts@{domain}") == "billing"
    assert departments.for_address(f"billing@{domain}") is None  # it has its own address now
    assert departments.for_address("repairs@elsewhere.example") is None


@pytest.mark.parametrize("name", ["a", "repairs", "after-sales", "x1"])
def test_valid_names(name):
    assert departments.valid_name(name)


@pytest.mark.parametrize("name", ["", "-a", "a-", "Sales", "a_b", "x" * 33, None, 3])
def test_invalid_names(name):
    assert not departments.valid_name(name)


def test_a_hidden_department_is_a_choice_only_when_a_link_preselects_it():
    _stored({**departments.SEEDS, "vip": {"labels": {"bn": "ভিআইপি", "en": "VIP"}, "form": False}})
    assert "vip" not in [n for n, _ in departments.form_choices("en")]
    assert "vip" in [n for n, _ in departments.form_choices("en", also="vip")]
    assert departments.is_department("vip")


@pytest.mark.parametrize("label", ["Repairs\r\nBcc: evil@example.com", "Tab\there", "nul\x00",
                                   "bidi\u202eeulav"])
def test_a_label_is_one_line_of_printable_text(label):
    # labels reach mail (subjects, the briefing), the web form and SMS: no line breaks or
    # control characters (header folding, a spoofed line in a text mail, reversed text)
    from chalicelib.services.team import department_admin

    entry = {**departments.DEFAULTS, "labels": {"bn": "মেরামত", "en": label}}
    assert "labels" in department_admin._check("repairs", entry, lambda n: True, lambda n: True)
    link = {"label": {"bn": "নিয়ম", "en": label}, "path": "/help/x"}
    entry = {**departments.DEFAULTS, "labels": {"bn": "মেরামত", "en": "Repairs"}, "links": [link]}
    assert "links" in department_admin._check("repairs", entry, lambda n: True, lambda n: True)
    fine = {**departments.DEFAULTS, "labels": {"bn": "মেরামত ও সার্ভিস", "en": "Repairs & service"}}
    assert department_admin._check("repairs", fine, lambda n: True, lambda n: True) == {}
