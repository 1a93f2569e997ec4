"""Mixed load on the local stack: web form, mail through the SMTP ingress and SMS through the
inbound topic, with a share of each sent twice (a client's retry with the same
Idempotency-Key, an MTA delivering the same message twice, SNS delivering a notification
twice). Then it counts what the stack made of it, from the API alone:

  every contact present exactly once (no duplicate ticket, none lost), one inbound message per
  ticket, and every acknowledgement sent exactly once.

`run(running, n)` drives a stack that is already up (the e2e test uses a CI-sized n);
`measure()` starts one as `make dev` does and sends 1,000 contacts (`make bench`).
"""
from __future__ import annotations

import json
import random
import shutil
import smtplib
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import requests

from local import process, stack

CONTACTS = 1000
DUPLICATE_SHARE = 0.05
CLIENTS = 4
ADMIN = {"X-Setu-Principal": stack.ADMIN_ARN}


def _contacts(n: int, run: str) -> list[dict[str, Any]]:
    """n distinct contacts, a third on each channel; the marker names each in its subject."""
    out = []
    for i in range(n):
        marker = f"load{run}n{i:04d}"
        kind = ("web", "email", "sms")[i % 3]
        out.append({"kind": kind, "marker": marker, "i": i})
    return out


def _send(contact: dict[str, Any], info: dict[str, Any], sns) -> None:
    marker, kind = contact["marker"], contact["kind"]
    if kind == "web":
        response = requests.post(f"{info['api_url']}/tickets", timeout=30, json={
            "name": "Load", "email": f"{marker}@web.load.example", "subject": marker,
            "message": f"{marker} web contact"}, headers={"Idempotency-Key": marker})
        if response.status_code not in (200, 201):
            raise RuntimeError(f"web {marker}: {response.status_code} {response.text[:200]}")
    elif kind == "email":
        message = EmailMessage()
        message["From"] = f"Load <{marker}@mail.load.example>"
        message["To"] = info["support_address"]
        message["Subject"] = marker
        message["Message-ID"] = f"<{marker}@mail.load.example>"
        message.set_content(f"{marker} mail contact")
        with smtplib.SMTP("127.0.0.1", info["smtp_port"], timeout=30) as smtp:
            smtp.send_message(message)
    else:
        sns.publish(TopicArn=info["inbound_sms_topic_arn"], Message=json.dumps({
            "originationNumber": f"+8801712{contact['i']:06d}",
            "destinationNumber": info["sms_number"], "messageBody": f"{marker} sms contact",
            "inboundMessageId": f"{marker}-sms"}))


def _all_tickets(url: str) -> list[dict[str, Any]]:
    items, cursor = [], ""
    while True:
        page = requests.get(f"{url}/api/tickets", params={"limit": 100, "cursor": cursor},
                            headers=ADMIN, timeout=30).json()
        items += page["items"]
        cursor = page.get("next") or ""
        if not cursor:
            return items


def run(running: process.Running, n: int = CONTACTS, duplicate_share: float = DUPLICATE_SHARE,
        clients: int = CLIENTS, settle_timeout: float = 600) -> dict[str, Any]:
    import boto3

    info = running.info
    sns = boto3.client("sns", endpoint_url=info["aws_endpoint_url"], region_name=info["region"],
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    tag = uuid.uuid4().hex[:6]
    contacts = _contacts(n, tag)
    rng = random.Random(tag)
    again = rng.sample(contacts, max(1, round(n * duplicate_share)))
    sends = contacts + again
    rng.shuffle(contacts)

    started = time.monotonic()
    errors = []
    # the second copies go after the first ones, as a retry follows its original (a copy sent
    # while the original is still in flight gets 409 "in progress" from the web form instead)
    for phase in (contacts, again):
        with ThreadPoolExecutor(clients) as pool:
            errors += [f.exception() for f in [pool.submit(_send, c, info, sns) for c in phase]
                       if f.exception()]
    sent_seconds = time.monotonic() - started

    # settle: every contact has its ticket and its acknowledgement went out
    wanted = {c["marker"] for c in contacts}
    deadline = time.monotonic() + settle_timeout
    while True:
        ours = [t for t in _all_tickets(info["api_url"]) if tag in (t.get("subject") or "")]
        present = {m for m in wanted if any(m in t["subject"] for t in ours)}
        views = [requests.get(f"{info['api_url']}/api/tickets/{t['id']}", headers=ADMIN,
                              timeout=30).json() for t in ours] if present == wanted else []
        acks = [[i for i in v["timeline"] if i.get("kind") == "ack"] for v in views]
        settled = views and all(a and all(i["status"] in ("sent", "delivered") for i in a)
                                for a in acks)
        if settled or time.monotonic() > deadline:
            break
        # listing every ticket is an index Query, which the emulator answers by reading the
        # whole table: look less often the more there is, or the count itself slows the stack
        time.sleep(min(10.0, 1 + n / 100))
    total_seconds = time.monotonic() - started
    if not views:  # not all present in time: still count the acks of those that are
        views = [requests.get(f"{info['api_url']}/api/tickets/{t['id']}", headers=ADMIN,
                              timeout=30).json() for t in ours]
        acks = [[i for i in v["timeline"] if i.get("kind") == "ack"] for v in views]

    per_marker = {m: sum(1 for t in ours if m in t["subject"]) for m in wanted}
    inbound = [len([i for i in v["timeline"] if i.get("direction") == "in"]) for v in views]
    return {
        "contacts": n, "sent": len(sends), "duplicates_sent": len(again),
        "send_errors": len(errors), "first_errors": [str(e)[:200] for e in errors[:3]],
        "tickets_present": len(present), "lost": len(wanted - present),
        # which channel the missing ones came in on, and a few of them to look up in the logs
        "lost_by_kind": dict(Counter(c["kind"] for c in contacts if c["marker"] not in present)),
        "lost_examples": sorted(wanted - present)[:5],
        "duplicate_tickets": sum(c - 1 for c in per_marker.values() if c > 1),
        "duplicate_messages": sum(c - 1 for c in inbound if c > 1),
        "acks_exactly_once_pct": round(100 * sum(1 for a in acks if len(a) == 1) / max(1, len(ours)), 2),
        "send_seconds": round(sent_seconds, 2), "settle_seconds": round(total_seconds, 2),
        "contacts_per_second": round(len(sends) / sent_seconds, 1) if sent_seconds else None,
    }


def measure(n: int = CONTACTS) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="setu-load-") as state:
        running = process.start(Path(state), SETU_FORM_LIMIT_PER_HOUR="0", SETU_METRICS="off",
                                SETU_SCHEDULE_SECONDS="0")
        try:
            result = run(running, n)
        finally:
            running.stop()
        if result["lost"]:  # the state directory goes away: keep the logs to look the markers up
            kept = Path(__file__).resolve().parents[1] / "build" / "bench-logs"
            kept.mkdir(parents=True, exist_ok=True)
            for log in Path(state).glob("*.log"):
                shutil.copy(log, kept / f"load-{log.name}")
            result["logs_kept_in"] = str(kept)
        return result


def figures(n: int = CONTACTS) -> list:
    from bench.figures import Figure

    result = measure(n)
    details = {**result, "lines": [
        f"{result['sent']} contacts sent ({result['duplicates_sent']} of them twice) with "
        f"{CLIENTS} clients in {result['send_seconds']} s ({result['contacts_per_second']}/s); "
        f"all settled after {result['settle_seconds']} s" if not result["lost"] else
        f"not all there after {result['settle_seconds']} s: missing by channel "
        f"{result['lost_by_kind']}, e.g. {', '.join(result['lost_examples'])}"]}
    return [
        Figure("mixed load: tickets present", result["tickets_present"], "tickets",
               goal=result["contacts"], compare="ge", details=details),
        Figure("mixed load: lost contacts", result["lost"], "contacts", goal=0),
        Figure("mixed load: duplicate tickets", result["duplicate_tickets"], "tickets", goal=0),
        Figure("mixed load: duplicate messages", result["duplicate_messages"], "messages", goal=0),
        Figure("mixed load: acks sent exactly once", result["acks_exactly_once_pct"], "%",
               goal=100, compare="ge"),
        Figure("mixed load: send errors", result["send_errors"], "requests", goal=0),
    ]
