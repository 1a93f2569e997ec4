"""Bad input: parse() never raises and always returns a ParsedMail; the text helpers never raise.

Random bytes, corpus messages mutated at random, absurd nesting, huge and malformed headers.
"""
from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.mail import html, loops
from chalicelib.mail.parse import ParsedMail, original_message_ids, parse
from chalicelib.mail.reply import visible_text

CORPUS = sorted((Path(__file__).resolve().parents[2] / "fixtures" / "mail").glob("*.eml"))
SMALL = [p.read_bytes() for p in CORPUS if p.stat().st_size < 20_000]
FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check(raw: bytes) -> ParsedMail:
    mail = parse(raw)
    assert isinstance(mail, ParsedMail)
    assert isinstance(mail.text, str) and isinstance(mail.subject, str)
    assert mail.date is None or mail.date.utcoffset().total_seconds() == 0
    assert all(a.filename and "/" not in a.filename and isinstance(a.data, bytes)
               for a in mail.attachments)
    assert all(m.startswith("<") and m.endswith(">") for m in mail.references + mail.in_reply_to)
    visible = visible_text(mail.text)
    assert isinstance(visible, str)
    if mail.text.strip():
        assert visible.strip()
    assert isinstance(loops.automatic_reasons(mail, ["support@setu.local"]), list)
    assert isinstance(loops.is_bounce(mail), bool)
    assert isinstance(original_message_ids(mail), list)
    return mail


@FUZZ
@given(st.binary(max_size=4000))
def test_random_bytes(raw: bytes):
    check(raw)


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SMALL)))
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        op = draw(st.sampled_from(["flip", "insert", "delete", "duplicate", "truncate", "junk"]))
        at = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.sampled_from([
                b"\r\n", b"\n\n", b"--", b"=?utf-8?B?", b"?=", b"=\r\n", b"\x00", b"\xff\xfe",
                b"Content-Type: multipart/mixed; boundary=x\n", b"begin 644 a.txt\n", b"\\",
                b"=E0=A6", b"\xe0\xa6", b"boundary=\"", b"charset=x-unknown", b"filename*0*="]))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 200))]
        elif op == "duplicate":
            data[at:at] = data[at:at + draw(st.integers(1, 500))]
        elif op == "truncate":
            del data[at:]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
    return bytes(data)


@FUZZ
@given(mutated())
def test_mutated_corpus(raw: bytes):
    check(raw)


@settings(FUZZ, max_examples=60)
@given(st.one_of(st.integers(0, 80), st.sampled_from([200, 299, 300, 301, 999, 1000, 3000])),
       st.sampled_from(["multipart", "rfc822", "mixed"]),
       st.booleans())
def test_absurd_nesting(depth: int, kind: str, close: bool):
    parts = []
    for i in range(depth):
        use = kind if kind != "mixed" else ("multipart" if i % 2 else "rfc822")
        if use == "multipart":
            parts.append(f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n')
        else:
            parts.append("Content-Type: message/rfc822\n\n")
    raw = "From: a@b.c\n" + "".join(parts) + "Content-Type: text/plain\n\ndeep\n"
    if close:
        raw += "".join(f"--b{i}--\n" for i in reversed(range(depth)))
    mail = check(raw.encode())
    if kind == "multipart" and depth > 30:
        assert any("nesting" in d for d in mail.defects)
    if kind != "multipart" and depth:  # a message/rfc822 part is kept whole, as an attachment
        assert mail.attachments or any("nesting" in d for d in mail.defects)


@FUZZ
@given(st.lists(st.tuples(
    st.sampled_from(["From", "To", "Cc", "Subject", "Message-ID", "References", "In-Reply-To",
                     "Date", "Content-Type", "Content-Disposition", "Content-Transfer-Encoding",
                     "Return-Path", "Auto-Submitted", "X-Junk", "Reply-To", "Sender"]),
    st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
              st.integers(1, 300_000).map(lambda n: "x" * n),
              st.sampled_from(["=?utf-8?B?4Ka?=", "=?bogus?Q?a=ZZ?=", "=?utf-8*bn?b?4Kaw?=",
                               '"=?utf-8?q?a?=" <a@b>', "<>", "<<a@b>>", "a@@b", ",,,",
                               "multipart/mixed", "text/plain; charset=\"utf-16\"",
                               "attachment; filename*0*=utf-8''%E0%A6; filename*1*=%B0",
                               "base64", "x-uuencode", "Mon, 32 Foo 99999 99:99:99 +9999"]))),
    max_size=12), st.binary(max_size=500))
def test_random_headers(headers: list[tuple[str, str]], body: bytes):
    head = "".join(f"{name}: {value}\n" for name, value in headers)
    check(head.encode("utf-8", "surrogateescape") + b"\n" + body)


@FUZZ
@given(st.text(max_size=3000))
def test_text_helpers_never_raise(text: str):
    visible = visible_text(text)
    assert isinstance(visible, str)
    if text.strip():
        assert visible.strip()
    assert isinstance(html.to_text(text), str)
    assert isinstance(html.sanitise(text), str)


def test_zero_byte_and_oversize_input():
    assert parse(b"").ok is False
    assert parse(b"\r\n\r\n").ok is False
    huge = b"From: big@example.com\nSubject: big\n\n" + b"a" * (41 * 1024 * 1024)
    mail = parse(huge)
    assert mail.from_address == "big@example.com"
    assert any("cut to" in d for d in mail.defects)
    assert parse(None).ok is False  # type: ignore[arg-type]
    assert parse("From: a@b.c\n\nstr input").text == "str input"  # type: ignore[arg-type]
