"""The local stack as a child process, started as a user starts it (`python -m local`, what
`make dev` runs) on free ports and its own state directory: for the end-to-end tests and the
load benchmark."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from local import stack

ROOT = Path(__file__).resolve().parents[1]


class NotReady(RuntimeError):
    pass


@dataclass
class Running:
    process: subprocess.Popen
    state_dir: Path
    info: dict
    log: Path

    @property
    def url(self) -> str:
        return self.info["api_url"]

    def stop(self, timeout: float = 30) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start(state_dir: Path, timeout: float = 90, **settings: str) -> Running:
    """Start the stack; `settings` are extra environment variables (e.g.
    SETU_FORM_LIMIT_PER_HOUR="0"). Raises NotReady with the log when it does not come up."""
    env = {**os.environ, "SETU_API_PORT": str(stack.free_port()),
           "SETU_AWS_PORT": str(stack.free_port()), "SETU_SMTP_PORT": str(stack.free_port()),
           "SETU_STATE_DIR": str(state_dir), **settings}
    log = state_dir / "stack.log"
    process = subprocess.Popen([sys.executable, "-m", "local"], cwd=ROOT, env=env,
                               stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    info_path = state_dir / "local.json"
    deadline = time.monotonic() + timeout
    while not info_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise NotReady(f"the local stack did not become ready:\n{log.read_text()}")
        time.sleep(0.2)
    return Running(process, state_dir, json.loads(info_path.read_text()), log)
