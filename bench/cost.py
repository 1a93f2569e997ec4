"""(f) Cost model: what 10,000 tickets a month cost on AWS, from measured AWS calls.

Measured here (docs/cost.md explains the model): every AWS call each step of a ticket's life
makes, counted in-process with a botocore hook (pynamodb's client included) against the emulator
with the template deployed, the way bench/api_calls.py counts them, and priced:

* DynamoDB request units computed the way on-demand bills them from each call's own items (the
  emulator's ConsumedCapacity is a placeholder): item size by DynamoDB's rules; writes 1 WRU
  per 1 KB, 2 in a transaction; reads 1 RRU per 4 KB strongly consistent, half that eventually
  consistent; plus a write per global secondary index the item is in (all Setu's indexes
  project ALL);
* SES sends, SMS sends (message parts from the text actually sent: GSM-7 160/153, UCS-2 70/67
  characters), Step Functions executions started, S3, SQS and SNS calls, as made;
* Lambda invocations and API Gateway requests: one per request or event handled.

Steps measured: web-form create, inbound email (new, reply), inbound SMS (new, follow-up), agent
reply (email, SMS), an agent opening a ticket and a queue page, resolving a ticket, each followed
by the stream deliveries its writes cause (acknowledgement send, timers). A timer fire is priced
from the calls section's measured count when that ran in the same `make bench`.

Assumed, and stated in the output and docs/cost.md: the ticket mix (channels, follow-ups, replies,
views), Lambda durations, prices (us-east-1 list prices as dated below; no network lookups), the
SMS price to Bangladesh, and the SaaS prices compared against.
"""
from __future__ import annotations

import json
import math
import os
import sys
import threading
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench.figures import Figure

ROOT = Path(__file__).resolve().parent.parent
TICKETS_PER_MONTH = 10_000
AGENTS = 10

# --- prices (USD, us-east-1, list prices as known on 2025-06; not looked up at run time) --------
PRICES = {
    "lambda_request": 0.20 / 1e6,             # per invocation
    "lambda_gb_second": 0.0000166667,         # x86, first pricing tier
    "apigw_rest_request": 3.50 / 1e6,         # REST API, first 333 M requests a month
    "ddb_wru": 0.625 / 1e6,                   # on-demand, after the November 2024 price cut
    "ddb_rru": 0.125 / 1e6,
    "sfn_transition": 0.025 / 1e3,            # Standard workflows (docs/timers.md)
    "ses_email_out": 0.10 / 1e3,
    "ses_email_in": 0.10 / 1e3,
    "ses_in_chunk_256kb": 0.09 / 1e3,
    "s3_put": 0.005 / 1e3,
    "s3_get": 0.0004 / 1e3,
    "sqs_request": 0.40 / 1e6,
    "sns_publish": 0.50 / 1e6,                # SES notifications; SNS to Lambda is free
    "cloudwatch_logs_gb": 0.50,
    # AWS End User Messaging SMS, Bangladesh, transactional, per message part. ASSUMED: the
    # price page was not consulted (no network); BD international A2P termination is among the
    # dearest in Asia (carrier-set). Override with SETU_COST_SMS_BD_USD. Local BD aggregators
    # charge about BDT 0.30-0.60 (USD 0.003-0.005) per SMS.
    "sms_bd_part": float(os.environ.get("SETU_COST_SMS_BD_USD", "0.30")),
}
PRICE_DATE = "2025-06"

# --- the ticket mix and other assumptions --------------------------------------------------------
MIX = {
    "opened_by": {"web": 0.4, "email": 0.4, "sms": 0.2},
    "customer_followups": 1.0,        # per ticket, on the channel it was opened on
    "agent_replies": 2.0,             # per ticket, email (web, email tickets) or SMS
    "agent_ticket_views": 4.0,        # GET /api/tickets/{id} per ticket
    "agent_queue_pages": 2.0,         # GET /api/tickets per ticket
    "resolutions": 1.0,               # PATCH status resolved per ticket
    "timer_fires": 1.3,               # the check-in after resolution, plus some warnings/breaches
    "transitions_per_execution": 3,   # start, Wait, Fire task: an upper bound (a stopped one: 2)
    "ses_events_per_email": 1,        # a Delivery notification per email sent
    "sms_events_per_sms": 2,          # sent, delivered
    "event_handler_calls": {"rru": 1.0, "wru": 2.0},  # ses_events / sms_events, each (assumed)
    "inbound_email_kb": 30,           # raw size of an inbound mail (one 256 KB chunk)
    "log_kb_per_invocation": 1.5,     # powertools JSON logs + EMF
    "cold_start_share": 0.05,         # invocations that start a container
    "cold_start_s": 0.8,              # init billed since 2025-08 for on-demand ZIP functions
}
DURATION_S = {  # assumed billed durations of a warm invocation
    "api_handler": 0.12, "ticket_changed": 0.15, "timeline_appended": 0.25,
    "inbound_email": 0.40, "inbound_sms": 0.15, "timer_fired": 0.15,
    "ses_events": 0.05, "sms_events": 0.05, "daily_briefing": 1.0,
}
SAAS = {  # per agent per month, billed annually, list prices as known on 2025-06 (assumed)
    "Zendesk Suite Team": 55.0,
    "Zendesk Support Team": 19.0,
    "Freshdesk Growth": 15.0,
    "Freshdesk Pro": 49.0,
}

KB, RRU_BYTES = 1024, 4096


# --- DynamoDB billing rules ----------------------------------------------------------------------

def attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB JSON, by DynamoDB's item-size rules."""
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode("utf-8"))
    if kind == "N":
        digits = len(str(v).lstrip("-").replace(".", "").lstrip("0")) or 1
        return (digits + 1) // 2 + 1
    if kind == "B":
        return len(v) if isinstance(v, (bytes, bytearray)) else math.ceil(len(v) * 3 / 4)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in v)
    if kind == "NS":
        return sum(attribute_size({"N": n}) for n in v)
    if kind == "BS":
        return sum(attribute_size({"B": b}) for b in v)
    if kind == "L":
        return 3 + sum(1 + attribute_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + attribute_size(x) for k, x in v.items())
    return 0


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(k.encode("utf-8")) + attribute_size(v) for k, v in (item or {}).items())


class Capacity:
    """WRU and RRU of each DynamoDB call, from its request and response."""

    def __init__(self, indexes: dict[str, list[set[str]]]) -> None:
        self.indexes = indexes  # table -> key attribute sets of its GSIs (all project ALL)

    def _index_writes(self, table: str, item: dict | None, size: int) -> float:
        if not item:
            return 0.0
        return sum(math.ceil(max(size, 1) / KB) for keys in self.indexes.get(table, ())
                   if keys <= set(item))

    def write(self, table: str, item: dict | None, transactional: bool) -> float:
        size = item_size(item)
        units = max(1, math.ceil(size / KB)) * (2 if transactional else 1)
        return units + self._index_writes(table, item, size)

    def units(self, operation: str, params: dict, response: dict) -> tuple[float, float]:
        """(wru, rru)"""
        wru = rru = 0.0
        if operation == "PutItem":
            wru = self.write(params["TableName"], params["Item"], False)
        elif operation in ("UpdateItem", "DeleteItem"):
            after = (response or {}).get("Attributes")
            wru = self.write(params["TableName"], after, False) if after else 1.0
        elif operation == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    item = (request.get("PutRequest") or {}).get("Item")
                    wru += self.write(table, item, False)
        elif operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                (kind, op), = entry.items()
                item = op.get("Item") if kind == "Put" else None
                wru += self.write(op["TableName"], item, True) if item else 2.0
        elif operation == "GetItem":
            factor = 1.0 if params.get("ConsistentRead") else 0.5
            rru = factor * max(1, math.ceil(item_size((response or {}).get("Item")) / RRU_BYTES))
        elif operation == "BatchGetItem":
            for table, request in params["RequestItems"].items():
                factor = 1.0 if request.get("ConsistentRead") else 0.5
                found = ((response or {}).get("Responses") or {}).get(table, [])
                rru += factor * sum(max(1, math.ceil(item_size(i) / RRU_BYTES)) for i in found)
                rru += factor * max(0, len(request["Keys"]) - len(found))
        elif operation == "Query":
            factor = 1.0 if params.get("ConsistentRead") else 0.5
            size = sum(item_size(i) for i in (response or {}).get("Items", []))
            rru = factor * max(1, math.ceil(size / RRU_BYTES))
        elif operation == "TransactGetItems":
            for entry, got in zip(params["TransactItems"], (response or {}).get("Responses", [])):
                rru += 2 * max(1, math.ceil(item_size((got or {}).get("Item")) / RRU_BYTES))
        return wru, rru


# --- metering the steps --------------------------------------------------------------------------

class Meter:
    """Records every botocore call (service, operation, params, response) while active."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active: list[dict] | None = None
        self._original = None

    def install(self) -> None:
        from botocore.client import BaseClient

        original, meter = BaseClient._make_api_call, self

        def _make_api_call(client, operation_name, api_params):
            response = None
            try:
                response = original(client, operation_name, api_params)
                return response
            finally:
                with meter._lock:
                    if meter.active is not None:
                        meter.active.append({
                            "service": client.meta.service_model.service_name,
                            "operation": operation_name, "params": api_params,
                            "response": response})

        self._original = original
        BaseClient._make_api_call = _make_api_call

    def uninstall(self) -> None:
        from botocore.client import BaseClient

        if self._original is not None:
            BaseClient._make_api_call = self._original
            self._original = None

    def start(self) -> None:
        with self._lock:
            self.active = []

    def stop(self) -> list[dict]:
        with self._lock:
            calls, self.active = self.active or [], None
        return calls


def _usage(calls: list[dict], capacity: Capacity, invocations: Counter) -> dict[str, Any]:
    from chalicelib.services.messaging.sms_text import segments

    # the bench's own stream reads stand in for Lambda's event source polling, which is free
    calls = [c for c in calls if c["service"] != "dynamodbstreams"]

    usage: dict[str, Any] = {"calls": len(calls), "wru": 0.0, "rru": 0.0, "ses_emails": 0,
                             "sms": 0, "sms_parts": 0, "sfn_executions": 0, "s3_put": 0,
                             "s3_get": 0, "sqs": 0, "sns_publish": 0,
                             "invocations": dict(invocations),
                             "operations": dict(Counter(f"{c['service']}:{c['operation']}"
                                                        for c in calls))}
    for call in calls:
        service, operation, params = call["service"], call["operation"], call["params"]
        if service == "dynamodb":
            wru, rru = capacity.units(operation, params, call["response"])
            usage["wru"] += wru
            usage["rru"] += rru
        elif service == "ses" and operation in ("SendRawEmail", "SendEmail"):
            usage["ses_emails"] += 1
        elif (service == "sns" and operation == "Publish" and params.get("PhoneNumber")) or (
                service == "pinpoint-sms-voice-v2" and operation == "SendTextMessage"):
            text = params.get("Message") or params.get("MessageBody") or ""
            usage["sms"] += 1
            usage["sms_parts"] += segments(text).count
        elif service == "sns" and operation == "Publish":
            usage["sns_publish"] += 1
        elif service == "stepfunctions" and operation == "StartExecution":
            usage["sfn_executions"] += 1
        elif service == "s3":
            usage["s3_put" if operation in ("PutObject", "CopyObject") else "s3_get"] += 1
        elif service == "sqs":
            usage["sqs"] += 1
    usage["wru"], usage["rru"] = round(usage["wru"], 2), round(usage["rru"], 2)
    return usage


def meter_steps() -> dict[str, dict[str, Any]]:
    """Run each step of a ticket's life against the emulator; its usage, deliveries included."""
    from bench import emulator
    from bench.api_calls import _patched_environ

    meter = Meter()
    with emulator.running() as stack, _patched_environ(
            {**stack["env"], "SETU_FORM_LIMIT_PER_HOUR": "0"}):
        meter.install()
        try:
            return _meter_steps(meter, stack)
        finally:
            meter.uninstall()


def _meter_steps(meter: Meter, stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from chalice.test import Client

    import app as app_module
    from bench import emulator
    from bench.api_calls import (StreamReader, _bench_mail, _form, _post, _ses_receipt,
                                 _sns_event, _verify_sender)
    from local import stack as local_stack

    endpoint, outputs = stack["endpoint"], stack["outputs"]
    streams = {"ticket_changed": StreamReader(endpoint, outputs["TicketsStreamArn"]),
               "timeline_appended": StreamReader(endpoint, outputs["TimelineStreamArn"])}
    capacity = Capacity(_indexes(endpoint, outputs))
    s3 = emulator.client("s3", endpoint)
    admin = {"X-Setu-Principal": local_stack.ADMIN_ARN, "content-type": "application/json"}
    steps: dict[str, dict[str, Any]] = {}

    with Client(app_module.app, stage_name="local", project_dir=str(ROOT)) as client:
        _verify_sender(emulator.client("ses", endpoint))
        local_stack.seed_admin()

        def deliver(invocations: Counter) -> None:
            for _ in range(6):
                pending = {name: reader.new_records() for name, reader in streams.items()}
                if not any(pending.values()):
                    return
                for name, records in pending.items():
                    if records:
                        invocations[name] += 1
                        client.lambda_.invoke(name, streams[name].lambda_event(records))

        def step(name: str, action) -> Any:
            invocations: Counter = Counter()
            meter.start()
            result = action(invocations)
            deliver(invocations)
            steps[name] = _usage(meter.stop(), capacity, invocations)
            return result

        def api(method: str, path: str, body: dict | None = None, headers=None):
            def run(invocations: Counter):
                invocations["api_handler"] += 1
                response = getattr(client.http, method)(
                    path, headers=headers or admin,
                    **({"body": json.dumps(body)} if body is not None else {}))
                if response.status_code >= 300:
                    raise RuntimeError(f"{method.upper()} {path} answered {response.status_code}:"
                                       f" {response.body[:300]!r}")
                return response.json_body
            return run

        def invoke(handler: str, event: dict):
            def run(invocations: Counter):
                invocations[handler] += 1
                return client.lambda_.invoke(handler, event).payload
            return run

        def email_event(in_reply_to: str | None) -> tuple[dict, str]:
            ses_id = uuid.uuid4().hex
            s3.put_object(Bucket=outputs["MailBucket"], Key=f"inbound/{ses_id}",
                          Body=_bench_mail(ses_id, in_reply_to))
            receipt = _ses_receipt(ses_id, outputs["MailBucket"], outputs["InboundEmailTopicArn"])
            return (_sns_event(outputs["InboundEmailTopicArn"], json.dumps(receipt)),
                    f"<bench-{ses_id}@example.com>")

        def sms_event(number: str, body: str) -> dict:
            return _sns_event(outputs["InboundSmsTopicArn"], json.dumps({
                "originationNumber": number, "destinationNumber": local_stack.SMS_NUMBER,
                "messageBody": body, "inboundMessageId": str(uuid.uuid4())}))

        # warm the container (first-request loading is not what a month of tickets costs)
        _post(client, _form(0))
        deliver(Counter())

        created = step("web_form_create", lambda inv: (
            inv.update(api_handler=1),
            _post(client, _form(1)))[1])
        ticket = created["id"]
        event, message_id = email_event(None)
        step("inbound_email_new", invoke("inbound_email", event))
        event, _ = email_event(message_id)
        step("inbound_email_reply", invoke("inbound_email", event))
        number = f"+88017{uuid.uuid4().int % 10**8:08d}"
        step("inbound_sms_new", invoke("inbound_sms", sms_event(number, "আমার সংযোগ কাজ করছে না")))
        step("inbound_sms_followup", invoke("inbound_sms", sms_event(number, "এখনো ঠিক হয়নি")))
        step("agent_reply_email", api("post", f"/api/tickets/{ticket}/replies", {
            "body": "আপনার অর্ডারটি আজ পাঠানো হয়েছে। Your order ships today.",
            "channel": "email"}))
        sms_ticket = _ticket_of(client, admin, number)
        step("agent_reply_sms", api("post", f"/api/tickets/{sms_ticket}/replies", {
            "body": "আপনার সংযোগ ঠিক করা হয়েছে, আবার চেষ্টা করুন।", "channel": "sms"}))
        step("agent_ticket_view", api("get", f"/api/tickets/{ticket}"))
        step("agent_queue_page", api("get", "/api/tickets?limit=25"))
        step("resolve", api("patch", f"/api/tickets/{ticket}", {"status": "resolved"}))
    return steps


def _ticket_of(client, headers: dict, phone: str) -> str:
    response = client.http.get(f"/api/tickets?q={phone}", headers=headers)
    items = response.json_body.get("items") or []
    if not items:
        raise RuntimeError(f"no ticket found for {phone}: {response.body[:300]!r}")
    return items[0]["id"]


def _indexes(endpoint: str, outputs: dict[str, str]) -> dict[str, list[set[str]]]:
    from bench import emulator

    ddb = emulator.client("dynamodb", endpoint)
    out: dict[str, list[set[str]]] = {}
    for table in ddb.list_tables()["TableNames"]:
        description = ddb.describe_table(TableName=table)["Table"]
        out[table] = [{k["AttributeName"] for k in index["KeySchema"]}
                      for index in description.get("GlobalSecondaryIndexes", [])]
    return out


# --- the model -----------------------------------------------------------------------------------

def _memory_gb() -> dict[str, float]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    default = config.get("lambda_memory_size", 128)
    per = {}
    for stage in ("prod", "dev"):
        for name, settings in (config.get("stages", {}).get(stage, {})
                               .get("lambda_functions", {}).items()):
            per.setdefault(name, settings.get("lambda_memory_size", default))
    return {name: per.get(name, default) / 1024 for name in DURATION_S} | {"_default": default}


def _scaled(steps: dict[str, dict], weights: dict[str, float]) -> dict[str, Any]:
    total: dict[str, Any] = defaultdict(float)
    invocations: dict[str, float] = defaultdict(float)
    for name, weight in weights.items():
        if not weight:
            continue
        for key, value in steps[name].items():
            if key == "invocations":
                for handler, n in value.items():
                    invocations[handler] += n * weight
            elif isinstance(value, (int, float)):
                total[key] += value * weight
    total["invocations"] = dict(invocations)
    return dict(total)


def model(steps: dict[str, dict], timer_fire_calls: float | None,
          tickets: int = TICKETS_PER_MONTH) -> dict[str, Any]:
    opened = MIX["opened_by"]
    mail_share = opened["web"] + opened["email"]
    weights = {
        "web_form_create": opened["web"],
        "inbound_email_new": opened["email"],
        "inbound_sms_new": opened["sms"],
        "inbound_email_reply": mail_share * MIX["customer_followups"],
        "inbound_sms_followup": opened["sms"] * MIX["customer_followups"],
        "agent_reply_email": mail_share * MIX["agent_replies"],
        "agent_reply_sms": opened["sms"] * MIX["agent_replies"],
        "agent_ticket_view": MIX["agent_ticket_views"],
        "agent_queue_page": MIX["agent_queue_pages"],
        "resolve": MIX["resolutions"],
    }
    per_ticket = _scaled(steps, weights)
    invocations = per_ticket["invocations"]
    # timer fires: the calls section's measured count (or 3), at the average units of a call
    dynamodb_calls = sum(n for s in steps.values() for op, n in s["operations"].items()
                         if op.startswith("dynamodb:"))
    total_units = sum(s["wru"] for s in steps.values()), sum(s["rru"] for s in steps.values())
    fire_calls = timer_fire_calls if timer_fire_calls is not None else 3
    fires = MIX["timer_fires"]
    invocations["timer_fired"] = invocations.get("timer_fired", 0) + fires
    per_ticket["wru"] += fires * fire_calls * total_units[0] / dynamodb_calls
    per_ticket["rru"] += fires * fire_calls * total_units[1] / dynamodb_calls
    per_ticket["sqs"] += fires  # the Wait's SQS message (Lambda's polling is a fixed cost)
    # SES and SMS delivery events, handled by ses_events / sms_events
    ses_events = per_ticket["ses_emails"] * MIX["ses_events_per_email"]
    sms_events = per_ticket["sms"] * MIX["sms_events_per_sms"]
    invocations["ses_events"] = invocations.get("ses_events", 0) + ses_events
    invocations["sms_events"] = invocations.get("sms_events", 0) + sms_events
    per_ticket["wru"] += (ses_events + sms_events) * MIX["event_handler_calls"]["wru"]
    per_ticket["rru"] += (ses_events + sms_events) * MIX["event_handler_calls"]["rru"]
    per_ticket["sns_publish"] += ses_events + weights["inbound_email_new"] + weights[
        "inbound_email_reply"]
    inbound_mails = weights["inbound_email_new"] + weights["inbound_email_reply"]
    api_requests = invocations.get("api_handler", 0)

    memory = _memory_gb()
    gb_seconds = sum(n * DURATION_S.get(h, 0.2) * memory.get(h, memory["_default"] / 1024)
                     for h, n in invocations.items())
    all_invocations = sum(invocations.values())
    gb_seconds += all_invocations * MIX["cold_start_share"] * MIX["cold_start_s"] * (
        memory["_default"] / 1024)
    p = PRICES
    lines = {
        "Lambda requests": all_invocations * p["lambda_request"],
        "Lambda GB-s": gb_seconds * p["lambda_gb_second"],
        "API Gateway (REST) requests": api_requests * p["apigw_rest_request"],
        "DynamoDB writes (WRU)": per_ticket["wru"] * p["ddb_wru"],
        "DynamoDB reads (RRU)": per_ticket["rru"] * p["ddb_rru"],
        "Step Functions transitions": per_ticket["sfn_executions"]
        * MIX["transitions_per_execution"] * p["sfn_transition"],
        "SES outbound email": per_ticket["ses_emails"] * p["ses_email_out"],
        "SES inbound email": inbound_mails * (p["ses_email_in"] + p["ses_in_chunk_256kb"]),
        "S3 requests": per_ticket["s3_put"] * p["s3_put"] + per_ticket["s3_get"] * p["s3_get"]
        + inbound_mails * p["s3_put"],
        "SQS and SNS": per_ticket["sqs"] * p["sqs_request"]
        + per_ticket["sns_publish"] * p["sns_publish"],
        "CloudWatch Logs ingestion": all_invocations * MIX["log_kb_per_invocation"] / 1024 ** 2
        * p["cloudwatch_logs_gb"],
        "SMS to Bangladesh": per_ticket["sms_parts"] * p["sms_bd_part"],
    }
    monthly = {k: round(v * tickets, 2) for k, v in lines.items()}
    total = sum(lines.values()) * tickets
    without_sms = total - lines["SMS to Bangladesh"] * tickets
    quantities = {
        "lambda_invocations": round(all_invocations * tickets),
        "lambda_gb_seconds": round(gb_seconds * tickets),
        "api_requests": round(api_requests * tickets),
        "wru": round(per_ticket["wru"] * tickets), "rru": round(per_ticket["rru"] * tickets),
        "sfn_executions": round(per_ticket["sfn_executions"] * tickets),
        "sfn_transitions": round(per_ticket["sfn_executions"] * tickets
                                 * MIX["transitions_per_execution"]),
        "emails_out": round(per_ticket["ses_emails"] * tickets),
        "emails_in": round(inbound_mails * tickets),
        "sms_sent": round(per_ticket["sms"] * tickets),
        "sms_parts": round(per_ticket["sms_parts"] * tickets),
    }
    saas = {name: price * AGENTS for name, price in SAAS.items()}
    return {"tickets": tickets, "monthly_usd": monthly, "total_usd": round(total, 2),
            "total_without_sms_usd": round(without_sms, 2),
            "per_ticket_usd": round(total / tickets, 5),
            "per_ticket_without_sms_usd": round(without_sms / tickets, 5),
            "quantities": quantities, "weights": weights, "timer_fire_calls": fire_calls,
            "saas_10_agents_usd": saas, "prices": PRICES, "price_date": PRICE_DATE,
            "mix": MIX, "durations_s": DURATION_S, "memory_mb": memory["_default"]}


def _timer_fire_calls(earlier: list[Figure]) -> float | None:
    for figure in earlier:
        if figure.name.startswith("timer fire") and figure.name.endswith("AWS calls"):
            return figure.value
    return None


def measure(earlier: list[Figure] | None = None) -> list[Figure]:
    steps = meter_steps()
    result = model(steps, _timer_fire_calls(earlier or []))
    monthly = result["monthly_usd"]
    q = result["quantities"]
    saas = result["saas_10_agents_usd"]
    lines = [f"{name}: ${value:,.2f}" for name, value in monthly.items()]
    lines.append(
        f"volumes: {q['lambda_invocations']:,} invocations, {q['lambda_gb_seconds']:,} GB-s "
        f"({result['memory_mb']} MB), {q['api_requests']:,} API requests, {q['wru']:,} WRU, "
        f"{q['rru']:,} RRU, {q['sfn_transitions']:,} transitions, {q['emails_out']:,} emails "
        f"out, {q['emails_in']:,} in, {q['sms_sent']:,} SMS ({q['sms_parts']:,} parts at "
        f"${PRICES['sms_bd_part']} assumed)")
    lines.append("10-agent SaaS, per month: " + ", ".join(
        f"{name} ${value:,.0f}" for name, value in saas.items()))
    lines.append("per step (measured): " + "; ".join(
        f"{name} {s['calls']} calls, {s['wru']:g} WRU, {s['rru']:g} RRU"
        + (f", {s['sfn_executions']} executions" if s["sfn_executions"] else "")
        for name, s in steps.items()))
    detail = {**result, "steps": steps, "lines": lines}
    return [
        Figure(f"cost: AWS per {TICKETS_PER_MONTH:,} tickets a month", result["total_usd"], "USD",
               note=f"ticket mix, prices ({PRICE_DATE}) and durations assumed: docs/cost.md; "
                    f"without SMS ${result['total_without_sms_usd']:,.2f}",
               details=detail),
        Figure("cost: AWS per ticket", result["per_ticket_usd"], "USD",
               note=f"without SMS ${result['per_ticket_without_sms_usd']:.5f}"),
        Figure("cost: 10-agent SaaS helpdesk per month (cheapest listed)",
               min(saas.values()), "USD",
               note=", ".join(f"{name} ${value:,.0f}" for name, value in saas.items())),
    ]


if __name__ == "__main__":
    for figure in measure():
        print(figure.line())
        for line in figure.details.get("lines", ()):
            print("   ", line)
