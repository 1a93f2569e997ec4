"""parse(): charsets, headers, structure and repairs, message by message."""
from __future__ import annotations

import base64
import codecs
from datetime import datetime, timezone
from email.message import EmailMessage

import pytest

from chalicelib.mail.parse import (
    Attachment, codec_for, decode_bytes, message_ids, original_message_ids, parse, safe_filename)


def mail(body: bytes, content_type: str = "text/plain; charset=utf-8", cte: str = "8bit",
         extra: str = "") -> bytes:
    head = (f"From: Rahim <rahim@example.com>\nTo: support@setu.local\nSubject: t\n{extra}"
            f"MIME-Version: 1.0\nContent-Type: {content_type}\nContent-Transfer-Encoding: {cte}\n\n")
    return head.encode() + body


# ---- charsets -------------------------------------------------------------------------------

SAMPLES = ["অর্ডার আসেনি", "café – “quoted” €5", "Привет, заказ", "Zażółć gęślą", "Ağır şey",
           "Žąsys ėjo", "Καλημέρα", "שלום", "مرحبا", "สวัสดี", "注文の件", "주문 문의", "订单问题",
           "訂單問題", "Việt", "Þórður", "ŵŷ", "Ħażin", "café", "٠١٢٣ ؟", "۰۱۲۳ ؟", "plain"]
# every charset Python knows (the codecs' own names), with a sample text it can encode
ALL_CODECS = sorted({codecs.lookup(name).name for name in (
    "ascii big5 big5hkscs cp037 cp273 cp424 cp437 cp500 cp720 cp737 cp775 cp850 cp852 cp855 "
    "cp856 cp857 cp858 cp860 cp861 cp862 cp863 cp864 cp865 cp866 cp869 cp874 cp875 cp932 cp949 "
    "cp950 cp1006 cp1026 cp1125 cp1140 cp1250 cp1251 cp1252 cp1253 cp1254 cp1255 cp1256 cp1257 "
    "cp1258 euc_jp euc_jis_2004 euc_jisx0213 euc_kr gb2312 gbk gb18030 hz iso2022_jp "
    "iso2022_jp_1 iso2022_jp_2 iso2022_jp_2004 iso2022_jp_3 iso2022_jp_ext iso2022_kr latin_1 "
    "iso8859_2 iso8859_3 iso8859_4 iso8859_5 iso8859_6 iso8859_7 iso8859_8 iso8859_9 "
    "iso8859_10 iso8859_11 iso8859_13 iso8859_14 iso8859_15 iso8859_16 johab koi8_r koi8_t "
    "koi8_u kz1048 mac_cyrillic mac_greek mac_iceland mac_latin2 mac_roman mac_turkish ptcp154 "
    "shift_jis shift_jis_2004 shift_jisx0213 utf_32 utf_32_be utf_32_le utf_16 utf_16_be "
    "utf_16_le utf_7 utf_8 utf_8_sig").split()})


def _sample_for(codec: str) -> str | None:
    for text in SAMPLES:
        try:
            if text.encode(codec).decode(codec) == text and (text != "plain" or codec == "ascii"):
                return text
        except UnicodeError:
            continue
    return None


@pytest.mark.parametrize("codec", ALL_CODECS)
def test_every_charset_python_knows_decodes_its_own_text(codec):
    text = _sample_for(codec)
    assert text is not None
    raw = mail(base64.encodebytes(text.encode(codec)), f'text/plain; charset="{codec}"', "base64")
    assert parse(raw).text == text


@pytest.mark.parametrize("label,data,expected", [
    ("utf8", "অর্ডার".encode(), "অর্ডার"),
    ("UTF-8", "অর্ডার".encode(), "অর্ডার"),
    ("x-unknown", "অর্ডার".encode(), "অর্ডার"),
    ("unknown-8bit", "café".encode("cp1252"), "café"),
    ("iso-8859-1", "“smart” €".encode("cp1252"), "“smart” €"),
    ("us-ascii", "“smart” €".encode("cp1252"), "“smart” €"),
    ("iso-8859-1", "অর্ডার".encode(), "অর্ডার"),
    ("ks_c_5601-1987", "주문 문의".encode("cp949"), "주문 문의"),
    ("gb2312", "朱镕基".encode("gbk"), "朱镕基"),
    ("shift_jis", "①注文".encode("cp932"), "①注文"),
    ("big5", "訂單".encode("big5"), "訂單"),
    ("windows-874", "สวัสดี".encode("cp874"), "สวัสดี"),
    ("iso-8859-8-i", "שלום".encode("iso8859-8"), "שלום"),
    ("no-such-charset", "অর্ডার".encode(), "অর্ডার"),
    ("unicode-escape", b"C:\\Users\\new", "C:\\Users\\new"),
    ("base64", b"not decoded", "not decoded"),
    (None, "Ещё".encode("utf-8"), "Ещё"),
])
def test_mislabelled_and_unknown_charsets(label, data, expected):
    assert decode_bytes(data, label) == expected


def test_undeclared_8bit_body_is_detected():
    text = "Добрый день! Заказ номер 7781 до сих пор не доставлен, прошу разобраться."
    assert parse(mail(text.encode("cp1251"), "text/plain")).text == text


def test_utf8_with_bad_bytes_is_not_lost():
    out = decode_bytes("ঠিক আছে".encode() + b"\xff\xfe ok", "utf-8", notes := [])
    assert "ok" in out and notes


def test_codec_names():
    assert codec_for("UTF8") == "utf-8"
    assert codec_for("ks_c_5601-1987") == "cp949"
    assert codec_for("latin1") == "cp1252"
    assert codec_for("gb2312") == "gb2312"  # read as gb18030 when it fails
    assert codec_for("x-unknown") is None
    assert codec_for("rot13") is None and codec_for("hex") is None
    assert codec_for('"utf-8*bn"') == "utf-8"


# ---- headers --------------------------------------------------------------------------------

def test_rfc2047_bengali_b_and_q_words_and_adjacent_words_joined():
    b_word = "=?UTF-8?B?" + base64.b64encode("অর্ডার".encode()).decode() + "?="
    q_word = "=?utf-8?q?" + "".join(f"={b:02X}" for b in " আসেনি".encode()) + "?="
    raw = (f"From: {b_word} <a@b.example>\nSubject: Re: {b_word}\n {q_word}\n\nx").encode()
    parsed = parse(raw)
    assert parsed.subject == "Re: অর্ডার আসেনি"
    assert parsed.from_name == "অর্ডার"


def test_a_multibyte_character_split_across_encoded_words():
    data = "অর্ডার".encode()
    first, second = base64.b64encode(data[:4]).decode(), base64.b64encode(data[4:]).decode()
    parsed = parse(f"Subject: =?utf-8?B?{first}?= =?utf-8?B?{second}?=\n\nx".encode())
    assert parsed.subject == "অর্ডার"


def test_encoded_word_with_broken_base64_and_unknown_charset_never_raises():
    parsed = parse(b"Subject: =?utf-8?B?4Kaw4Ka?= and =?x-bogus?Q?caf=E9?=\n\nx")
    assert "and" in parsed.subject


def test_raw_8bit_headers_utf8_and_detected():
    parsed = parse("From: রহিম <r@example.com>\nSubject: অর্ডার\n\nx".encode())
    assert (parsed.from_name, parsed.subject) == ("রহিম", "অর্ডার")
    parsed = parse("Subject: Проблема с оплатой заказа номер семь\n\nx".encode("cp1251"))
    assert parsed.subject == "Проблема с оплатой заказа номер семь"


def test_addresses_and_domains():
    parsed = parse(b'From: "Rahim, Uddin" <Rahim.Uddin@Example.COM>\nTo: a@x.example, "B" <b@Y.example>\n'
                   b"Cc: undisclosed-recipients:;\nReply-To: <mailto:reply@x.example>\n\nx")
    assert parsed.from_address == "Rahim.Uddin@example.com"
    assert parsed.from_name == "Rahim, Uddin"
    assert parsed.to == ["a@x.example", "b@y.example"]
    assert parsed.cc == []
    assert parsed.reply_to == ["reply@x.example"]


def test_broken_from_falls_back_to_any_address_in_it():
    assert parse(b"From: Rahim <rahim@example.com\n\nx").from_address == "rahim@example.com"
    assert parse(b"From: nobody\n\nx").from_address is None


def test_message_ids():
    assert message_ids("<a@b> <c@d>\n <a@b>") == ["<a@b>", "<c@d>"]
    assert message_ids("a@b") == ["<a@b>"]
    assert message_ids("garbage here") == []
    assert message_ids("< spaced@x >") == ["<spaced@x>"]
    assert message_ids("<\u0985@x>") == []


def test_date_is_aware_utc():
    parsed = parse(b"Date: Tue, 12 Mar 2024 10:15:00 +0600\n\nx")
    assert parsed.date == datetime(2024, 3, 12, 4, 15, tzinfo=timezone.utc)
    assert parse(b"Date: Tue, 12 Mar 2024 10:15:00 -0000\n\nx").date.tzinfo is not None
    assert parse(b"Date: 12 Mar 99999 10:15:00 +9999\n\nx").date is None


def test_headers_dict_is_lower_case_and_decoded():
    parsed = parse(b"X-Autoreply: yes\nSubject: =?utf-8?q?caf=C3=A9?=\nSUBJECT: second\n\nx")
    assert parsed.headers["subject"] == ["café", "second"]
    assert parsed.headers["x-autoreply"] == ["yes"]
    assert parsed.subject == "café"


# ---- structure ------------------------------------------------------------------------------

def _built() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "a@example.com"
    message["Subject"] = "built"
    message.set_content("plain text \\ with backslash")
    message.add_alternative("<p>html <b>text</b></p>", subtype="html")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf",
                           filename="রসিদ.pdf")
    return message


def test_a_message_built_by_the_stdlib_round_trips():
    parsed = parse(_built().as_bytes())
    assert parsed.text == "plain text \\ with backslash\n"
    assert parsed.html == "<p>html <b>text</b></p>\n"
    [attachment] = parsed.attachments
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "রসিদ.pdf", "application/pdf", 8)
    assert not attachment.inline


def test_html_only_mail_gets_a_text_rendering_and_sanitised_html():
    parsed = parse(mail(b"<p>Hello <script>x()</script><a href='https://e.example/a'>link</a></p>",
                        "text/html; charset=utf-8"))
    assert parsed.text == "Hello link (https://e.example/a)"
    assert "<script" not in parsed.html and "https://e.example/a" in parsed.html


def test_empty_text_alternative_falls_back_to_html():
    raw = (b'Content-Type: multipart/alternative; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
           b"\n--b\nContent-Type: text/html\n\n<p>only here</p>\n--b--\n")
    assert parse(raw).text == "only here"


def test_format_flowed_is_joined_and_delsp_respected():
    body = b"one two \nthree\n> quoted \n> more\n-- \nsig\n"
    assert parse(mail(body, "text/plain; charset=utf-8; format=flowed")).text == \
        "one two three\n> quoted more\n-- \nsig\n"
    body = b"split wo \nrd\n"
    assert parse(mail(body, "text/plain; format=flowed; delsp=yes")).text == "split word\n"


def test_uuencoded_block_in_text_becomes_an_attachment():
    import binascii

    data = bytes(range(256))
    lines = [binascii.b2a_uu(data[i:i + 45]).decode().rstrip("\n") for i in range(0, 256, 45)]
    body = "before\nbegin 600 bytes.bin\n" + "\n".join(lines) + "\n`\nend\nafter\n"
    parsed = parse(mail(body.encode()))
    assert parsed.text == "before\n\nafter\n"
    [attachment] = parsed.attachments
    assert (attachment.filename, attachment.data) == ("bytes.bin", data)


def test_inline_flag_from_content_id_referenced_by_html():
    raw = (b'Content-Type: multipart/related; boundary="r"\n\n--r\nContent-Type: text/html\n\n'
           b'<img src="cid:pic%40x">\n--r\nContent-Type: image/gif\nContent-ID: <pic@x>\n'
           b"Content-Disposition: attachment\n\nGIF89a\n--r--\n")
    [attachment] = parse(raw).attachments
    assert attachment.inline and attachment.content_id == "pic@x"


@pytest.mark.parametrize("name,ctype,expected", [
    (None, "application/pdf", "attachment-3.pdf"),
    ("", "image/jpeg", "attachment-3.jpg"),
    ("C:\\Users\\rahim\\file.txt", "text/plain", "file.txt"),
    ("../../etc/passwd", "text/plain", "passwd"),
    ("..", "application/x-unknown-thing", "attachment-3.bin"),
    ("a\x00b\r\n.txt", "text/plain", "a_b__.txt"),
    ("x" * 300 + ".pdf", "application/pdf", "x" * 176 + ".pdf"),
])
def test_safe_filenames(name, ctype, expected):
    assert safe_filename(name, ctype, 3) == expected


def test_attachment_size_is_the_data_length():
    assert Attachment("a.txt", "text/plain", b"12345", False, None).size == 5


def test_junk_lines_before_the_headers_and_blank_lines():
    parsed = parse(b"\xef\xbb\xbfFrom MAILER-DAEMON Tue Mar 12\n>From x\nFrom: a@b.example\n"
                   b"Subject: s\n\nbody")
    assert (parsed.from_address, parsed.subject, parsed.text) == ("a@b.example", "s", "body")


def test_a_body_without_headers_is_still_text():
    parsed = parse("কেবল লেখা, কোনো হেডার নেই\nসেকেন্ড লাইন".encode())
    assert "কেবল লেখা" in parsed.text and parsed.ok


def test_binary_garbage_never_raises():
    import os

    for _ in range(20):
        assert parse(os.urandom(2000)) is not None


def test_original_ids_only_from_the_report_parts_and_never_our_own_id():
    raw = (b"From: MAILER-DAEMON@x.example\nMessage-ID: <self@x>\nSubject: Undelivered Mail\n"
           b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\n\n'
           b"--r\nContent-Type: text/plain\n\nMessage-ID: <self@x>\n--r\n"
           b"Content-Type: message/delivery-status\n\nAction: failed\n--r\n"
           b"Content-Type: message/rfc822\n\nMessage-ID: <m_1@setu.local>\n\nhi\n--r--\n")
    assert original_message_ids(parse(raw)) == ["<m_1@setu.local>"]
    assert original_message_ids(parse(b"From: a@b.example\n\nMessage-ID: <x@y>")) == []


# ---- found in review: each of these lost or garbled text before it was fixed ----------------

def _with_attachment(disposition: str, charset: str = "utf-8") -> bytes:
    return (f"From: a@b.example\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
            f"Content-Type: text/plain; charset={charset}\n\nhi\n--b\nContent-Type: application/pdf\n"
            f"Content-Disposition: {disposition}\n\n%PDF\n--b--\n").encode(charset)


@pytest.mark.parametrize("disposition", [
    "attachment; filename*=utf-8''%E0%A6%B0%E0%A6%B8%E0%A6%BF%E0%A6%A6.pdf",
    "attachment; filename*=iso-8859-1''%E0%A6%B0%E0%A6%B8%E0%A6%BF%E0%A6%A6.pdf",  # mislabel
    "attachment; filename*=''%E0%A6%B0%E0%A6%B8%E0%A6%BF%E0%A6%A6.pdf",            # no charset
    "attachment; filename*=x-unknown''%E0%A6%B0%E0%A6%B8%E0%A6%BF%E0%A6%A6.pdf",   # unknown
    "attachment; filename*0*=utf-8''%E0%A6%B0%E0%A6; filename*1*=%B8%E0%A6%BF%E0%A6%A6.pdf",
])
def test_rfc2231_filenames_get_the_charset_repair_of_bodies(disposition):
    [attachment] = parse(_with_attachment(disposition)).attachments
    assert attachment.filename == "রসিদ.pdf"


def test_raw_8bit_filename_is_decoded_like_raw_8bit_headers():
    raw = _with_attachment('attachment; filename="Счёт за март.pdf"', "cp1251")
    [attachment] = parse(raw).attachments
    assert attachment.filename == "Счёт за март.pdf"


def test_space_before_an_encoded_word_after_raw_8bit_text_is_kept():
    parsed = parse("Subject: অর্ডার =?utf-8?q?caf=C3=A9?= ok\n\nx".encode())
    assert parsed.subject == "অর্ডার café ok"


def test_base64_made_of_separately_padded_chunks_is_decoded_whole():
    body = base64.b64encode(b"hello").decode() + "\n" + base64.b64encode(b" world\\n").decode()
    assert parse(mail(body.encode(), cte="base64")).text == "hello world\\n"


def test_message_rfc822_part_sent_in_base64_is_decoded():
    inner = b"From: x@y.example\nSubject: inner subject\n\ninner body\n"
    raw = (b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\n"
           b"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
           + base64.encodebytes(inner) + b"--b--\n")
    [attachment] = parse(raw).attachments
    assert attachment.filename == "inner subject.eml"
    assert b"inner body" in attachment.data and attachment.data.startswith(b"From: x@y.example")


@pytest.mark.parametrize("block", [
    "begin 644 a.txt\nnot uuencoded \u00e9\n",      # undecodable blocks, each searched to the end
    "begin 644 a.txt\nM" + "a" * 60 + "\n",
])
def test_many_uuencode_begin_lines_keep_their_text(block):
    # growth with size (linear) is measured in `make bench` (mail), not timed here
    body = (block * 20000 + "end\n").encode()
    parsed = parse(mail(body))
    assert parsed.text.count("begin 644") >= 19999 or parsed.attachments
