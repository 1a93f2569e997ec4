"""Ticket references in SMS text (services/inbound/sms_refs.py): every word order customers
use, Bengali and ASCII digits, and nothing read where there is no reference."""
from __future__ import annotations

import time

import pytest

from chalicelib.services.inbound.sms_refs import explicit, numbers


@pytest.mark.parametrize("text", [
    "১০০১ নম্বর টিকেট", "১০০১ নম্বর টিকেটের কী হলো", "টিকেট নং ১০০১", "টিকিট নং: ১০০১",
    "ticket no. 1001", "Ticket No 1001", "TICKET #1001", "ticket number 1001", "#1001",
    "# ১০০১", "রেফ ১০০১", "রেফারেন্স নম্বর ১০০১", "ref: 1001", "Ref-1001",
    "1001 নং টিকেটের ব্যাপারে", "1001-এর টিকিট", "১০০১ এর টিকেট", "about 1001 ticket",
    "টিকিট #০১০০১ এর আপডেট",
])
def test_each_form_names_the_ref(text):
    assert explicit(text) == ["1001"]


@pytest.mark.parametrize("text", [
    "আমার বিল ১০০১ টাকা এসেছে", "call me on 01711000000", "order 1001 arrived",
    "ticket 12", "ticketing 1001", "ticket 1234567890123", "",
])
def test_no_reference_without_a_ticket_word(text):
    assert explicit(text) == []


def test_several_refs_in_order_and_bare_numbers():
    assert explicit("#1002 and ticket no. 1001 and #1002") == ["1002", "1001"]
    assert numbers("১০০১ এর কী খবর, 1002?") == ["1001", "1002"]
    assert numbers("01711000000") == ["1711000000"]


def test_hostile_text_is_read_in_linear_time():
    for text in ("ticket" + " :" * 800, "111" + " " * 1590 + "x", "# " * 800,
                 "টিকেট" + "ঃ -" * 500, "1001" + " -" * 700, "১" * 1600):
        started = time.perf_counter()
        explicit(text)
        numbers(text)
        assert time.perf_counter() - started < 0.05, text[:20]
