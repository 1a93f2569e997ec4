"""(fuzz) The property-based API test at nightly size: tests/e2e/test_api_fuzz.py with
SETU_FUZZ_EXAMPLES=200 (CI runs it at 50) against a fresh local stack, every operation, valid
and schema-breaking requests, under each seed of SETU_FUZZ_SEEDS (default two), plus the
stateful runs. The figure is the number of failing tests (a 5xx, or a response that breaks
its documented schema or status); the goal is none. Its time is reported beside it.

`python -m bench --only fuzz`; SETU_FUZZ_EXAMPLES overrides the 200.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from bench.figures import Figure

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = 200


def measure() -> list[Figure]:
    examples = int(os.environ.get("SETU_FUZZ_EXAMPLES", str(EXAMPLES)))
    env = {**os.environ, "SETU_FUZZ_EXAMPLES": str(examples),
           "SETU_FUZZ_STATEFUL": os.environ.get("SETU_FUZZ_STATEFUL", "50")}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-s",
         "tests/e2e/test_api_fuzz.py"], cwd=ROOT, env=env, capture_output=True, text=True,
        check=False)
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    failed = sum(int(n) for n in re.findall(r"(\d+) failed", output))
    passed = sum(int(n) for n in re.findall(r"(\d+) passed", output))
    lines = [line for line in output.splitlines() if line.startswith(("fuzz seed", "stateful seed"))]
    error = None
    if result.returncode not in (0, 1) or passed + failed == 0:
        error = f"pytest exited {result.returncode}: {output.strip()[-500:]}"
    return [Figure(
        name=f"API fuzz at {examples} examples per operation and mode: failing tests",
        value=failed, unit="tests", goal=0, note=f"{passed} passed in {elapsed:.0f}s",
        details={"examples": examples, "seconds": round(elapsed), "lines": lines,
                 "failures": [line for line in output.splitlines()
                              if line.startswith("FAILED")][:20]},
        error=error)]
