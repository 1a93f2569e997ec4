"""The deployment package, built once and shared by every test worker.

`make package`'s build (infra/package.py: chalice package, then the slim zip) runs at most once
per change of its inputs: the result is kept in build/test-package/<key>/, where <key> hashes
everything that goes into the zip, and xdist workers take a file lock so only one of them
builds. The probe runs of tests/packaging/lambda_like.py (the unzipped package in a clean
interpreter, and the reference run on the full virtualenv) are cached beside it the same way.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CACHE = ROOT / "build" / "test-package"
STAGE = "dev"
RUNNER = HERE / "lambda_like.py"
MAIL_CORPUS = ROOT / "tests" / "fixtures" / "mail"
YEARS = [2024, 2025, 2026, 2027]
OFFLINE_PROBES = ["environment", "import_app", "health", "chalicelib", "mail", "sanitise",
                  "contacts", "holidays", "templates", "idempotency_import"]


def _inputs() -> list[Path]:
    paths = [ROOT / "app.py", ROOT / "requirements.txt", ROOT / "requirements-dev.txt",
             ROOT / ".chalice" / "config.json", RUNNER]
    paths += sorted((ROOT / ".chalice").glob(f"policy-{STAGE}-*.json"))
    for folder in (ROOT / "chalicelib", ROOT / "infra", MAIL_CORPUS):
        paths += sorted(p for p in folder.rglob("*")
                        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    return paths


def build_key() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for path in _inputs():
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


class _Locked:
    def __enter__(self):
        CACHE.mkdir(parents=True, exist_ok=True)
        self._handle = open(CACHE / ".lock", "w")
        fcntl.flock(self._handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()


def _build(key: str) -> Path:
    """build/test-package/<key>/ with deployment.zip and sam.yaml (built if missing)."""
    from infra import package

    target = CACHE / key
    if (target / "deployment.zip").is_file():
        return target
    work = CACHE / f"{key}.building"
    shutil.rmtree(work, ignore_errors=True)
    package.build(STAGE, work / "out", work / "merge.yaml", quiet=True)
    (work / "out").rename(target)
    shutil.rmtree(work, ignore_errors=True)
    for stale in CACHE.iterdir():  # keep the newest few builds only
        if stale.is_dir() and stale != target and not stale.name.endswith(".building"):
            if stale.stat().st_mtime < target.stat().st_mtime - 3600:
                shutil.rmtree(stale, ignore_errors=True)
    return target


@pytest.fixture(scope="session")
def built() -> Path:
    """The folder holding deployment.zip and sam.yaml, as `make package` makes them."""
    key = build_key()
    with _Locked():
        return _build(key)


def _layout(built: Path) -> list[Path]:
    """[unzipped package, runtime folder]: see infra.package.lambda_layout."""
    from infra import package

    target = built / "lambda"
    if not (target / "ready").is_file():
        package.lambda_layout(built / "deployment.zip", target)
        (target / "ready").touch()
    return [target / "task", target / "runtime"]


def _app_only(built: Path, unzipped: Path) -> Path:
    """app.py and chalicelib from the zip, without the zip's libraries (the reference run)."""
    target = built / "app-only"
    if not target.is_dir():
        tmp = built / "app-only.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for name in ("app.py", "chalicelib"):
            (tmp / name).symlink_to(unzipped / name)
        tmp.rename(target)
    return target


def lambda_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """What Lambda sets (the parts the app reads), nothing from the developer's shell."""
    return {"LANG": "en_US.UTF-8", "TZ": ":UTC", "LAMBDA_TASK_ROOT": "/var/task",
            "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_LAMBDA_FUNCTION_NAME": "setu-test-api_handler",
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "SETU_STAGE": "dev", **(extra or {})}


def run_probes(paths: list[Path], probes: list[str], *, clean: bool,
               env: dict[str, str] | None = None, timeout: float = 240) -> dict:
    """Run lambda_like.py: clean = `python -I -S` (no site-packages at all)."""
    config = {"paths": [str(p) for p in paths], "probes": probes, "years": YEARS,
              "mail": [str(p) for p in sorted(MAIL_CORPUS.glob("*.eml"))],
              "holiday_countries": list(_holiday_countries())}
    handle, name = tempfile.mkstemp(prefix="setu-probe-", suffix=".json")
    config_path = Path(name)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(config, out)
    flags = ["-I", "-S"] if clean else ["-I"]
    try:
        result = subprocess.run([sys.executable, *flags, str(RUNNER), str(config_path)],
                                cwd=tempfile.gettempdir(), env=env or lambda_environment(),
                                capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        config_path.unlink(missing_ok=True)
    marker = "\n@@RESULT@@"
    if result.returncode != 0 or marker not in result.stdout:
        raise AssertionError(f"lambda_like.py failed ({result.returncode}):\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return json.loads(result.stdout.rsplit(marker, 1)[1])


def _holiday_countries() -> tuple[str, ...]:
    from infra import package

    return package.HOLIDAY_COUNTRIES


def _cached_probes(built: Path, name: str, make) -> dict:
    path = built / f"probes-{name}.json"
    with _Locked():
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
        results = make()
        path.write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")
        return results


@pytest.fixture(scope="session")
def unzipped(built) -> Path:
    """The deployment zip unzipped (what Lambda has in /var/task)."""
    with _Locked():
        return _layout(built)[0]


@pytest.fixture(scope="session")
def runtime_folder(built) -> Path:
    """boto3 and its dependencies only, linked from this virtualenv (what the runtime adds)."""
    with _Locked():
        return _layout(built)[1]


@pytest.fixture(scope="session")
def lambda_run(built, unzipped, runtime_folder) -> dict:
    """The offline probes in a clean interpreter: the unzipped package + the runtime's boto3."""
    return _cached_probes(built, "lambda", lambda: run_probes(
        [unzipped, runtime_folder], OFFLINE_PROBES + ["all_modules"], clean=True))


@pytest.fixture(scope="session")
def reference_run(built, unzipped) -> dict:
    """The same probes with the whole virtualenv and only the app's code from the zip."""
    with _Locked():
        app_only = _app_only(built, unzipped)
    return _cached_probes(built, "reference", lambda: run_probes(
        [app_only], OFFLINE_PROBES, clean=False))
