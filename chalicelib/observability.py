"""Structured logs with correlation, and metrics, for every handler.

- Logs: the `setu` logger tree (Chalice's app.log and every `setu.*` module logger) writes one
  JSON object per line through aws-lambda-powertools' formatter, with `correlation_id` (the API
  request id, SNS or SQS message id, stream event id) and `ticket_id` (once a service names the
  ticket it works on) on every line, so one CloudWatch Logs Insights query follows a contact
  through API, streams and timers.
- Metrics: CloudWatch Embedded Metric Format lines (namespace `Setu`), written directly (two
  dimension sets per line, which powertools' `single_metric` cannot do): TicketsCreated{channel}, MessagesSent{channel}, MessagesFailed{channel},
  SlaBreached{target}, EventsRejected{source}. The template's dashboard and alarms read them.

Log lines never carry an email address, phone number or message text: log ids, and
`fingerprint` an address or `scrub` a reason or exception text that may hold one
(tests/integration/test_log_privacy.py greps a whole flow's logs).

Nothing here runs at import: powertools is imported on the first invocation (cold start).
"""
from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import os
import re
import time
from typing import Any, Callable

NAMESPACE = "Setu"
_correlation: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation", default=None)
_ticket: contextvars.ContextVar[str | None] = contextvars.ContextVar("ticket", default=None)
_configured = False


class _Context(logging.Filter):
    """Puts the invocation's ids on every record (the formatter prints record extras)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = _correlation.get()
        record.ticket_id = _ticket.get()
        return True


def configure(logger: logging.Logger) -> None:
    """JSON lines for `logger` (Chalice's app.log, named like the app) and its children."""
    global _configured
    if _configured:
        return
    from aws_lambda_powertools.logging.formatter import (  # deferred: cold start
        LambdaPowertoolsFormatter)

    if not logger.handlers:
        logger.addHandler(logging.StreamHandler())
    for handler in logger.handlers:
        handler.setFormatter(LambdaPowertoolsFormatter(service=logger.name))
        handler.addFilter(_Context())
    _configured = True


def middleware(app_logger: logging.Logger) -> Callable[[Any, Callable[[Any], Any]], Any]:
    """Chalice middleware for every event type: fresh ids per invocation."""
    def observe(event: Any, get_response: Callable[[Any], Any]) -> Any:
        configure(app_logger)
        tokens = (_correlation.set(correlation_id(event)), _ticket.set(None))
        try:
            return get_response(event)
        finally:
            _correlation.reset(tokens[0])
            _ticket.reset(tokens[1])
    return observe


def correlation_id(event: Any) -> str | None:
    """The id the provider gave this invocation's input."""
    context = getattr(event, "context", None)
    if isinstance(context, dict) and context.get("requestId"):  # API Gateway
        return str(context["requestId"])
    raw = event.to_dict() if hasattr(event, "to_dict") else {}
    records = raw.get("Records") if isinstance(raw, dict) else None
    if isinstance(records, list) and records and isinstance(records[0], dict):
        first = records[0]
        return str((first.get("Sns") or {}).get("MessageId") or first.get("messageId")
                   or first.get("eventID") or "") or None
    return str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") else None


_ADDRESS = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")
_NUMBER = re.compile(r"(?<![\w.-])\+?\d(?:[\s-]?\d){6,24}(?![\w-])")


def fingerprint(value: str | None) -> str:
    """What a log line says instead of an email address or phone number: a short unkeyed
    SHA-256 prefix (`h:1a2b3c4d5e6f`), the same for the same value, so lines can be matched
    without carrying the address (docs/security.md, "Data protection")."""
    if not value:
        return "-"
    return "h:" + hashlib.sha256(value.strip().casefold().encode()).hexdigest()[:12]


def scrub(text: object) -> str:
    """`text` (a reason, an exception) with every email address and phone number in it
    replaced by its fingerprint: for log lines only."""
    out = _ADDRESS.sub(lambda m: fingerprint(m.group(0)), str(text))
    return _NUMBER.sub(lambda m: fingerprint(re.sub(r"[\s-]", "", m.group(0))), out)


def bind_ticket(ticket_id: str | None) -> None:
    """Name the ticket this invocation works on, for every later log line (None: no ticket,
    e.g. at the next record of a batch)."""
    _ticket.set(ticket_id or None)


def count(name: str, **dimensions: str) -> None:
    """One EMF line: `name` += 1, by these dimensions and, for alarms, by service alone
    (a CloudWatch alarm matches a metric's exact dimension set). SETU_METRICS=off: silent."""
    if os.environ.get("SETU_METRICS", "on") == "off":
        return
    dims = {"service": os.environ.get("POWERTOOLS_SERVICE_NAME") or "setu",
            **{key: str(value or "none")[:250] for key, value in dimensions.items()}}
    spec = {"Namespace": NAMESPACE, "Dimensions": [sorted(dims), ["service"]],
            "Metrics": [{"Name": name, "Unit": "Count"}]}
    line = {"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [spec]},
            **dims, name: 1}
    # stdout, not the logger: Lambda ships it to CloudWatch Logs, which extracts the metric
    print(json.dumps(line, ensure_ascii=False), flush=True)
