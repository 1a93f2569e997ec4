"""(b) Cold import of the app relative to `import boto3`, in the same run.

Each sample is a fresh interpreter that times one import with perf_counter (interpreter start-up
is excluded, since Lambda pays it whatever the code does). The two kinds of sample are
interleaved, alternating which goes first, so drift on the machine hits both alike; the figure
is median(app) / median(boto3). One discarded warm-up run of each fills the bytecode cache.

Three figures, all against the same goal:

* the repository with its virtualenv (what `make dev` and the tests import): enforced;
* the deployment package as Lambda sees it: build/dev/deployment.zip unzipped, plus a folder
  holding only boto3 and its dependencies, in `python -B -I -S` (no site-packages, and no
  bytecode written: Lambda's /var/task is read-only, so every cold start compiles whatever
  the zip does not ship compiled; the runtime's boto3 has its bytecode). Reported only: the
  zip ships no bytecode, to stay under 2 MB;
* the same package with the app's bytecode cached, which is what `make package BYTECODE=1`
  ships. Reported only.

The zip is built first when it is missing or stale (bench/package_size.py).
`python -X importtime -c "import app"` then names the biggest contributors in each layout,
overall and among the modules the app imports beyond what `import boto3` imports.
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


def _argv(code: str, paths: list[Path] | None, flags: tuple[str, ...] = ()) -> list[str]:
    if paths is None:
        return [sys.executable, *flags, "-c", code]
    setup = f"import sys\nsys.path[:0] = {[str(p) for p in paths]!r}\n"
    return [sys.executable, *flags, "-I", "-S", "-c", setup + code]


def time_import(module: str, paths: list[Path] | None = None,
                flags: tuple[str, ...] = ()) -> float:
    result = subprocess.run(_argv(TIMER.format(module=module), paths, flags), cwd=ROOT,
                            env=_env(), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"import {module} failed:\n{result.stderr.strip()[-2000:]}")
    return float(result.stdout.strip().splitlines()[-1])


def importtime(module: str = "app", paths: list[Path] | None = None,
               flags: tuple[str, ...] = ()) -> list[tuple[str, int, int, int]]:
    """(module, self us, cumulative us, depth) for every import `import <module>` makes."""
    result = subprocess.run(_argv(f"import {module}", paths, (*flags, "-X", "importtime")),
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


def offenders(rows: list[tuple[str, int, int, int]], top: int = 10,
              baseline: set[str] | None = None) -> dict[str, list[dict]]:
    """Biggest self times by module and by top-level package; with baseline (the modules
    `import boto3` imports), also by package over only the modules the app adds to it."""
    def by_package(selected) -> list[dict]:
        packages: dict[str, int] = defaultdict(int)
        for name, self_us, _, _ in selected:
            packages[name.split(".", 1)[0]] += self_us
        ranked = sorted(packages.items(), key=lambda kv: kv[1], reverse=True)[:top]
        return [{"package": p, "ms": round(us / 1000, 1)} for p, us in ranked]

    by_module = sorted(rows, key=lambda r: r[1], reverse=True)[:top]
    out = {
        "by_package_self_ms": by_package(rows),
        "by_module_self_ms": [{"module": m, "self_ms": round(s / 1000, 1),
                               "cumulative_ms": round(c / 1000, 1)}
                              for m, s, c, _ in by_module],
    }
    if baseline is not None:
        out["beyond_boto3_by_package_self_ms"] = by_package(
            [r for r in rows if r[0] not in baseline])
    return out


def _measure(name: str, runs: int, paths: list[Path] | None, note: str,
             flags: tuple[str, ...] = (), enforced: bool = True) -> Figure:
    time_import("boto3", paths, flags), time_import("app", paths, flags)  # warm-up
    samples: dict[str, list[float]] = {"boto3": [], "app": []}
    for i in range(runs):
        order = ("boto3", "app") if i % 2 == 0 else ("app", "boto3")
        for module in order:
            samples[module].append(time_import(module, paths, flags))
    app_ms = statistics.median(samples["app"]) * 1000
    boto3_ms = statistics.median(samples["boto3"]) * 1000
    return Figure(
        name=name,
        value=round(app_ms / boto3_ms, 2),
        unit="x",
        goal=GOAL_RATIO,
        enforced=enforced,
        note=note,
        details={"runs": runs, "app_median_ms": round(app_ms, 1),
                 "boto3_median_ms": round(boto3_ms, 1),
                 "app_samples_ms": [round(s * 1000, 1) for s in samples["app"]],
                 "boto3_samples_ms": [round(s * 1000, 1) for s in samples["boto3"]],
                 "importtime_offenders": offenders(
                     importtime("app", paths, flags),
                     baseline={r[0] for r in importtime("boto3", paths, flags)})},
    )


def packaged_layout() -> list[Path]:
    """build/dev/deployment.zip (rebuilt if stale) unzipped beside a boto3-only folder."""
    from bench import package_size
    from infra import package

    zip_path = package_size.ZIP if package_size.is_fresh() else package_size.build()
    return package.lambda_layout(zip_path, ROOT / "build" / "bench-lambda")


def measure(runs: int = 9) -> list[Figure]:
    runs = max(runs, 7)
    interleaved = f"median of {runs} fresh interpreters each, interleaved"
    figures = [_measure("cold import app / import boto3", runs, None,
                        f"repository + virtualenv; {interleaved}")]
    layout = packaged_layout()
    # As on Lambda: /var/task is read-only, so nothing the zip does not ship is ever cached.
    # boto3 (the runtime's, here this virtualenv's) keeps its bytecode, as it has on Lambda.
    figures.append(_measure(
        "cold import app / import boto3, deployment package as built", runs, layout,
        f"unzipped deployment.zip + boto3 only, python -B -I -S: no bytecode for the app's "
        f"modules, as on Lambda (read-only /var/task); {interleaved}; reported only: "
        "shipping bytecode (make package BYTECODE=1) costs the 2 MB zip goal",
        flags=("-B",), enforced=False))
    # The same with bytecode cached for every module: what `make package BYTECODE=1` ships.
    figures.append(_measure(
        "cold import app / import boto3, deployment package with bytecode", runs, layout,
        f"as above with the app's bytecode cached, as `make package BYTECODE=1` ships it; "
        f"{interleaved}; reported only", enforced=False))
    return figures
