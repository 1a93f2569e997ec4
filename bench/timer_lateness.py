"""Timer lateness on the local stack: 200 concurrent timers through the deployed timer state
machine (Wait until `wake_at` → SQS), measured as arrival on the timer queue minus due time.

Due times are spread over a few seconds, as real tickets' are, and carry milliseconds, so the
figure includes the whole-second rounding of the Wait state (services/timers.wake_at) as well
as the emulator's own scheduling. The handler re-arms anything early, so lateness is never
negative in the product; here negative values would show the emulator firing early.
"""
from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from datetime import datetime, timedelta, timezone

from bench import emulator
from bench.figures import Figure

TIMERS = int(os.environ.get("SETU_BENCH_TIMERS", "200"))
SPREAD_SECONDS = 5.0
LEAD_SECONDS = 8.0


def measure() -> list[Figure]:
    from chalicelib import clock
    from chalicelib.services.sla.timers import wake_at

    with emulator.running() as stack:
        sfn = emulator.client("stepfunctions", stack["endpoint"])
        sqs = emulator.client("sqs", stack["endpoint"])
        machine, queue = stack["outputs"]["TimerStateMachineArn"], stack["outputs"]["TimerQueueUrl"]
        began = time.monotonic()
        start = datetime.now(timezone.utc) + timedelta(seconds=LEAD_SECONDS)
        due: dict[str, datetime] = {}
        for n in range(TIMERS):
            at = start + timedelta(seconds=SPREAD_SECONDS * n / TIMERS)
            name = f"bench-{n}-{uuid.uuid4().hex[:8]}"
            due[name] = at
            sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps({
                "ticket_id": name, "ref": str(n), "kind": "first_response", "generation": 1,
                "due_at": clock.iso(at), "wake_at": wake_at(at)}))
        starting = time.monotonic() - began
        lateness: list[float] = []
        deadline = time.monotonic() + LEAD_SECONDS + SPREAD_SECONDS + 60
        while len(lateness) < TIMERS and time.monotonic() < deadline:
            messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1).get("Messages", [])
            arrived = datetime.now(timezone.utc)
            for message in messages:
                body = json.loads(message["Body"])
                lateness.append((arrived - clock.parse_iso(body["due_at"])).total_seconds())
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    if not lateness:
        return [Figure("timer lateness p50", None, "s", error="no timer fired")]
    ordered = sorted(lateness)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    details = {"timers": TIMERS, "fired": len(ordered), "min_s": round(ordered[0], 3),
               "max_s": round(ordered[-1], 3), "starting_s": round(starting, 2)}
    note = (f"{len(ordered)}/{TIMERS} fired; arrival on the timer queue minus due time, "
            f"min {ordered[0]:.2f} s, max {ordered[-1]:.2f} s; the {TIMERS} StartExecution calls "
            f"took {starting:.1f} s; reported only (at this concurrency the emulator's Step Functions "
            f"interpreter dominates: 20 timers show p50 ~0.2 s)")
    return [Figure(f"timer lateness p50 ({TIMERS} concurrent)", round(p50, 3), "s", note=note,
                   details=details),
            Figure(f"timer lateness p99 ({TIMERS} concurrent)", round(p99, 3), "s", details=details)]
