"""winmail.dat (TNEF) unpacking and RTF bodies: files, bodies, and streams built to hurt.

The streams come from tests/fixtures/mail/make_tnef.py, which also writes the corpus fixtures.
"""
from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.mail import rtf, tnef
from chalicelib.mail.parse import parse

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
_spec = importlib.util.spec_from_file_location("make_tnef", FIXTURES / "make_tnef.py")
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)


def test_the_checked_in_fixtures_are_what_the_generator_writes():
    for name, data in make.fixtures().items():
        assert (FIXTURES / name).read_bytes() == data, f"run {FIXTURES / 'make_tnef.py'}"


def test_files_names_types_and_content_ids():
    stream = make.Tnef().attach("INVOIC~1.PDF", make.PDF, "Invoice March 2024.pdf",
                                "application/pdf") \
        .attach("image001.png", make.PNG, "image001.png", "image/png", "<image001@x>") \
        .attach("NOTES.TXT", b"plain notes")
    unpacked = tnef.unpack(stream.data)
    assert [(f.name, f.content_type, f.data, f.content_id) for f in unpacked.files] == [
        ("Invoice March 2024.pdf", "application/pdf", make.PDF, None),
        ("image001.png", "image/png", make.PNG, "image001@x"),
        ("NOTES.TXT", "application/octet-stream", b"plain notes", None)]
    assert (unpacked.text, unpacked.html) == ("", "")


def test_a_binary_file_ending_in_nul_bytes_keeps_them():
    data = b"PK\x05\x06" + b"\x00" * 18  # an empty zip: its last bytes are zeros
    [item] = tnef.unpack(make.Tnef().attach("EMPTY.ZIP", data, "empty.zip").data).files
    assert item.data == data


def test_an_8_3_title_in_the_oem_code_page_when_there_is_no_long_name():
    stream = make.Tnef(codepage=1251).attach("СЧЁТ.PDF", make.PDF)
    assert [f.name for f in tnef.unpack(stream.data).files] == ["СЧЁТ.PDF"]


@pytest.mark.parametrize("props,text,html", [
    ([(make.PT_UNICODE, make.PR_BODY, "সমস্যা C:\\temp\\new")], "সমস্যা C:\\temp\\new", ""),
    ([(make.PT_BINARY, make.PR_HTML, "<p>দাম €5</p>".encode()),
      (make.PT_LONG, make.PR_INTERNET_CPID, 65001)], "", "<p>দাম €5</p>"),
    ([(make.PT_BINARY, make.PR_RTF_COMPRESSED, make.compressed_rtf(
        rb"{\rtf1\ansi C:\\new\par line two}"))], "C:\\new\nline two", ""),
    ([(make.PT_BINARY, make.PR_RTF_COMPRESSED, b"\x10\x00\x00\x00broken-rtf-header")], "", ""),
])
def test_bodies_plain_html_and_rtf(props, text, html):
    unpacked = tnef.unpack(make.Tnef().message_props(*props).data)
    assert (unpacked.text, unpacked.html) == (text, html)


def test_an_attached_outlook_item_gives_its_body_and_files():
    inner = make.Tnef().message_props((make.PT_UNICODE, make.PR_BODY, "inner body")) \
        .attach("A.TXT", b"inner file", "a.txt", "text/plain")
    unpacked = tnef.unpack(make.Tnef().attach_message("Forwarded", inner).data)
    assert [(f.name, f.data) for f in unpacked.files] == [
        ("Forwarded.txt", b"inner body"), ("Forwarded - a.txt", b"inner file")]


# ---- streams that must not hurt --------------------------------------------------------------

def _timed_unpack(data: bytes) -> tnef.Unpacked | str:
    """Unpack, or the refusal; that this stays linear is measured in `make bench` (mail)."""
    try:
        result: tnef.Unpacked | str = tnef.unpack(data)
    except tnef.TnefError as exc:
        result = str(exc)
    return result


def _with_property_count(count: int) -> bytes:
    data = make.Tnef().message_props((make.PT_LONG, make.PR_INTERNET_CPID, 1252)).data
    return data[:69] + struct.pack("<I", count) + data[73:]


def test_a_huge_property_count_is_refused_not_looped_over():
    assert "properties declared, 1 present" in _timed_unpack(_with_property_count(0xFFFFFFFF))


def test_a_huge_multi_value_count_of_a_fixed_size_type_is_refused():
    props = struct.pack("<I", 1) + struct.pack("<HHI", 0x1002, 0x0E07, 0xFFFFFFF0) + b"\x00" * 8
    data = make.Tnef().attribute(1, make.ATT_MAPI_PROPS, props).data
    assert "values declared" in _timed_unpack(data)


def test_a_huge_recipient_row_count_ends_where_the_data_ends():
    rows = struct.pack("<I", 0xFFFFFFFF) + struct.pack("<I", 0) * 4
    result = _timed_unpack(make.Tnef().attribute(1, 0x00069004, rows).data)
    assert isinstance(result, (str, tnef.Unpacked))


def test_a_stream_of_tiny_attributes_is_refused_before_quadratic_copying():
    tiny = struct.pack("<BIIH", 1, 0x00078008, 0, 0)  # 11 bytes each
    data = make.Tnef().data + tiny * 300_000 + b"\x00" * 4_000_000
    assert "too many attributes" in _timed_unpack(data)


def test_attached_items_nested_too_deep_are_refused():
    stream = make.Tnef().message_props((make.PT_UNICODE, make.PR_BODY, "bottom"))
    for level in range(tnef.MAX_EMBEDDED + 2):
        stream = make.Tnef().attach_message(f"level {level}", stream)
    assert "nested deeper" in _timed_unpack(stream.data)


@pytest.mark.parametrize("data,reason", [
    (b"", "no TNEF signature"),
    (b"PK\x03\x04 a zip called winmail.dat", "no TNEF signature"),
    (b"\x78\x9f\x3e\x22" + b"\x00" * (tnef.MAX_TNEF + 1), "more than"),
])
def test_not_tnef_at_all(data, reason):
    assert reason in _timed_unpack(data)


def test_an_unknown_oem_code_page_is_a_reason_not_an_exception():
    assert "tnefparse failed" in _timed_unpack(make.Tnef(codepage=1200).data)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(make.fixtures())), st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
       st.integers(0, 4000))
def test_mutated_streams_unpack_or_say_why(name, flips, cut):
    from email import message_from_bytes

    message = message_from_bytes(make.fixtures()[name])
    [part] = [p for p in message.walk() if p.get_filename() == "winmail.dat"]
    data = bytearray(part.get_payload(decode=True))
    for at, value in flips:
        data[at % len(data)] = value
    result = _timed_unpack(bytes(data[:len(data) - cut % len(data)]))
    assert isinstance(result, (str, tnef.Unpacked))


def test_parse_keeps_winmail_dat_when_tnefparse_itself_fails(monkeypatch):
    def broken(data):
        raise tnef.TnefError("tnefparse failed: KeyError: 7")

    monkeypatch.setattr(tnef, "unpack", broken)
    mail = parse((FIXTURES / "tnef_exchange_attachments.eml").read_bytes())
    assert [a.filename for a in mail.attachments] == ["winmail.dat"]
    assert any("KeyError" in d for d in mail.defects)


def test_winmail_dat_text_is_used_only_when_the_mime_has_none():
    with_text = parse((FIXTURES / "tnef_exchange_attachments.eml").read_bytes())
    assert "RTF" not in with_text.text and with_text.text.startswith("Please see")
    without = parse((FIXTURES / "tnef_rtf_body_only.eml").read_bytes())
    assert without.text.startswith("Dear Setu support,")


# ---- RTF -------------------------------------------------------------------------------------

@pytest.mark.parametrize("source,expected", [
    (rb"{\rtf1\ansi\ansicpg1251 \'cf\'f0\'e8\'e2\'e5\'f2}", "Привет"),
    (rb"{\rtf1\ansi{\fonttbl{\f1\fcharset204 Arial;}}\f1 \'cf\'f0\'e8}", "При"),
    (rb"{\rtf1\ansi\ansicpg936 \'d6\'d0\'ce\'c4}", "中文"),
    (rb"{\rtf1\uc1 \u2437?\u2480?}", "অর"),
    (rb"{\rtf1\uc2 \u2437\'3f\'3f x}", "অ x"),
    (rb"{\rtf1 emoji \u-10179?\u-8704?}", "emoji \U0001f600"),
    (rb"{\rtf1 C:\\Users\\new \{x\} tab\tab end}", "C:\\Users\\new {x} tab\tend"),
    (rb"{\rtf1 a{\*\unknowndest hidden}b{\fldinst HYPERLINK x}{\fldrslt c}}", "abc"),
    (rb"{\rtf1 before{\pict\pngblip\bin6 }}}{{{} after}", "before after"),
    (b"{\\rtf1 line\\line next\\par para}", "line\nnext\npara"),
])
def test_rtf_text(source, expected):
    assert rtf.convert(source) == ("text", expected)


def test_rtf_encapsulated_html_comes_back():
    kind, html = rtf.convert(make.RTF_HTML)
    assert kind == "html"
    assert html.startswith("<html><head><style>p{margin:0}</style></head><body lang=\"EN-US\">")
    assert "<p>Hello, the invoice number is INV-2024-0312" in html and "[picture]" not in html
    assert "C:\\Billing\\2024\\</p>" in html


@pytest.mark.parametrize("source", [b"", b"\\", b"{", b"}}}}", b"\\u", b"{\\rtf1 \\bin999999999",
                                    b"{\\rtf1\\ansicpg99999 \\'zz \\'ff}", bytes(range(256)) * 50])
def test_rtf_never_raises(source):
    kind, text = rtf.convert(source)
    assert kind in ("text", "html") and isinstance(text, str)


def test_rtf_of_a_megabyte_keeps_every_character():
    # its growth with size (linear) is measured in `make bench` (mail), not timed here
    text = rtf.convert(b"{\\rtf1 " + b"{\\b x}\\par " * 100_000 + b"}")[1]  # 1.1 MB
    assert text.count("x") == 100_000


def test_rtf_nesting_deeper_than_the_state_stack_keeps_text_and_bounded_memory():
    import tracemalloc

    deep = 300  # past rtf.MAX_DEPTH: those groups share their parent's state
    assert rtf.convert(b"{\\rtf1 a" + b"{" * deep + b"\\b x" + b"}" * deep + b" y}") == ("text", "ax y")
    tracemalloc.start()
    try:
        rtf.convert(b"{\\rtf1 " + b"{" * 1_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 30 * 1024 * 1024  # was a copied state per "{": about 90 MB here, 368 MB at 4 MB
