"""The `report_events` (tickets stream) and `report_timeline` (timeline stream) functions:
stream records -> report counters (services/reports/counters.py). Functions of their own, so a failing
report never holds up message dispatch or timers; one adapter, which tells the streams apart
by the record's table. The departments of the batch's counted messages are read in one
BatchGetItem, and the batch's deltas are applied in as few transactions as fit
(services/reports/counters.py `batches`). A record that fails is reported in `batchItemFailures` and the
batch stops there: the event source retries from it, in stream order; records before it were
applied once (their markers make a second application a no-op)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from chalicelib import observability
from chalicelib.db.models import Ticket, TimelineItem

log = logging.getLogger("setu.reports")


def handle(event) -> dict:
    from chalicelib.services.reports import counters as reports  # here: the API's cold start does not need it

    read, failed_at = [], None  # read: (record, Delta or _Message) in stream order
    for record in event:
        try:
            read.append((record, _read(reports, record)))
        except Exception:  # noqa: BLE001 - retried by the event source from this record on
            log.exception("report failed at %s", _sequence(record))
            failed_at = record
            break
    messages = [n for n, (_, found) in enumerate(read) if isinstance(found, _Message)]
    try:
        departments = _departments({read[n][1].ticket_id for n in messages})
    except Exception:  # noqa: BLE001 - retried from the first message that needed one
        failed_at = read[messages[0]][0]
        log.exception("report failed at %s", _sequence(failed_at))
        read, departments = read[:messages[0]], {}
    counted = []  # (record, delta) in stream order
    for record, found in read:
        delta = (reports.timeline_delta(found.item, found.marker, departments.get(found.ticket_id))
                 if isinstance(found, _Message) else found)
        if delta is not None and not delta.empty:
            counted.append((record, delta))
    # the records before a failure are applied first, a few transactions for the batch
    deltas = [delta for _, delta in counted]
    for group in reports.batches(deltas):
        try:
            applied = reports.apply_group([deltas[n] for n in group])
        except Exception:  # noqa: BLE001 - nothing of this group was written: retried from it
            failed_at = counted[group[0]][0]
            log.exception("report failed at %s", _sequence(failed_at))
            break
        if applied < len(group):
            log.info("report: %d of %d records were applied before; skipped",
                     len(group) - applied, len(group))
    return {"batchItemFailures": [{"itemIdentifier": _sequence(failed_at)}]
            if failed_at is not None else []}


@dataclass(frozen=True)
class _Message:
    """A counted message, waiting for its ticket's department (looked up for the whole batch)."""
    item: TimelineItem
    marker: str
    ticket_id: str


def _read(reports: Any, record) -> Any:
    """The record's reports.Delta, a _Message that still needs its department, or None when it
    cannot count."""
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
        return _Message(item, reports.marker_pk("timeline", ticket_id, _s(keys, "sk")), ticket_id)
    log.warning("report: a record from an unknown table %s", record.event_source_arn)
    return None


def _departments(ticket_ids: set[str]) -> dict[str, str | None]:
    """Each ticket's department as it is now, for the per-department contact and reply counts:
    one BatchGetItem of one attribute for the batch's counted messages (a deleted ticket counts
    in no department)."""
    if not ticket_ids:
        return {}
    return {ticket.id: ticket.department
            for ticket in Ticket.batch_get(sorted(ticket_ids), attributes_to_get=["id", "department"])}


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
