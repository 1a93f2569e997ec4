"""DynamoDB stream adapters: ticket changes reconcile timers (and a closed ticket's content
gets its retention TTL); new timeline messages go out."""
from __future__ import annotations

import logging

from chalicelib import observability
from chalicelib.db.models import Ticket, TimelineItem
from chalicelib.services.messaging import dispatch
from chalicelib.services.sla import timers
from chalicelib.services.tickets import retention

log = logging.getLogger("setu.streams")


def _image(model, raw):
    return model.from_raw_data(raw) if raw else None


def ticket_changed(event) -> dict:
    failures = []
    for record in event:
        observability.bind_ticket(_key(record, "id"))
        try:
            old, new = _image(Ticket, record.old_image), _image(Ticket, record.new_image)
            actions = timers.reconcile(old, new)
            timers.apply(actions)
        except Exception:  # noqa: BLE001 - retried by the event source from this record on
            log.exception("reconciling timers failed at %s", _sequence(record))
            failures.append({"itemIdentifier": _sequence(record)})
            break  # stream order matters: stop here, the rest is retried after it
        _assign(old, new)
        _retain(old, new)
    return {"batchItemFailures": failures}


def _retain(old, new) -> None:
    """A closed ticket's content gets its TTL (services/tickets/retention.py); a failure is
    logged and counted, not retried: the content is then kept until the next close."""
    try:
        retention.on_ticket_changed(old, new)
    except Exception:  # noqa: BLE001 - EventsRejected{source=retention} alarms
        log.exception("setting the retention of a closed ticket's timeline failed")
        observability.count("EventsRejected", source="retention")


def _assign(old, new) -> None:
    """Round-robin (services/team/round_robin.py): a new ticket, or one moved to another department,
    unassigned, in a round-robin department gets the next available agent. It retries its own
    races; a failure beyond that leaves the ticket unassigned in the queue (an agent takes it)
    and is counted, rather than holding up the SLA timers of every ticket behind it."""
    from chalicelib.services.messaging import staff  # deferred: cold start
    from chalicelib.services.team import round_robin  # deferred: cold start

    def tell(ticket, principal, now):
        return staff.notify(ticket, "assigned", principal, now=now)

    try:
        round_robin.on_ticket_changed(old, new, tell)
    except Exception:  # noqa: BLE001 - see above; EventsRejected{source=assignment} alarms
        log.exception("round-robin assignment failed; the ticket stays unassigned")
        observability.count("EventsRejected", source="assignment")


def timeline_appended(event) -> dict:
    failures = []
    for record in event:
        if record.event_name != "INSERT":
            continue
        observability.bind_ticket(_key(record, "ticket_id"))
        try:
            outcome = dispatch.dispatch(_image(TimelineItem, record.new_image))
            if outcome != "ignored":
                log.info("dispatch %s: %s", record.keys, outcome)
        except Exception:  # noqa: BLE001
            log.exception("dispatch failed at %s", _sequence(record))
            failures.append({"itemIdentifier": _sequence(record)})
            break
    return {"batchItemFailures": failures}


def _key(record, name: str) -> str | None:
    return ((record.keys or {}).get(name) or {}).get("S")


def _sequence(record) -> str:
    return record.to_dict().get("dynamodb", {}).get("SequenceNumber", "")
