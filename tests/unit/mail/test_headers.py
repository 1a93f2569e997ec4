"""Raw 8-bit header bytes (no RFC 2047): the message's declared charsets as hints, then the
least implausible reading among the usual charsets and the detector's guesses, then a lossless
fallback. The samples are tests/fixtures/mail/headers/ (make_headers.py writes them): a Subject
and a From display name per charset, with the body declaring the same charset, none, or UTF-8."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.mail.charsets import decode_with, header_charset, implausibility
from chalicelib.mail.parse import parse

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "mail" / "headers"
EXPECTED: dict[str, dict] = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))


def test_the_samples_cover_every_charset_the_issue_names():
    charsets = {e["charset"] for e in EXPECTED.values()}
    assert {"gbk", "gb18030", "big5", "shift_jis", "iso2022_jp", "koi8-r", "cp1251", "cp1252",
            "utf-8"} <= charsets
    assert {p.name for p in SAMPLES.glob("*.eml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_subject_and_display_name_decoded(name):
    expect = EXPECTED[name]
    mail = parse((SAMPLES / name).read_bytes())
    assert mail.subject == expect["subject"]
    assert mail.from_name == expect["from_name"]
    assert mail.from_address == "customer@example.com"


def test_bengali_in_utf8_without_rfc2047_needs_no_guess():
    raw = ("From: রহিম উদ্দিন <rahim@example.com>\nSubject: আমার অর্ডার আসেনি\n"
           "Content-Type: text/plain; charset=windows-1252\n\nx").encode("utf-8")
    mail = parse(raw)
    assert (mail.subject, mail.from_name) == ("আমার অর্ডার আসেনি", "রহিম উদ্দিন")
    assert not any("raw 8-bit" in d for d in mail.defects)


def test_a_declared_charset_that_reads_cleanly_wins():
    # KOI8-U and KOI8-R differ in a few letters: the declared one is believed
    data = "Ґанок".encode("koi8-u")
    assert header_charset(data, ["koi8-u"]) == "koi8-u"
    # a declared charset that reads as mojibake is not believed
    assert header_charset("退款申请".encode("gbk"), ["windows-1252"]) == "gb18030"


def test_rfc2047_words_are_still_decoded_beside_raw_bytes():
    raw = (b"From: =?utf-8?b?4Kaw4Ka54Ka/4Kau?= <rahim@example.com>\n"
           b"Subject: \xd0\xe0\xe7 =?koi8-r?b?9MXT1A==?=\n"
           b"Content-Type: text/plain; charset=windows-1251\n\nx")
    mail = parse(raw)
    assert mail.from_name == "রহিম"
    assert mail.subject == "Раз Тест"


@pytest.mark.parametrize("data", [bytes(range(0x80, 0x100)), b"\x81\x8d\x8f\x90\x9d\xff",
                                  b"\xfe\xfe\xfe\xfe"])
def test_no_byte_is_lost_whatever_the_bytes(data):
    charset = header_charset(data)
    text = decode_with(data, charset)
    if charset == "cp1252":  # the five holes of windows-1252 come back as their Latin-1 character
        back = b"".join(c.encode("latin-1") if c in "\x81\x8d\x8f\x90\x9d" else c.encode("cp1252")
                        for c in text)
    else:
        back = text.encode(charset)
    assert back == data
    assert "\ufffd" not in text


@pytest.mark.parametrize("text", [
    "Réclamation – commande n° 42", "l’été à Paris", "Größe und Preis", "Señor Núñez", "€ 50",
    "Вопрос о заказе", "Ольга Смирнова", "关于订单的退款问题", "訂單問題，請儘快回覆",
    "注文した商品が届きません", "안녕하세요 주문 문의", "আমার অর্ডার আসেনি", "iPhone 15 Pro",
])
def test_real_text_is_plausible(text):
    assert implausibility(text) == 0


@pytest.mark.parametrize("text", ["ÍË¿î", "·¢Æ±", "ъБЛБЪ", "úÁËÁÚ", "╨ом╛", "Rйclamation",
                                  "밑黨땐데", "酤ﾋﾁﾚ"])
def test_mojibake_is_not(text):
    assert implausibility(text) > 0
