import pytest

from chalicelib.services.followup.checkin import classify


@pytest.mark.parametrize("text,expected", [
    ("5", ("score", 5)), ("৪", ("score", 4)), (" 1 ", ("score", 1)), ("6", ("other", None)),
    ("Yes", ("positive", None)), ("yes, thanks!", ("positive", None)), ("হ্যাঁ", ("positive", None)),
    ("ঠিক আছে", ("positive", None)), ("জি", ("positive", None)),
    ("No", ("negative", None)), ("না, এখনো বিদ্যুৎ নেই", ("negative", None)), ("হয়নি", ("negative", None)),
    ("the meter is still broken", ("other", None)), ("", ("other", None)),
    ("yes\n\nOn Mon, Setu wrote:\n> was it solved?", ("positive", None)),
])
def test_classify_answers(text, expected):
    assert classify(text) == expected
