"""Parser bombs from outside are a ValueError (a 4xx or a recorded rejection), never a 500."""
import json

import pytest
from hypothesis import given, settings, strategies as st

from chalicelib import untrusted_json


@pytest.mark.parametrize("text", [
    "[" * 200_000,  # RecursionError in Python's own parser
    "[" * 100 + "]" * 100,  # parses, but deeper than we accept
    '{"a":' * 70 + "1" + "}" * 70,
    "NaN", "[Infinity]", '{"x": -Infinity}',
    "1e999", "9" * 5000, '{"n": ' + "1" * 200 + "}",
    "{not json", "",
])
def test_bombs_and_garbage_are_value_errors(text):
    with pytest.raises(ValueError):
        untrusted_json.loads(text)


def test_ordinary_json_reads_as_json():
    text = json.dumps({"a": [1, 2.5, "x", None, True, {"b": "আমার"}], "n": 10 ** 30})
    assert untrusted_json.loads(text) == json.loads(text)


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
                    max_leaves=30))
def test_any_shallow_json_round_trips(value):
    assert untrusted_json.loads(json.dumps(value)) == value
