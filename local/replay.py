"""`python -m local.replay timers|events|streams [--dry-run] [--max N]`: infra/replay.py
against the running local stack. The local stack has no Lambda, so a stream record is
delivered by running the app's handler in this process, pointed at the stack's emulator.
(infra/ imports nothing from local/; this module is the one that joins them.)"""
from __future__ import annotations

import os
import sys
from typing import Any

from infra import replay
from local import stack
from local.pump import Context


def local_invoke(info: dict[str, Any]):
    os.environ.update(stack.environment(info["outputs"], info["aws_endpoint_url"],
                                        api_url=info.get("api_url", "")))
    import app  # after the environment is set: the app reads it on first use

    def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(app, function.removeprefix(f"setu-{info['stage']}-"))
        return handler(event, Context(function)) or {}
    return invoke


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--local" not in args:
        args.append("--local")
    return replay.main(args, local_invoke=local_invoke)


if __name__ == "__main__":
    sys.exit(main())
