"""Reports end to end on the emulator: tickets made through the real paths (web form, replies,
status changes, a timer's breach, a CSAT rating), both streams pumped into `report_events`,
then GET /api/reports. Redelivered stream records change nothing."""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.db.models import Ticket
from chalicelib.services.team import agents
from chalicelib.services.reports import counters as reports
from chalicelib.services.reports import report_csv
from chalicelib.services.followup import satisfaction
from chalicelib.services.sla import timers
from infra.replay import lambda_stream_record
from local import stack as local_stack
from local.pump import Context
from tests.integration.helpers import ADMIN, Api, new_ticket

LEAD = "arn:aws:iam::123456789012:user/report-lead"
AGENT = "arn:aws:iam::123456789012:user/report-agent"


@pytest.fixture
def api(stack):
    agents.ensure_agent(LEAD, role="lead", display_name="Report Lead")
    agents.ensure_agent(AGENT, role="agent")
    return Api(stack.client)


def _range() -> str:
    today = reports.today()
    return f"from={today - timedelta(days=1)}&to={today + timedelta(days=1)}"


def _stream_records(stack, output: str) -> list[dict]:
    """Every record of a stream so far, in the shape Lambda (and the pump) delivers."""
    streams = local_stack.client("dynamodbstreams", stack.endpoint)
    arn = stack.outputs[output]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=100)
            records += [lambda_stream_record(r, arn) for r in page.get("Records", [])]
            iterator = page.get("NextShardIterator") if page.get("Records") else None
    return records


def _breach_first_response(ticket_id: str) -> None:
    """The first-response timer's warning, then its breach, as the timer queue delivers them."""
    ticket = Ticket.get(ticket_id)
    timer = ticket.timers.as_dict()["first_response"]
    payload = {"ticket_id": ticket_id, "ref": ticket.ref, "kind": "first_response",
               "generation": int(timer["generation"]), "due_at": timer["due_at"]}
    late = clock.parse_iso(timer["due_at"]) + timedelta(seconds=1)
    assert timers.fire(payload, now=late) == "warned"
    breach = {**payload, "generation": int(timer["generation"]) + 1}
    assert timers.fire(breach, now=late + timedelta(seconds=1)) == "breached"


def _work(api: Api, stack) -> dict[str, str]:
    assert api.put("/api/sla-policies/default", {"first_response": "PT1H"})[0] == 200  # 24x7
    one = new_ticket(api, email="one@example.com")
    two = new_ticket(api, email="two@example.com", department="billing")
    three = new_ticket(api, email="three@example.com")
    lead = api.as_principal(LEAD)
    assert api.post(f"/api/tickets/{one['id']}/replies", {"body": "On its way"})[0] == 201
    assert lead.post(f"/api/tickets/{two['id']}/replies", {"body": "Refunded"})[0] == 201
    assert lead.post(f"/api/tickets/{two['id']}/replies", {"body": "And again"})[0] == 201
    assert api.patch(f"/api/tickets/{one['id']}", {"status": "resolved"})[0] == 200
    assert lead.patch(f"/api/tickets/{two['id']}", {"status": "resolved"})[0] == 200
    assert lead.patch(f"/api/tickets/{two['id']}", {"status": "open"})[0] == 200  # reopened
    assert satisfaction.rate(one["id"], 5).outcome == "recorded"
    _breach_first_response(three["id"])
    stack.pump.drain()
    return {"one": one["id"], "two": two["id"], "three": three["id"]}


def test_report_figures_from_the_streams(api, stack):
    _work(api, stack)
    status, report = api.get(f"/api/reports?{_range()}")
    assert status == 200, report
    totals = report["totals"]
    assert (totals["created"], totals["first_responses"], totals["resolved"],
            totals["reopened"]) == (3, 2, 2, 1)
    assert totals["contacts_in"] == 3 and totals["replies_out"] == 3
    assert totals["breaches"] == {"total": 1, "first_response": 1, "next_reply": 0,
                                  "resolution": 0}
    assert totals["csat"] == {"count": 1, "average": 5.0,
                              "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}}
    fr = totals["first_response"]
    assert fr["count"] == 2 and fr["median_seconds"] is not None
    assert fr["median_seconds"] < 120 and fr["p90_seconds"] < 120  # answered within seconds
    assert totals["resolution"]["count"] == 2
    assert report["backlog"]["open"] == 2 and report["backlog"]["by_age"]["0-1d"] == 2
    assert sum(day["created"] for day in report["days"]) == 3 and len(report["days"]) == 3

    _, by_agent = api.get(f"/api/reports?{_range()}&by=agent")
    groups = {g["principal"]: g for g in by_agent["groups"]}
    assert groups[ADMIN]["key"] == groups[ADMIN]["agent_id"] == agents.agent_id(ADMIN)
    assert groups[ADMIN]["name"] == "Local admin" and groups[LEAD]["name"] == "Report Lead"
    assert groups[ADMIN]["first_responses"] == 1 and groups[ADMIN]["replies_out"] == 1
    assert groups[ADMIN]["handled"] == 1 and groups[ADMIN]["csat"]["count"] == 1
    assert groups[LEAD]["replies_out"] == 2 and groups[LEAD]["handled"] == 1
    # per agent, a resolution credited to them is resolved and handled, with its time
    for row in groups.values():
        assert row["resolved"] == row["handled"] == row["resolution"]["count"]
    # the totals are the sum of the agent rows for what is credited to agents
    agent_totals = by_agent["totals"]
    assert agent_totals["handled"] == sum(g["handled"] for g in groups.values()) == 2
    assert agent_totals["first_responses"] == sum(g["first_responses"] for g in groups.values())
    assert agent_totals["replies_out"] == sum(g["replies_out"] for g in groups.values())
    assert totals["handled"] == 2 <= totals["resolved"]
    assert by_agent["highlights"]["most_contacts"] == {
        "agent": agents.agent_id(LEAD), "name": "Report Lead", "value": 2}
    assert by_agent["highlights"]["fastest_responder"]["agent"] in (
        agents.agent_id(ADMIN), agents.agent_id(LEAD))

    _, by_dept = api.get(f"/api/reports?{_range()}&by=department")
    depts = {g["key"]: g for g in by_dept["groups"]}
    assert depts["general"]["created"] == 2 and depts["billing"]["created"] == 1
    assert depts["billing"]["labels"] == {"bn": "বিল ও পেমেন্ট", "en": "Billing"}
    assert depts["general"]["breaches"]["total"] == 1
    # contacts and replies count in their ticket's department too
    assert (depts["general"]["contacts_in"], depts["billing"]["contacts_in"]) == (2, 1)
    assert (depts["general"]["replies_out"], depts["billing"]["replies_out"]) == (1, 2)

    _, billing = api.get(f"/api/reports?{_range()}&department=billing")
    assert billing["totals"]["created"] == 1 and billing["totals"]["reopened"] == 1
    assert billing["backlog"]["open"] == 1

    _, by_channel = api.get(f"/api/reports?{_range()}&by=channel")
    channels = {g["key"]: g for g in by_channel["groups"]}
    # tickets by the channel they came in on; replies by the channel they went out on
    assert channels["web"]["created"] == 3 and channels["web"]["contacts_in"] == 3
    assert channels["email"]["replies_out"] == 3


def test_redelivered_records_change_nothing_and_a_failure_stops_the_batch(api, stack, monkeypatch):
    import app

    _work(api, stack)
    _, before = api.get(f"/api/reports?{_range()}&by=agent")
    records = {name: _stream_records(stack, name) for name in ("TicketsStreamArn", "TimelineStreamArn")}
    assert all(records.values())
    # the whole of both streams, again
    assert app.report_events({"Records": records["TicketsStreamArn"]},
                             Context("report_events")) == {"batchItemFailures": []}
    assert app.report_timeline({"Records": records["TimelineStreamArn"]},
                               Context("report_timeline")) == {"batchItemFailures": []}
    _, after = api.get(f"/api/reports?{_range()}&by=agent")
    assert after == before

    # a new ticket's records: the second fails, so the batch stops there and says so
    new_ticket(api, email="four@example.com")
    fresh = [r for r in _stream_records(stack, "TimelineStreamArn")
             if r not in records["TimelineStreamArn"] and r["eventName"] == "INSERT"
             and r["dynamodb"]["NewImage"].get("item_type", {}).get("S") == "message"]
    assert len(fresh) >= 2  # the customer's message and the acknowledgement
    contact = next(r for r in fresh if r["dynamodb"]["NewImage"]["direction"]["S"] == "in")
    real_apply = reports.apply_group
    calls = []

    def failing(deltas):
        calls.append([delta.marker for delta in deltas])
        if len(calls) == 1:
            raise RuntimeError("emulated throttling")
        return real_apply(deltas)

    monkeypatch.setattr(reports, "apply_group", failing)
    result = app.report_timeline({"Records": [contact, contact]}, Context("report_timeline"))
    assert result == {"batchItemFailures": [{"itemIdentifier": contact["dynamodb"]["SequenceNumber"]}]}
    assert len(calls) == 1 and len(calls[0]) == 1  # the same record once; stopped at the failure
    monkeypatch.setattr(reports, "apply_group", real_apply)
    for _ in range(2):  # the retry, and a redelivery of it
        assert app.report_timeline({"Records": [contact]}, Context("report_timeline")) == {
            "batchItemFailures": []}
    _, final = api.get(f"/api/reports?{_range()}")
    assert final["totals"]["contacts_in"] == before["totals"]["contacts_in"] + 1


def test_csv_export(api, stack):
    _work(api, stack)
    status, body, headers = api.call("GET", f"/api/reports?{_range()}&format=csv",
                                     content_type=None)
    assert status == 200
    assert headers["Content-Type"].startswith("text/csv")
    assert 'filename="setu-report-' in headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(_text(body))))
    days = [r for r in rows if r["row"] == "day"]
    total = next(r for r in rows if r["row"] == "total")
    assert len(days) == 3 and sum(int(r["created"]) for r in days) == 3
    assert total["created"] == "3" and total["csat_average"] == "5.0"
    assert total["backlog_open"] == "2"
    assert {r["key"] for r in rows if r["row"] == "backlog"} == {"0-1d", "1-3d", "3-7d",
                                                                 "7-30d", ">30d"}
    _, body, _ = api.call("GET", f"/api/reports?{_range()}&format=csv&by=agent", content_type=None)
    agents_rows = [r for r in csv.DictReader(io.StringIO(_text(body))) if r["row"] == "agent"]
    assert {r["key"] for r in agents_rows} == {agents.agent_id(ADMIN), agents.agent_id(LEAD)}
    assert {r["name"] for r in agents_rows} == {"Local admin", "Report Lead"}


def _text(body) -> str:
    return body.decode("utf-8") if isinstance(body, bytes) else body


def test_report_build_and_to_csv_for_the_cli(api, stack):
    _work(api, stack)
    today = reports.today()
    report = reports.build(today - timedelta(days=1), today + timedelta(days=1), None, "day")
    assert report["totals"]["created"] == 3
    json.dumps(report)  # JSON-able as it is
    assert report_csv.to_csv(report).splitlines()[0].startswith("row,key,created")


@pytest.mark.parametrize("query,field", [
    ("from=2026-01-01", "to"),
    ("from=2026-13-01&to=2026-01-02", "from"),
    ("from=2026-02-01&to=2026-01-31", "to"),
    ("from=2026-01-01&to=2026-04-03", "to"),  # 93 days
    ("from=2026-01-01&to=2026-01-02&by=week", "by"),
    ("from=2026-01-01&to=2026-01-02&format=xml", "format"),
    ("from=2026-01-01&to=2026-01-02&department=nowhere", "department"),
    ("from=2026-01-01&to=2026-01-02&department=billing&by=agent", "by"),
])
def test_bad_requests_are_400(api, query, field):
    status, body = api.get(f"/api/reports?{query}")
    assert status == 400, body
    assert field in body["error"]["fields"]


def test_an_unknown_parameter_is_422(api):  # as on every agent route (api/http.py)
    status, body = api.get("/api/reports?from=2026-01-01&to=2026-01-02&color=red")
    assert status == 422 and "color" in body["error"]["fields"]


def test_92_days_is_the_limit_and_empty_days_read_as_zero(api):
    status, report = api.get("/api/reports?from=2026-01-01&to=2026-04-02")
    assert status == 200 and len(report["days"]) == 92
    assert report["totals"]["created"] == 0 and report["totals"]["first_response"]["median_seconds"] is None


def test_only_leads_and_admins(api):
    assert api.as_principal(None).get(f"/api/reports?{_range()}")[0] == 401
    assert api.as_principal(AGENT).get(f"/api/reports?{_range()}")[0] == 403
    assert api.as_principal("arn:aws:iam::123456789012:user/stranger").get(
        f"/api/reports?{_range()}")[0] == 403
    assert api.as_principal(LEAD).get(f"/api/reports?{_range()}")[0] == 200


def test_a_batch_of_records_counts_in_a_few_transactions(api, stack):
    """The counters of a stream batch go in merged transactions (a marker per record, one ADD
    per counter item), count what the records say (six tickets created), and a redelivery of
    the whole batch adds nothing."""
    import app
    from chalicelib.integrations import aws

    for n in range(6):
        new_ticket(api, email=f"batch{n}@example.com")
    records = _stream_records(stack, "TicketsStreamArn")
    transactions = []
    client = aws.client("dynamodb")

    def count(**_):
        transactions.append(1)

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", count)
    try:
        assert app.report_events({"Records": records}, Context("report_events")) == {
            "batchItemFailures": []}
        first = len(transactions)
        _, report = api.get(f"/api/reports?{_range()}")
        assert app.report_events({"Records": records}, Context("report_events")) == {
            "batchItemFailures": []}  # redelivered: every marker is there
    finally:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", count)
    assert len(records) >= 6 and first <= 2  # one per group, not one per record
    assert report["totals"]["created"] == 6
    _, again = api.get(f"/api/reports?{_range()}")
    assert again == report


def test_a_batch_reads_its_tickets_departments_in_one_request(api, stack):
    """The per-department contact counts of a timeline batch need each ticket's department:
    one BatchGetItem for the batch, not a GetItem per message."""
    import app
    from bench.api_calls import CallCounter

    for n, department in enumerate(["billing", "general", "billing", "technical"]):
        new_ticket(api, email=f"dept{n}@example.com", department=department)
    records = _stream_records(stack, "TimelineStreamArn")
    counter = CallCounter()
    counter.install()
    try:
        with counter.counting() as calls:
            assert app.report_timeline({"Records": records}, Context("report_timeline")) == {
                "batchItemFailures": []}
    finally:
        counter.uninstall()
    assert calls["by_operation"].get("dynamodb:BatchGetItem") == 1, calls["operations"]
    assert "dynamodb:GetItem" not in calls["by_operation"], calls["operations"]
    _, by_dept = api.get(f"/api/reports?{_range()}&by=department")
    contacts = {g["key"]: g["contacts_in"] for g in by_dept["groups"]}
    assert (contacts.get("billing"), contacts.get("general"), contacts.get("technical")) == (2, 1, 1)


def test_a_failed_department_lookup_retries_from_the_first_message(api, stack, monkeypatch):
    import app
    from chalicelib.events import reports as report_events

    new_ticket(api, email="lookup@example.com", department="billing")
    records = _stream_records(stack, "TimelineStreamArn")
    first = next(n for n, r in enumerate(records) if r["eventName"] == "INSERT"
                 and r["dynamodb"]["NewImage"].get("direction", {}).get("S") == "in")
    real = report_events._departments

    def throttled(ticket_ids):
        raise RuntimeError("emulated throttling")

    monkeypatch.setattr(report_events, "_departments", throttled)
    assert app.report_timeline({"Records": records}, Context("report_timeline")) == {
        "batchItemFailures": [{"itemIdentifier": records[first]["dynamodb"]["SequenceNumber"]}]}
    monkeypatch.setattr(report_events, "_departments", real)
    # the event source retries from that record on
    assert app.report_timeline({"Records": records[first:]}, Context("report_timeline")) == {
        "batchItemFailures": []}
    _, billing = api.get(f"/api/reports?{_range()}&department=billing")
    assert billing["totals"]["contacts_in"] == 1
