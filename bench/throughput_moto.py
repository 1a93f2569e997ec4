"""The emulator the throughput bench runs: the local stack's (local/moto_main.py, whose
DynamoDB is made safe for concurrent clients by local/moto_safety.py) with the server's
per-request access log off (about a sixth of the emulator's CPU under this load).

`python -m bench.throughput_moto launch` runs the local stack's launcher (`python -m local`,
what `make dev` runs) unchanged except that its emulator is started from this module.
`python -m bench.throughput_moto HOST PORT` runs the emulator alone. With
SETU_THROUGHPUT_STOCK_EMULATOR=1 the bench runs `python -m local` with SETU_EMULATOR_STOCK=1
instead: moto unpatched, to reproduce why the patch exists.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys

from local.moto_safety import make_dynamodb_thread_safe


def main(host: str, port: int) -> None:
    make_dynamodb_thread_safe()
    # no access-log line per request (about a sixth of the emulator's CPU under this load);
    # warnings and errors are still logged
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from local import moto_main

    moto_main.main(host, port)


def launch() -> int:
    """`python -m local` with its emulator started from this module."""
    from local import stack

    def start_moto(port: int, log_path=None) -> subprocess.Popen:
        env = {**os.environ, "TZ": "UTC", "MOTO_PORT": str(port), **stack.CREDENTIALS}
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        return subprocess.Popen(
            [sys.executable, "-m", "bench.throughput_moto", "127.0.0.1", str(port)],
            cwd=stack.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=stack._die_with_parent)

    stack.start_moto = start_moto
    from local.__main__ import main as run_local_stack

    return run_local_stack()


if __name__ == "__main__":
    if sys.argv[1:] == ["launch"]:
        sys.exit(launch())
    main(sys.argv[1], int(sys.argv[2]))
