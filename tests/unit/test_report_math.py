"""Histogram percentiles (services/reports/histograms.py) against exact ones, and the report deltas of
ticket saves (services/reports/counters.py, pure parts)."""
from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from chalicelib.services.sla import calendars
from chalicelib.services.reports import histograms
from chalicelib.services.reports import counters as reports
from chalicelib.services.reports import report_csv

QS = (0.5, 0.9, 0.99, 1.0)


def exact_percentile(durations: list[float], q: float) -> float | None:
    """The nearest-rank quantile from the durations themselves: what the histogram
    approximates."""
    ordered = sorted(durations)
    if not ordered:
        return None
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]



def test_bucket_edges_hold_their_values():
    for index in range(1, 200):
        low, high = histograms.lower(index), histograms.upper(index)
        assert histograms.bucket(low) == index
        assert histograms.bucket(math.nextafter(high, 0)) == index
        assert low <= histograms.middle(index) < high
    assert histograms.bucket(0) == 0 and histograms.bucket(0.999) == 0
    assert histograms.bucket(-5) == 0 and histograms.bucket(float("nan")) == 0
    assert histograms.bucket(1e30) == histograms.MAX_BUCKET


@pytest.mark.parametrize("seed", range(20))
def test_percentiles_within_the_documented_bound(seed):
    rng = random.Random(seed)
    # lognormal business durations: seconds to weeks, and a few exact zeros
    durations = [0.0] * rng.randint(0, 3) + [
        rng.lognormvariate(rng.uniform(3, 11), rng.uniform(0.3, 2.5))
        for _ in range(rng.randint(1, 3000))]
    counts = histograms.histogram(durations)
    for q in QS:
        exact = exact_percentile(durations, q)
        reported = histograms.percentile(counts, q)
        assert histograms.within_bound(reported, exact), (q, reported, exact)


def test_the_bound_is_tight_enough_to_fail():
    """A value at a bucket's lower edge is reported 4.4% high: within the bound, and a bound
    a little smaller would not hold (so the test above can fail)."""
    value = histograms.lower(100)
    reported = histograms.percentile(histograms.histogram([value]), 0.5)
    assert histograms.within_bound(reported, value)
    assert abs(reported - value) > 0.04 * value
    assert histograms.RELATIVE_ERROR == pytest.approx(0.0443, abs=1e-4)


def test_merge_equals_the_histogram_of_all():
    rng = random.Random(7)
    days = [[rng.expovariate(1 / 3600) for _ in range(rng.randint(0, 500))] for _ in range(30)]
    merged = histograms.merge(*(histograms.histogram(d) for d in days))
    assert merged == histograms.histogram([x for d in days for x in d])
    everything = [x for d in days for x in d]
    for q in QS:
        assert histograms.within_bound(histograms.percentile(merged, q),
                                        exact_percentile(everything, q))


def test_empty_and_single():
    assert histograms.percentile({}, 0.5) is None
    assert histograms.summary({})["median_seconds"] is None
    one = histograms.summary(histograms.histogram([3600]), 3600)
    assert one["count"] == 1 and one["mean_seconds"] == 3600
    assert abs(one["median_hours"] - 1) <= 0.05
    with pytest.raises(ValueError):
        histograms.percentile({1: 1}, 0)


# ---- ticket deltas --------------------------------------------------------------------------

T0 = datetime(2026, 11, 2, 4, 0, tzinfo=timezone.utc)  # Monday 10:00 in Dhaka


def image(**fields):
    base = dict(status="new", department="billing", channel="web", assignee=None,
                created_at=T0, updated_at=T0, first_response_at=None, resolved_at=None,
                sla={}, version=1)
    base.update(fields)
    return SimpleNamespace(**base)


def always(_ticket):
    return calendars.ALWAYS


def adds(delta, pk, sk):
    return delta.adds.get((pk, sk), {})


def test_created_counts_on_every_dimension_and_opens_the_backlog():
    delta = reports.ticket_delta(None, image(), "m", always)
    day = reports.day_pk(date(2026, 11, 2))
    for sk in ("all", "dept#billing", "channel#web"):
        assert adds(delta, day, sk) == {"created": 1}
    assert adds(delta, reports.BACKLOG_PK, "all") == {"d20261102": 1}
    assert adds(delta, reports.BACKLOG_PK, "dept#billing") == {"d20261102": 1}


def test_first_response_time_in_business_seconds_to_the_responder():
    old = image()
    answered = T0 + timedelta(minutes=90)
    new = image(status="open", first_response_at=answered, updated_at=answered, version=2,
                sla={"first_response_by": "arn:agent-a"})
    delta = reports.ticket_delta(old, new, "m", always)
    day = reports.day_pk(date(2026, 11, 2))
    bucket = histograms.bucket(5400)
    for sk in ("all", "dept#billing", "channel#web", "agent#arn:agent-a"):
        assert adds(delta, day, sk) == {"first_responses": 1, "fr_sum": 5400, f"fr_h{bucket}": 1}
    assert not adds(delta, reports.BACKLOG_PK, "all")  # still open: no change


def test_business_calendar_excludes_closed_hours():
    dhaka = calendars.BUILTIN["default"]
    old = image()
    answered = T0 + timedelta(days=1)  # 24 wall hours, one business day of 8.5 hours
    new = image(first_response_at=answered, updated_at=answered, version=2)
    delta = reports.ticket_delta(old, new, "m", lambda _t: dhaka)
    fr = adds(delta, reports.day_pk(date(2026, 11, 3)), "all")
    assert fr["fr_sum"] == dhaka.between(T0, answered).total_seconds() < 24 * 3600


def test_resolution_reopen_breach_and_csat():
    open_ = image(status="open", assignee="arn:agent-b", version=3)
    done_at = T0 + timedelta(hours=5)
    resolved = image(status="resolved", assignee="arn:agent-b", resolved_at=done_at,
                     updated_at=done_at, version=4)
    delta = reports.ticket_delta(open_, resolved, "m", always)
    day = reports.day_pk(date(2026, 11, 2))
    assert adds(delta, day, "all")["resolved"] == 1
    assert adds(delta, day, "all")["res_sum"] == 5 * 3600
    assert adds(delta, day, "agent#arn:agent-b")["handled"] == 1
    assert adds(delta, reports.BACKLOG_PK, "all") == {"d20261102": -1}

    reopened = image(status="open", assignee="arn:agent-b", updated_at=done_at, version=5)
    delta = reports.ticket_delta(resolved, reopened, "m", always)
    assert adds(delta, day, "all") == {"reopened": 1}
    assert adds(delta, reports.BACKLOG_PK, "all") == {"d20261102": 1}

    breached = image(status="open", assignee="arn:agent-b", version=6,
                     sla={"breached": ["first_response"]})
    delta = reports.ticket_delta(reopened, breached, "m", always)
    assert adds(delta, day, "all") == {"breaches": 1, "breach_first_response": 1}
    assert adds(delta, day, "agent#arn:agent-b") == {"breaches": 1, "breach_first_response": 1}
    again = image(status="open", version=7, sla={"breached": ["first_response"]})
    assert reports.ticket_delta(breached, again, "m", always).empty  # no new breach

    rated = image(status="resolved", resolved_at=done_at, version=8,
                  sla={"csat": {"score": 4, "at": "2026-11-03T05:00:00.000Z"}})
    before = image(status="resolved", resolved_at=done_at, version=7)
    delta = reports.ticket_delta(before, rated, "m", always)
    assert adds(delta, reports.day_pk(date(2026, 11, 3)), "all") == {
        "csat_count": 1, "csat_sum": 4, "csat_4": 1}


def test_a_merge_closes_without_a_resolution_and_copies_count_nothing():
    old = image(status="open", merged_into=None)
    new = image(status="closed", merged_into="t_other", resolved_at=T0, version=2)
    delta = reports.ticket_delta(old, new, "m", always)
    assert delta.adds == {(reports.BACKLOG_PK, "all"): {"d20261102": -1},
                          (reports.BACKLOG_PK, "dept#billing"): {"d20261102": -1}}
    message = SimpleNamespace(item_type="message", direction="in", status="received",
                              channel="web", kind="message", sender="x", at=T0, origin=None)
    assert adds(reports.timeline_delta(message, "m"), reports.day_pk(date(2026, 11, 2)),
                "all") == {"contacts_in": 1}
    copy = SimpleNamespace(**{**vars(message), "origin": {"ticket": "t_1", "via": "merge"}})
    assert reports.timeline_delta(copy, "m").empty


def test_department_change_moves_the_backlog():
    old = image(status="open", department="billing")
    new = image(status="open", department="sales", version=2)
    delta = reports.ticket_delta(old, new, "m", always)
    assert adds(delta, reports.BACKLOG_PK, "dept#billing") == {"d20261102": -1}
    assert adds(delta, reports.BACKLOG_PK, "dept#sales") == {"d20261102": 1}
    assert not adds(delta, reports.BACKLOG_PK, "all")


def test_backlog_by_age():
    # ages in days: 0, 1, 3, 13, 32, 670; a day whose tickets all closed counts nothing
    item = {"d20261102": 2, "d20261101": 1, "d20261030": 1, "d20261020": 3, "d20261001": 1,
            "d20250101": 4, "d20261103": 0}
    out = reports.backlog(item, date(2026, 11, 2))
    assert out["by_age"] == {"0-1d": 2, "1-3d": 1, "3-7d": 1, "7-30d": 3, ">30d": 5}
    assert out["open"] == 12


def test_figures_and_csv_columns_agree():
    report = {"from": "2026-11-01", "to": "2026-11-01", "by": "day",
              "totals": reports.figures({}), "days": [{"date": "2026-11-01", **reports.figures({})}],
              "backlog": reports.backlog({}, date(2026, 11, 1))}
    import csv
    import io

    rows = list(csv.reader(io.StringIO(report_csv.to_csv(report))))
    assert rows[0] == list(report_csv.CSV_COLUMNS)
    assert all(len(row) == len(rows[0]) for row in rows)
    assert [row[0] for row in rows[1:]] == ["day", "total"] + ["backlog"] * 5


def test_csv_cells_never_start_a_formula():
    report = {"from": "2026-11-01", "to": "2026-11-01", "by": "agent",
              "totals": reports.figures({}), "days": [],
              "groups": [{"key": "ag_1", "name": name, **reports.figures({})}
                         for name in ("=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)",
                                      "\tTab", "Karim")],
              "backlog": reports.backlog({}, date(2026, 11, 1))}
    import csv
    import io

    rows = list(csv.reader(io.StringIO(report_csv.to_csv(report))))
    names = [row[-1] for row in rows if row[0] == "agent"]
    assert names == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2+3", "'@SUM(A1)", "'\tTab", "Karim"]
    assert all(not cell.startswith(report_csv.FORMULA_START) for row in rows[1:] for cell in row
               if cell and not cell.lstrip("-").replace(".", "", 1).isdigit()), rows


def test_range_limits():
    assert reports.parse_range("2026-01-01", "2026-04-02") == (date(2026, 1, 1), date(2026, 4, 2))
    from chalicelib.errors import BadRequest

    for start, end in (("2026-01-01", "2026-04-03"), ("2026-02-01", "2026-01-31"),
                       ("2026-02-30", "2026-03-01"), (None, "2026-01-01")):
        with pytest.raises(BadRequest):
            reports.parse_range(start, end)


# ---- the consumers' IAM policies: what they need and no more -------------------------------

KEYS = "arn:aws:dynamodb:us-east-1:123456789012:table/setu-dev-keys"
STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/setu-dev-{}/stream/2026-01-01T00:00:00.000"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/setu-dev-{}"


@pytest.mark.parametrize("function,stream,other", [("report_events", "tickets", "timeline"),
                                                   ("report_timeline", "timeline", "tickets")])
def test_report_consumers_are_least_privilege(function, stream, other):
    from tests.unit.test_infra import _allowed

    for action in ("GetRecords", "GetShardIterator", "DescribeStream"):
        assert _allowed("dev", function, f"dynamodb:{action}", STREAM.format(stream))
        assert not _allowed("dev", function, f"dynamodb:{action}", STREAM.format(other))
    for action in ("PutItem", "UpdateItem"):  # TransactWriteItems: the marker and the ADDs
        assert _allowed("dev", function, f"dynamodb:{action}", KEYS)
        assert not _allowed("dev", function, f"dynamodb:{action}", TABLE.format("tickets"))
    assert not _allowed("dev", function, "dynamodb:DeleteItem", KEYS)
    assert not _allowed("dev", function, "dynamodb:UpdateItem", KEYS.replace("-dev-", "-prod-"))
    # business time needs the ticket's calendar (settings, cached); messages need nothing else
    assert _allowed("dev", function, "dynamodb:GetItem", TABLE.format("settings")) == (
        function == "report_events")


def test_a_batch_of_deltas_goes_in_as_few_transactions_as_fit():
    from chalicelib.services.reports.counters import MAX_WRITES, Delta, batches

    def delta(marker, *items):
        d = Delta(marker=marker)
        for pk, sk in items:
            d.add(pk, sk, "created")
        return d

    day = ("report#2026-11-23", "_")
    # a hundred records counting into the same day: one group (100 markers would not fit
    # with the day's item, so 99 and 1)
    same_day = [delta(f"m{n}", day) for n in range(100)]
    assert [len(g) for g in batches(same_day)] == [MAX_WRITES - 1, 1]
    # the same record twice, and one that counts nothing, are left out
    assert batches([delta("a", day), delta("a", day), Delta(marker="b"), delta("c", day)]) == [[0, 3]]
    # records touching many items each: a group closes before the writes pass the limit
    wide = [delta(f"w{n}", *[(f"report#d{n}", f"s{k}") for k in range(30)]) for n in range(5)]
    groups = batches(wide)
    assert [len(g) for g in groups] == [3, 2]
    assert all(len(g) + 30 * len(g) <= MAX_WRITES for g in groups)
    assert [n for g in groups for n in g] == list(range(5))  # stream order kept


# ---- identities: each figure defined once, the rows add up ---------------------------------

AGENTS = ("arn:agent-a", "arn:agent-b", "arn:agent-c")


def _lifecycles(seed: int, n: int = 200) -> list[tuple]:
    """(old, new) image pairs of n tickets living random lives: created, answered by someone,
    assigned or not, breached, resolved (by nobody too: an auto-close), reopened, rated."""
    rng = random.Random(seed)
    pairs = []
    for i in range(n):
        at = T0 + timedelta(hours=rng.randint(0, 200))
        t = image(department=rng.choice(["billing", "sales"]), channel=rng.choice(["web", "sms"]),
                  created_at=at, updated_at=at, version=1)
        pairs.append((None, t))

        def step(**changes):
            nonlocal t
            new = SimpleNamespace(**{**vars(t), **changes, "version": t.version + 1})
            pairs.append((t, new))
            t = new

        at += timedelta(minutes=rng.randint(1, 3000))
        if rng.random() < 0.8:
            step(status="open", first_response_at=at, updated_at=at,
                 sla={**t.sla, "first_response_by": rng.choice(AGENTS)})
        if rng.random() < 0.6:
            step(assignee=rng.choice(AGENTS))
        if rng.random() < 0.3:
            step(sla={**t.sla, "breached": ["resolution"]})
        for _ in range(rng.randint(0, 2)):
            at += timedelta(minutes=rng.randint(1, 3000))
            step(status="resolved", resolved_at=at, updated_at=at)
            if rng.random() < 0.3:
                step(sla={**t.sla, "csat": {"score": rng.randint(1, 5), "at": None}})
            if rng.random() < 0.4:
                at += timedelta(minutes=5)
                step(status="open", updated_at=at)
    return pairs


def _summed(pairs) -> dict[tuple[str, str], dict[str, float]]:
    items: dict[tuple[str, str], dict[str, float]] = {}
    for n, (old, new) in enumerate(pairs):
        for key, amounts in reports.ticket_delta(old, new, f"m{n}", always).adds.items():
            for name, amount in amounts.items():
                items.setdefault(key, {})[name] = items.setdefault(key, {}).get(name, 0) + amount
    return items


def _rows(items, prefix: str) -> dict[str, dict]:
    """Summed over every day: dimension -> figures."""
    out: dict[str, dict[str, float]] = {}
    for (pk, sk), amounts in items.items():
        if pk == reports.BACKLOG_PK or not (sk == prefix or sk.startswith(prefix)):
            continue
        out[sk] = reports._sum(out.get(sk, {}), amounts)
    return {sk: reports.figures(counters) for sk, counters in out.items()}


@pytest.mark.parametrize("seed", range(4))
def test_agent_rows_add_up_to_the_totals_where_that_is_the_definition(seed):
    items = _summed(_lifecycles(seed))
    (total,) = _rows(items, "all").values()
    agents = _rows(items, "agent#")
    departments = _rows(items, "dept#")
    channels = _rows(items, "channel#")
    assert total["resolved"] > 0 and total["handled"] > 0  # the data exercises both
    # per agent: a resolution credited to them is resolved and handled, with its time
    for row in agents.values():
        assert row["resolved"] == row["handled"] == row["resolution"]["count"]
        assert row["first_responses"] == row["first_response"]["count"]
    # totals: every resolution has a time; handled = the resolutions some agent owned
    assert total["resolution"]["count"] == total["resolved"]
    assert total["first_response"]["count"] == total["first_responses"]
    assert sum(r["handled"] for r in agents.values()) == total["handled"] <= total["resolved"]
    assert sum(r["resolved"] for r in agents.values()) == total["handled"]
    assert sum(r["first_responses"] for r in agents.values()) == total["first_responses"]
    assert sum(r["breaches"]["total"] for r in agents.values()) <= total["breaches"]["total"]
    assert sum(r["csat"]["count"] for r in agents.values()) <= total["csat"]["count"]
    # departments and channels partition the totals
    for rows in (departments, channels):
        for figure in ("created", "first_responses", "resolved", "handled", "reopened"):
            assert sum(r[figure] for r in rows.values()) == total[figure], figure


def test_an_unowned_resolution_is_resolved_but_not_handled():
    open_ = image(status="open", version=2)
    closed = image(status="closed", resolved_at=T0 + timedelta(days=5), version=3)
    delta = reports.ticket_delta(open_, closed, "m", always)
    day = reports.day_pk(date(2026, 11, 7))
    assert adds(delta, day, "all")["resolved"] == 1 and "handled" not in adds(delta, day, "all")
    assert not [key for key in delta.adds if key[1].startswith("agent#")]


def test_agent_rows_carry_id_and_name_and_old_rows_read_handled_as_resolved():
    from chalicelib.services.team import agents

    groups = {"arn:aws:iam::1:user/nusrat": {"handled": 2, "res_sum": 10, "res_h5": 2},
              "arn:aws:iam::1:user/karim": {"handled": 1, "resolved": 1, "res_h5": 1}}
    rows = reports.agent_rows(groups, {"arn:aws:iam::1:user/nusrat": "Nusrat Jahan"})
    assert [(r["name"], r["resolved"], r["handled"]) for r in rows] == [
        ("karim", 1, 1), ("Nusrat Jahan", 2, 2)]
    assert rows[1]["key"] == rows[1]["agent_id"] == agents.agent_id("arn:aws:iam::1:user/nusrat")
    assert rows[1]["principal"] == "arn:aws:iam::1:user/nusrat"
    best = reports.highlights(rows)["most_handled"]
    assert best == {"agent": rows[1]["key"], "name": "Nusrat Jahan", "value": 2}
