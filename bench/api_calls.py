"""(c) AWS API calls per web-form ticket create, against the emulator with the template deployed.

Every botocore client in the process is counted, pynamodb's included (pynamodb builds its
clients from `botocore.session.get_session()`, not from boto3): the counter wraps
`botocore.client.BaseClient._make_api_call`, which every client's operation goes through, and
registers a `before-send` hook on each client's event system to count HTTP sends (retries
included). Set-up and inspection calls made by the bench itself are not counted.

The app runs in-process through `chalice.test.Client(app.app, stage_name="local")`:

* `web_form_create`: POST /tickets (JSON) without Idempotency-Key, warm container (goal <= 4);
  the first request of the fresh process is reported separately (`..._first_request`);
* `..._idempotent`: with an Idempotency-Key, and its retry with the same key;
* the stream records that create produced, delivered to the app's stream handlers in the shape
  Lambda uses: `timeline_appended` (the acknowledgement send) and `ticket_changed` (the SLA
  timer start), counted separately, together with what their own writes then cause.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from bench import emulator
from bench.figures import Figure

ROOT = Path(__file__).resolve().parent.parent
GOAL_WEB_FORM_CREATE = 4  # issue 8: web-form ticket create <= 4 sequential calls


class CallCounter:
    """Counts botocore API calls (service, operation) and HTTP sends while active."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = False
        self.calls: list[tuple[str, str]] = []
        self.sends = 0
        self._original = None

    def install(self) -> None:
        from botocore.client import BaseClient

        if self._original is not None:
            return
        original = BaseClient._make_api_call
        counter = self

        def _make_api_call(client, operation_name, api_params):
            if not getattr(client, "_setu_bench_hooked", False):
                client.meta.events.register("before-send", counter._on_send)
                client._setu_bench_hooked = True
            counter._on_call(client.meta.service_model.service_name, operation_name)
            return original(client, operation_name, api_params)

        self._original = original
        BaseClient._make_api_call = _make_api_call

    def uninstall(self) -> None:
        from botocore.client import BaseClient

        if self._original is not None:
            BaseClient._make_api_call = self._original
            self._original = None

    def _on_call(self, service: str, operation: str) -> None:
        with self._lock:
            if self._active:
                self.calls.append((service, operation))

    def _on_send(self, **_: Any) -> None:
        with self._lock:
            if self._active:
                self.sends += 1

    @contextlib.contextmanager
    def counting(self) -> Iterator[dict[str, Any]]:
        """Count inside the block; the yielded dict is filled in when the block ends."""
        result: dict[str, Any] = {}
        with self._lock:
            self.calls, self.sends, self._active = [], 0, True
        try:
            yield result
        finally:
            with self._lock:
                self._active = False
                calls, sends = list(self.calls), self.sends
            result.update(calls=len(calls), http_sends=sends,
                          operations=[f"{s}:{o}" for s, o in calls],
                          by_operation=dict(Counter(f"{s}:{o}" for s, o in calls)))


# --- stream delivery ------------------------------------------------------------------------

class StreamReader:
    """Reads a DynamoDB stream in the emulator and remembers what it has already returned."""

    def __init__(self, endpoint: str, stream_arn: str) -> None:
        self.arn = stream_arn
        self.client = emulator.client("dynamodbstreams", endpoint)
        self.seen: set[str] = set()

    def new_records(self) -> list[dict]:
        records = []
        shards = self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        for shard in shards:
            iterator = self.client.get_shard_iterator(
                StreamArn=self.arn, ShardId=shard["ShardId"],
                ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while iterator:
                page = self.client.get_records(ShardIterator=iterator, Limit=1000)
                batch = page.get("Records", [])
                for record in batch:
                    sequence = record["dynamodb"]["SequenceNumber"]
                    if sequence not in self.seen:
                        self.seen.add(sequence)
                        records.append(record)
                if not batch:
                    break
                iterator = page.get("NextShardIterator")
        return records

    def lambda_event(self, records: list[dict]) -> dict:
        """The event Lambda's DynamoDB event source hands a function."""
        out = []
        for record in records:
            data = dict(record["dynamodb"])
            created = data.get("ApproximateCreationDateTime")
            if isinstance(created, datetime):
                data["ApproximateCreationDateTime"] = created.timestamp()
            out.append({
                "eventID": record.get("eventID", uuid.uuid4().hex),
                "eventName": record["eventName"],
                "eventVersion": record.get("eventVersion", "1.1"),
                "eventSource": "aws:dynamodb",
                "awsRegion": record.get("awsRegion", emulator.REGION),
                "dynamodb": data,
                "eventSourceARN": self.arn,
            })
        return {"Records": out}


# --- the measurement ------------------------------------------------------------------------

def _form(n: int) -> dict[str, str]:
    return {"name": f"Bench Customer {n}", "email": f"bench{n}-{uuid.uuid4().hex[:8]}@example.com",
            "subject": "Order late", "message": "আমার অর্ডার এখনো আসেনি। My order has not arrived.",
            "department": "general", "lang": "bn"}


def _post(client, body: dict, key: str | None = None):
    headers = {"content-type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    response = client.http.post("/tickets", headers=headers, body=json.dumps(body))
    if response.status_code != 201:
        raise RuntimeError(f"POST /tickets answered {response.status_code}: {response.body[:500]!r}")
    return response.json_body


@contextlib.contextmanager
def _patched_environ(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    for name in [k for k in os.environ if k.startswith(("AWS_", "SETU_"))]:
        del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def measure() -> list[Figure]:
    counter = CallCounter()
    with emulator.running() as stack, _patched_environ(stack["env"]):
        counter.install()
        try:
            return _measure(counter, stack)
        finally:
            counter.uninstall()


def _measure(counter: CallCounter, stack: dict[str, Any]) -> list[Figure]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from chalice.test import Client

    import app as app_module

    endpoint, outputs = stack["endpoint"], stack["outputs"]
    tickets_stream = StreamReader(endpoint, outputs["TicketsStreamArn"])
    timeline_stream = StreamReader(endpoint, outputs["TimelineStreamArn"])
    ses = emulator.client("ses", endpoint)
    results: dict[str, dict[str, Any]] = {}

    with Client(app_module.app, stage_name="local", project_dir=str(ROOT)) as client:
        with counter.counting() as results["web_form_create_first_request"]:
            first = _post(client, _form(1))
        _verify_sender(ses)
        tickets_stream.new_records(), timeline_stream.new_records()  # skip the first ticket's

        with counter.counting() as results["web_form_create"]:
            created = _post(client, _form(2))
        delivery = _deliver(counter, client, tickets_stream, timeline_stream)
        outbound = delivery["timeline_appended"]["outbound_statuses"]
        if "sent" not in outbound:
            raise RuntimeError(f"the acknowledgement was not sent: outbound statuses {outbound}")

        key = f"bench-{uuid.uuid4()}"
        form = _form(3)
        with counter.counting() as results["web_form_create_idempotent"]:
            keyed = _post(client, form, key)
        with counter.counting() as results["web_form_create_idempotent_retry"]:
            retried = _post(client, form, key)
        if retried.get("id") != keyed.get("id"):
            raise RuntimeError("the Idempotency-Key retry returned a different ticket")

        # inbound email: stored raw in the bucket as SES does, then the receipt notification
        s3 = emulator.client("s3", endpoint)
        first_mail = None
        for name in ("inbound_email_new", "inbound_email_reply"):
            ses_id = uuid.uuid4().hex
            raw = _bench_mail(ses_id, first_mail)
            first_mail = first_mail or f"<bench-{ses_id}@example.com>"
            s3.put_object(Bucket=outputs["MailBucket"], Key=f"inbound/{ses_id}", Body=raw)
            event = _sns_event(outputs["InboundEmailTopicArn"], json.dumps(
                _ses_receipt(ses_id, outputs["MailBucket"], outputs["InboundEmailTopicArn"])))
            with counter.counting() as results[name]:
                client.lambda_.invoke("inbound_email", event)

        # inbound SMS: a new number (opens a ticket), then its follow-up (joins it)
        for name, body in (("inbound_sms_new", "আমার সংযোগ কাজ করছে না"),
                           ("inbound_sms_followup", "এখনো ঠিক হয়নি")):
            event = _sns_event(outputs["InboundSmsTopicArn"], json.dumps({
                "originationNumber": "+8801711999001", "destinationNumber": "+8809610000000",
                "messageBody": body, "inboundMessageId": str(uuid.uuid4())}))
            with counter.counting() as results[name]:
                outcome = client.lambda_.invoke("inbound_sms", event).payload
            results[name]["outcome"] = outcome

    detail = {"emulator": stack["via"], "ticket": created.get("ref") or created.get("id"),
              "first_ticket": first.get("ref") or first.get("id")}
    figures = [
        Figure("web-form create, AWS calls", results["web_form_create"]["calls"], "calls",
               goal=GOAL_WEB_FORM_CREATE,
               note="POST /tickets (JSON, no Idempotency-Key), warm container",
               details={**results["web_form_create"], **detail}),
        Figure("web-form create, first request of a fresh container",
               results["web_form_create_first_request"]["calls"], "calls",
               details=results["web_form_create_first_request"]),
        Figure("web-form create with Idempotency-Key", results["web_form_create_idempotent"]["calls"],
               "calls", details=results["web_form_create_idempotent"]),
        Figure("web-form retry with the same Idempotency-Key",
               results["web_form_create_idempotent_retry"]["calls"], "calls",
               details=results["web_form_create_idempotent_retry"]),
        Figure("stream: acknowledgement send (timeline_appended)",
               delivery["timeline_appended"]["calls"], "calls",
               note="outbound message statuses seen on the timeline: "
                    + " -> ".join(delivery["timeline_appended"]["outbound_statuses"]),
               details=delivery["timeline_appended"]),
        Figure("stream: SLA timer start (ticket_changed)", delivery["ticket_changed"]["calls"],
               "calls", details=delivery["ticket_changed"]),
        Figure("inbound email, new conversation (new ticket), AWS calls",
               results["inbound_email_new"]["calls"], "calls", details=results["inbound_email_new"]),
        Figure("inbound email, reply threaded by In-Reply-To, AWS calls",
               results["inbound_email_reply"]["calls"], "calls",
               details=results["inbound_email_reply"]),
        Figure("inbound SMS from a new number (new ticket), AWS calls",
               results["inbound_sms_new"]["calls"], "calls", details=results["inbound_sms_new"]),
        Figure("inbound SMS follow-up (joins the open ticket), AWS calls",
               results["inbound_sms_followup"]["calls"], "calls",
               details=results["inbound_sms_followup"]),
    ]
    return figures


def _sns_event(topic_arn: str, message: str) -> dict[str, Any]:
    """One SNS record in the shape Lambda delivers it."""
    return {"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
        "Sns": {"Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": topic_arn,
                "Subject": None, "Message": message,
                "Timestamp": datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "SignatureVersion": "1", "Signature": "", "SigningCertUrl": "",
                "UnsubscribeUrl": "", "MessageAttributes": {}}}]}


def _bench_mail(ses_id: str, in_reply_to: str | None) -> bytes:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Rahim Uddin <rahim.bench@example.com>"
    message["To"] = "support@setu.local"
    message["Subject"] = "Re: অর্ডার" if in_reply_to else "অর্ডার আসেনি"
    message["Message-ID"] = f"<bench-{ses_id}@example.com>"
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content("আমার অর্ডার এখনো আসেনি।\n\nOn Mon, Setu wrote:\n> আগের বার্তা\n")
    message.add_alternative("<p>আমার অর্ডার এখনো আসেনি।</p>", subtype="html")
    return message.as_bytes()


def _ses_receipt(ses_id: str, bucket: str, topic_arn: str) -> dict[str, Any]:
    """SES's `Received` notification for an S3 action (the fields the app reads)."""
    return {"notificationType": "Received",
            "mail": {"messageId": ses_id, "source": "rahim.bench@example.com",
                     "destination": ["support@setu.local"]},
            "receipt": {"recipients": ["support@setu.local"], "spamVerdict": {"status": "PASS"},
                        "virusVerdict": {"status": "PASS"},
                        "action": {"type": "S3", "topicArn": topic_arn, "bucketName": bucket,
                                   "objectKeyPrefix": "inbound/", "objectKey": f"inbound/{ses_id}"}}}


def _verify_sender(ses) -> None:
    """The emulated SES sends only from verified identities (set-up, not counted)."""
    try:
        from chalicelib import config

        address = config.settings().support_address
    except Exception:  # noqa: BLE001
        address = os.environ.get("SETU_SUPPORT_ADDRESS", "support@setu.example.com")
    ses.verify_email_identity(EmailAddress=address)
    ses.verify_domain_identity(Domain=address.rpartition("@")[2])


def _outbound_statuses(records: list[dict]) -> list[str]:
    """Statuses of outbound messages in timeline stream records, in stream order."""
    statuses = []
    for record in records:
        image = record["dynamodb"].get("NewImage") or {}
        if image.get("direction", {}).get("S") == "out" and "status" in image:
            statuses.append(image["status"].get("S", "?"))
    return statuses


def _deliver(counter: CallCounter, client, tickets_stream: StreamReader,
             timeline_stream: StreamReader, max_rounds: int = 4) -> dict[str, dict[str, Any]]:
    """Deliver the create's stream records, then what their handlers' writes cause, until quiet.

    Calls are summed per handler over the rounds."""
    totals = {name: {"calls": 0, "http_sends": 0, "records": 0, "invocations": 0,
                     "operations": [], "batch_item_failures": [], "outbound_statuses": []}
              for name in ("timeline_appended", "ticket_changed")}
    streams = {"timeline_appended": timeline_stream, "ticket_changed": tickets_stream}
    for _ in range(max_rounds):
        pending = {name: stream.new_records() for name, stream in streams.items()}
        if not any(pending.values()):
            break
        for name, records in pending.items():
            if not records:
                continue
            event = streams[name].lambda_event(records)
            with counter.counting() as counted:
                response = client.lambda_.invoke(name, event).payload
            total = totals[name]
            total["calls"] += counted["calls"]
            total["http_sends"] += counted["http_sends"]
            total["records"] += len(records)
            if name == "timeline_appended":
                total["outbound_statuses"] += _outbound_statuses(records)
            total["invocations"] += 1
            total["operations"] += counted["operations"]
            total["batch_item_failures"] += (response or {}).get("batchItemFailures", [])
    for total in totals.values():
        total["by_operation"] = dict(Counter(total["operations"]))
        if total["batch_item_failures"]:
            raise RuntimeError(f"stream handler reported failures: {total['batch_item_failures']}")
    return totals
