"""The emulated AWS the call-count bench runs against: the local stack's own emulator start and
deploy (local/stack.py), on a free 127.0.0.1 port, so the bench and `make dev` stand on the same
set-up."""
from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

from local import stack

REGION = stack.REGION
STAGE = "bench"
client = stack.client


@contextlib.contextmanager
def running() -> Iterator[dict[str, Any]]:
    """Start the emulator, deploy the template, yield {endpoint, outputs, env}; stop it after."""
    port = stack.free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkstemp(prefix="setu-bench-moto-", suffix=".log")[1])
    process = stack.start_moto(port, log)
    failed = True
    try:
        stack.wait_ready(endpoint)
        outputs = stack.deploy(endpoint, STAGE)
        yield {"endpoint": endpoint, "outputs": outputs, "via": "local.stack",
               "env": stack.environment(outputs, endpoint)}
        failed = False
    finally:
        stack.stop(process)
        if failed:
            print(f"bench: emulator log kept at {log}", file=sys.stderr)
        else:
            log.unlink(missing_ok=True)
