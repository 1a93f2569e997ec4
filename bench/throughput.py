"""(e) Throughput on the local stack, next to a peer helpdesk run on this machine in the same run.

Setu: the local stack as `make dev` starts it (the launcher of `python -m local`: the moto-server
emulator as a child process, the Chalice app served by chalice.local and the pump delivering
stream, queue and topic events in the launcher's process), on free ports, with the per-IP form
limit off (`SETU_FORM_LIMIT_PER_HOUR=0`; chalice.local reports every caller as 127.0.0.1) and
the scheduled briefing off; its emulator is the local stack's (local/moto_main.py: moto's
application on waitress, DynamoDB safe for concurrent transactions, the speed-ups of
local/moto_speed.py; SETU_THROUGHPUT_STOCK_EMULATOR=1 runs moto's own server unpatched). TICKETS
web-form tickets (POST /tickets, JSON) are sent by CLIENTS concurrent clients, a new connection
per request, after a short warm-up; every request must answer 201 and every ticket must be
listed afterwards by GET /api/tickets (paged, admin principal). The pump's follow-up work (the
acknowledgement mail through the emulated SES, SLA timers on the emulated Step Functions) runs
at the same time on the same two cores; how far it got is reported.

Peer: django-helpdesk 2.6 (bench/peer/, installed into .venv-peer by `make peer`) under
gunicorn, 2 sync workers, SQLite in WAL mode; the same tickets, clients and connection pattern
through its REST API (POST /api/tickets/, token authentication). Each create's SQL statements
are counted by a middleware (X-SQL-Count); every ticket must be in its database afterwards. It
runs once before and once after Setu (fresh database each time) and the mean is compared, as
the machine's load drifts.

Only 127.0.0.1 is contacted. Installing the peer (from PyPI) is `make peer`'s job, not this
bench's: without .venv-peer the peer figures are reported as not measured. docs/throughput.md
says what differs between the two.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any, Callable

from bench.figures import Figure

ROOT = Path(__file__).resolve().parent.parent
PEER_DIR = ROOT / "bench" / "peer"
PEER_VENV = Path(os.environ.get("SETU_PEER_VENV", ROOT / ".venv-peer"))
TICKETS = 1000
CLIENTS = 4
WARMUP = 2 * CLIENTS  # per server, before the clock starts; not among the TICKETS
PEER_WORKERS = 2
DRAIN_TIMEOUT = 30.0  # seconds the pump is watched after the last create (reported, bounded)
ADMIN_ARN = "arn:aws:iam::123456789012:user/setu-admin"


# --- the load generator (same for both) --------------------------------------------------------

def _form(n: int, run: str) -> dict[str, str]:
    return {"name": f"Bench Customer {n}", "email": f"tp{n}-{run}@example.com",
            "subject": f"Order {n} late", "department": "general", "lang": "bn",
            "message": "আমার অর্ডার এখনো আসেনি। My order has not arrived."}


def drive(port: int, path: str, headers: dict[str, str], bodies: list[bytes],
          clients: int = CLIENTS) -> dict[str, Any]:
    """POST every body to 127.0.0.1:port/path from `clients` threads, one connection per request
    (gunicorn's sync workers close each connection anyway). No retries: anything but a 201 is an
    error. Returns wall seconds, per-request latencies, statuses and response bodies."""
    n = len(bodies)
    latencies = [0.0] * n
    statuses: list[int | str] = [0] * n
    responses: list[bytes] = [b""] * n
    sql_counts: list[int | None] = [None] * n
    next_index = iter(range(n))
    lock = threading.Lock()
    send_headers = {"content-type": "application/json", "Connection": "close", **headers}

    def worker() -> None:
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                connection.request("POST", path, body=bodies[i], headers=send_headers)
                response = connection.getresponse()
                responses[i] = response.read()
                statuses[i] = response.status
                counted = response.getheader("X-SQL-Count")
                sql_counts[i] = int(counted) if counted else None
            except (OSError, http.client.HTTPException) as exc:
                statuses[i] = f"{type(exc).__name__}: {exc}"
            finally:
                connection.close()
                latencies[i] = time.perf_counter() - started

    threads = [threading.Thread(target=worker, name=f"client-{k}") for k in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    errors = [(i, s, responses[i][:200]) for i, s in enumerate(statuses) if s != 201]
    return {"wall_s": wall, "latencies": latencies, "statuses": statuses, "responses": responses,
            "errors": errors, "sql_counts": sql_counts}


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def _summary(result: dict[str, Any], missing: int) -> dict[str, Any]:
    latencies = result["latencies"]
    return {
        "tickets": len(latencies), "clients": CLIENTS, "wall_s": round(result["wall_s"], 2),
        "tickets_per_s": round(len(latencies) / result["wall_s"], 1),
        "p50_ms": round(_percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
        "request_errors": len(result["errors"]),
        "first_errors": [f"#{i}: {s} {body!r}" for i, s, body in result["errors"][:3]],
        "missing_afterwards": missing,
        "errors": len(result["errors"]) + missing,
    }


def _wait_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode} before listening:\n"
                               + _tail(log))
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout}s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM to the process group this bench started, then SIGKILL."""
    from local import stack

    stack.stop(process, timeout)


def _free_port() -> int:
    from local import stack

    return stack.free_port()


# --- Setu on the local stack -------------------------------------------------------------------

def run_setu(tickets: int = TICKETS, clients: int = CLIENTS) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="setu-throughput-"))
    log = state / "stack.log"
    env = {**os.environ, "SETU_API_PORT": str(_free_port()), "SETU_AWS_PORT": str(_free_port()),
           "SETU_SMTP_PORT": str(_free_port()), "SETU_STATE_DIR": str(state),
           "SETU_FORM_LIMIT_PER_HOUR": "0", "SETU_SCHEDULE_SECONDS": "0",
           "SETU_LOG_LEVEL": "WARNING"}
    for name in [k for k in env if k.startswith("AWS_")]:
        del env[name]  # the launcher sets its own emulator credentials and endpoint
    started = time.monotonic()
    # the launcher of `make dev`; SETU_THROUGHPUT_STOCK_EMULATOR=1 runs moto's own server,
    # unpatched (local/moto_main.py)
    if os.environ.get("SETU_THROUGHPUT_STOCK_EMULATOR") == "1":
        env["SETU_EMULATOR_STOCK"] = "1"
    command = [sys.executable, "-m", "local"]
    process = subprocess.Popen(command, cwd=ROOT, env=env,
                               stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    ok = False
    try:
        info_path = state / "local.json"
        deadline = time.monotonic() + 120
        while not info_path.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local stack did not become ready:\n{_tail(log)}")
            time.sleep(0.2)
        info = json.loads(info_path.read_text())
        startup_s = time.monotonic() - started
        port = urllib.parse.urlsplit(info["api_url"]).port
        run = uuid.uuid4().hex[:6]
        encode = lambda n: json.dumps(_form(n, run), ensure_ascii=False).encode()  # noqa: E731
        warm = drive(port, "/tickets", {}, [encode(-k - 1) for k in range(WARMUP)], clients)
        if warm["errors"]:
            raise RuntimeError(f"warm-up failed: {warm['errors'][:3]}")
        # the warm-up's acknowledgements sent first, so the run starts with an idle pump; the
        # emulated SES counts recipients, which it takes from both Destinations and To:, so
        # the count per acknowledgement is learnt here
        ses = _ses(info)
        warm_sent = _wait_sent(ses, lambda sent: sent >= WARMUP, 60)
        per_ack = max(1, round(warm_sent / WARMUP))
        load_before = os.getloadavg()[0]
        result = drive(port, "/tickets", {}, [encode(n) for n in range(tickets)], clients)
        sent_at = time.monotonic()
        load_after = os.getloadavg()[0]
        created = {json.loads(body)["id"] for body, status in
                   zip(result["responses"], result["statuses"]) if status == 201}
        sent_then = int(ses.get_send_quota()["SentLast24Hours"]) // per_ack - WARMUP
        expected = per_ack * (tickets + WARMUP)
        sent = _wait_sent(ses, lambda sent: sent >= expected, DRAIN_TIMEOUT)
        watched = time.monotonic() - sent_at
        sent_after = sent // per_ack - WARMUP
        drained = {"acknowledgements_sent_during_run": sent_then,
                   "acknowledgements_sent": sent_after,
                   "acknowledgements_drained_s": round(watched, 1) if sent >= expected else None,
                   "acknowledgements_watched_s": round(watched, 1),
                   "pump_acknowledgements_per_s": round(
                       sent_after / (result["wall_s"] + watched), 1),
                   "load_average_1m": [round(load_before, 1), round(load_after, 1)]}
        listed = _list_setu(port, info.get("admin_principal") or ADMIN_ARN)
        missing = len(created - listed)
        summary = _summary(result, missing)
        # every 201 and nothing else is listed (a failed request is already an error)
        expected_listed = len(created) + WARMUP
        summary.update(startup_s=round(startup_s, 1), listed=len(listed),
                       expected_listed=expected_listed, **drained)
        summary["errors"] += max(0, len(listed) - expected_listed)
        ok = not summary["errors"]
        if not ok:
            summary["logs"] = str(state)
        return summary
    finally:
        _stop(process)
        if ok:
            shutil.rmtree(state, ignore_errors=True)
        else:
            print(f"throughput: local stack and emulator logs kept in {state}", file=sys.stderr)


def _list_setu(port: int, principal: str) -> set[str]:
    """Every ticket id, through GET /api/tickets pages of 100 (the queue index, no Scan)."""
    ids: set[str] = set()
    cursor = ""
    for _ in range(1000):
        query = urllib.parse.urlencode({"limit": 100, **({"cursor": cursor} if cursor else {})})
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", f"/api/tickets?{query}", headers={"X-Setu-Principal": principal})
        response = connection.getresponse()
        body = response.read()
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"GET /api/tickets answered {response.status}: {body[:300]!r}")
        page = json.loads(body)
        ids.update(item["id"] for item in page["items"])
        cursor = page.get("next") or ""
        if not cursor:
            break
    return ids


def _ses(info: dict[str, Any]):
    import boto3

    return boto3.session.Session().client(
        "ses", endpoint_url=info["aws_endpoint_url"], region_name=info["region"],
        aws_access_key_id="testing", aws_secret_access_key="testing")


def _wait_sent(ses, done: Callable[[int], bool], timeout: float) -> int:
    """Poll the emulated SES's send count until `done(count)` or the timeout; the count."""
    deadline = time.monotonic() + timeout
    while True:
        sent = int(ses.get_send_quota().get("SentLast24Hours", 0))
        if done(sent) or time.monotonic() > deadline:
            return sent
        time.sleep(0.5)


# --- the peer: django-helpdesk under gunicorn ---------------------------------------------------

def peer_python() -> Path:
    return PEER_VENV / "bin" / "python"


def peer_installed() -> bool:
    return (PEER_VENV / "bin" / "gunicorn").exists() and peer_python().exists()


def peer_version() -> str:
    out = subprocess.run([str(peer_python()), "-c",
                          "import importlib.metadata as m; print(m.version('django-helpdesk'),"
                          " m.version('Django'), m.version('gunicorn'))"],
                         capture_output=True, text=True, check=True).stdout.split()
    return f"django-helpdesk {out[0]}, Django {out[1]}, gunicorn {out[2]}"


def run_peer(tickets: int = TICKETS, clients: int = CLIENTS) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="setu-peer-"))
    log = state / "gunicorn.log"
    env = {**os.environ, "PEER_STATE_DIR": str(state), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    seeded = subprocess.run([str(peer_python()), "seed.py"], cwd=PEER_DIR, env=env,
                            capture_output=True, text=True, timeout=300)
    if seeded.returncode != 0:
        raise RuntimeError(f"peer seed failed:\n{seeded.stderr[-2000:]}")
    seed = json.loads(seeded.stdout.strip().splitlines()[-1])
    port = _free_port()
    process = subprocess.Popen(
        [str(PEER_VENV / "bin" / "gunicorn"), "--workers", str(PEER_WORKERS),
         "--bind", f"127.0.0.1:{port}", "--no-control-socket", "peersite.wsgi:application"],
        cwd=PEER_DIR, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
        start_new_session=True)
    ok = False
    try:
        _wait_port(port, process, log)
        run = uuid.uuid4().hex[:6]
        headers = {"Authorization": f"Token {seed['token']}"}

        def encode(n: int) -> bytes:
            form = _form(n, run)
            return json.dumps({"queue": seed["queue"], "title": form["subject"],
                               "description": form["message"], "submitter_email": form["email"],
                               "priority": 3}, ensure_ascii=False).encode()

        warm = drive(port, "/api/tickets/", headers, [encode(-k - 1) for k in range(WARMUP)],
                     clients)
        if warm["errors"]:
            raise RuntimeError(f"peer warm-up failed: {warm['errors'][:3]}\n{_tail(log)}")
        load_before = os.getloadavg()[0]
        result = drive(port, "/api/tickets/", headers, [encode(n) for n in range(tickets)],
                       clients)
        load_after = os.getloadavg()[0]
        _stop(process)
        created = {json.loads(body)["id"] for body, status in
                   zip(result["responses"], result["statuses"]) if status == 201}
        with sqlite3.connect(state / "helpdesk.sqlite3") as db:
            stored = {row[0] for row in db.execute("SELECT id FROM helpdesk_ticket")}
            followups = db.execute("SELECT COUNT(*) FROM helpdesk_followup").fetchone()[0]
        missing = len(created - stored)
        summary = _summary(result, missing)
        counts = [c for c, s in zip(result["sql_counts"], result["statuses"]) if s == 201 and c]
        summary.update(
            stored=len(stored), followups=followups, version=peer_version(),
            load_average_1m=[round(load_before, 1), round(load_after, 1)],
            sql_per_create_median=statistics.median(counts) if counts else None,
            sql_per_create_min=min(counts, default=None),
            sql_per_create_max=max(counts, default=None))
        summary["errors"] += max(0, len(stored) - (len(created) + WARMUP))
        ok = True
        return summary
    finally:
        _stop(process)
        if ok:
            shutil.rmtree(state, ignore_errors=True)
        else:
            print(f"throughput: peer state and log kept at {state}", file=sys.stderr)


# --- figures -----------------------------------------------------------------------------------

def _attempt(run: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return run(), None
    except Exception as exc:  # noqa: BLE001 - reported as not measured
        return None, f"{type(exc).__name__}: {exc}"


def measure(tickets: int = TICKETS, clients: int = CLIENTS) -> list[Figure]:
    # the peer runs before and after Setu and their mean is compared: the machine is shared,
    # and its load drifts over the minutes a run takes
    if peer_installed():
        before, before_error = _attempt(lambda: run_peer(tickets, clients))
        setu, setu_error = _attempt(lambda: run_setu(tickets, clients))
        after, after_error = _attempt(lambda: run_peer(tickets, clients))
        peer, peer_error = _combine(before, after), before_error or after_error
    else:
        setu, setu_error = _attempt(lambda: run_setu(tickets, clients))
        peer, peer_error = None, (
            f"peer not installed: {PEER_VENV.relative_to(ROOT) if PEER_VENV.is_relative_to(ROOT) else PEER_VENV} "
            "is missing; `make peer` installs django-helpdesk from PyPI (needs the network)")
    return figures(setu, setu_error, peer, peer_error, tickets, clients)


def _combine(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any] | None:
    """The two peer runs as one: mean rate and latencies, errors and SQL counts of both."""
    if before is None or after is None:
        return None
    runs = [before, after]
    out = dict(after)
    for key in ("tickets_per_s", "p50_ms", "p99_ms", "mean_ms"):
        out[key] = round(statistics.fmean(r[key] for r in runs), 1)
    out["max_ms"] = max(r["max_ms"] for r in runs)
    out["errors"] = sum(r["errors"] for r in runs)
    out["first_errors"] = before["first_errors"] + after["first_errors"]
    out["sql_per_create_min"] = min(r["sql_per_create_min"] for r in runs)
    out["sql_per_create_max"] = max(r["sql_per_create_max"] for r in runs)
    out["runs"] = [{k: r[k] for k in ("tickets_per_s", "p50_ms", "p99_ms", "errors", "stored",
                                      "load_average_1m")} for r in runs]
    return out


def figures(setu: dict[str, Any] | None, setu_error: str | None, peer: dict[str, Any] | None,
            peer_error: str | None, tickets: int = TICKETS, clients: int = CLIENTS) -> list[Figure]:
    label = f"{tickets:,} tickets, {clients} clients"
    out: list[Figure] = []
    if setu is None:
        out.append(Figure("throughput: Setu (not measured)", None, "tickets/s", error=setu_error))
    else:
        drained = setu.get("acknowledgements_drained_s")
        out += [
            Figure("throughput: Setu, web form on the local stack", setu["tickets_per_s"],
                   "tickets/s",
                   note=f"{label}, POST /tickets (JSON); p50 {setu['p50_ms']} ms, p99 "
                        f"{setu['p99_ms']} ms, max {setu['max_ms']} ms; {setu['listed']:,} "
                        f"tickets listed by GET /api/tickets afterwards (with {WARMUP} warm-up)",
                   details={**setu, "lines": [
                       f"the pump's acknowledgements (sent through the emulated SES while the "
                       f"creates ran): {setu['acknowledgements_sent_during_run']:,} during the "
                       f"run, {setu['acknowledgements_sent']:,} of {tickets:,} "
                       + (f"{drained} s after the last create" if drained is not None
                          else f"{setu['acknowledgements_watched_s']} s after it (watched no "
                               f"longer)") + f", about {setu['pump_acknowledgements_per_s']}/s",

                       f"1-minute load average before/after: {setu['load_average_1m']} "
                       f"(2 cores; other work on the machine slows both sides)"]}),
            Figure("throughput: Setu p50 latency", setu["p50_ms"], "ms"),
            Figure("throughput: Setu p99 latency", setu["p99_ms"], "ms"),
            Figure("throughput: Setu errors (non-201, or not listed afterwards)", setu["errors"],
                   "errors", goal=0,
                   note="; ".join(setu["first_errors"]) if setu["first_errors"] else ""),
        ]
    if peer is None:
        out.append(Figure("throughput: peer django-helpdesk (not measured)", None, "tickets/s",
                          error=peer_error))
    else:
        out += [
            Figure("throughput: peer django-helpdesk, gunicorn 2 workers, SQLite",
                   peer["tickets_per_s"], "tickets/s",
                   note=f"{peer['version']}; {label}, POST /api/tickets/ (token auth); mean of "
                        f"a run before and one after Setu's; p50 {peer['p50_ms']} ms, p99 "
                        f"{peer['p99_ms']} ms, max {peer['max_ms']} ms",
                   details={**peer, "lines": [
                       f"run {n}: {r['tickets_per_s']} tickets/s, p50 {r['p50_ms']} ms, p99 "
                       f"{r['p99_ms']} ms, {r['errors']} errors, {r['stored']:,} tickets in its "
                       f"database afterwards, load average before/after {r['load_average_1m']}"
                       for n, r in enumerate(peer.get("runs", [peer]), 1)]}),
            Figure("throughput: peer p50 latency", peer["p50_ms"], "ms"),
            Figure("throughput: peer p99 latency", peer["p99_ms"], "ms"),
            Figure("throughput: peer errors (non-201, or not stored afterwards)", peer["errors"],
                   "errors", goal=0,
                   note="; ".join(peer["first_errors"]) if peer["first_errors"] else ""),
            Figure("throughput: peer SQL statements per ticket create",
                   peer["sql_per_create_median"], "statements",
                   note=f"median of the last {tickets:,} creates (min {peer['sql_per_create_min']}, max "
                        f"{peer['sql_per_create_max']}), counted by connection.execute_wrapper; "
                        "Setu's create is 3 DynamoDB calls (the calls section)"),
        ]
    ratio = None
    if setu is not None and peer is not None and peer["tickets_per_s"]:
        ratio = round(setu["tickets_per_s"] / peer["tickets_per_s"], 2)
    out.append(Figure(
        "throughput: Setu / peer, tickets per second", ratio, "x", goal=1.0, compare="ge",
        note="what differs: docs/throughput.md",
        error=None if ratio is not None else "not measured: "
        + "; ".join(e for e in (setu_error, peer_error) if e)))
    return out
