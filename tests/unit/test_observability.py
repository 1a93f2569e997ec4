"""Structured logs and EMF metrics (chalicelib/observability.py), without AWS."""
from __future__ import annotations

import io
import json
import logging
from types import SimpleNamespace

import pytest

from chalicelib import observability


class Event(SimpleNamespace):
    def to_dict(self):
        return self.raw


@pytest.fixture
def stream(monkeypatch):
    # other tests call services outside any invocation (no middleware), which binds tickets
    # in this thread's context; start from a clean one, as every Lambda invocation does
    outside = (observability._correlation.set(None), observability._ticket.set(None))
    monkeypatch.setattr(observability, "_configured", False)
    logger = logging.getLogger("obs-test")
    logger.handlers.clear()
    out = io.StringIO()
    logger.addHandler(logging.StreamHandler(out))
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, out
    logger.handlers.clear()
    observability._correlation.reset(outside[0])
    observability._ticket.reset(outside[1])


def lines(out):
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_every_line_carries_the_invocation_and_the_ticket(stream):
    logger, out = stream
    child = logging.getLogger("obs-test.email")
    sns = Event(raw={"Records": [{"Sns": {"MessageId": "sns-1"}}]})

    def handler(event):
        child.info("before")
        observability.bind_ticket("t_1")
        child.warning("after %s", "binding")
        return "done"

    assert observability.middleware(logger)(sns, handler) == "done"
    logger.info("outside")
    first, second, third = lines(out)
    assert first["message"] == "before" and first["correlation_id"] == "sns-1"
    assert "ticket_id" not in first
    assert second["message"] == "after binding" and second["ticket_id"] == "t_1"
    assert second["level"] == "WARNING" and second["service"] == "obs-test"
    # the ids belong to that invocation only
    assert "correlation_id" not in third and "ticket_id" not in third


@pytest.mark.parametrize("event,expected", [
    (Event(context={"requestId": "api-7"}, raw={}), "api-7"),
    (Event(raw={"Records": [{"messageId": "sqs-3", "body": "{}"}]}), "sqs-3"),
    (Event(raw={"Records": [{"eventID": "stream-9", "dynamodb": {}}]}), "stream-9"),
    (Event(raw={"id": "cw-event-1", "detail-type": "Scheduled Event"}), "cw-event-1"),
    (Event(raw={"Records": []}), None),
    (Event(raw={"Records": ["junk"]}), None),
])
def test_correlation_id_per_event_shape(event, expected):
    assert observability.correlation_id(event) == expected


def test_a_metric_is_one_emf_line(capsys, monkeypatch):
    monkeypatch.delenv("SETU_METRICS", raising=False)
    observability.count("TicketsCreated", channel="sms")
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines() if "_aws" in x]
    [spec] = line["_aws"]["CloudWatchMetrics"]
    assert spec["Namespace"] == "Setu" and spec["Metrics"][0]["Name"] == "TicketsCreated"
    # by channel for the dashboard, by service alone for the alarms
    assert spec["Dimensions"] == [["channel", "service"], ["service"]]
    assert line["channel"] == "sms" and line["service"] == "setu" and line["TicketsCreated"] == 1
    monkeypatch.setenv("SETU_METRICS", "off")
    observability.count("TicketsCreated", channel="sms")
    assert "_aws" not in capsys.readouterr().out


def test_scrub_replaces_addresses_and_numbers_with_fingerprints():
    from chalicelib.observability import fingerprint, scrub

    text = "originationNumber '+8801711000555' and <Rahim@Example.com> refused; id 0100018cabc123"
    out = scrub(text)
    assert "1711000555" not in out and "rahim" not in out.casefold()
    assert fingerprint("rahim@example.com") in out and fingerprint("+8801711000555") in out
    assert "0100018cabc123" in out  # ids are not numbers
    assert fingerprint("Rahim@Example.com ") == fingerprint("rahim@example.com")
    assert scrub("nothing here") == "nothing here" and fingerprint("") == "-"
