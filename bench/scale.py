"""(d) Scale independence (issue 8, item 4): the same agent requests against a small and a 10x
bigger table cost the same number of reads and the same read capacity, and nothing scans.

Two stacks are deployed into one emulator and seeded by bench/scale_seed.py (BatchWriteItem):
SETU_BENCH_SCALE_SMALL tickets (default 1,000) and SETU_BENCH_SCALE_LARGE (default 10,000;
100,000 works, see docs/performance.md, but seeding it takes the emulator about 15 minutes on
two cores, too long for every `make bench`). Each request below is made once to warm the
container, then counted at both sizes:

  GET /api/tickets                                 the first page of the whole queue
  GET /api/tickets?cursor=...                      its second page
  GET /api/tickets?status=open                     one index, one key
  GET /api/tickets?department=billing&status=open  an index plus a filter applied to its pages
  GET /api/tickets?assignee=<agent>                the assignee index
  GET /api/tickets/<id>                            a ticket with a 100-item timeline
  GET /api/tickets/<ref>                           the same, by its ref

The seeded tickets get older with their number, so these pages (the oldest open work first)
hold other tickets in the bigger table, with the same mix of equally large items
(bench/scale_seed.py): the comparison is of equivalent pages, not of the same items read twice.

Counted per request, from the botocore hook (bench/api_calls.CallCounter; pynamodb included):
AWS calls, read requests, items read, and read capacity units. The emulator's own
ConsumedCapacity is a placeholder (moto answers 0.5 for any GetItem, 1 for any Query), so the
units are computed the way DynamoDB bills them, from the items each response carried:
item size by DynamoDB's rules, GetItem and each BatchGetItem key ceil(size / 4 KB), a Query
ceil(sum of sizes / 4 KB), halved when eventually consistent (every GSI query is). Counts are
compared, not times: the emulator answers a GSI Query by scanning the whole table, DynamoDB
does not.

No Scan: the emulator records every request it receives while the counted requests run (moto's
recorder, `X-Amz-Target` of each DynamoDB request); a Scan there, or in the botocore count,
fails the bench, and so does a log that does not hold every counted DynamoDB call.
tests/unit/test_no_scan.py keeps scans out of the code.

Report pages (issue 7, item 6), measured the same way:

  GET /api/reports?from=..&to=..                   a 30-day report page, by day (BatchGetItem)
  GET /api/reports?from=..&to=..&by=agent          the same by agent (a Query per day)

Report pages read the report aggregates (services/reports/counters.py), which the report consumers
write from the streams; the seeding writes the same aggregates directly (`_seed_reports`: the
consumers' own delta functions over every seeded ticket and message, summed), so the reports
cover the seeded tickets: 1k tickets fall on two days of the range, 10k on eight.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any, Iterator

from bench import emulator, scale_seed
from bench.api_calls import CallCounter, _patched_environ
from bench.figures import Figure

ROOT = Path(__file__).resolve().parent.parent
SMALL = int(os.environ.get("SETU_BENCH_SCALE_SMALL", "1000"))
LARGE = int(os.environ.get("SETU_BENCH_SCALE_LARGE", "10000"))
AGENT = "arn:aws:iam::123456789012:user/setu-admin"
READS = ("GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems")
UNIT = 4096


# ---- what DynamoDB would bill ------------------------------------------------------------

def item_size(item: dict[str, dict]) -> int:
    """An item's size by DynamoDB's rules: attribute names plus values (UTF-8 strings, numbers
    by significant digits, 3 bytes per list or map plus 1 per element)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict) -> int:
    (kind, data), = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return _number_size(data)
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "NS":
        return sum(_number_size(n) for n in data)
    if kind == "BS":
        return sum(len(b) for b in data)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in data)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_size(v) for k, v in data.items())
    raise ValueError(f"unknown attribute type {kind}")


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").strip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def _units(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / UNIT)) * (1.0 if consistent else 0.5)


def read_cost(operation: str, params: dict, response: dict) -> dict[str, Any]:
    """(read requests, items read, capacity units) of one DynamoDB call."""
    if operation == "GetItem":
        item = response.get("Item")
        return {"reads": 1, "items": 1 if item else 0,
                "rcu": _units(item_size(item) if item else 0, bool(params.get("ConsistentRead")))}
    if operation == "BatchGetItem":
        items, rcu = 0, 0.0
        for table, request in params.get("RequestItems", {}).items():
            found = response.get("Responses", {}).get(table, [])
            consistent = bool(request.get("ConsistentRead"))
            items += len(found)
            rcu += sum(_units(item_size(i), consistent) for i in found)
            rcu += (len(request.get("Keys", [])) - len(found)) * _units(0, consistent)
        return {"reads": 1, "items": items, "rcu": rcu}
    if operation in ("Query", "Scan"):
        found = response.get("Items", [])
        consistent = bool(params.get("ConsistentRead")) and not params.get("IndexName")
        return {"reads": 1, "items": len(found),
                "rcu": _units(sum(item_size(i) for i in found), consistent)}
    return {"reads": 0, "items": 0, "rcu": 0.0}


def summarise(counted: dict[str, Any]) -> dict[str, Any]:
    reads = items = 0
    rcu = emulator_units = 0.0
    calls = []
    for service, operation, params, response in counted.get("responses", []):
        if service != "dynamodb":
            continue
        cost = read_cost(operation, params, response)
        reads, items, rcu = reads + cost["reads"], items + cost["items"], rcu + cost["rcu"]
        emulator_units += _emulator_units(response.get("ConsumedCapacity"))
        calls.append({"operation": operation, "table": _short(params.get("TableName", "")),
                      "index": params.get("IndexName"), "limit": params.get("Limit"),
                      "consistent": bool(params.get("ConsistentRead")), **cost})
    return {"calls": counted["calls"], "operations": counted["operations"],
            "by_operation": counted["by_operation"], "reads": reads, "items_read": items,
            "rcu": rcu, "emulator_consumed_capacity": emulator_units, "dynamodb_calls": calls,
            "http_sends": counted["http_sends"]}


def _emulator_units(capacity: Any) -> float:
    if isinstance(capacity, dict):
        return float(capacity.get("CapacityUnits") or 0)
    if isinstance(capacity, list):
        return sum(_emulator_units(c) for c in capacity)
    return 0.0


def _short(table: str) -> str:
    return table.rsplit("-", 1)[-1]


# ---- the emulator's request log ----------------------------------------------------------

class RequestLog:
    """moto's recorder: every request the emulator receives between start() and stop()."""

    def __init__(self, endpoint: str, path: Path) -> None:
        self.endpoint, self.path = endpoint, path

    def _post(self, action: str) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/recorder/{action}",
                                         data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def start(self) -> None:
        self._post("reset-recording")
        self._post("start-recording")

    def stop(self) -> list[str]:
        """The DynamoDB operations received (from each request's X-Amz-Target)."""
        self._post("stop-recording")
        operations = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            headers = {k.lower(): v for k, v in (entry.get("headers") or {}).items()}
            target = headers.get("x-amz-target", "")
            if target.startswith("DynamoDB_"):
                operations.append(target.rpartition(".")[2])
        return operations


@contextlib.contextmanager
def _recording_emulator() -> Iterator[tuple[dict[str, Any], RequestLog]]:
    """The bench emulator, started with its request recorder writing to a file of ours."""
    log_path = Path(tempfile.mkstemp(prefix="setu-bench-requests-", suffix=".jsonl")[1])
    saved = os.environ.get("MOTO_RECORDER_FILEPATH")
    os.environ["MOTO_RECORDER_FILEPATH"] = str(log_path)  # start_moto passes os.environ on
    try:
        with emulator.running() as stack:
            yield stack, RequestLog(stack["endpoint"], log_path)
    finally:
        if saved is None:
            os.environ.pop("MOTO_RECORDER_FILEPATH", None)
        else:
            os.environ["MOTO_RECORDER_FILEPATH"] = saved
        log_path.unlink(missing_ok=True)


# ---- the measurement ---------------------------------------------------------------------

REQUESTS = (
    ("queue page, all tickets", "/api/tickets"),
    ("queue page 2 (cursor), all tickets", "/api/tickets?cursor={cursor}"),
    ("queue page, status=open", "/api/tickets?status=open"),
    ("queue page, department=billing&status=open", "/api/tickets?department=billing&status=open"),
    ("queue page, assignee", f"/api/tickets?assignee={scale_seed.AGENTS[0]}"),
    ("ticket with a 100-item timeline", f"/api/tickets/{scale_seed.ticket_id(scale_seed.HEAVY_INDEX)}"),
    ("ticket with a 100-item timeline, by ref", f"/api/tickets/{scale_seed.ref(scale_seed.HEAVY_INDEX)}"),
    ("report page, 30 days by day", "/api/reports?from=2026-10-06&to=2026-11-04"),
    ("report page, 30 days by agent", "/api/reports?from=2026-10-06&to=2026-11-04&by=agent"),
)


def measure() -> list[Figure]:
    if LARGE < 10 * SMALL:
        raise ValueError(f"the large size ({LARGE}) must be at least 10x the small one ({SMALL})")
    if SMALL % scale_seed.PERIOD or LARGE % scale_seed.PERIOD:
        raise ValueError(f"sizes must be multiples of {scale_seed.PERIOD} (bench/scale_seed.py)")
    with _recording_emulator() as (stack, request_log):
        from local import stack as local_stack

        endpoint = stack["endpoint"]
        stacks = {SMALL: stack["outputs"], LARGE: local_stack.deploy(endpoint, "benchlarge")}
        seeding = {size: _seed(endpoint, outputs, size) for size, outputs in stacks.items()}
        for size, outputs in stacks.items():
            seeding[size]["items"]["report aggregates"] = _seed_reports(endpoint, outputs, size)
        counter = CallCounter(keep_results=True)
        counter.install()
        try:
            measured = {size: _measure_at(counter, request_log, endpoint, outputs)
                        for size, outputs in stacks.items()}
        finally:
            counter.uninstall()
    return _figures(measured, seeding)


def _seed(endpoint: str, outputs: dict[str, str], size: int) -> dict[str, Any]:
    tables = {"tickets": outputs["TicketsTable"], "timeline": outputs["TimelineTable"],
              "customers": outputs["CustomersTable"], "keys": outputs["KeysTable"]}
    print(f"  seeding {size:,} tickets (BatchWriteItem) ...", flush=True)
    return scale_seed.seed(lambda: scale_seed.client(endpoint), tables, size, threads=3)


def _seed_reports(endpoint: str, outputs: dict[str, str], size: int) -> int:
    """The report aggregates the report consumers would have written for the seeded tickets:
    each ticket's deltas (created as new; then answered, resolved ... as seeded) and each
    message's, from services/reports/counters.py's own delta functions, summed per item and written
    with BatchWriteItem. Returns the number of aggregate items."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from chalicelib.db.models import Ticket, TimelineItem
    from chalicelib.services.sla import calendars
    from chalicelib.services.reports import counters as reports

    totals: dict[tuple[str, str], dict[str, float]] = {}

    def add(delta: reports.Delta) -> None:
        for key, amounts in delta.adds.items():
            item = totals.setdefault(key, {})
            for name, amount in amounts.items():
                item[name] = item.get(name, 0) + amount

    def calendar(ticket: Any) -> Any:  # the seeded tickets count in 24x7
        return calendars.ALWAYS

    for n in range(size):
        raw = scale_seed.ticket_item(n)
        opened_raw = {k: v for k, v in raw.items()
                      if k not in ("first_response_at", "resolved_at", "assignee")}
        opened = Ticket.from_raw_data({**opened_raw, "status": {"S": "new"}, "version": {"N": "1"}})
        seeded = Ticket.from_raw_data(raw)
        if seeded.assignee and seeded.first_response_at:  # the assignee answered first
            seeded.sla = {**seeded.sla.as_dict(), "first_response_by": seeded.assignee}
        add(reports.ticket_delta(None, opened, "seed", calendar))
        add(reports.ticket_delta(opened, seeded, "seed", calendar))
        for item in scale_seed.timeline_items(n):
            if item["item_type"]["S"] == "message":
                add(reports.timeline_delta(TimelineItem.from_raw_data(item), "seed"))
    client = scale_seed.client(endpoint)
    requests = [{"PutRequest": {"Item": {
        "pk": {"S": pk}, "sk": {"S": sk},
        **{name: {"N": str(int(amount)) if float(amount).is_integer() else repr(float(amount))}
           for name, amount in amounts.items() if amount}}}}
        for (pk, sk), amounts in sorted(totals.items())]
    for start in range(0, len(requests), scale_seed.BATCH):
        scale_seed._flush(client, {outputs["KeysTable"]: requests[start:start + scale_seed.BATCH]})
    return len(requests)


def _measure_at(counter: CallCounter, request_log: RequestLog, endpoint: str,
                outputs: dict[str, str]) -> dict[str, Any]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from chalice.test import Client

    import app as app_module
    from chalicelib import runtime
    from local import stack as local_stack

    env = {**local_stack.environment(outputs, endpoint), "SETU_SETTINGS_CACHE_SECONDS": "3600"}
    with _patched_environ(env):
        runtime.reset()
        local_stack.seed_admin()
        results: dict[str, Any] = {}
        with Client(app_module.app, stage_name="local", project_dir=str(ROOT)) as client:
            cursor = ""
            for name, path in REQUESTS:  # warm: the agent lookup, clients, connections
                body = _get(client, path.format(cursor=cursor))
                if name == "queue page, all tickets":
                    cursor = body["next"]
            request_log.start()
            for name, path in REQUESTS:
                with counter.counting() as counted:
                    body = _get(client, path.format(cursor=cursor))
                results[name] = summarise(counted)
                results[name]["returned"] = _returned(body)
            logged = request_log.stop()
        runtime.reset()
    counted_dynamodb = [op.split(":", 1)[1] for r in results.values() for op in r["operations"]
                        if op.startswith("dynamodb:")]
    return {"requests": results, "log": logged, "counted_dynamodb": counted_dynamodb,
            "http_sends": sum(r["http_sends"] for r in results.values())}


def _get(client, path: str) -> dict:
    response = client.http.get(path, headers={"X-Setu-Principal": AGENT})
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}: {response.body[:300]!r}")
    return json.loads(response.body)


def _returned(body: dict) -> dict[str, Any]:
    if "totals" in body:
        return {"report_days": len(body["days"]), "created": body["totals"]["created"],
                "groups": len(body.get("groups", []))}
    if "items" in body:
        return {"tickets": len(body["items"]), "first": body["items"][0]["ref"] if body["items"] else None}
    return {"ticket": body.get("ref"), "timeline_items": len(body.get("timeline", []))}


def _figures(measured: dict[int, dict[str, Any]], seeding: dict[int, dict[str, Any]]) -> list[Figure]:
    small, large = measured[SMALL]["requests"], measured[LARGE]["requests"]
    figures = [Figure(f"scale: seeded {size:,} tickets (BatchWriteItem)", result["seconds"], "s",
                      note=", ".join(f"{n:,} {t}" for t, n in result["items"].items()),
                      details=result)
               for size, result in seeding.items()]
    for name, _ in REQUESTS:
        a, b = small[name], large[name]
        if a["returned"].get("tickets", 1) == 0 or a["returned"].get("created", 1) == 0:
            raise RuntimeError(f"{name}: returned nothing at {SMALL:,} tickets")
        at = (f"at {SMALL:,}: {a['calls']} calls ({_ops(a)}), {a['items_read']} items, "
              f"{a['rcu']:g} RCU; at {LARGE:,}: {b['calls']} calls, {b['items_read']} items, "
              f"{b['rcu']:g} RCU; returned {_shown(a['returned'])} / {_shown(b['returned'])}")
        details = {"small": {"tickets": SMALL, **a}, "large": {"tickets": LARGE, **b}}
        figures.append(Figure(f"scale: {name}, read requests at {LARGE:,} tickets", b["reads"],
                              "requests", goal=a["reads"], note=f"goal: as at {SMALL:,}; {at}",
                              details=details))
        figures.append(Figure(f"scale: {name}, read capacity at {LARGE:,} tickets", b["rcu"],
                              "RCU", goal=a["rcu"], note=f"goal: as at {SMALL:,}",
                              details={"small_rcu": a["rcu"], "large_rcu": b["rcu"],
                                       "small_items": a["items_read"], "large_items": b["items_read"]}))
    scans = {size: [op for op in m["log"] if op in ("Scan", "ParallelScan")]
             + [op for op in m["counted_dynamodb"] if op == "Scan"] for size, m in measured.items()}
    for size, m in measured.items():
        missing = _missing(m["counted_dynamodb"], m["log"])
        if missing:
            raise RuntimeError(f"the emulator's request log lacks counted calls at {size:,}: {missing}")
    figures.append(Figure(
        "scale: Scan requests in the emulator's request log", sum(len(s) for s in scans.values()),
        "requests", goal=0,
        note="; ".join(f"at {size:,} tickets the emulator received {len(m['log'])} DynamoDB "
                       f"requests ({_count(m['log'])}) for {len(m['counted_dynamodb'])} calls "
                       f"in {m['http_sends']} HTTP sends" for size, m in measured.items())
             + " (a send beyond the calls is a botocore retry, e.g. after the emulator's slow "
               "index scan timed out)",
        details={"scans": scans, "logged": {size: m["log"] for size, m in measured.items()}}))
    return figures


def _shown(returned: dict[str, Any]) -> str:
    if "report_days" in returned:
        return (f"{returned['report_days']} days, {returned['created']:,} tickets created, "
                f"{returned['groups']} groups")
    if "tickets" in returned:
        return f"{returned['tickets']} tickets from #{returned['first']}"
    return f"#{returned['ticket']} with {returned['timeline_items']} timeline items"


def _ops(result: dict[str, Any]) -> str:
    return ", ".join(f"{op.split(':', 1)[1]}" + (f" x{n}" if n > 1 else "")
                     for op, n in result["by_operation"].items())


def _count(operations: list[str]) -> str:
    from collections import Counter

    return ", ".join(f"{op} x{n}" for op, n in sorted(Counter(operations).items()))


def _missing(counted: list[str], logged: list[str]) -> list[str]:
    from collections import Counter

    return sorted((Counter(counted) - Counter(logged)).elements())
