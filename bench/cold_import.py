"""(b) Cold import of the app relative to `import boto3`, in the same run.

Each sample is a fresh interpreter that times one import with perf_counter (interpreter start-up
is excluded, since Lambda pays it whatever the code does). The two kinds of sample are
interleaved, alternating which goes first, so drift on the machine hits both alike; the figure
is median(app) / median(boto3). One discarded warm-up run of each fills the bytecode cache.

`python -X importtime -c "import app"` then names the biggest contributors.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from bench.figures import Figure

ROOT = Path(__file__).resolve().parent.parent
GOAL_RATIO = 1.4  # issue 8
TIMER = ("import time as _t\n_s = _t.perf_counter()\nimport {module}\n"
         "print(_t.perf_counter() - _s)\n")


def _env() -> dict[str, str]:
    """A Lambda-like environment: a region, no endpoint override, no local AWS config."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "SETU_", "PYTHON"))}
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                "AWS_LAMBDA_FUNCTION_NAME": "setu-bench-api_handler",
                "SETU_STAGE": "dev", "PYTHONHASHSEED": "0"})
    return env


def time_import(module: str) -> float:
    result = subprocess.run([sys.executable, "-c", TIMER.format(module=module)], cwd=ROOT,
                            env=_env(), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"import {module} failed:\n{result.stderr.strip()[-2000:]}")
    return float(result.stdout.strip().splitlines()[-1])


def importtime(module: str = "app") -> list[tuple[str, int, int, int]]:
    """(module, self us, cumulative us, depth) for every import `import <module>` makes."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                            cwd=ROOT, env=_env(), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"import {module} failed:\n{result.stderr.strip()[-2000:]}")
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line[len("import time:"):].split("|", 2)
        depth = max(len(name) - len(name.lstrip(" ")) - 1, 0) // 2
        rows.append((name.strip(), int(self_us), int(cumulative_us), depth))
    return rows


def offenders(rows: list[tuple[str, int, int, int]], top: int = 10) -> dict[str, list[dict]]:
    by_module = sorted(rows, key=lambda r: r[1], reverse=True)[:top]
    packages: dict[str, int] = defaultdict(int)
    for name, self_us, _, _ in rows:
        packages[name.split(".", 1)[0]] += self_us
    by_package = sorted(packages.items(), key=lambda kv: kv[1], reverse=True)[:top]
    return {
        "by_package_self_ms": [{"package": p, "ms": round(us / 1000, 1)} for p, us in by_package],
        "by_module_self_ms": [{"module": m, "self_ms": round(s / 1000, 1),
                               "cumulative_ms": round(c / 1000, 1)}
                              for m, s, c, _ in by_module],
    }


def measure(runs: int = 9) -> Figure:
    runs = max(runs, 7)
    time_import("boto3"), time_import("app")  # warm-up: bytecode cache, page cache
    samples: dict[str, list[float]] = {"boto3": [], "app": []}
    for i in range(runs):
        order = ("boto3", "app") if i % 2 == 0 else ("app", "boto3")
        for module in order:
            samples[module].append(time_import(module))
    app_ms = statistics.median(samples["app"]) * 1000
    boto3_ms = statistics.median(samples["boto3"]) * 1000
    ratio = app_ms / boto3_ms
    return Figure(
        name="cold import app / import boto3",
        value=round(ratio, 2),
        unit="x",
        goal=GOAL_RATIO,
        note=f"median of {runs} fresh interpreters each, interleaved",
        details={"runs": runs, "app_median_ms": round(app_ms, 1),
                 "boto3_median_ms": round(boto3_ms, 1),
                 "app_samples_ms": [round(s * 1000, 1) for s in samples["app"]],
                 "boto3_samples_ms": [round(s * 1000, 1) for s in samples["boto3"]],
                 "importtime_offenders": offenders(importtime("app"))},
    )
