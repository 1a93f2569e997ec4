"""Queue cursors: only a key of the same index and partition is accepted; anything else is a
400, never an invalid ExclusiveStartKey sent to DynamoDB (a 500)."""
from __future__ import annotations

import base64
import json

import pytest

from chalicelib.db.models import Ticket
from chalicelib.errors import BadRequest
from chalicelib.db import cursors
from chalicelib.services.tickets import store as ticket_store


def _cursor(key: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


GOOD = {"status": {"S": "open"}, "queue_sort": {"S": "2026#x"}, "id": {"S": "t_1"}}


def test_a_cursor_of_this_index_and_partition_round_trips():
    assert cursors.decode_cursor(_cursor(GOOD), Ticket.status_index, "open") == GOOD
    assert cursors.decode_cursor("", Ticket.status_index, "open") is None


@pytest.mark.parametrize("key", [
    {"x": {"N": "1"}},                                            # well-formed, foreign
    {**GOOD, "extra": {"S": "1"}},                                # one attribute too many
    {"status": {"S": "open"}, "queue_sort": {"S": "2026#x"}},     # no id
    {**GOOD, "id": {"N": "1"}},                                   # wrong type
    {**GOOD, "id": {"S": ""}},                                    # empty
    {**GOOD, "queue_sort": {"S": "9" * 3000}},                    # past DynamoDB's key limits
])
def test_other_keys_are_refused(key):
    with pytest.raises(BadRequest):
        cursors.decode_cursor(_cursor(key), Ticket.status_index, "open")


def test_a_cursor_of_another_partition_or_index_is_refused():
    with pytest.raises(BadRequest):
        cursors.decode_cursor(_cursor(GOOD), Ticket.status_index, "pending")
    with pytest.raises(BadRequest):
        cursors.decode_cursor(_cursor(GOOD), Ticket.department_index, "open")


@pytest.mark.parametrize("raw", ["%%%", "bm90IGpzb24", _cursor(["a"])])
def test_garbage_is_refused(raw):
    with pytest.raises(BadRequest):
        cursors.decode_cursor(raw, Ticket.all_index, "ticket")


def test_refs_are_short_ascii_digits():
    assert ticket_store.is_ref("1042") and ticket_store.is_ref("9" * 12)
    assert not ticket_store.is_ref("9" * 13) and not ticket_store.is_ref("") and not ticket_store.is_ref("১০৪২")
    assert not ticket_store.is_ref("²")  # str.isdigit() says yes to superscripts
