"""The mixed load of bench/load_mixed.py at a CI-friendly size (make bench sends 1,000): web,
mail and SMS contacts, a share sent twice, against the local stack started as `make dev`
starts it. Counts, not times."""
from __future__ import annotations

import pytest

from bench import load_mixed
from tests.e2e.conftest import started


@pytest.fixture(scope="module")
def load_stack(tmp_path_factory):
    yield from started(tmp_path_factory.mktemp("load"), SETU_FORM_LIMIT_PER_HOUR="0",
                       SETU_SCHEDULE_SECONDS="0")


def test_every_contact_once_and_every_ack_once(load_stack):
    result = load_mixed.run(load_stack, n=45, duplicate_share=0.1, settle_timeout=240)
    assert result["send_errors"] == 0
    assert result["duplicates_sent"] >= 4  # some of each kind, most likely; all are counted
    assert result["tickets_present"] == 45 and result["lost"] == 0, result
    assert result["duplicate_tickets"] == 0 and result["duplicate_messages"] == 0, result
    assert result["acks_exactly_once_pct"] == 100, result
