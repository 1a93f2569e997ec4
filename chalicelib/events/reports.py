"""The `report_events` (tickets stream) and `report_timeline` (timeline stream) functions:
stream records -> report counters (services/reports.py). Functions of their own, so a failing
report never holds up message dispatch or timers; one adapter, which tells the streams apart
by the record's table. A record that fails is reported in `batchItemFailures` and the batch stops there:
the event source retries from it, in stream order; records before it were applied once (their
markers make a second application a no-op)."""
from __future__ import annotations

import logging

from typing import Any

from chalicelib import observability
from chalicelib.db.models import Ticket, TimelineItem

log = logging.getLogger("setu.reports")


def handle(event) -> dict:
    from chalicelib.services import reports  # here: the API's cold start does not need it

    failures = []
    for record in event:
        try:
            delta = _delta(reports, record)
            if delta is not None and not delta.empty:
                if not reports.apply(delta):
                    log.info("report: %s was applied before; skipped", delta.marker)
        except Exception:  # noqa: BLE001 - retried by the event source from this record on
            log.exception("report failed at %s", _sequence(record))
            failures.append({"itemIdentifier": _sequence(record)})
            break
    return {"batchItemFailures": failures}


def _delta(reports: Any, record) -> Any:
    """The record's reports.Delta, or None when it cannot count."""
    table = _table(record)
    keys = record.keys or {}
    if table == "tickets":
        ticket_id = _s(keys, "id")
        observability.bind_ticket(ticket_id)
        old, new = _image(Ticket, record.old_image), _image(Ticket, record.new_image)
        version = _get_version(new if new is not None else old)
        suffix = f"v{version}" if new is not None else f"removed-v{version}"
        return reports.ticket_delta(old, new, reports.marker_pk("tickets", ticket_id, suffix))
    if table == "timeline":
        if record.event_name != "INSERT":
            return None  # a message's later status changes (sent, delivered) count nothing
        ticket_id = _s(keys, "ticket_id")
        observability.bind_ticket(ticket_id)
        item = _image(TimelineItem, record.new_image)
        if not reports.counted_message(item):
            return None
        return reports.timeline_delta(item, reports.marker_pk("timeline", ticket_id, _s(keys, "sk")),
                                      _department(ticket_id))
    log.warning("report: a record from an unknown table %s", record.event_source_arn)
    return None


def _department(ticket_id: str) -> str | None:
    """The ticket's department, for the per-department contact and reply counts (one GetItem
    of one attribute, only for the messages that count)."""
    try:
        return Ticket.get(ticket_id, attributes_to_get=["department"]).department
    except Ticket.DoesNotExist:
        return None


def _table(record) -> str:
    """`tickets` or `timeline`: the logical table the record's stream belongs to."""
    name = record.table_name or ""
    return name.rsplit("-", 1)[-1]


def _image(model, raw):
    return model.from_raw_data(raw) if raw else None


def _get_version(ticket: Ticket | None) -> str:
    return str(ticket.version) if ticket is not None and ticket.version is not None else "0"


def _s(keys: dict, name: str) -> str:
    return (keys.get(name) or {}).get("S") or ""


def _sequence(record) -> str:
    return record.to_dict().get("dynamodb", {}).get("SequenceNumber", "")
