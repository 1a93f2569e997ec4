"""Reports: counters per (day, dimension) kept up to date from the DynamoDB streams, and the
report built from them. docs/reports.md says what each figure means.

Writing (the `report_events` function, chalicelib/events/reports.py):
  a tickets-stream record (old and new image of one ticket save) -> created, first responses
  and their business time, resolutions and theirs, reopenings, breaches, CSAT, the open backlog;
  a timeline-stream record (a new message) -> contacts in, replies out.
  Each record becomes one `Delta`: a marker key plus ADD amounts per aggregate item, written in
  ONE TransactWriteItems (a conditional put of the marker, an UpdateItem ADD per item). A
  redelivered record finds its marker and the transaction is cancelled: applied once.

Aggregate items in the keys table (counters are top-level number attributes):
  report#<YYYY-MM-DD> / all | dept#<name> | channel#<c> | agent#<principal>
  report#backlog / all | dept#<name>     d<YYYYMMDD>: tickets created that day still open
  reported#<table>#<key>#<sk> / _        the marker of an applied stream record (TTL)
  A resolution counts `resolved` on the ticket's dimensions and its owner's item, `handled`
  on both when it has an owner (docs/reports.md, "Identities").

Reading (`build`): one BatchGetItem for a range of up to 92 days (by day), or one Query per day
(by agent, department or channel; by agent + one Query of the agent directory for names).
"""
from __future__ import annotations

import logging
import os
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from botocore.exceptions import ClientError

from chalicelib import clock, config
from chalicelib.db import keys
from chalicelib.db.models import Agent
from chalicelib.errors import BadRequest
from chalicelib.integrations import aws
from chalicelib.services.reports import histograms
from chalicelib.services.team import agents, departments, identities
from chalicelib.services.tickets import lifecycle

log = logging.getLogger("setu.reports")

MAX_DAYS = 92
MARKER_TTL = timedelta(days=3)  # stream records live 24 hours; a redelivery comes sooner
DONE = ("resolved", "closed")
TARGETS = ("first_response", "next_reply", "resolution")
SCORES = (1, 2, 3, 4, 5)
BY = ("day", "agent", "department", "channel")
GROUP_PREFIX = {"agent": "agent#", "department": "dept#", "channel": "channel#"}
AGE_BUCKETS = (("0-1d", 0, 1), ("1-3d", 1, 3), ("3-7d", 3, 7), ("7-30d", 7, 30),
               (">30d", 30, None))
BACKLOG_PK = keys.report_pk("backlog")
TRANSACTION_ATTEMPTS = 4
COUNTERS = ("created", "first_responses", "resolved", "reopened", "handled", "contacts_in",
            "replies_out", "breaches", *(f"breach_{t}" for t in TARGETS), "fr_sum", "res_sum",
            "csat_count", "csat_sum", *(f"csat_{s}" for s in SCORES))
HISTOGRAMS = ("fr", "res")  # attributes fr_h<bucket>, res_h<bucket>


@lru_cache(maxsize=1)
def timezone() -> ZoneInfo:
    """The days of a report are days in this zone (SETU_REPORT_TIMEZONE, default Asia/Dhaka)."""
    return ZoneInfo(os.environ.get("SETU_REPORT_TIMEZONE") or "Asia/Dhaka")


def day_of(instant: datetime) -> date:
    return instant.astimezone(timezone()).date()


def today() -> date:
    return day_of(clock.now())


def day_pk(day: date) -> str:
    return keys.report_pk(day.isoformat())


def marker_pk(table: str, key: str, sk: str) -> str:
    return keys.reported_pk(table, key, sk)


# ---- what one stream record adds ----------------------------------------------------------

@dataclass
class Delta:
    """A stream record's effect: ADD amounts per aggregate item, applied once under `marker`."""

    marker: str
    adds: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)

    def add(self, pk: str, sk: str, name: str, amount: float = 1) -> None:
        if not amount:
            return
        item = self.adds.setdefault((pk, sk), {})
        item[name] = item.get(name, 0) + amount

    def add_all(self, day: date, sks: Iterable[str], name: str, amount: float = 1) -> None:
        for sk in sks:
            self.add(day_pk(day), sk, name, amount)

    def compact(self) -> Delta:
        self.adds = {key: {n: v for n, v in amounts.items() if v}
                     for key, amounts in self.adds.items()}
        self.adds = {key: amounts for key, amounts in self.adds.items() if amounts}
        return self

    @property
    def empty(self) -> bool:
        return not self.compact().adds


def _get(image: Any, name: str) -> Any:
    return getattr(image, name, None) if image is not None else None


def _sla(image: Any) -> dict[str, Any]:
    raw = _get(image, "sla")
    if raw is None:
        return {}
    return raw.as_dict() if hasattr(raw, "as_dict") else dict(raw)


def _open(image: Any) -> bool:
    return image is not None and image.status not in DONE


def _backlog(image: Any) -> dict[tuple[str, str], float]:
    """What an image contributes to the open backlog: +1 on its creation day's attribute of
    the `all` and department items while open."""
    if not _open(image):
        return {}
    name = "d" + day_of(image.created_at).strftime("%Y%m%d")
    return {("all", name): 1, (f"dept#{image.department}", name): 1}


def _calendar(image: Any):
    return lifecycle.clock_for(image)[1]


def ticket_delta(old: Any, new: Any, source: str,
                 calendar_for: Callable[[Any], Any] = _calendar) -> Delta:
    """The report effect of one ticket save (old/new image; either may be None)."""
    delta = Delta(marker=source)
    for (sk, name), amount in _backlog_change(old, new).items():
        delta.add(BACKLOG_PK, sk, name, amount)
    if new is None:
        return delta.compact()
    sla, old_sla = _sla(new), _sla(old)
    dims = ("all", f"dept#{new.department}", f"channel#{new.channel}")
    responder = sla.get("first_response_by")
    owner = new.assignee or responder
    at = new.updated_at or new.created_at
    if old is None:
        delta.add_all(day_of(new.created_at), dims, "created")
        return delta.compact()

    if old.first_response_at is None and new.first_response_at is not None:
        seconds = _business_seconds(calendar_for(new), new.created_at, new.first_response_at)
        agents = (f"agent#{responder}",) if responder else ()
        _duration(delta, day_of(new.first_response_at), (*dims, *agents), "fr", seconds,
                  "first_responses")
    merged = _get(new, "merged_into") and not _get(old, "merged_into")
    if old.status not in DONE and new.status in DONE and not merged:  # a merge is no resolution
        resolved_at = new.resolved_at or at
        seconds = _business_seconds(calendar_for(new), new.created_at, resolved_at)
        _duration(delta, day_of(resolved_at), dims, "res", seconds, "resolved")
        if owner:  # credited to its owner: handled by them, on their row and in the totals
            _duration(delta, day_of(resolved_at), (f"agent#{owner}",), "res", seconds, "resolved")
            delta.add_all(day_of(resolved_at), (*dims, f"agent#{owner}"), "handled")
    elif old.status in DONE and new.status not in DONE:
        delta.add_all(day_of(at), dims, "reopened")
    breached = set(sla.get("breached") or ()) - set(old_sla.get("breached") or ())
    for target in sorted(breached):
        sks = (*dims, f"agent#{new.assignee}") if new.assignee else dims
        delta.add_all(day_of(at), sks, "breaches")
        delta.add_all(day_of(at), sks, f"breach_{target}")
    score = _score(sla)
    if score is not None and _score(old_sla) is None:
        csat_at = _instant(_as_dict(sla.get("csat")).get("at")) or at
        sks = (*dims, f"agent#{owner}") if owner else dims
        delta.add_all(day_of(csat_at), sks, "csat_count")
        delta.add_all(day_of(csat_at), sks, "csat_sum", score)
        delta.add_all(day_of(csat_at), sks, f"csat_{score}")
    return delta.compact()


def _backlog_change(old: Any, new: Any) -> dict[tuple[str, str], float]:
    change: dict[tuple[str, str], float] = {}
    for key, n in _backlog(new).items():
        change[key] = change.get(key, 0) + n
    for key, n in _backlog(old).items():
        change[key] = change.get(key, 0) - n
    return change


def _duration(delta: Delta, day: date, sks: Iterable[str], prefix: str, seconds: float,
              counter: str) -> None:
    bucket = histograms.bucket(seconds)
    for sk in sks:
        delta.add(day_pk(day), sk, counter)
        delta.add(day_pk(day), sk, f"{prefix}_sum", round(seconds))
        delta.add(day_pk(day), sk, f"{prefix}_h{bucket}")


def _business_seconds(calendar, start: datetime, end: datetime) -> float:
    return calendar.between(start, end).total_seconds()


def _score(sla: dict[str, Any]) -> int | None:
    score = _as_dict(sla.get("csat")).get("score")
    try:
        value = int(score)
    except (TypeError, ValueError):
        return None
    return value if value in SCORES else None


def _as_dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    return value.as_dict() if hasattr(value, "as_dict") else dict(value)


def _instant(text: Any) -> datetime | None:
    try:
        return clock.parse_iso(text) if isinstance(text, str) and text else None
    except ValueError:
        return None


def counted_message(item: Any) -> bool:
    """A customer's message (a contact in) or an agent's reply (out); events count on the
    tickets stream, and a merge's or split's copy is not counted again."""
    if item is None or item.item_type != "message" or _get(item, "origin"):
        return False
    return (item.direction == "in" and item.status == "received") or (
        item.direction == "out" and item.kind == "reply")


def timeline_delta(item: Any, source: str, department: str | None = None) -> Delta:
    """The report effect of a new timeline item (see counted_message): on the message's own
    channel, its ticket's department (as it is when the record is applied), and for replies
    the agent."""
    delta = Delta(marker=source)
    if not counted_message(item):
        return delta
    sks = ["all", f"channel#{item.channel}"] + ([f"dept#{department}"] if department else [])
    if item.direction == "in":
        delta.add_all(day_of(item.at), sks, "contacts_in")
    else:
        if item.sender and item.sender != "system":
            sks.append(f"agent#{item.sender}")
        delta.add_all(day_of(item.at), sks, "replies_out")
    return delta.compact()


# ---- applying a delta once ----------------------------------------------------------------

MAX_WRITES = 100  # TransactWriteItems' limit


def apply(delta: Delta) -> bool:
    """One TransactWriteItems: the marker (conditional put, with a TTL) and an UpdateItem ADD
    per aggregate item. False when the marker exists: the record was applied before."""
    if delta.empty:
        return False
    return _transact([delta.marker], delta.adds)


def batches(deltas: list[Delta]) -> list[list[int]]:
    """Indexes of `deltas` in stream order, grouped so that a group's markers plus its merged
    aggregate items fit one transaction. A delta whose marker an earlier one has (the same
    record twice in a batch) is left out; empty ones too."""
    out: list[list[int]] = []
    group: list[int] = []
    items: set[tuple[str, str]] = set()
    seen: set[str] = set()
    for n, delta in enumerate(deltas):
        if delta.empty or delta.marker in seen:
            continue
        seen.add(delta.marker)
        wanted = items | set(delta.adds)
        if group and len(group) + 1 + len(wanted) > MAX_WRITES:
            out.append(group)
            group, wanted = [], set(delta.adds)
        group.append(n)
        items = wanted
    return out + ([group] if group else [])


def apply_group(deltas: list[Delta]) -> int:
    """Several records' deltas (one of `batches`) in one transaction: a marker per record and
    one ADD per aggregate item, summed. Records of a stream batch mostly count into the same
    day's items, so a hundred of them cost one or two transactions instead of a hundred. When
    any of them was applied before, each is applied on its own instead (its marker decides).
    Returns how many were applied now."""
    if len(deltas) == 1:
        return int(apply(deltas[0]))
    merged = Delta(marker="")
    for delta in deltas:
        for (pk, sk), amounts in delta.adds.items():
            for name, amount in amounts.items():
                merged.add(pk, sk, name, amount)
    if _transact([d.marker for d in deltas], merged.compact().adds):
        return len(deltas)
    return sum(apply(delta) for delta in deltas)


def _transact(markers: list[str], adds: dict[tuple[str, str], dict[str, float]]) -> bool:
    """False when a marker exists (nothing was written)."""

    table = config.settings().table("keys")
    expires = str(int((clock.now() + MARKER_TTL).timestamp()))
    items: list[dict[str, Any]] = [{"Put": {
        "TableName": table,
        "Item": {"pk": {"S": marker}, "sk": {"S": "_"}, "target": {"S": "report"},
                 "expires_at": {"N": expires}},
        "ConditionExpression": "attribute_not_exists(pk)"}} for marker in markers]
    for (pk, sk), amounts in sorted(adds.items()):
        names = {f"#a{n}": name for n, name in enumerate(sorted(amounts))}
        values = {f":v{n}": {"N": _number(amounts[name])}
                  for n, name in enumerate(sorted(amounts))}
        items.append({"Update": {
            "TableName": table, "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": "ADD " + ", ".join(f"#a{n} :v{n}" for n in range(len(names))),
            "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}})
    if len(items) > MAX_WRITES:
        raise ValueError(f"a report delta of {len(items)} writes exceeds a transaction")
    client = aws.client("dynamodb")
    for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
        try:
            client.transact_write_items(TransactItems=items)
            return True
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons") or []]
            if "ConditionalCheckFailed" in reasons[:len(markers)]:
                return False  # a marker exists: applied before
            if attempt == TRANSACTION_ATTEMPTS or "TransactionConflict" not in reasons:
                raise
            # another report transaction holds the same day's item: try again shortly
            time.sleep(random.uniform(0.05, 0.2) * attempt)
    return False


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# ---- reading ------------------------------------------------------------------------------

def parse_range(start: Any, end: Any) -> tuple[date, date]:
    errors = {}
    parsed = {}
    for name, raw in (("from", start), ("to", end)):
        try:
            parsed[name] = date.fromisoformat(str(raw or ""))
        except ValueError:
            errors[name] = "a date, YYYY-MM-DD"
    if errors:
        raise BadRequest("Invalid date range.", errors)
    first, last = parsed["from"], parsed["to"]
    if last < first:
        raise BadRequest("Invalid date range.", {"to": "on or after from"})
    if (last - first).days + 1 > MAX_DAYS:
        raise BadRequest("Invalid date range.", {"to": f"at most {MAX_DAYS} days after from"})
    return first, last


def build(start: date, end: date, department: str | None = None, by: str = "day",
          names: dict[str, str] | None = None) -> dict:
    """The report for start..end (days in the report timezone, both included); `names`
    (principal -> display name) defaults to the agent directory (by=agent only)."""
    if end < start or (end - start).days + 1 > MAX_DAYS:
        raise BadRequest("Invalid date range.", {"to": f"on or after from, at most {MAX_DAYS} days"})
    if by not in BY:
        raise BadRequest("Invalid grouping.", {"by": f"one of: {', '.join(BY)}"})
    if department and by != "day":
        raise BadRequest("Invalid grouping.", {"by": "only by=day with a department"})
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    scope = f"dept#{department}" if department else "all"
    if by == "day":
        found = _batch_get([(day_pk(d), scope) for d in days] + [(BACKLOG_PK, scope)])
        per_day = {d: found.get((day_pk(d), scope), {}) for d in days}
        backlog_item = found.get((BACKLOG_PK, scope), {})
        groups: dict[str, dict[str, float]] = {}
    else:
        per_day, groups = {}, {}
        prefix = GROUP_PREFIX[by]
        for d in days:
            per_day[d] = {}
            for sk, counters in _query_day(day_pk(d)).items():
                if sk == "all":
                    per_day[d] = counters
                elif sk.startswith(prefix):
                    groups[sk[len(prefix):]] = _sum(groups.get(sk[len(prefix):], {}), counters)
        backlog_item = _batch_get([(BACKLOG_PK, "all")]).get((BACKLOG_PK, "all"), {})
    totals: dict[str, float] = {}
    for counters in per_day.values():
        totals = _sum(totals, counters)
    report: dict[str, Any] = {
        "from": start.isoformat(), "to": end.isoformat(), "department": department or None,
        "by": by, "timezone": timezone().key,
        "totals": figures(totals),
        "days": [{"date": d.isoformat(), **figures(per_day[d])} for d in days],
        "backlog": backlog(backlog_item, today()),
    }
    if by == "agent":
        report["groups"] = agent_rows(groups, names or _agent_names())
        report["highlights"] = highlights(report["groups"])
    elif by != "day":  # a department's row carries its bn/en labels (the cached settings read)
        report["groups"] = [{"key": key, **figures(groups[key]), **(
            {"labels": departments.labels(key)} if by == "department" else {})} for key in sorted(groups)]
    return report


def agent_rows(groups: dict[str, dict[str, float]],
               names: dict[str, str]) -> list[dict[str, Any]]:
    """by=agent rows, keyed by agent id (ag_...) with the display name and principal beside it,
    sorted by name. Rows written before `resolved` was counted per agent read `handled` for it:
    on an agent's row the two are the same count."""
    rows = []
    for principal, counters in groups.items():
        row = figures(counters)
        row["resolved"] = max(row["resolved"], row["handled"])
        ident = agents.agent_id(principal)
        rows.append({"key": ident, "agent_id": ident, "principal": principal,
                     "name": names.get(principal) or identities.plain_name(principal), **row})
    return sorted(rows, key=lambda r: (r["name"].casefold(), r["key"]))


def _agent_names() -> dict[str, str]:
    """principal -> display name: one Query of the agent directory."""
    return {a.name: a.display_name or identities.plain_name(a.name)
            for a in Agent.query("agent", limit=1000)}


def figures(counters: dict[str, float]) -> dict[str, Any]:
    """The report figures of summed counters."""
    c = {name: counters.get(name, 0) for name in COUNTERS}
    hist = {prefix: {int(name[len(prefix) + 2:]): int(n) for name, n in counters.items()
                     if name.startswith(f"{prefix}_h") and name[len(prefix) + 2:].isdigit()}
            for prefix in HISTOGRAMS}
    csat_count = int(c["csat_count"])
    return {
        "created": int(c["created"]), "first_responses": int(c["first_responses"]),
        "resolved": int(c["resolved"]), "reopened": int(c["reopened"]),
        "handled": int(c["handled"]), "contacts_in": int(c["contacts_in"]),
        "replies_out": int(c["replies_out"]),
        "breaches": {"total": int(c["breaches"]),
                     **{t: int(c[f"breach_{t}"]) for t in TARGETS}},
        "first_response": histograms.summary(hist["fr"], float(c["fr_sum"])),
        "resolution": histograms.summary(hist["res"], float(c["res_sum"])),
        "csat": {"count": csat_count,
                 "average": round(float(c["csat_sum"]) / csat_count, 2) if csat_count else None,
                 "distribution": {str(s): int(c[f"csat_{s}"]) for s in SCORES}},
    }


def backlog(item: dict[str, float], as_of: date) -> dict[str, Any]:
    """Open tickets now, by age (days since the day they were created)."""
    by_age = {name: 0 for name, _, _ in AGE_BUCKETS}
    for name, n in item.items():
        if not (name.startswith("d") and len(name) == 9 and name[1:].isdigit()) or not n:
            continue
        created = date(int(name[1:5]), int(name[5:7]), int(name[7:9]))
        age = (as_of - created).days
        for label, low, high in AGE_BUCKETS:
            if age >= low and (high is None or age < high) or (low == 0 and age < 0):
                by_age[label] += int(n)
                break
    return {"as_of": as_of.isoformat(), "open": sum(by_age.values()), "by_age": by_age}


def highlights(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """Fastest responder (lowest median first response), most contacts (replies out), most
    handled (tickets resolved)."""
    def best(rows, value, lowest=False):
        scored = [(value(r), r["key"], r.get("name")) for r in rows]
        scored = [(v, k, n) for v, k, n in scored if v is not None and (lowest or v > 0)]
        if not scored:
            return None
        v, key, name = min(scored, key=lambda s: (s[0] if lowest else -s[0], s[1]))
        return {"agent": key, "name": name, "value": v}

    return {
        "fastest_responder": best(groups, lambda r: r["first_response"]["median_seconds"]
                                  if r["first_response"]["count"] else None, lowest=True),
        "most_contacts": best(groups, lambda r: r["replies_out"]),
        "most_handled": best(groups, lambda r: r["handled"]),
    }


def _sum(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    out = dict(a)
    for name, n in b.items():
        out[name] = out.get(name, 0) + n
    return out


def _numbers(item: dict[str, dict]) -> dict[str, float]:
    out = {}
    for name, value in item.items():
        if name in ("pk", "sk") or "N" not in value:
            continue
        number = float(value["N"])
        out[name] = int(number) if number.is_integer() else number
    return out


def _batch_get(keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, float]]:
    """Items by (pk, sk); BatchGetItem, 100 keys a request, unprocessed keys retried."""

    table = config.settings().table("keys")
    client = aws.client("dynamodb")
    found: dict[tuple[str, str], dict[str, float]] = {}
    for n in range(0, len(keys), 100):
        request = {table: {"Keys": [{"pk": {"S": pk}, "sk": {"S": sk}}
                                    for pk, sk in keys[n:n + 100]]}}
        for attempt in range(8):
            response = client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                found[(item["pk"]["S"], item["sk"]["S"])] = _numbers(item)
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.05 * (attempt + 1))
    return found


def _query_day(pk: str) -> dict[str, dict[str, float]]:
    """Every dimension's item of one day (a Query; its pages follow each other)."""

    client = aws.client("dynamodb")
    params: dict[str, Any] = {"TableName": config.settings().table("keys"),
                              "KeyConditionExpression": "pk = :pk",
                              "ExpressionAttributeValues": {":pk": {"S": pk}}}
    out: dict[str, dict[str, float]] = {}
    while True:
        response = client.query(**params)
        for item in response.get("Items", []):
            out[item["sk"]["S"]] = _numbers(item)
        if not response.get("LastEvaluatedKey"):
            return out
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
