"""Seed a deployed stack (the emulator, or any endpoint) with N tickets, fast: BatchWriteItem,
25 items a request, a few threads. For the scale-independence bench (bench/scale.py).

    python -m bench.scale_seed --tickets 100000 --endpoint http://127.0.0.1:4566 --stage local

(`--stage` names the stack `setu-<stage>` whose tables are filled; `make dev` deploys `local`.)

What a seeded ticket is, as the app writes it (chalicelib/services/tickets/intake.py): the ticket item
with its SLA and timer maps and queue_sort; its `ref#` key; the customer (two tickets each,
with an email identity `email#`); and four timeline items (ticket.created, the customer's
message, message.received, the acknowledgement sent). One ticket, `HEAVY_INDEX`, has a
100-item timeline (a long conversation: 50 messages, 50 events).

Every generated field has a fixed length, and the attributes cycle with the ticket's number
(status, department, priority, assignee) with a period of PERIOD tickets. Ticket 0 is the
newest, each next one a minute older, so the most urgent page of a queue (the oldest open
work) holds other tickets in a bigger table than in a smaller one; for sizes that are
multiples of PERIOD those pages hold the same mix of equally large items, so the bench can
compare consumed capacity, not only request counts, across sizes.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

BASE = datetime(2026, 11, 2, 3, 0, tzinfo=timezone.utc)  # the newest ticket: a Monday, 09:00 in Dhaka
STATUSES = ("new", "open", "open", "pending", "open", "resolved", "new", "open", "closed", "open")
DEPARTMENTS = ("general", "billing", "technical", "sales")
PRIORITIES = ("normal", "normal", "high", "low", "normal", "urgent", "normal", "normal", "high",
              "normal")
AGENTS = ("arn:aws:iam::123456789012:user/agent-a", "arn:aws:iam::123456789012:user/agent-b",
          "arn:aws:iam::123456789012:user/agent-c", None)
PERIOD = 20  # every attribute's cycle divides it
HEAVY_INDEX = 7  # the ticket with a 100-item timeline (open, billing)
HEAVY_TIMELINE = 100
REF_BASE = 100_001
BATCH = 25
DONE = ("resolved", "closed")


def ticket_id(n: int) -> str:
    return f"t_seed{n:022d}"  # 26 characters after the prefix, as ids.new_id's


def customer_id(n: int) -> str:
    return f"c_seed{n // 2:022d}"


def email(n: int) -> str:
    return f"customer{n // 2:07d}@example.com"


def ref(n: int) -> str:
    return str(REF_BASE + n)


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _dt(at: datetime) -> dict:
    """A UTCDateTimeAttribute as pynamodb stores it."""
    return {"S": at.strftime("%Y-%m-%dT%H:%M:%S.%f+0000")}


def _s(value: str) -> dict:
    return {"S": value}


def _m(values: dict[str, Any]) -> dict:
    return {"M": {k: v for k, v in values.items()}}


def ticket_item(n: int) -> dict[str, dict]:
    created = BASE - timedelta(minutes=n)
    status = STATUSES[n % len(STATUSES)]
    department = DEPARTMENTS[n % len(DEPARTMENTS)]
    priority = PRIORITIES[n % len(PRIORITIES)]
    assignee = AGENTS[n % len(AGENTS)] if status != "new" else None
    first_due = created + timedelta(hours=4)
    resolution_due = created + timedelta(hours=48)
    armed = status not in DONE
    timers = {
        "first_response": _m({"generation": {"N": "2" if status != "new" else "1"},
                              "due_at": _s(_iso(first_due)),
                              "state": _s("stopped" if status != "new" else "armed"),
                              "start_at": _s(_iso(created))}),
        "resolution": _m({"generation": {"N": "1" if armed else "2"},
                          "due_at": _s(_iso(resolution_due)),
                          "state": _s("armed" if armed else "stopped"),
                          "start_at": _s(_iso(created))}),
    }
    due = first_due if status == "new" else resolution_due
    queue_sort = f"{_iso(due) if armed else '9999'}#{_iso(created)}#{ticket_id(n)}"
    item = {
        "id": _s(ticket_id(n)), "kind": _s("ticket"), "ref": _s(ref(n)),
        "subject": _s(f"Seeded ticket {n % 97:02d}: order not delivered"),
        "status": _s(status), "priority": _s(priority), "department": _s(department),
        "customer_id": _s(customer_id(n)), "channel": _s("web"), "lang": _s("bn"),
        "created_at": _dt(created), "updated_at": _dt(created + timedelta(minutes=5)),
        "queue_sort": _s(queue_sort),
        "sla": _m({"policy": _s("default"), "calendar": _s("24x7"), "paused": {"BOOL": False},
                   "breached": {"L": []}, "first_response_due": _s(_iso(first_due)),
                   "resolution_due": _s(_iso(resolution_due))}),
        "timers": _m(timers),
        "version": {"N": "2"},
    }
    if assignee:
        item["assignee"] = _s(assignee)
    if status != "new":
        item["first_response_at"] = _dt(created + timedelta(minutes=30))
    if status in DONE:
        item["resolved_at"] = _dt(created + timedelta(hours=3))
    return item


def customer_item(n: int) -> dict[str, dict]:
    created = BASE - timedelta(minutes=n)
    return {"id": _s(customer_id(n)), "name": _s(f"Customer {n // 2:07d}"),
            "emails": {"SS": [email(n)]}, "lang": _s("bn"), "opted_out": _m({}),
            "created_at": _dt(created), "last_contact_at": _dt(created),
            "ticket_count": {"N": "2"}}


def key_items(n: int) -> list[dict[str, dict]]:
    items = [{"pk": _s(f"ref#{ref(n)}"), "sk": _s("_"), "target": _s(ticket_id(n))}]
    if n % 2 == 0:
        items.append({"pk": _s(f"email#{email(n)}"), "sk": _s("_"), "target": _s(customer_id(n))})
    return items


def _message(n: int, at: datetime, seq: int, *, direction: str, kind: str, body: str,
             status: str, uid: str) -> dict[str, dict]:
    item = {"ticket_id": _s(ticket_id(n)), "sk": _s(f"{_iso(at)}#{seq:02d}"),
            "item_type": _s("message"), "at": _dt(at), "message_uid": _s(uid),
            "direction": _s(direction), "channel": _s("email" if n == HEAVY_INDEX else "web"),
            "kind": _s(kind), "status": _s(status), "body": _s(body), "lang": _s("bn"),
            "subject": _s(f"Seeded ticket {n % 97:02d}: order not delivered")}
    if direction == "in":
        item["sender"] = _s(email(n))
    else:
        item["recipient"] = _s(email(n))
        item["message_id"] = _s(f"<{uid}@setu.local>")
    return item


def _event(n: int, at: datetime, seq: int, type_: str, data: dict[str, Any]) -> dict[str, dict]:
    return {"ticket_id": _s(ticket_id(n)), "sk": _s(f"{_iso(at)}#{seq:02d}"),
            "item_type": _s("event"), "at": _dt(at), "type": _s(type_),
            "actor": _s("customer"), "data": _m({k: _s(v) for k, v in data.items()})}


def timeline_items(n: int) -> list[dict[str, dict]]:
    created = BASE - timedelta(minutes=n)
    uid = f"m_seed{n:022d}"
    items = [
        _event(n, created, 0, "ticket.created", {"ref": ref(n), "channel": "web"}),
        _message(n, created, 1, direction="in", kind="message", status="received", uid=uid,
                 body="আমার অর্ডার এখনো আসেনি। অনুগ্রহ করে দেখুন। My order has not arrived yet."),
        _event(n, created, 2, "message.received", {"message": uid, "channel": "web"}),
        _message(n, created, 3, direction="out", kind="ack", status="sent", uid=f"a{uid[1:]}",
                 body="আপনার টিকিট পেয়েছি; আমরা শীঘ্রই উত্তর দেব। We have your ticket."),
    ]
    if n != HEAVY_INDEX:
        return items
    # a long conversation: customer and agent take turns, each message with its event
    for k in range(2, HEAVY_TIMELINE // 2):
        at = created + timedelta(minutes=10 * k)
        mine = f"m_seed{n:012d}{k:010d}"
        inbound = k % 2 == 0
        items.append(_message(n, at, 0, direction="in" if inbound else "out",
                              kind="message" if inbound else "reply",
                              status="received" if inbound else "sent", uid=mine,
                              body=f"বার্তা {k:03d}: এখনো অপেক্ষা করছি, দয়া করে জানান। Message {k:03d}."))
        items.append(_event(n, at, 1, "message.received" if inbound else "message.sent",
                            {"message": mine, "channel": "email"}))
    return items


def items_for(n: int) -> Iterator[tuple[str, dict]]:
    yield "tickets", ticket_item(n)
    if n % 2 == 0:
        yield "customers", customer_item(n)
    for item in key_items(n):
        yield "keys", item
    for item in timeline_items(n):
        yield "timeline", item


def seed(client_factory, tables: dict[str, str], count: int, *, start: int = 0,
         threads: int = 4, progress: bool = True) -> dict[str, Any]:
    """Write tickets start..count-1 (and what belongs to them) into `tables` (logical -> real
    name); returns counts and the time taken. `client_factory()` makes a DynamoDB client."""
    began = time.monotonic()
    written = {name: 0 for name in tables}
    lock = threading.Lock()
    local = threading.local()

    def client():
        if not hasattr(local, "client"):
            local.client = client_factory()
        return local.client

    def write(chunk: range) -> None:
        pending: dict[str, list] = {}
        counts = {name: 0 for name in tables}
        for n in chunk:
            for table, item in items_for(n):
                pending.setdefault(table, []).append({"PutRequest": {"Item": item}})
                counts[table] += 1
                if len(pending[table]) == BATCH:
                    _flush(client(), {tables[table]: pending.pop(table)})
        for table, requests in pending.items():
            _flush(client(), {tables[table]: requests})
        with lock:
            for name, value in counts.items():
                written[name] += value

    step = 500
    chunks = [range(i, min(i + step, count)) for i in range(start, count, step)]
    done = 0
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for _ in pool.map(write, chunks):
            done += 1
            if progress and (done % 20 == 0 or done == len(chunks)):
                print(f"  seeded {min(start + done * step, count):,} / {count:,} tickets "
                      f"({time.monotonic() - began:.0f}s)", file=sys.stderr, flush=True)
    # the ref counter past the seeded refs, so tickets created afterwards get fresh ones
    client().put_item(TableName=tables["keys"], Item={
        "pk": _s("counter#ticket_ref"), "sk": _s("_"), "value": {"N": str(REF_BASE + count)}})
    return {"tickets": count - start, "items": written,
            "seconds": round(time.monotonic() - began, 1)}


def _flush(client, request: dict[str, list]) -> None:
    for attempt in range(8):
        unprocessed = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        if not unprocessed:
            return
        request = unprocessed
        time.sleep(0.05 * 2 ** attempt)
    raise RuntimeError(f"BatchWriteItem left items unprocessed: {list(request)}")


def client(endpoint: str):
    """A DynamoDB client for seeding: no parameter validation (the items are ours), pooled."""
    import boto3
    from botocore.config import Config

    from local import stack

    return boto3.session.Session().client(
        "dynamodb", endpoint_url=endpoint, region_name=stack.REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(parameter_validation=False, max_pool_connections=8))


def tables_of(endpoint: str, stage: str) -> dict[str, str]:
    """Logical -> real table names of stack setu-<stage>."""
    from local import stack

    cloudformation = stack.client("cloudformation", endpoint)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cloudformation.describe_stacks(
        StackName=f"setu-{stage}")["Stacks"][0].get("Outputs", [])}
    return {"tickets": outputs["TicketsTable"], "timeline": outputs["TimelineTable"],
            "customers": outputs["CustomersTable"], "keys": outputs["KeysTable"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_seed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--endpoint", required=True, help="the emulator, e.g. http://127.0.0.1:4566")
    parser.add_argument("--stage", default="local", help="stack setu-<stage> (default: local)")
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    tables = tables_of(args.endpoint, args.stage)
    result = seed(lambda: client(args.endpoint), tables, args.tickets, threads=args.threads)
    print(f"seeded {result['tickets']:,} tickets in {result['seconds']}s: {result['items']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
