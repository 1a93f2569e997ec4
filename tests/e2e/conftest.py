"""End to end: the local stack started as a user starts it (`python -m local`, what `make dev`
runs), on free ports and its own state directory, driven only over HTTP."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from local import stack as local_stack

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"X-Setu-Principal": local_stack.ADMIN_ARN}


@dataclass
class Running:
    process: subprocess.Popen
    state_dir: Path
    info: dict
    log: Path

    @property
    def url(self) -> str:
        return self.info["api_url"]


def _start(state_dir: Path) -> Running:
    env = {**os.environ, "SETU_API_PORT": str(local_stack.free_port()),
           "SETU_AWS_PORT": str(local_stack.free_port()),
           "SETU_SMTP_PORT": str(local_stack.free_port()),
           "SETU_STATE_DIR": str(state_dir), "SETU_FORM_LIMIT_PER_HOUR": "50"}
    log = state_dir / "stack.log"
    process = subprocess.Popen([sys.executable, "-m", "local"], cwd=ROOT, env=env,
                               stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    info_path = state_dir / "local.json"
    deadline = time.monotonic() + 90
    while not info_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the local stack did not become ready:\n{log.read_text()}")
        time.sleep(0.2)
    return Running(process, state_dir, json.loads(info_path.read_text()), log)


@pytest.fixture(scope="module")
def local_stack_running(tmp_path_factory):
    running = _start(tmp_path_factory.mktemp("setu"))
    yield running
    if running.process.poll() is None:
        running.process.send_signal(signal.SIGTERM)
        running.process.wait(30)
