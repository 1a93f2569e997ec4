"""Routing rules (matching, validation) and round-robin's pick: pure, no AWS."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from chalicelib.errors import ValidationFailed
from chalicelib.services.team import round_robin
from chalicelib.services.team import routing
from chalicelib.services.team.routing import Contact

RULES = {
    "rules": [
        {"name": "refunds", "when": {"keywords": ["রিফান্ড", "refund", "টাকা ফেরত"]},
         "then": {"department": "billing", "priority": "high"}},
        {"name": "bills", "when": {"keywords": ["বিল*", "invoice"], "channel": ["email", "sms"]},
         "then": {"department": "billing"}},
        {"name": "sales mailbox", "when": {"recipient": ["Orders@setu.local"]},
         "then": {"department": "sales"}},
        {"name": "form: sales about a bill", "when": {"form_department": ["sales"], "keywords": ["bill"]},
         "then": {"department": "billing"}},
        {"name": "outage", "when": {"keywords": ["net down", "ইন্টারনেট নেই"]},
         "then": {"department": "technical", "priority": "urgent"}},
    ],
    "assignment": {"billing": "round_robin"},
}


def route(**contact) -> tuple[str, str]:
    return routing.decide(routing.compile_rules(routing.validate(RULES)), Contact(**contact))


@pytest.mark.parametrize("contact,expected", [
    # Bengali keywords, whole words, in subject or body
    ({"channel": "email", "subject": "রিফান্ড চাই", "body": ""}, ("billing", "high")),
    ({"channel": "sms", "body": "আমার টাকা ফেরত দিন প্লিজ"}, ("billing", "high")),
    ({"channel": "sms", "body": "আমার বিলের পরিমাণ ভুল"}, ("billing", "normal")),  # বিল* prefix
    ({"channel": "email", "subject": "Your INVOICE #12", "body": ""}, ("billing", "normal")),
    # casefolded, punctuation separates words
    ({"channel": "email", "subject": "REFUND!!!", "body": ""}, ("billing", "high")),
    # whole words only: "refunded" is not "refund", "billboard" not "bill"
    ({"channel": "email", "subject": "refunded already", "body": "", "department": "general"},
     ("general", "normal")),
    # a phrase must appear as consecutive words
    ({"channel": "sms", "body": "the net is down"}, ("general", "normal")),
    ({"channel": "sms", "body": "Net down since morning"}, ("technical", "urgent")),
    ({"channel": "sms", "body": "বাসায় ইন্টারনেট নেই।"}, ("technical", "urgent")),
    # the channel condition: the bills rule is for email and SMS only
    ({"channel": "web", "body": "বিলের কপি"}, ("general", "normal")),
    # recipients: casefolded, plus tags ignored
    ({"channel": "email", "recipients": ("orders+x@SETU.local",), "department": "general"},
     ("sales", "normal")),
    # no rule matches: the channel's own choice stands
    ({"channel": "email", "subject": "hello", "department": "technical"}, ("technical", "normal")),
])
def test_first_matching_rule_decides(contact, expected):
    assert route(**contact) == expected


def test_order_matters_first_rule_wins():
    # both refunds (billing/high) and outage (technical/urgent) match: the earlier one wins
    assert route(channel="sms", body="net down, I want a refund") == ("billing", "high")


def test_an_explicit_form_department_wins_unless_a_rule_names_it():
    web = {"channel": "web", "subject": "Refund please"}
    assert route(**web, department="technical", form_department="technical") == ("technical", "normal")
    # general is no choice at all: rules apply
    assert route(**web, department="general", form_department="general") == ("billing", "high")
    # a rule with form_department may move a form choice
    assert route(channel="web", body="about my bill", department="sales",
                 form_department="sales") == ("billing", "normal")
    # form_department never matches mail (no other rule has the English "bill")
    assert route(channel="email", body="about my bill") == ("general", "normal")


def test_bengali_normalisation_nfc_and_joiners():
    # "য়" precomposed (U+09DF) vs decomposed (U+09AF U+09BC); ZWNJ typed inside a word
    rules = routing.compile_rules(routing.validate({"rules": [
        {"name": "r", "when": {"keywords": ["\u09df\u09be"]}, "then": {"department": "sales"}},
        {"name": "z", "when": {"keywords": ["র\u200d্যাব"]}, "then": {"department": "technical"}}]}))
    assert routing.decide(rules, Contact(channel="sms", body="\u09af\u09bc\u09be")) == ("sales", "normal")
    assert routing.decide(rules, Contact(channel="sms", body="র্যাব এসেছে")) == ("technical", "normal")


def test_empty_when_is_a_catch_all_but_not_over_a_form_choice():
    rules = routing.compile_rules(routing.validate(
        {"rules": [{"name": "all", "then": {"department": "general", "priority": "low"}}]}))
    assert routing.decide(rules, Contact(channel="sms", department="x")) == ("general", "low")
    assert routing.decide(rules, Contact(channel="web", department="sales",
                                         form_department="sales")) == ("sales", "normal")


def test_no_rules_keeps_the_channel_choice():
    assert routing.decide([], Contact(channel="email", department="billing")) == ("billing", "normal")


def test_validate_normalises_and_fills():
    doc = routing.validate(RULES)
    assert doc["rules"][2]["when"]["recipient"] == ["orders@setu.local"]
    assert doc["assignment"] == {"billing": "round_robin"}
    assert "priority" not in doc["rules"][1]["then"]
    assert routing.validate({}) == {"rules": [], "assignment": {}}


@pytest.mark.parametrize("body,field", [
    ({"rules": [], "extra": 1}, "extra"),
    ({"rules": {}}, "rules"),
    ({"rules": [{"name": "r", "then": {"department": "general"}}] * 101}, "rules"),
    ({"rules": ["x"]}, "rules[0]"),
    ({"rules": [{"then": {"department": "general"}}]}, "rules[0].name"),
    ({"rules": [{"name": " ", "then": {"department": "general"}}]}, "rules[0].name"),
    ({"rules": [{"name": "r", "then": {"department": "mars"}}]}, "rules[0].then.department"),
    ({"rules": [{"name": "r"}]}, "rules[0].then"),
    ({"rules": [{"name": "r", "then": {"department": "sales", "priority": "asap"}}]},
     "rules[0].then.priority"),
    ({"rules": [{"name": "r", "then": {"department": "sales", "assignee": "x"}}]}, "rules[0].then.assignee"),
    ({"rules": [{"name": "r", "if": {}, "then": {"department": "sales"}}]}, "rules[0].if"),
    ({"rules": [{"name": "r", "when": {"subject": ["x"]}, "then": {"department": "sales"}}]},
     "rules[0].when.subject"),
    ({"rules": [{"name": "r", "when": {"channel": ["fax"]}, "then": {"department": "sales"}}]},
     "rules[0].when.channel[0]"),
    ({"rules": [{"name": "r", "when": {"channel": []}, "then": {"department": "sales"}}]},
     "rules[0].when.channel"),
    ({"rules": [{"name": "r", "when": {"keywords": "bill"}, "then": {"department": "sales"}}]},
     "rules[0].when.keywords"),
    ({"rules": [{"name": "r", "when": {"keywords": ["x" * 65]}, "then": {"department": "sales"}}]},
     "rules[0].when.keywords[0]"),
    ({"rules": [{"name": "r", "when": {"keywords": ["", "ok"]}, "then": {"department": "sales"}}]},
     "rules[0].when.keywords[0]"),
    ({"rules": [{"name": "r", "when": {"keywords": ["ok", "!!!"]}, "then": {"department": "sales"}}]},
     "rules[0].when.keywords[1]"),
    ({"rules": [{"name": "r", "when": {"keywords": ["a b c d e f"]}, "then": {"department": "sales"}}]},
     "rules[0].when.keywords[0]"),
    ({"rules": [{"name": "r", "when": {"keywords": ["b*ll"]}, "then": {"department": "sales"}}]},
     "rules[0].when.keywords[0]"),
    ({"rules": [{"name": "r", "when": {"keywords": ["w"] * 51}, "then": {"department": "sales"}}]},
     "rules[0].when.keywords"),
    ({"rules": [{"name": "r", "when": {"keywords": [7]}, "then": {"department": "sales"}}]},
     "rules[0].when.keywords[0]"),
    ({"rules": [{"name": "r", "when": {"recipient": ["billing"]}, "then": {"department": "sales"}}]},
     "rules[0].when.recipient[0]"),
    ({"rules": [{"name": "r", "when": {"form_department": ["mars"]}, "then": {"department": "sales"}}]},
     "rules[0].when.form_department[0]"),
    ({"rules": [{"name": "r", "then": {"department": "sales"}},
                {"name": "r", "then": {"department": "general"}}]}, "rules[1].name"),
    ({"assignment": {"mars": "round_robin"}}, "assignment.mars"),
    ({"assignment": {"sales": "random"}}, "assignment.sales"),
    ({"assignment": ["sales"]}, "assignment"),
])
def test_validation_names_the_field(body, field):
    with pytest.raises(ValidationFailed) as raised:
        routing.validate(body)
    assert field in raised.value.fields, raised.value.fields


def test_not_an_object_is_rejected():
    with pytest.raises(ValidationFailed):
        routing.validate(["rules"])


def test_many_keywords_against_a_large_body_route_in_bounded_time():
    # the worst case an admin can store (100 rules x 50 keywords: words, phrases, prefixes)
    # against a 200 kB inbound mail: the text is indexed once, keywords are set look-ups
    # (a scan of the text per keyword was ~1e8 steps, tens of seconds)
    import time

    def keywords(r: int) -> list[str]:  # a word, a prefix, a five-word phrase, ...
        return [f"kw{r}x{k}" if k % 3 == 0 else f"বিল{r}ক{k}*" if k % 3 == 1
                else f"the net{r} {k} is down" for k in range(50)]

    document = {"rules": [{"name": f"r{r}", "when": {"keywords": keywords(r)},
                           "then": {"department": "sales"}} for r in range(99)]
                + [{"name": "last", "when": {"keywords": keywords(99)[:49] + ["ফেরত চাই*"]},
                    "then": {"department": "billing", "priority": "high"}}]}
    rules = routing.compile_rules(routing.validate(document))
    filler = "the net is down বিল আমার ইন্টারনেট নেই kw1 refund invoice "
    body = (filler * (200_000 // len(filler.encode()) + 1))
    assert len(body.encode()) > 200_000
    started = time.monotonic()
    assert routing.decide(rules, Contact(channel="email", body=body)) == ("general", "normal")
    assert routing.decide(rules, Contact(channel="email", body=body + " টাকা ফেরত চাইছি")) == \
        ("billing", "high")
    assert time.monotonic() - started < 5, "keyword matching must not scan the text per keyword"


# ---- round-robin ---------------------------------------------------------------------------

@dataclass
class A:
    name: str
    role: str = "agent"
    departments: frozenset = frozenset({"billing"})
    active: bool = True
    away: bool = False


def test_pick_cycles_in_arn_order():
    team = [A("arn:c"), A("arn:a"), A("arn:b")]
    assert [round_robin.pick(team, n, "billing").name for n in range(6)] == \
        ["arn:a", "arn:b", "arn:c", "arn:a", "arn:b", "arn:c"]


def test_pick_skips_away_inactive_admins_and_other_departments():
    team = [A("arn:1"), A("arn:2", away=True), A("arn:3", active=False), A("arn:4", role="admin"),
            A("arn:5", departments=frozenset({"sales"})), A("arn:6", role="lead"),
            A("arn:7", departments=None)]
    picked = {round_robin.pick(team, n, "billing").name for n in range(20)}
    assert picked == {"arn:1", "arn:6"}


def test_pick_even_spread_and_nobody():
    team = [A(f"arn:{n}") for n in range(4)] + [A("arn:9", away=True)]
    counts: dict[str, int] = {}
    for n in range(20):
        chosen = round_robin.pick(team, n, "billing").name
        counts[chosen] = counts.get(chosen, 0) + 1
    assert counts == {f"arn:{n}": 5 for n in range(4)}
    assert round_robin.pick([A("arn:x", away=True)], 0, "billing") is None
    assert round_robin.pick([], 3, "billing") is None


@dataclass
class T:
    status: str = "new"
    department: str = "billing"
    assignee: str | None = None


def test_which_changes_ask_for_assignment():
    assert round_robin.wanted(None, T())
    assert not round_robin.wanted(None, T(status="pending"))  # an agent started it
    assert not round_robin.wanted(None, T(assignee="arn:x"))
    assert not round_robin.wanted(T(), None)
    assert not round_robin.wanted(T(), T(status="open"))  # same department
    assert round_robin.wanted(T(department="sales", status="open"), T(status="open"))
    assert not round_robin.wanted(T(department="sales", status="closed"), T(status="closed"))
