"""Validation of the public web form: every bad field is named, good input is normalised."""
import pytest
from hypothesis import given, settings, strategies as st

from chalicelib.errors import ValidationFailed
from chalicelib.services.portal.webform import Limits, Upload, validate

LIMITS = Limits(max_attachment_bytes=1000, max_total_bytes=1500, max_attachments=2)
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 20


def fields_of(raw, uploads=()):
    with pytest.raises(ValidationFailed) as info:
        validate(raw, list(uploads), LIMITS)
    return info.value.fields


def test_minimal_contact_is_normalised():
    contact = validate({"email": " Rahim@Example.COM ", "message": "  অর্ডার আসেনি  "}, [], LIMITS)
    assert contact.email == "Rahim@example.com"
    assert contact.message == "অর্ডার আসেনি"
    assert contact.subject == "অর্ডার আসেনি"
    assert (contact.department, contact.lang) == ("general", "bn")


@pytest.mark.parametrize("raw,expected", [
    ("01711-000000", "+8801711000000"),
    ("+880 1711 000000", "+8801711000000"),
    ("8801711000000", "+8801711000000"),
    ("০১৭১১০০০০০০", "+8801711000000"),
    ("(+880) 1911-000000", "+8801911000000"),
])
def test_phone_formats_become_e164(raw, expected):
    assert validate({"phone": raw, "message": "hi"}, [], LIMITS).phone == expected


def test_missing_message_and_contact_are_both_named():
    assert fields_of({}) == {"message": "required", "email": "email or phone is required",
                             "phone": "email or phone is required"}


@pytest.mark.parametrize("raw,field", [
    ({"email": "not-an-address", "message": "x"}, "email"),
    ({"phone": "12345", "message": "x"}, "phone"),
    ({"email": "a@b.co", "message": "x", "website": "http://spam"}, "website"),
    ({"email": "a@b.co", "message": "x", "department": "mars"}, "department"),
    ({"email": "a@b.co", "message": "x", "lang": "fr"}, "lang"),
    ({"email": "a@b.co", "message": "x", "colour": "red"}, "colour"),
    ({"email": "a@b.co", "message": "x" * 20_001}, "message"),
    ({"email": "a@b.co", "message": 5}, "message"),
    ({"email": "a@b.co", "message": "x", "subject": ["list"]}, "subject"),
])
def test_each_bad_field_is_named(raw, field):
    assert field in fields_of(raw)


def test_control_characters_are_removed_but_bengali_joiners_kept():
    contact = validate({"email": "a@b.co", "message": "ক্\u200dষ\x00\x07 ok"}, [], LIMITS)
    assert contact.message == "ক্\u200dষ ok"


def test_long_message_gives_a_short_subject():
    contact = validate({"email": "a@b.co", "message": "word " * 100}, [], LIMITS)
    assert len(contact.subject) <= 80 and contact.subject.endswith("...")


@pytest.mark.parametrize("upload,reason", [
    (Upload("attachments", "a.png", "image/png", b""), "empty"),
    (Upload("attachments", "a.png", "image/png", PNG + b"0" * 1000), "larger"),
    (Upload("attachments", "a.exe", "application/x-msdownload", b"MZ..."), "not accepted"),
    (Upload("attachments", "a.png", "image/png", b"GIF89a fake"), "content is not"),
])
def test_bad_attachments_are_refused(upload, reason):
    assert reason in fields_of({"email": "a@b.co", "message": "x"}, [upload])["attachments"]


def test_too_many_and_too_large_together():
    files = [Upload("attachments", f"{n}.png", "image/png", PNG + b"0" * 700) for n in range(3)]
    assert "at most 2 files" in fields_of({"email": "a@b.co", "message": "x"}, files)["attachments"]


def test_fingerprint_changes_with_content():
    a = validate({"email": "a@b.co", "message": "x"}, [], LIMITS)
    b = validate({"email": "a@b.co", "message": "y"}, [], LIMITS)
    assert a.fingerprint() != b.fingerprint()
    assert a.fingerprint() == validate({"email": "a@b.co", "message": "x"}, [], LIMITS).fingerprint()


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=12), st.one_of(st.text(max_size=300), st.integers(), st.none()),
                       max_size=8))
def test_arbitrary_input_either_validates_or_names_fields(raw):
    try:
        contact = validate(raw, [], LIMITS)
    except ValidationFailed as exc:
        assert exc.fields and all(isinstance(v, str) for v in exc.fields.values())
    else:
        assert contact.message and (contact.email or contact.phone)


def test_a_number_outside_the_sms_countries_is_refused_unless_allowed(monkeypatch):
    from chalicelib import config

    raw = {"phone": "+44 7911 123456", "message": "call me"}
    with pytest.raises(ValidationFailed) as refused:
        validate(raw, [], LIMITS)
    assert "we text numbers in BD only" in refused.value.fields["phone"]
    monkeypatch.setenv("SETU_SMS_COUNTRIES", "BD,GB,GG")
    config.reload()
    try:
        assert validate(raw, [], LIMITS).phone == "+447911123456"
    finally:
        monkeypatch.delenv("SETU_SMS_COUNTRIES")
        config.reload()
