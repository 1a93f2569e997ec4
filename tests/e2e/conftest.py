"""End to end: the local stack started as a user starts it (`python -m local`, what `make dev`
runs), on free ports and its own state directory, driven only over HTTP."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

from local import process, stack as local_stack

ADMIN = {"X-Setu-Principal": local_stack.ADMIN_ARN}


def wait_for(fetch, predicate, what: str = "condition", timeout: float = 30.0,
             interval: float = 0.3):
    """fetch() again until predicate(value) holds; its value, or AssertionError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if predicate(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not met within {timeout}s; last value: {value!r}")
        time.sleep(interval)


def started(state_dir: Path, **settings: str) -> Iterator[process.Running]:
    """A local stack for a module's tests (`settings`: extra environment), stopped after."""
    try:
        running = process.start(state_dir, **settings)
    except process.NotReady as exc:
        pytest.fail(str(exc))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def local_stack_running(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("setu")
    # every call a handler makes is checked against its function's policy (local/iam.py);
    # a denied one is also written here, for test_no_call_outside_its_functions_policy
    yield from started(state_dir, SETU_FORM_LIMIT_PER_HOUR="50", SETU_IAM="enforce",
                       SETU_IAM_LOG=str(state_dir / "iam-denials.jsonl"))
