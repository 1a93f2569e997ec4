"""(b) Cold import of the app relative to `import boto3`, in the same run.

Each sample is a fresh interpreter that times one import with perf_counter (interpreter start-up
is excluded, since Lambda pays it whatever the code does). The two kinds of sample are
interleaved, alternating which goes first, so drift on the machine hits both alike; the figure
is median(app) / median(boto3).

The figure that counts is the deployment package the way Lambda runs it (issue 19 item 7):
build/dev/deployment.zip (rebuilt when stale; `make package` ships bytecode by default) unzipped
into a folder made read-only, beside a folder holding only boto3 and its dependencies, in
`python -I -S` with PYTHONDONTWRITEBYTECODE=1 (and -B, its flag: -I ignores PYTHON*
variables). Nothing is ever cached there, as on Lambda's read-only /var/task: every module the
zip does not ship compiled is compiled on every cold start (the runtime's boto3 has its
bytecode); the bench checks afterwards that no bytecode was written. Goal 1.3x, enforced.

Reported beside it, labelled:

* the same package without its bytecode (what `make package BYTECODE=0` ships: the zip's
  ``.pyc`` left out when unzipping), which is what every cold start paid before bytecode became
  the default (1.95x in issue 19);
* the old figure: the repository with its virtualenv and a warm bytecode cache (what `make dev`
  and the tests import), goal 1.4x (issue 8), enforced as before.

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
GOAL_RATIO = 1.3  # issue 19 item 7: the package as Lambda runs it
OLD_GOAL_RATIO = 1.4  # issue 8: repository + virtualenv
TIMER = ("import time as _t\n_s = _t.perf_counter()\nimport {module}\n"
         "print(_t.perf_counter() - _s)\n")


def _env(flags: tuple[str, ...] = ()) -> dict[str, str]:
    """A Lambda-like environment: a region, no endpoint override, no local AWS config; with
    -B also PYTHONDONTWRITEBYTECODE=1 (what -B means; -I would ignore the variable alone)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "SETU_", "PYTHON"))}
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                "AWS_LAMBDA_FUNCTION_NAME": "setu-bench-api_handler",
                "SETU_STAGE": "dev", "PYTHONHASHSEED": "0"})
    if "-B" in flags:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _argv(code: str, paths: list[Path] | None, flags: tuple[str, ...] = ()) -> list[str]:
    if paths is None:
        return [sys.executable, *flags, "-c", code]
    setup = f"import sys\nsys.path[:0] = {[str(p) for p in paths]!r}\n"
    return [sys.executable, *flags, "-I", "-S", "-c", setup + code]


def time_import(module: str, paths: list[Path] | None = None,
                flags: tuple[str, ...] = ()) -> float:
    result = subprocess.run(_argv(TIMER.format(module=module), paths, flags), cwd=ROOT,
                            env=_env(flags), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"import {module} failed:\n{result.stderr.strip()[-2000:]}")
    return float(result.stdout.strip().splitlines()[-1])


def importtime(module: str = "app", paths: list[Path] | None = None,
               flags: tuple[str, ...] = ()) -> list[tuple[str, int, int, int]]:
    """(module, self us, cumulative us, depth) for every import `import <module>` makes."""
    result = subprocess.run(_argv(f"import {module}", paths, (*flags, "-X", "importtime")),
                            cwd=ROOT, env=_env(flags), capture_output=True, text=True, check=False)
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
             flags: tuple[str, ...] = (), enforced: bool = True,
             goal: float = GOAL_RATIO) -> Figure:
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
        goal=goal,
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


def _pyc_count(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("*.pyc"))


def lambda_way_layout(bytecode: bool = True) -> list[Path]:
    """build/dev/deployment.zip (rebuilt if stale) unzipped into a read-only folder beside a
    boto3-only folder: build/bench-lambda[-no-bytecode]/{task,runtime}. Without bytecode, the
    zip's .pyc files are left out (the package `make package BYTECODE=0` builds)."""
    from bench import package_size
    from infra import package

    zip_path = package_size.ZIP if package_size.is_fresh() else package_size.build()
    target = ROOT / "build" / ("bench-lambda" if bytecode else "bench-lambda-no-bytecode")
    if target.exists():  # a previous run left it read-only
        for path in [target, *target.rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
    task, runtime = package.lambda_layout(zip_path, target)
    if not bytecode:
        for pyc in task.rglob("*.pyc"):
            pyc.unlink()
    for path in [task, *task.rglob("*")]:  # read-only, as /var/task
        if not path.is_symlink():
            path.chmod(0o555 if path.is_dir() else 0o444)
    return [task, runtime]


def _lambda_way(name: str, runs: int, bytecode: bool, note: str, enforced: bool) -> Figure:
    paths = lambda_way_layout(bytecode)
    before = _pyc_count(paths[0])
    figure = _measure(name, runs, paths, note, flags=("-B",), enforced=enforced)
    written = _pyc_count(paths[0]) - before
    figure.details["pyc_shipped"] = before
    if written:
        figure.error = f"{written} .pyc files were written into the read-only package folder"
    return figure


def measure(runs: int = 9) -> list[Figure]:
    runs = max(runs, 7)
    interleaved = f"median of {runs} fresh interpreters each, interleaved"
    lambda_way = ("unzipped deployment.zip in a read-only folder + boto3 only, python -I -S "
                  "with PYTHONDONTWRITEBYTECODE=1 (-B): nothing compiled is cached, as on "
                  "Lambda's read-only /var/task")
    return [
        _lambda_way("cold import app / import boto3, deployment package the Lambda way",
                    runs, True, f"make package (bytecode shipped); {lambda_way}; {interleaved}",
                    enforced=True),
        _lambda_way("cold import app / import boto3, package without bytecode (BYTECODE=0)",
                    runs, False, f"the zip's .pyc left out, as before bytecode was the default; "
                    f"{lambda_way}; {interleaved}; reported only", enforced=False),
        _measure("cold import app / import boto3, repository + virtualenv (old figure)", runs,
                 None, f"the old figure (issue 8): repository + virtualenv, bytecode cache "
                 f"warm; {interleaved}", goal=OLD_GOAL_RATIO),
    ]
