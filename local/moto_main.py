"""Run moto's server application with Step Functions executions enabled, on waitress.

Patches, all for moto 5.x server mode (DynamoDB safe for concurrent clients is
local/moto_safety.py; what makes the emulator answer faster is local/moto_speed.py):
- executions only run in the "parser" backend, but CloudFormation creates state machines in
  the plain backend; pointing the plain backend name at the parser backends makes a
  template-created state machine executable;
- the parser backend is used only when the execute_state_machine option is on.

The application is the one `moto_server` runs (DomainDispatcherApplication); the HTTP server
is waitress instead of werkzeug's development server, which answers every request with
`Connection: close`, so each AWS call of the app, the pump and the tests opened a new TCP
connection and the emulator started a thread for it; waitress keeps connections open
(HTTP/1.1 keep-alive) and answers from a fixed pool of threads. SETU_EMULATOR_STOCK=1 runs
moto's own server, unpatched.

Run with TZ=UTC (its Wait state compares timestamps with local time) and MOTO_PORT set (its
SQS integration calls back to localhost:$MOTO_PORT).
"""
from __future__ import annotations

import os
import sys

# Enough for every long poll the pump keeps open (one per queue, up to a second each) beside
# the requests of the app, the tests and the emulator's own Step Functions callbacks.
THREADS = 32


def main(host: str, port: int) -> None:
    import moto.stepfunctions.models as plain
    from moto.core.config import default_user_config
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    plain.stepfunctions_backends = stepfunctions_parser_backends
    default_user_config["stepfunctions"]["execute_state_machine"] = True
    if os.environ.get("SETU_EMULATOR_STOCK") == "1":
        from moto.server import main as serve_stock

        serve_stock(["-H", host, "-p", str(port)])
        return
    from local import moto_speed
    from local.moto_safety import make_dynamodb_thread_safe

    make_dynamodb_thread_safe()  # concurrent transactions lose items otherwise
    moto_speed.apply()  # relies on the lock above
    serve(host, port)


def serve(host: str, port: int) -> None:
    import logging
    import signal

    import waitress
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # "Task queue depth is N": a burst waiting for a thread, expected under load
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True  # as moto_server sets it
    waitress.serve(app, host=host, port=port, threads=THREADS, connection_limit=2000,
                   backlog=1024, asyncore_use_poll=True, ident="moto")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
