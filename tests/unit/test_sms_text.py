import pytest

from chalicelib.services.messaging.sms_text import keyword, segments


@pytest.mark.parametrize("text,encoding,count", [
    ("", "GSM-7", 1),
    ("a" * 160, "GSM-7", 1),
    ("a" * 161, "GSM-7", 2),
    ("a" * 306, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3),
    ("{" * 80, "GSM-7", 1),      # extension characters cost two septets
    ("{" * 81, "GSM-7", 2),
    ("আ" * 70, "UCS-2", 1),
    ("আ" * 71, "UCS-2", 2),
    ("আ" * 134, "UCS-2", 2),
    ("আ" * 135, "UCS-2", 3),
    ("a" * 159 + "ç", "UCS-2", 3),  # one non-GSM character turns the whole message UCS-2
    ("😀" * 35, "UCS-2", 1),       # surrogate pairs: two units each
    ("😀" * 36, "UCS-2", 2),
])
def test_segments(text, encoding, count):
    result = segments(text)
    assert (result.encoding, result.count) == (encoding, count)


def test_1600_character_bengali_message():
    assert segments("ক" * 1600).count == 24


@pytest.mark.parametrize("body,action", [
    ("STOP", "opt_out"), (" stop. ", "opt_out"), ("Unsubscribe", "opt_out"), ("বন্ধ", "opt_out"),
    ("START", "opt_in"), ("চালু", "opt_in"), ("help", "help"), ("সাহায্য", "help"),
    ("stop sending me bills", None), ("STOPP", None), ("", None), ("১২৩৪", None),
])
def test_keywords(body, action):
    assert keyword(body) == action
