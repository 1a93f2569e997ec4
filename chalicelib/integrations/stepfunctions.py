"""Starting and stopping timer executions on the timer state machine."""
from __future__ import annotations

import json

from chalicelib import config
from chalicelib.integrations.aws import client


def execution_arn(name: str) -> str:
    machine = config.settings().timer_state_machine_arn
    return machine.replace(":stateMachine:", ":execution:", 1) + ":" + name


def start(name: str, payload: dict) -> str:
    """Start an execution. Same name and input again is a no-op on AWS (idempotent)."""
    sfn = client("stepfunctions")
    try:
        response = sfn.start_execution(
            stateMachineArn=config.settings().timer_state_machine_arn,
            name=name,
            input=json.dumps(payload, sort_keys=True),
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        # Redelivered stream record: the execution already runs (or ran) under this name.
        return execution_arn(name)
    return response["executionArn"]


def stop(name: str, cause: str) -> None:
    sfn = client("stepfunctions")
    try:
        sfn.stop_execution(executionArn=execution_arn(name), cause=cause[:256])
    except (sfn.exceptions.ExecutionDoesNotExist, sfn.exceptions.InvalidArn):
        pass
