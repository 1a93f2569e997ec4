"""The sandbox admin-edited templates render in (services/authoring/sandbox.py): what works, and what is
refused quickly with a 422 naming the line, instead of leaking internals, hanging or eating
memory. No AWS."""
from __future__ import annotations

import time
import tracemalloc

import pytest

from chalicelib.errors import ValidationFailed
from chalicelib.services.authoring import sandbox

CONTEXT = {
    "lang": "bn", "business": "Setu Support",
    "ticket": {"ref": "104233", "subject": "Order <b>late</b>", "status": "open",
               "priority": "normal", "department": "বিক্রয়",
               "due_at": "2026-11-23T08:30:00.000Z", "status_url": ""},
    "customer": {"name": "Md. Rahim Uddin", "first_name": "Rahim"},
    "agent": {"name": "Rina"},
    "links": [{"label": "মূল্য তালিকা", "url": "https://help.example.com/prices"}],
}


def render(source: str, *, html: bool = False, context: dict | None = None) -> str:
    return sandbox.render(source, CONTEXT if context is None else context, html=html)


def refused(source: str, *, html: bool = False, field: str = "body") -> str:
    started = time.monotonic()
    with pytest.raises(ValidationFailed) as caught:
        sandbox.render(source, CONTEXT, html=html, field=field)
    assert time.monotonic() - started < 2.0, "must fail fast"
    assert caught.value.status == 422
    return caught.value.fields[field]


# ---- what authors use ---------------------------------------------------------------------

def test_placeholders_filters_and_bengali():
    out = render("প্রিয় {{ customer.first_name }}, আপনার অনুরোধ {{ ticket.ref | ref }} "
                 "{{ ticket.due_at | local_time }}-এর মধ্যে দেখা হবে। {{ 42 | bn_digits }} "
                 "{{ ticket.ref | digits }}")
    assert out == ("প্রিয় Rahim, আপনার অনুরোধ #১০৪২৩৩ সোমবার, ২৩ নভেম্বর, ১৪:৩০-এর মধ্যে দেখা হবে। "
                   "৪২ ১০৪২৩৩")
    assert render("{{ ticket.due_at | local_time('en') }}") == "Monday 23 November, 14:30"
    assert render("{{ ticket.ref | ref('en') }}") == "#104233"


def test_loops_conditions_and_text_filters():
    source = ("{% for link in links %}{{ loop.index }}. {{ link.label }}: {{ link.url }}\n"
              "{% endfor %}{% if customer.name %}{{ customer.name | upper | truncate(9) }}{% endif %}"
              " {{ customer.missing | default('—') }} {{ agent.name | lower }}"
              " {{ ['a', 'b'] | join(', ') }} {{ links | length }} {{ '-' * 3 }}"
              " {{ ticket.subject | replace('late', 'early') }} {{ 'x' ~ ticket.ref }}")
    out = render(source)
    assert out.startswith("1. মূল্য তালিকা: https://help.example.com/prices\nMD....")
    assert out.endswith(" — rina a, b 1 --- Order <b>early</b> x104233")


def test_autoescape_is_on_for_html_and_off_for_text():
    assert render("{{ ticket.subject }}") == "Order <b>late</b>"
    assert render("<p>{{ ticket.subject }}</p>", html=True) == "<p>Order &lt;b&gt;late&lt;/b&gt;</p>"
    assert render("<p>{{ 'a' ~ ticket.subject }}</p>", html=True) == "<p>aOrder &lt;b&gt;late&lt;/b&gt;</p>"


def test_first_name_skips_honorifics():
    assert sandbox.first_name("Md. Rahim Uddin") == "Rahim"
    assert sandbox.first_name("মোঃ করিম মিয়া") == "করিম"
    assert sandbox.first_name("Rina") == "Rina"
    assert sandbox.first_name("") == "" and sandbox.first_name(None) == ""


# ---- denials ------------------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__.os }}",
    "{{ lipsum.__globals__ }}",
    "{{ namespace.__init__ }}",
    "{{ ticket.__class__ }}",
    "{{ ticket['__class__'] }}",
    "{{ ticket.items() }}",
    "{{ ticket.ref.format(1) }}",
    "{{ '{0.__class__}'.format(ticket) }}",
    "{{ self.__init__ }}",
    "{{ range.__self__ }}",
    "{{ config }}",
    "{{ request }}",
])
def test_no_way_out_of_the_plain_context(source):
    message = refused(source)
    assert "line 1" in message
    assert "class" not in render_if_any(source)


def render_if_any(source: str) -> str:
    try:
        return render(source)
    except ValidationFailed:
        return ""


@pytest.mark.parametrize("source,needle", [
    ("{% for i in range(10**9) %}x{% endfor %}", "range"),
    ("{{ 'x' * 10**9 }}", "repeating"),
    ("{{ 10**9 * 'x' }}", "repeating"),
    ("{{ ['x'] * 10**9 }}", "repeating"),
    ("{{ 2 ** 100000 }}", "too large"),
    ("{{ (2 ** 4000) * (2 ** 4000) }}", "too large"),
    ("{{ 2.0 ** 100000 }}", "too large"),
    ("{{ '%0999999999d' % 1 }}", "formatting"),
    ("{{ '{:>999999999}'.format(1) }}", "format"),
    ("{% set s = 'x' * 20000 %}{{ s | replace('x', s) }}", "replace"),
    ("{% set s = 'x' * 20000 %}{{ s ~ s }}", "~"),
    ("{% set s = 'x' * 20000 %}{{ s + s }}", "joining"),
    ("{% set s = 'x' * 20000 %}{{ [s, s] | join }}", "join"),
    ("{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}", "iterations"),
    ("{% set s = 'x' * 20000 %}{% for c in s %}{% for d in s %}{% endfor %}{% endfor %}", "iterations"),
    ("{% for i in range(1000) %}{{ 'x' * 1000 }}{% endfor %}", "longer than"),
    ("{% set a = ['x' * 10000] * 1000 %}{{ a }}", "cannot print"),
    ("{% set a = ['x' * 10000] * 1000 %}{{ a | string }}", "string"),
])
def test_resource_bombs_fail_fast_without_eating_memory(source, needle):
    tracemalloc.start()
    try:
        message = refused(source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert needle in message, message
    assert peak < 20_000_000, f"peak {peak} bytes"


@pytest.mark.parametrize("source,needle", [
    ("{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f('x') }}", "macro"),
    ("{% include 'email/ack.en.txt' %}", "include"),
    ("{% import 'x' as y %}", "import"),
    ("{% extends 'email/_layout.html.j2' %}", "extends"),
    ("{% call range(3) %}x{% endcall %}", "call"),
    ("{% set x %}{{ 'a' }}{% endset %}", "set"),
    ("{% filter upper %}x{% endfilter %}", "filter"),
    ("{% with a = 1 %}{% endwith %}", "with"),
    ("{% for x in links recursive %}{{ loop(x) }}{% endfor %}", "recursive"),
    ("{{ ticket.ref | attr('__class__') }}", "attr"),
    ("{{ links | map('upper') }}", "map"),
    ("{{ ticket.ref | format }}", "format"),
])
def test_statements_and_filters_outside_the_whitelist(source, needle):
    assert needle in refused(source)


def test_autoescape_cannot_be_switched_off_in_html():
    assert "autoescape" in refused("{% autoescape false %}{{ ticket.subject }}{% endautoescape %}",
                                   html=True)
    assert "safe" in refused("{{ ticket.subject | safe }}", html=True)


def test_deep_nesting_and_huge_numbers_are_422_not_500():
    assert "deeply" in refused("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}")
    assert refused("{{ " + "9" * 5000 + " }}")


# ---- errors name the line -----------------------------------------------------------------

def test_syntax_error_names_the_line_and_field():
    message = refused("line one\nline two\n{{ ticket.ref }\n", field="body.bn")
    assert message.startswith("line 3:")


def test_undefined_names_are_errors_with_their_line():
    assert refused("a\nb\n{{ tiket.ref }}") == "line 3: 'tiket' is undefined"
    assert "nope" in refused("{{ ticket.nope }}")
    assert "nope" in refused("{% if ticket.nope %}x{% endif %}")


def test_runtime_errors_are_422_with_the_line():
    assert refused("ok\n{{ 1 / 0 }}").startswith("line 2: ZeroDivisionError")
    assert "cannot print a dict" in refused("{{ ticket }}")


def test_source_size_cap():
    assert "at most" in refused("x" * (sandbox.SOURCE_MAX + 1))
    assert render("x" * sandbox.SOURCE_MAX) == "x" * sandbox.SOURCE_MAX


def test_output_cap_is_the_callers():
    with pytest.raises(ValidationFailed):
        sandbox.render("{{ 'x' * 200 }}", CONTEXT, limit=100)


def test_check_compiles_without_rendering():
    sandbox.check("{{ anything_at_all }}")  # names are checked by rendering, not compiling
    with pytest.raises(ValidationFailed) as caught:
        sandbox.check("{% if %}", field="subject.en")
    assert caught.value.fields["subject.en"].startswith("line 1:")
    with pytest.raises(ValidationFailed):
        sandbox.check(None)


def test_budget_is_per_render():
    source = "{% for i in range(1000) %}{% endfor %}"
    for _ in range(20):  # 20,000 iterations in all, 1,000 per render: never over the budget
        assert render(source) == ""


# ---- comparisons and keys: bounded by what is compared, not by the clock ------------------
# `[a] * 20000` is 20,000 items that are one list of 20,000: the size caps count 20,000, but
# Python's ==, `in` and hash() walk all 400 million. A single such operation runs in C and the
# clock is only read between operations, so each must be refused before Python starts it.

NESTED = "{% set a = [1] * 20000 %}{% set b = [1] * 20000 %}{% set A = [a] * 20000 %}" \
         "{% set B = [b] * 20000 %}"
TUPLES = "{% set t = (1,) * 20000 %}{% set T = (t,) * 20000 %}"


@pytest.mark.parametrize("source,needle", [
    (NESTED + "{% if [A] * 4 == [B] * 4 %}{% endif %}", "compared"),  # 2.9 s before the fix
    (NESTED + "{% if [A] * 20000 == [B] * 20000 %}{% endif %}", "compared"),  # hours
    (NESTED + "{% if A != B %}{% endif %}", "compared"),
    (NESTED + "{% if A < B %}{% endif %}", "compared"),
    (NESTED + "{% if 1 < 2 < A %}{% endif %}", "compared"),
    (NESTED + "{% if A in [B] %}{% endif %}", "compared"),
    (NESTED + "{% if A not in [B] %}{% endif %}", "compared"),
    (NESTED + "{% if A is eq B %}{% endif %}", "compared"),
    (NESTED + "{% if A is in [B] %}{% endif %}", "compared"),
    (NESTED + "{% if A is lt B %}{% endif %}", "compared"),
    (TUPLES + "{% set d = {'k': 1} %}{{ d[((1,) * 20000,) * 20000] }}", "key"),  # 4 s before
    (TUPLES + "{% set d = {'k': 1} %}{{ d[(T,) * 20000] }}", "key"),  # hours
    (TUPLES + "{{ ticket[T] }}", "key"),
    (TUPLES + "{% if T in ticket %}{% endif %}", "compared"),
    (TUPLES + "{% set d = {T: 1} %}", "key"),
    (TUPLES + "{% for i in range(3) %}{{ loop.changed(T) }}{% endfor %}", "compared"),
    ("{% set s = 'x' * 20000 %}{{ s.startswith((s[1:] ~ 'y',) * 20000) }}", "compared"),
    (NESTED + "{{ links[A] }}", "list"),  # named by its type: str(A) is 400 million items
    ("{{ '%0999999999d' is divisibleby 1 }}", "number"),  # was '%0999999999d' % 1
    ("{{ '%0999999999d' is odd }}", "number"),
    ("{{ '%0999999999d' is even }}", "number"),
])
def test_comparing_and_hashing_nested_lists_is_refused_before_it_starts(source, needle):
    message = refused(source)  # within 2 s: a hang guard, the refusal takes milliseconds
    assert needle in message, message


def test_a_list_repeated_inside_itself_is_counted_at_every_level():
    tracemalloc.start()
    try:
        started = time.monotonic()
        refused(NESTED + "{% if [[A] * 20000] * 20000 == [[B] * 20000] * 20000 %}{% endif %}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 2.0
    assert peak < 20_000_000, f"peak {peak} bytes"


def test_many_bounded_comparisons_still_stop_on_the_clock(monkeypatch):
    monkeypatch.setattr(sandbox, "TIME_MAX", 0.0)
    assert "longer than" in refused("{% if 1 == 1 %}{% endif %}")


def test_comparisons_tests_and_keys_that_templates_use_still_work():
    source = ("{{ ticket.status == 'open' }} {{ ticket.status != 'open' }} {{ 1 < 2 < 3 }}"
              " {{ 3 < 2 < 1 }} {{ ticket.priority in ['high', 'urgent'] }}"
              " {{ 'sales' not in ticket }} {{ 'ref' in ticket }} {{ 'late' in ticket.subject }}"
              " {{ links == [] }} {{ links[0] == {'label': 'মূল্য তালিকা', 'url': "
              "'https://help.example.com/prices'} }} {{ (1, 2) == (1, 2) }} {{ [1, 2] < [1, 3] }}"
              " {{ ticket.status is eq 'open' }} {{ ticket.status is in ['open', 'new'] }}"
              " {{ 4 is divisibleby 2 }} {{ 3 is odd }} {{ 3 is even }} {{ 'abc' is lower }}"
              " {{ 'ABC' is upper }} {{ 5 is lower }} {{ ticket.nope is defined }}"
              " {{ none is none }} {{ links is sequence }} {{ {'a': 1, 2: 'b'}['a'] }}"
              " {{ {'a': 1}[2] is defined }} {{ ticket['ref'] }}"
              " {{ customer.name.startswith(('Md', 'Mr')) }}")
    assert render(source).split() == [
        "True", "False", "True", "False", "False", "True", "True", "True", "False", "True",
        "True", "True", "True", "True", "True", "True", "False", "True", "True", "False",
        "False", "True", "True", "1", "False", "104233", "True"]
    words = "{% if 'refund' in message.lower().split() %}refund{% endif %}"
    assert render(words, context={**CONTEXT, "message": "I want a REFUND " * 1200}) == "refund"
    changed = "{% for l in links + links %}{% if loop.changed(l.label) %}{{ l.label }}{% endif %}{% endfor %}"
    assert render(changed) == "মূল্য তালিকা"
    assert "undefined" in refused("{{ tiket == 1 }}") and "nope" in refused("{{ ticket.nope == 1 }}")


def test_errors_name_the_kind_of_failure_not_the_values():
    secret = "my card number is 4111 1111 1111 1111"
    with pytest.raises(ValidationFailed) as caught:
        sandbox.render("{{ message | round }}", {**CONTEXT, "message": secret})
    assert "4111" not in caught.value.fields["body"] and "4111" not in caught.value.message
    assert caught.value.fields["body"].startswith("line 1: ValueError")


def test_the_budget_exists_only_inside_render():
    with pytest.raises(RuntimeError):
        sandbox._budget()
    assert render("{% for i in range(3) %}{{ i }}{% endfor %}") == "012"
    with pytest.raises(RuntimeError):
        sandbox._budget()  # reset after the render


def test_a_failed_ack_template_logs_no_message_text(monkeypatch, caplog):
    from types import SimpleNamespace

    from chalicelib import observability
    from chalicelib.services.authoring import macros

    secret = "my card number is 4111 1111 1111 1111"

    def boom(*args, **kwargs):
        raise ValueError(f"could not use {secret!r}")

    monkeypatch.setattr(macros.settings, "get", lambda kind, name: {"email": {"en": {"subject": "x", "body": "x"}}})
    monkeypatch.setattr(macros, "_render_ack", boom)
    monkeypatch.setattr(observability, "count", lambda *args, **kwargs: None)
    ticket = SimpleNamespace(department="sales", lang="en")
    with caplog.at_level("WARNING", logger="setu.macros"):
        text, failed = macros.custom_ack(ticket, channel="email", recipient="r@example.com",
                                         name="Rahim", message=secret)
    assert text is None
    assert failed["error"] == "ValueError" and failed["used"] == "built-in"
    assert caplog.records and "4111" not in caplog.text

    def refused_by_sandbox(*args, **kwargs):
        sandbox.render("ok\n{{ 1 / 0 }}", {}, field="email.en.body")

    monkeypatch.setattr(macros, "_render_ack", refused_by_sandbox)
    _, failed = macros.custom_ack(ticket, channel="email", recipient="r@example.com", name=None,
                                  message=secret)
    assert failed["error"] == "email.en.body: line 2: ZeroDivisionError: division by zero"
