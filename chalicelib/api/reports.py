"""GET /api/reports: the report over a date range, JSON or CSV (lead or admin). A thin adapter
over services/reports/counters.py, which reads only the report's aggregate items (docs/reports.md)."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api import auth
from chalicelib.api.http import handle_errors, iam, json_response
from chalicelib.api.schemas import Schemas
from chalicelib.errors import BadRequest
from chalicelib.services.team import departments
from chalicelib.services.team.departments import NAME_PATTERN

bp = Blueprint(__name__)
FORMATS = ("json", "csv")


def _schemas() -> dict[str, Any]:
    from chalicelib.services.reports import counters as reports  # deferred: cold start
    from chalicelib.services.reports import histograms  # deferred: cold start

    integer = {"type": "integer"}
    seconds = {"type": ["number", "null"], "description": "business seconds"}
    hours = {"type": ["number", "null"], "description": "business hours"}
    duration = {"type": "object", "required": ["count", "median_seconds", "p90_seconds"],
                "description": "Business time (the ticket's calendar). Median and p90 come from a "
                               "log-scale histogram: within "
                               f"{histograms.RELATIVE_ERROR:.2%} of the exact nearest-rank value "
                               "(0.5 s under one second)",
                "properties": {"count": integer, "median_seconds": seconds, "p90_seconds": seconds,
                               "median_hours": hours, "p90_hours": hours,
                               "mean_seconds": seconds, "mean_hours": hours}}
    figures = {
        "created": integer, "first_responses": integer, "resolved": integer,
        "reopened": integer, "handled": integer, "contacts_in": integer, "replies_out": integer,
        "breaches": {"type": "object", "properties": {
            "total": integer, **{t: integer for t in reports.TARGETS}}},
        "first_response": duration, "resolution": duration,
        "csat": {"type": "object", "properties": {
            "count": integer, "average": {"type": ["number", "null"]},
            "distribution": {"type": "object", "properties": {
                str(s): integer for s in reports.SCORES}}}},
    }
    figure_keys = list(figures)
    highlight = {"type": ["object", "null"], "properties": {
        "agent": {"type": "string"}, "value": {"type": "number"}}}

    return {
        "ReportFigures": {"type": "object", "required": figure_keys, "properties": figures},
        "Report": {"type": "object", "required": [
            "from", "to", "by", "timezone", "totals", "days", "backlog"], "properties": {
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "department": {"type": ["string", "null"]},
            "by": {"enum": list(reports.BY)},
            "timezone": {"type": "string", "description": "the zone the days are days in"},
            "totals": {"$ref": "#/components/schemas/ReportFigures"},
            "days": {"type": "array", "items": {"allOf": [
                {"$ref": "#/components/schemas/ReportFigures"},
                {"type": "object", "required": ["date"],
                 "properties": {"date": {"type": "string", "format": "date"}}}]}},
            "groups": {"type": "array", "description": "by=agent|department|channel",
                       "items": {"allOf": [
                           {"$ref": "#/components/schemas/ReportFigures"},
                           {"type": "object", "required": ["key"],
                            "properties": {"key": {"type": "string"}}}]}},
            "highlights": {"type": "object", "description": "by=agent", "properties": {
                "fastest_responder": highlight, "most_contacts": highlight,
                "most_handled": highlight}},
            "backlog": {"type": "object", "description": "open tickets now, by age",
                        "properties": {
                "as_of": {"type": "string", "format": "date"}, "open": integer,
                "by_age": {"type": "object", "properties": {
                    label: integer for label, _, _ in reports.AGE_BUCKETS}}}}}},
    }


SCHEMAS = Schemas(_schemas)


@bp.route("/api/reports", methods=["GET"], authorizer=iam)
@handle_errors
def get_report():
    from chalicelib.services.reports import counters as reports  # deferred: cold start

    auth.require(bp.current_request, "lead")
    params = bp.current_request.query_params or {}
    unknown = sorted(set(params) - {"from", "to", "department", "format", "by"})
    if unknown:
        raise BadRequest("Unknown parameter.", {name: "unknown parameter" for name in unknown})
    start, end = reports.parse_range(params.get("from"), params.get("to"))
    department = params.get("department") or None
    if department is not None and not departments.known(department):
        raise BadRequest("Unknown department.",
                         {"department": departments.problem(department) or "unknown department"})
    by = params.get("by") or "day"
    if by not in reports.BY:
        raise BadRequest("Invalid grouping.", {"by": f"one of: {', '.join(reports.BY)}"})
    form = params.get("format") or "json"
    if form not in FORMATS:
        raise BadRequest("Invalid format.", {"format": "json or csv"})
    report = reports.build(start, end, department, by)
    if form == "json":
        return json_response(report)
    name = f"setu-report-{start.isoformat()}-{end.isoformat()}"
    name += f"-{department}" if department else ""
    name += f"-by-{by}" if by != "day" else ""
    return Response(body=reports.to_csv(report), status_code=200, headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}.csv"'})


def openapi_section() -> dict[str, Any]:
    from chalicelib.api.openapi import AGENT_ERRORS, ok  # deferred: cold start
    from chalicelib.services.reports import counters as reports  # deferred: cold start

    def query(name: str, schema: dict[str, Any], description: str, required: bool = False):
        return {"name": name, "in": "query", "required": required, "schema": schema,
                "description": description}

    return {
        "paths": {
            "/api/reports": {"get": {
                "summary": "Response and resolution times, breaches, backlog, CSAT, per day, "
                           "agent, department or channel (lead or admin); JSON or CSV",
                "security": [{"sigv4": []}],
                "parameters": [
                    query("from", {"type": "string", "format": "date"}, "first day", True),
                    query("to", {"type": "string", "format": "date"},
                          f"last day (included); at most {reports.MAX_DAYS} days", True),
                    query("department", {"type": "string", "pattern": NAME_PATTERN},
                          "only this department's figures (by=day only)"),
                    query("by", {"enum": list(reports.BY)}, "groups beside the days"),
                    query("format", {"enum": list(FORMATS)}, "json (default) or csv")],
                "responses": {
                    "200": {**ok("Report"), "content": {
                        **ok("Report")["content"],
                        "text/csv": {"schema": {"type": "string"}}}},
                    **AGENT_ERRORS}}},
        },
    }
