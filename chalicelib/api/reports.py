"""GET /api/reports: the report over a date range, JSON or CSV (lead or admin). A thin adapter
over services/reports/counters.py, which reads only the report's aggregate items (docs/reports.md).

GET /api/briefing (preview) and POST /api/briefing/send (send now): the daily briefing of a
department (admin: any; lead: their departments), over services/reports/briefing_send.py
(docs/timers.md#daily-briefing)."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api import auth
from chalicelib.api.http import ANY_CONTENT, handle_errors, iam, json_response
from chalicelib.api.schemas import Schemas
from chalicelib.errors import BadRequest, Forbidden
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
        "agent": {"type": "string", "description": "agent id"},
        "name": {"type": ["string", "null"]}, "value": {"type": "number"}}}

    who = {"type": ["object", "null"], "properties": {
        "id": {"type": "string"}, "principal": {"type": "string"}, "name": {"type": "string"}}}
    at = {"type": ["string", "null"], "format": "date-time"}
    briefing_line = {"type": "object", "properties": {
        "ticket_id": {"type": "string"}, "ref": {"type": "string"}, "subject": {"type": "string"},
        "priority": {"type": "string"}, "status": {"type": "string"}, "assignee": who,
        "what": {"type": "string", "description": "the most pressing reason"}, "at": at,
        "overdue": {"type": "boolean"}, "note": {"type": ["string", "null"]},
        "also": {"type": "array", "description": "the ticket's other reasons in this section",
                 "items": {"type": "object", "properties": {
                     "what": {"type": "string"}, "at": at, "overdue": {"type": "boolean"}}}}}}
    return {
        "BriefingPreview": {"type": "object", "required": [
            "department", "date", "kind", "counts", "sections", "subject", "text", "html"],
            "properties": {
            "department": {"type": "string"}, "date": {"type": "string", "format": "date"},
            "timezone": {"type": "string"}, "opens": at, "as_of": at,
            "scheduled": {"type": "boolean",
                          "description": "false on a day the department is closed"},
            "kind": {"enum": ["department", "agent"]}, "lang": {"enum": ["bn", "en"]},
            "counts": {"type": "object", "description": "tickets, each counted once (docs/timers.md)",
                       "additionalProperties": integer},
            "sections": {"type": "array", "items": {"type": "object", "properties": {
                "key": {"type": "string"}, "total": integer, "more": integer,
                "lines": {"type": "array", "items": briefing_line}}}},
            "workload": {"type": "array", "items": {"type": "object", "properties": {
                "agent": who, "active": integer, "breached": integer, "due_today": integer}}},
            "truncated": {"type": "boolean"}, "subject": {"type": "string"},
            "text": {"type": "string"}, "html": {"type": "string"},
            "deliveries": {"type": "array", "description": "the scheduled mails of that day",
                           "items": {"type": "object"}}}},
        "BriefingSend": {"type": "object", "required": ["department"],
                         "additionalProperties": False, "properties": {
            "department": {"type": "string", "pattern": NAME_PATTERN,
                           "description": "a department's name (GET /api/departments)"},
            "date": {"type": "string", "format": "date",
                     "description": "today (the department's local day); the default"},
            "to": {"type": "string", "pattern": "^ag_[0-9a-f]{20}$",
                   "description": "one agent (id); default: every recipient of the department"}}},
        "BriefingSent": {"type": "object", "required": ["department", "date", "sent", "skipped"],
                         "properties": {
            "department": {"type": "string"}, "date": {"type": "string", "format": "date"},
            "sent": {"type": "array", "items": who},
            "skipped": {"type": "array", "items": {"type": "object"}}}},
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
                            "properties": {
                                "key": {"type": "string", "description":
                                        "the department, the channel, or the agent's id"},
                                "agent_id": {"type": "string", "description": "by=agent"},
                                "labels": {"type": "object",
                                           "description": "by=department: bn/en labels"},
                                "principal": {"type": "string", "description": "by=agent"},
                                "name": {"type": "string",
                                         "description": "by=agent: display name"}}}]}},
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
    from chalicelib.services.reports import report_csv  # deferred: cold start

    return Response(body=report_csv.to_csv(report), status_code=200, headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}.csv"'})


def _scope(caller, department: Any) -> str:
    """The department the caller asked for, if they may: admin any, lead their own."""
    if not department:
        if caller.has_role("admin") or len(caller.departments) != 1:
            raise BadRequest("Which department?", {"department": "required"})
        department = next(iter(caller.departments))
    if not departments.is_department(department):
        raise BadRequest("Unknown department.",
                         {"department": departments.problem(department) or "unknown department"})
    if not caller.has_role("admin") and department not in caller.departments:
        raise Forbidden("A lead sees the briefing of their own departments only.")
    return department


def _day(text: Any):
    from datetime import date  # deferred: cold start

    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise BadRequest("Invalid date.", {"date": "a date, YYYY-MM-DD"}) from None


def _recipient(department: str, agent_id: Any):
    """The agent `agent_id` names, if they may receive the department's briefing."""
    from chalicelib.services.team import agents  # deferred: cold start

    agent = agents.find(agent_id)
    if not agent.active:
        raise BadRequest("That agent is deactivated.", {"agent": "an active agent"})
    if agent.role != "admin" and department not in (agent.departments or ()):
        raise BadRequest("That agent is not in the department.",
                         {"agent": f"a member of {department} or an admin"})
    return agent


@bp.route("/api/briefing", methods=["GET"], authorizer=iam)
@handle_errors
def preview_briefing():
    from chalicelib import clock  # deferred: cold start
    from chalicelib.services.reports import briefing_send  # deferred: cold start

    caller = auth.require(bp.current_request, "lead")
    params = bp.current_request.query_params or {}
    unknown = sorted(set(params) - {"department", "date", "agent", "lang"})
    if unknown:
        raise BadRequest("Unknown parameter.", {name: "unknown parameter" for name in unknown})
    department = _scope(caller, params.get("department"))
    if params.get("lang") not in (None, "", "bn", "en"):
        raise BadRequest("Invalid language.", {"lang": "bn or en"})
    agent = _recipient(department, params["agent"]) if params.get("agent") else None
    day = _day(params["date"]) if params.get("date") else briefing_send.local_day(
        department, clock.now())
    return json_response(briefing_send.preview(
        department, day, agent=agent, lang=params.get("lang") or "",
        viewer=(caller.principal, caller.display_name)))


@bp.route("/api/briefing/send", methods=["POST"], authorizer=iam, content_types=ANY_CONTENT)
@handle_errors
def send_briefing():
    from chalicelib import clock  # deferred: cold start
    from chalicelib.services.reports import briefing_send  # deferred: cold start

    caller = auth.require(bp.current_request, "lead")
    body = SCHEMAS.body(bp.current_request, "BriefingSend")
    department = _scope(caller, body["department"])
    now = clock.now()
    if body.get("date") and _day(body["date"]) != briefing_send.local_day(department, now):
        raise BadRequest("Only today's briefing can be sent.",
                         {"date": f"today: {briefing_send.local_day(department, now)}"})
    agent = _recipient(department, body["to"]) if body.get("to") else None
    return json_response(briefing_send.resend(department, actor=caller.principal, to=agent,
                                              now=now))


def openapi_section() -> dict[str, Any]:
    from chalicelib.api.openapi import AGENT_ERRORS, ok, request_body  # deferred: cold start
    from chalicelib.services.reports import counters as reports  # deferred: cold start

    def query(name: str, schema: dict[str, Any], description: str, required: bool = False):
        return {"name": name, "in": "query", "required": required, "schema": schema,
                "description": description}

    return {
        "paths": {
            "/api/briefing": {"get": {
                "summary": "Preview a department's daily briefing (lead: their departments; "
                           "admin: any): the sections, counts, rendered mail, and who got it",
                "security": [{"sigv4": []}],
                "parameters": [
                    query("department", {"type": "string", "pattern": NAME_PATTERN},
                          "required unless the lead has exactly one"),
                    query("date", {"type": "string", "format": "date"},
                          "today (default) or a later day, up to 31 days ahead"),
                    query("agent", {"type": "string", "pattern": "^ag_[0-9a-f]{20}$"},
                          "the digest this agent would get (default: the department digest)"),
                    query("lang", {"enum": ["bn", "en"]}, "default: the agent's, else en")],
                "responses": {"200": ok("BriefingPreview"), **AGENT_ERRORS}}},
            "/api/briefing/send": {"post": {
                "summary": "Send today's briefing now (lead: their departments; admin: any), to "
                           "one agent or every recipient; audited",
                "security": [{"sigv4": []}],
                "requestBody": request_body("BriefingSend"),
                "responses": {"200": ok("BriefingSent"), **AGENT_ERRORS}}},
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
