"""Every message in tests/fixtures/mail/ parsed against its expectations in expected.json.

An expectation left out is checked against its default: a person's mail (no automatic reasons),
no bounce, not a report, not encrypted, `ok`. Keys:
  from, from_name, subject, message_id, in_reply_to, references, to, cc, date (ISO, UTC)
  text_equals / text_contains / text_excludes      the full body text
  visible_equals / visible_contains / visible_excludes   reply.visible_text(text)
  html_contains / html_excludes                    the sanitised html
  attachments  [{filename, content_type, size, inline, content_id}] (given keys only, in order)
  reasons (with own: our addresses), is_bounce, original_ids, encrypted, is_report,
  report_type, defects_contain, ok
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.mail import loops
from chalicelib.mail.parse import ParsedMail, original_message_ids, parse
from chalicelib.mail.reply import visible_text

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
EXPECTED: dict[str, dict] = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
NAMES = sorted(EXPECTED)


def test_the_corpus_is_big_enough_and_every_message_has_expectations():
    files = {p.name for p in CORPUS.glob("*.eml")}
    assert files == set(EXPECTED), "each .eml needs an entry in expected.json, and back"
    assert len(files) >= 45


@pytest.fixture(scope="module")
def parsed() -> dict[str, ParsedMail]:
    return {name: parse((CORPUS / name).read_bytes()) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_message(name: str, parsed: dict[str, ParsedMail]):
    expect = EXPECTED[name]
    mail = parsed[name]
    assert isinstance(mail, ParsedMail)

    for key, attribute in (("from", "from_address"), ("from_name", "from_name"),
                           ("subject", "subject"), ("message_id", "message_id"),
                           ("in_reply_to", "in_reply_to"), ("references", "references"),
                           ("to", "to"), ("cc", "cc"), ("report_type", "report_type")):
        if key in expect:
            assert getattr(mail, attribute) == expect[key], key
    if "date" in expect:
        assert (mail.date.isoformat() if mail.date else None) == expect["date"]
        if mail.date:
            assert mail.date.utcoffset().total_seconds() == 0

    if "text_equals" in expect:
        assert mail.text == expect["text_equals"]
    for fragment in expect.get("text_contains", []):
        assert fragment in mail.text
    for fragment in expect.get("text_excludes", []):
        assert fragment not in mail.text

    visible = visible_text(mail.text)
    if "visible_equals" in expect:
        assert visible == expect["visible_equals"]
    for fragment in expect.get("visible_contains", []):
        assert fragment in visible
    for fragment in expect.get("visible_excludes", []):
        assert fragment not in visible
    if mail.text.strip():
        assert visible.strip()

    for fragment in expect.get("html_contains", []):
        assert mail.html and fragment in mail.html
    for fragment in expect.get("html_excludes", []):
        assert fragment.lower() not in (mail.html or "").lower()

    if "attachments" in expect:
        got = [{"filename": a.filename, "content_type": a.content_type, "size": a.size,
                "inline": a.inline, "content_id": a.content_id} for a in mail.attachments]
        want = expect["attachments"]
        assert [g["filename"] for g in got] == [w["filename"] for w in want]
        for g, w in zip(got, want):
            assert {k: g[k] for k in w} == w
    for attachment in mail.attachments:
        assert attachment.filename and "/" not in attachment.filename and "\\" not in attachment.filename
        assert attachment.content_type == attachment.content_type.lower() and "/" in attachment.content_type

    reasons = loops.automatic_reasons(mail, expect.get("own", ["support@setu.local"]))
    assert sorted(reasons) == sorted(expect.get("reasons", []))
    assert loops.is_bounce(mail) is expect.get("is_bounce", False)
    if "original_ids" in expect:
        assert original_message_ids(mail) == expect["original_ids"]
    assert mail.encrypted is expect.get("encrypted", False)
    assert mail.is_report is expect.get("is_report", expect.get("report_type") is not None)
    for fragment in expect.get("defects_contain", []):
        assert any(fragment in d for d in mail.defects), mail.defects
    assert mail.ok is expect.get("ok", True)
