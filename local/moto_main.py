"""Run moto's server with Step Functions executions enabled.

Patches, all for moto 5.x server mode (DynamoDB safe for concurrent clients is
local/moto_safety.py; the emulator's two costs that grew with the data are local/moto_speed.py):
- executions only run in the "parser" backend, but CloudFormation creates state machines in
  the plain backend; pointing the plain backend name at the parser backends makes a
  template-created state machine executable;
- the parser backend is used only when the execute_state_machine option is on.
Run with TZ=UTC (its Wait state compares timestamps with local time) and MOTO_PORT set (its
SQS integration calls back to localhost:$MOTO_PORT).
"""
from __future__ import annotations

import sys


def main(host: str, port: int) -> None:
    import os

    import moto.stepfunctions.models as plain
    from moto.core.config import default_user_config
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    plain.stepfunctions_backends = stepfunctions_parser_backends
    default_user_config["stepfunctions"]["execute_state_machine"] = True
    if os.environ.get("SETU_EMULATOR_STOCK") != "1":
        from local import moto_speed
        from local.moto_safety import make_dynamodb_thread_safe

        make_dynamodb_thread_safe()  # concurrent transactions lose items otherwise
        moto_speed.apply()  # relies on the lock above

    from moto.server import main as serve

    serve(["-H", host, "-p", str(port)])


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
