"""End to end: the local stack started as a user starts it (`python -m local`, what `make dev`
runs), on free ports and its own state directory, driven only over HTTP."""
from __future__ import annotations

from pathlib import Path

import pytest

from local import process, stack as local_stack

ADMIN = {"X-Setu-Principal": local_stack.ADMIN_ARN}


def _start(state_dir: Path) -> process.Running:
    try:
        return process.start(state_dir, SETU_FORM_LIMIT_PER_HOUR="50")
    except process.NotReady as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def local_stack_running(tmp_path_factory):
    running = _start(tmp_path_factory.mktemp("setu"))
    yield running
    running.stop()
