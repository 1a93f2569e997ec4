"""(c) AWS API calls per operation, against the emulator with the template deployed (issue 8,
item 3). Goals, enforced (a regression fails `make bench`):

  web-form ticket create <= 4, inbound email <= 6, inbound SMS <= 6, agent reply <= 4,
  timer fire (a breach, on the SQS timer handler) <= 3.

Every botocore client in the process is counted, pynamodb's included (pynamodb builds its
clients from `botocore.session.get_session()`, not from boto3): the counter wraps
`botocore.client.BaseClient._make_api_call`, which every client's operation goes through, and
registers a `before-send` hook on each client's event system to count HTTP sends (retries
included). Set-up and inspection calls made by the bench itself are not counted.

The app runs in-process through `chalice.test.Client(app.app, stage_name="local")`. Each
operation is measured warm (the container has served that operation before: per-container
caches of SLA policies, calendars, agents and the signing keys are filled) and cold
(`chalicelib.runtime.reset()` first, which empties exactly those caches and the clients, as a
fresh Lambda container would have them); the cold figure says what a cold container adds.
The very first request of the process (web form) is reported too.

Also measured, not goals: the stream handlers a web-form create triggers (the acknowledgement
send on `timeline_appended`, the SLA timer start on `ticket_changed`), and the Idempotency-Key
variants of the create.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

from bench import emulator
from bench.figures import Figure
from chalicelib.services.messaging import reply_address

ROOT = Path(__file__).resolve().parent.parent
# issue 8, item 3: AWS calls per operation, warm container
GOAL_WEB_FORM_CREATE = 4
GOAL_INBOUND_EMAIL = 6
GOAL_INBOUND_SMS = 6
GOAL_AGENT_REPLY = 4
GOAL_TIMER_FIRE = 3
AGENT = "arn:aws:iam::123456789012:user/setu-admin"  # local/stack.py seeds it as admin


class CallCounter:
    """Counts botocore API calls (service, operation) and HTTP sends while active."""

    def __init__(self, keep_results: bool = False) -> None:
        self._lock = threading.Lock()
        self._active = False
        self.calls: list[tuple[str, str]] = []
        self.sends = 0
        self._original = None
        # keep (service, operation, params, response) of each counted call (bench/scale.py
        # reads items and capacity from them)
        self.keep_results = keep_results
        self.results: list[tuple[str, str, dict, dict]] = []

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
            service = client.meta.service_model.service_name
            counter._on_call(service, operation_name)
            response = original(client, operation_name, api_params)
            if counter.keep_results:
                counter._on_result(service, operation_name, api_params, response)
            return response

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

    def _on_result(self, service: str, operation: str, params: dict, response: dict) -> None:
        with self._lock:
            if self._active:
                self.results.append((service, operation, dict(params), response))

    def _on_send(self, **_: Any) -> None:
        with self._lock:
            if self._active:
                self.sends += 1

    @contextlib.contextmanager
    def counting(self) -> Iterator[dict[str, Any]]:
        """Count inside the block; the yielded dict is filled in when the block ends."""
        result: dict[str, Any] = {}
        with self._lock:
            self.calls, self.sends, self.results, self._active = [], 0, [], True
        try:
            yield result
        finally:
            with self._lock:
                self._active = False
                calls, sends = list(self.calls), self.sends
                if self.keep_results:
                    result["responses"] = list(self.results)
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
    """The emulator's environment, and nothing cached from another section's (the scale
    section leaves the models bound to its own stage's tables)."""
    from chalicelib import runtime

    saved = dict(os.environ)
    for name in [k for k in os.environ if k.startswith(("AWS_", "SETU_"))]:
        del os.environ[name]
    os.environ.update(values)
    runtime.reset()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        runtime.reset()


def measure() -> list[Figure]:
    counter = CallCounter()
    with emulator.running() as stack, _patched_environ(_bench_env(stack)):
        counter.install()
        try:
            return _measure(counter, stack)
        finally:
            counter.uninstall()


def _bench_env(stack: dict[str, Any]) -> dict[str, str]:
    # the bench posts more forms than a person may in an hour; the limit is still checked (the
    # rate window is part of every create's transaction), so the counts are the same
    return {**stack["env"], "SETU_FORM_LIMIT_PER_HOUR": "100000"}


class _Ops:
    """One fresh instance of each measured operation per call: `prepare` (set-up, not counted)
    returns what `run` (counted) needs."""

    def __init__(self, client, stack: dict[str, Any]) -> None:
        self.client = client
        self.outputs = stack["outputs"]
        self.s3 = emulator.client("s3", stack["endpoint"])
        self.n = 100
        self.sms_number = 0

    def _next(self) -> int:
        self.n += 1
        return self.n

    # web form
    def web_form(self) -> dict:
        return _post(self.client, _form(self._next()))

    # inbound email
    def email_event(self, raw: bytes, ses_id: str) -> dict:
        self.s3.put_object(Bucket=self.outputs["MailBucket"], Key=f"inbound/{ses_id}", Body=raw)
        return _sns_event(self.outputs["InboundEmailTopicArn"], json.dumps(
            _ses_receipt(ses_id, self.outputs["MailBucket"], self.outputs["InboundEmailTopicArn"])))

    def deliver_email(self, event: dict) -> str:
        self.client.lambda_.invoke("inbound_email", event)
        receipt = json.loads(event["Records"][0]["Sns"]["Message"])
        return f"inbound#email#{receipt['mail']['messageId']}"

    def prepare_email_new(self) -> dict:
        ses_id = uuid.uuid4().hex
        return self.email_event(_bench_mail(ses_id, None), ses_id)

    def prepare_email_unknown_reply(self) -> dict:
        """A new conversation whose In-Reply-To names a Message-ID no ticket knows."""
        ses_id = uuid.uuid4().hex
        return self.email_event(_bench_mail(ses_id, f"<unknown-{ses_id}@example.net>"), ses_id)

    def prepare_email_reply(self) -> dict:
        """A new conversation (set-up), then the customer's reply to it by In-Reply-To."""
        first = uuid.uuid4().hex
        self.deliver_email(self.email_event(_bench_mail(first, None), first))
        ses_id = uuid.uuid4().hex
        return self.email_event(_bench_mail(ses_id, f"<bench-{first}@example.com>"), ses_id)

    def prepare_email_token(self) -> dict:
        """A web-form ticket (set-up), then mail to its signed reply address, no headers."""

        created = _post(self.client, {**_form(self._next()), "email": "rahim.bench@example.com"})
        ses_id = uuid.uuid4().hex
        raw = _bench_mail(ses_id, None, to=reply_address.address(created["ref"]))
        return self.email_event(raw, ses_id)

    # inbound SMS
    def sms_event(self, number: str, body: str) -> dict:
        return _sns_event(self.outputs["InboundSmsTopicArn"], json.dumps({
            "originationNumber": number, "destinationNumber": "+8809610000000",
            "messageBody": body, "inboundMessageId": str(uuid.uuid4())}))

    def deliver_sms(self, event: dict) -> str:
        self.client.lambda_.invoke("inbound_sms", event)
        return f"inbound#sms#{json.loads(event['Records'][0]['Sns']['Message'])['inboundMessageId']}"

    def new_number(self) -> str:
        self.sms_number += 1
        return f"+88017{11000000 + self.sms_number * 7919 % 8999999:08d}"

    def prepare_sms_new(self) -> dict:
        return self.sms_event(self.new_number(), "আমার সংযোগ কাজ করছে না")

    def prepare_sms_followup(self) -> dict:
        number = self.new_number()
        self.deliver_sms(self.sms_event(number, "আমার সংযোগ কাজ করছে না"))
        return self.sms_event(number, "এখনো ঠিক হয়নি")

    def prepare_sms_ref(self) -> dict:
        """Two open tickets from one number (set-up); the message names one by its ref."""
        number = self.new_number()
        self.deliver_sms(self.sms_event(number, "প্রথম সমস্যা"))
        created = _post(self.client, {**_form(self._next()), "email": "", "phone": number})
        return self.sms_event(number, f"#{created['ref']} এখনো ঠিক হয়নি")

    # agent reply
    def prepare_reply(self, channel: str) -> str:
        form = _form(self._next())
        if channel == "sms":
            form = {**form, "email": "", "phone": self.new_number()}
        return _post(self.client, form)["id"]

    def reply(self, ticket_id: str) -> dict:
        response = self.client.http.post(
            f"/api/tickets/{ticket_id}/replies", body=json.dumps({"body": "আমরা দেখছি। We are on it."}),
            headers={"content-type": "application/json", "X-Setu-Principal": AGENT})
        if response.status_code != 201:
            raise RuntimeError(f"reply answered {response.status_code}: {response.body[:500]!r}")
        return response.json_body

    # timer fire
    def prepare_breach(self) -> dict:
        """A web-form ticket whose first-response timer is armed and already due (set-up)."""
        from chalicelib import clock
        from chalicelib.db.models import Ticket
        from chalicelib.db.values import as_dict

        created = _post(self.client, _form(self._next()))
        ticket = Ticket.get(created["id"], consistent_read=True)
        timers = {k: as_dict(v) for k, v in as_dict(ticket.timers).items()}
        timer = timers["first_response"]
        due = clock.iso(clock.now() - timedelta(minutes=1))
        timer.update(due_at=due, warned=True)
        ticket.timers = timers
        ticket.save()
        payload = {"ticket_id": ticket.id, "ref": ticket.ref, "kind": "first_response",
                   "generation": int(timer["generation"]), "due_at": due, "wake_at": due}
        return {"Records": [_sqs_record(self.outputs.get("TimerQueueArn", ""), payload)]}

    def fire(self, event: dict) -> str:
        result = self.client.lambda_.invoke("timer_fired", event).payload
        if result.get("batchItemFailures"):
            raise RuntimeError(f"the timer handler failed: {result}")
        return json.loads(event["Records"][0]["body"])["ticket_id"]


def _sqs_record(queue_arn: str, payload: dict) -> dict:
    body = json.dumps(payload)
    return {"messageId": str(uuid.uuid4()), "receiptHandle": uuid.uuid4().hex, "body": body,
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0",
                           "SenderId": "bench", "ApproximateFirstReceiveTimestamp": "0"},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn, "awsRegion": emulator.REGION}


def _cold_and_warm(counter: CallCounter, prepare, run) -> tuple[dict, dict]:
    """The operation once in a container with empty caches, then once warm."""
    from chalicelib import runtime

    ready = prepare()
    runtime.reset()
    with counter.counting() as cold:
        cold["outcome"] = run(ready)
    ready = prepare()
    with counter.counting() as warm:
        warm["outcome"] = run(ready)
    return cold, warm


def _measure(counter: CallCounter, stack: dict[str, Any]) -> list[Figure]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from chalice.test import Client

    import app as app_module
    from local import stack as local_stack

    endpoint, outputs = stack["endpoint"], stack["outputs"]
    tickets_stream = StreamReader(endpoint, outputs["TicketsStreamArn"])
    timeline_stream = StreamReader(endpoint, outputs["TimelineStreamArn"])
    ses = emulator.client("ses", endpoint)
    results: dict[str, dict[str, Any]] = {}

    with Client(app_module.app, stage_name="local", project_dir=str(ROOT)) as client:
        with counter.counting() as results["web_form_create_first_request"]:
            first = _post(client, _form(1))
        _verify_sender(ses)
        local_stack.seed_admin()
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

        ops = _Ops(client, stack)
        measured = {
            "inbound_email_new": (ops.prepare_email_new, ops.deliver_email),
            "inbound_email_unknown_reply": (ops.prepare_email_unknown_reply, ops.deliver_email),
            "inbound_email_reply": (ops.prepare_email_reply, ops.deliver_email),
            "inbound_email_token": (ops.prepare_email_token, ops.deliver_email),
            "inbound_sms_new": (ops.prepare_sms_new, ops.deliver_sms),
            "inbound_sms_followup": (ops.prepare_sms_followup, ops.deliver_sms),
            "inbound_sms_ref": (ops.prepare_sms_ref, ops.deliver_sms),
            "agent_reply_email": (lambda: ops.prepare_reply("email"), ops.reply),
            "agent_reply_sms": (lambda: ops.prepare_reply("sms"), ops.reply),
            "timer_fire_breach": (ops.prepare_breach, ops.fire),
        }
        for name, (prepare, run) in measured.items():
            results[f"{name}_cold"], results[name] = _cold_and_warm(counter, prepare, run)

    _check_outcomes(results)
    detail = {"emulator": stack["via"], "ticket": created.get("ref") or created.get("id"),
              "first_ticket": first.get("ref") or first.get("id")}

    def goal_figure(name: str, key: str, goal: int, note: str) -> list[Figure]:
        warm, cold = results[key], results[f"{key}_cold"]
        return [
            Figure(f"{name}, AWS calls", warm["calls"], "calls", goal=goal,
                   note=f"{note}; warm container", details=warm),
            Figure(f"{name}, cold container", cold["calls"], "calls",
                   note=f"a cold container adds {cold['calls'] - warm['calls']}: "
                        + _cold_extra(cold, warm), details=cold),
        ]

    figures = [
        Figure("web-form create, AWS calls", results["web_form_create"]["calls"], "calls",
               goal=GOAL_WEB_FORM_CREATE,
               note="POST /tickets (JSON, no Idempotency-Key), warm container",
               details={**results["web_form_create"], **detail}),
        Figure("web-form create, first request of a fresh container",
               results["web_form_create_first_request"]["calls"], "calls",
               note=f"a cold container adds {results['web_form_create_first_request']['calls'] - results['web_form_create']['calls']}: "
                    + _cold_extra(results["web_form_create_first_request"], results["web_form_create"]),
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
        *goal_figure("inbound email, new conversation (new ticket)", "inbound_email_new",
                     GOAL_INBOUND_EMAIL, "SES receipt on SNS, raw mail in S3"),
        *goal_figure("inbound email, new conversation answering an unknown Message-ID",
                     "inbound_email_unknown_reply", GOAL_INBOUND_EMAIL,
                     "In-Reply-To names no ticket's message: a new ticket"),
        *goal_figure("inbound email, reply threaded by In-Reply-To", "inbound_email_reply",
                     GOAL_INBOUND_EMAIL, "joins the ticket of the Message-ID it answers"),
        *goal_figure("inbound email, reply to the signed reply address (no headers)",
                     "inbound_email_token", GOAL_INBOUND_EMAIL,
                     "support+<ref>.<signature>@: one more GetItem (ref -> ticket)"),
        *goal_figure("inbound SMS from a new number (new ticket)", "inbound_sms_new",
                     GOAL_INBOUND_SMS, "two-way SMS JSON on SNS"),
        *goal_figure("inbound SMS follow-up (joins the open ticket)", "inbound_sms_followup",
                     GOAL_INBOUND_SMS, "the number's only open ticket"),
        *goal_figure("inbound SMS naming its ticket (#ref), two open", "inbound_sms_ref",
                     GOAL_INBOUND_SMS, "ref -> ticket"),
        *goal_figure("agent reply by email", "agent_reply_email", GOAL_AGENT_REPLY,
                     "POST /api/tickets/{id}/replies, first reply on a web-form ticket"),
        *goal_figure("agent reply by SMS", "agent_reply_sms", GOAL_AGENT_REPLY,
                     "POST /api/tickets/{id}/replies on a ticket whose customer has only a phone"),
        *goal_figure("timer fire, first-response breach", "timer_fire_breach", GOAL_TIMER_FIRE,
                     "SQS timer handler (timer_fired), one record"),
    ]
    scans = sorted({op for r in results.values() for op in r.get("operations", [])
                    if op.endswith((":Scan", ":ParallelScan"))}
                   | {op for r in delivery.values() for op in r.get("operations", [])
                      if op.endswith(":Scan")})
    figures.append(Figure("Scan calls in the measured operations", len(scans), "operations",
                          goal=0, note="no operation may scan a table (docs/data-model.md)",
                          details={"scans": scans}))
    return figures


def _cold_extra(cold: dict, warm: dict) -> str:
    extra = Counter(cold["operations"]) - Counter(warm["operations"])
    return ", ".join(f"{op} x{n}" if n > 1 else op for op, n in sorted(extra.items())) or "nothing"


def _check_outcomes(results: dict[str, dict[str, Any]]) -> None:
    """The operations did what they are meant to (or the counts would mean nothing): read back
    after counting (inbound: the outcome marker; timer: the breach on the ticket)."""
    from chalicelib.db.models import Key, Ticket

    expected = {"inbound_email_new": "created", "inbound_email_unknown_reply": "created",
                "inbound_email_reply": "appended",
                "inbound_email_token": "appended", "inbound_sms_new": "created",
                "inbound_sms_followup": "appended", "inbound_sms_ref": "appended"}
    for name, want in expected.items():
        for key in (name, f"{name}_cold"):
            marker = results[key]["outcome"]
            got = Key.get(marker, "_", consistent_read=True).data.as_dict().get("outcome")
            if got != want:
                raise RuntimeError(f"{key}: outcome {got!r}, expected {want!r}")
            results[key]["outcome"] = got
    for key in ("agent_reply_email", "agent_reply_sms"):
        channel = key.rsplit("_", 1)[1]
        for run in (results[key], results[f"{key}_cold"]):
            if run["outcome"].get("channel") != channel:
                raise RuntimeError(f"{key}: replied on {run['outcome'].get('channel')}")
            run["outcome"] = {k: run["outcome"][k] for k in ("id", "status", "channel")}
    for key in ("timer_fire_breach", "timer_fire_breach_cold"):
        ticket = Ticket.get(results[key]["outcome"], consistent_read=True)
        breached = list(ticket.sla.as_dict().get("breached") or [])
        if breached != ["first_response"]:
            raise RuntimeError(f"{key}: the ticket's breached targets are {breached}")
        results[key]["outcome"] = "breached"


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


def _bench_mail(ses_id: str, in_reply_to: str | None, to: str = "support@setu.local") -> bytes:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Rahim Uddin <rahim.bench@example.com>"
    message["To"] = to
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
