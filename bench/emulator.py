"""The emulated AWS the call-count bench runs against: a moto server on a free 127.0.0.1 port,
with Step Functions execution on, and infra/template.yaml deployed through its CloudFormation.

Uses `local.stack` (start_moto / deploy / environment) when the local stack provides them, so
the bench and `make dev` stand on the same set-up; otherwise the minimal equivalent below.
TODO: drop the fallback once local/stack.py has landed with those functions.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
STAGE = "local"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

# Emulator facts: its Step Functions SQS integration calls back to localhost:$MOTO_PORT, and its
# Wait state compares against local time (hence TZ=UTC). The parser backend runs ASL for real.
MOTO_MAIN = """
import sys
import moto.stepfunctions.models as sfm
from moto.stepfunctions.parser.models import stepfunctions_parser_backends
sfm.stepfunctions_backends = stepfunctions_parser_backends
from moto.core.config import default_user_config
default_user_config["stepfunctions"]["execute_state_machine"] = True
from moto.server import main
main(["-H", "127.0.0.1", "-p", sys.argv[1]])
"""

# Stack output -> app environment variable (the same wiring infra/lambda.yaml does on AWS).
OUTPUT_ENV = {
    "TicketsTable": "SETU_TICKETS_TABLE",
    "TimelineTable": "SETU_TIMELINE_TABLE",
    "CustomersTable": "SETU_CUSTOMERS_TABLE",
    "KeysTable": "SETU_KEYS_TABLE",
    "SettingsTable": "SETU_SETTINGS_TABLE",
    "IdempotencyTable": "SETU_IDEMPOTENCY_TABLE",
    "MailBucket": "SETU_MAIL_BUCKET",
    "TimerStateMachineArn": "SETU_TIMER_STATE_MACHINE_ARN",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(endpoint: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers: ready
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"moto server at {endpoint} not ready within {timeout:.0f}s")


def client(service: str, endpoint: str):
    import boto3

    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


def deploy(endpoint: str, stage: str = STAGE) -> dict[str, str]:
    """Create the infra stack in the emulator; returns its outputs."""
    from infra.render import render_for_emulator

    cfn = client("cloudformation", endpoint)
    name = f"setu-{stage}"
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(render_for_emulator()),
                     Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}])
    deadline = time.monotonic() + 120
    while True:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"stack {name} still {stack['StackStatus']}")
        time.sleep(0.3)
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"stack {name}: {stack['StackStatus']} {stack.get('StackStatusReason')}")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def environment(outputs: dict[str, str], endpoint: str) -> dict[str, str]:
    """The variables the app needs to run against the emulator."""
    env = {var: outputs[key] for key, var in OUTPUT_ENV.items() if key in outputs}
    env.update(CREDENTIALS)
    env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
                "SETU_STAGE": STAGE})
    return env


REQUIRED_OUTPUTS = ("TicketsStreamArn", "TimelineStreamArn", *OUTPUT_ENV)


@contextlib.contextmanager
def running() -> Iterator[dict[str, Any]]:
    """Start the emulator, deploy the template, yield {endpoint, outputs, env}; stop it after."""
    stack = _local_stack()
    if stack is not None:  # pragma: no cover - depends on local/stack.py's arrival
        started = _start_with_local_stack(stack)
        if started is not None:
            handle, info = started
            try:
                yield info
            finally:
                _stop(handle)
            return

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile(prefix="setu-bench-moto-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [sys.executable, "-c", MOTO_MAIN, str(port)], cwd=ROOT, stdout=log,
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, **CREDENTIALS, "TZ": "UTC", "MOTO_PORT": str(port)})
    keep_log = True
    try:
        _wait_ready(endpoint, process)
        outputs = deploy(endpoint)
        yield {"endpoint": endpoint, "outputs": outputs, "env": environment(outputs, endpoint),
               "via": "bench.emulator", "log": log.name}
        keep_log = False
    finally:
        _stop(process)
        log.close()
        if keep_log:
            print(f"bench: emulator log kept at {log.name}", file=sys.stderr)
        else:
            os.unlink(log.name)


def _start_with_local_stack(stack) -> tuple[Any, dict[str, Any]] | None:  # pragma: no cover
    """The local stack's own start/deploy/environment, if they fit what the bench needs."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    handle = None
    try:
        handle = stack.start_moto(port)
        outputs = stack.deploy(endpoint, STAGE)
        missing = [key for key in REQUIRED_OUTPUTS if key not in outputs]
        if missing:
            raise KeyError(f"stack outputs lack {missing}")
        env = {**environment(outputs, endpoint), **stack.environment(outputs), **CREDENTIALS,
               "AWS_ENDPOINT_URL": endpoint}
        return handle, {"endpoint": endpoint, "outputs": outputs, "env": env, "via": "local.stack"}
    except Exception as exc:  # noqa: BLE001 - fall back to the bench's own emulator
        print(f"bench: local.stack not usable here ({type(exc).__name__}: {exc}); "
              "using bench.emulator", file=sys.stderr)
        if handle is not None:
            _stop(handle)
        return None


def _stop(handle: Any) -> None:
    if isinstance(handle, subprocess.Popen):
        if handle.poll() is None:
            handle.terminate()
            try:
                handle.wait(timeout=10)
            except subprocess.TimeoutExpired:
                handle.kill()
                handle.wait()
    elif hasattr(handle, "stop"):
        handle.stop()
    elif hasattr(handle, "terminate"):
        handle.terminate()


def _local_stack():
    """local.stack when it offers start_moto, deploy and environment; else None."""
    try:
        from local import stack
    except Exception:  # noqa: BLE001 - absent or broken: use the fallback
        return None
    if all(callable(getattr(stack, name, None)) for name in ("start_moto", "deploy", "environment")):
        return stack
    return None
