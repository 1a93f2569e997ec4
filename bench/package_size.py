"""(a) Deployment zip size: the zip `make package` builds for stage dev (bytecode included,
the default since issue 19; goal 3 MB, was 2 MB without bytecode), and the agent console's
share of it (issue 23).

The console's assets (chalicelib/console/: scripts, stylesheet) ship in the same zip, since
the app serves them (docs/console.md). The code's goal stays 3 MB and is enforced on the zip
without them; the assets have a budget of their own (CONSOLE_GOAL_BYTES, compressed in the
zip), also enforced, so the whole zip stays within 3 MB + that budget. They are files the
function reads when a page asks for one, never at import (the cold-import figure measures it).

Reuses build/dev/deployment.zip when it is newer than everything that goes into it (and is
already slimmed); otherwise builds it the way `make package` does (infra/package.py: render
the merge template, `chalice package`, slim the zip), without the cfn-lint step, which does
not change the zip.
"""
from __future__ import annotations

import math
import zipfile
from collections import Counter
from pathlib import Path

from bench.figures import Figure

ROOT = Path(__file__).resolve().parent.parent
STAGE = "dev"
ZIP = ROOT / "build" / STAGE / "deployment.zip"
GOAL_BYTES = 3 * 1024 * 1024  # issue 19 item 7: <= 3 MB with the bytecode shipped by default
CONSOLE_PREFIX = "chalicelib/console/"
CONSOLE_GOAL_BYTES = 96 * 1024  # the console's scripts and stylesheet, compressed in the zip


def _inputs() -> list[Path]:
    paths = [ROOT / "app.py", ROOT / "requirements.txt", ROOT / ".chalice" / "config.json"]
    for folder in ("chalicelib", "vendor", "infra"):
        base = ROOT / folder
        if base.is_dir():
            paths += [p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    paths += list((ROOT / ".chalice").glob(f"policy-{STAGE}-*.json"))
    return [p for p in paths if p.exists()]


def is_fresh(zip_path: Path = ZIP) -> bool:
    """Built after its last input changed, and slimmed (no botocore in it)."""
    if not zip_path.is_file():
        return False
    built = zip_path.stat().st_mtime
    if not all(p.stat().st_mtime <= built for p in _inputs()):
        return False
    try:
        with zipfile.ZipFile(zip_path) as archive:
            return not any(n.startswith("botocore/") for n in archive.namelist())
    except zipfile.BadZipFile:
        return False


def build(stage: str = STAGE) -> Path:
    """Same steps as `make package`, minus cfn-lint. Offline apart from PyPI; no AWS."""
    from infra import package

    return package.build(stage, ROOT / "build" / stage, ROOT / "build" / "merge.yaml")


def contents(zip_path: Path, top: int = 8) -> list[dict]:
    """Compressed bytes per top-level entry of the zip, largest first."""
    sizes: Counter[str] = Counter()
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            head = info.filename.split("/", 1)[0]
            if head.endswith(".dist-info"):
                head = "*.dist-info"
            sizes[head] += info.compress_size
    return [{"entry": name, "compressed_bytes": size} for name, size in sizes.most_common(top)]


def console_bytes(zip_path: Path) -> tuple[int, int, int]:
    """(compressed bytes, uncompressed bytes, files) of the console's assets in the zip; the
    compressed count includes each entry's local header and central directory record."""
    compressed = raw = files = 0
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            if info.filename.startswith(CONSOLE_PREFIX):
                name = len(info.filename.encode())
                compressed += info.compress_size + 30 + name + 46 + name
                raw += info.file_size
                files += 1
    return compressed, raw, files


def measure_console(zip_path: Path = ZIP) -> Figure:
    compressed, raw, files = console_bytes(zip_path)
    return Figure(
        name="console assets in the zip", value=math.ceil(compressed / 1024), unit="KB",
        goal=CONSOLE_GOAL_BYTES / 1024,
        note="chalicelib/console/ (scripts, stylesheet, icon), compressed as the zip holds them; "
             "read by the function only when a page asks, never at import",
        error=None if files else "no console assets in the zip",
        details={"compressed_bytes": compressed, "uncompressed_bytes": raw, "files": files})


def measure(rebuild: bool = False) -> Figure:
    reused = not rebuild and is_fresh()
    zip_path = ZIP if reused else build()
    console, _, _ = console_bytes(zip_path)
    size = zip_path.stat().st_size - console  # the code's share; the console has its own goal
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        uncompressed = sum(i.file_size for i in archive.infolist())
    vendored = sorted({n.split("/", 1)[0] for n in names}
                      & {"boto3", "botocore", "s3transfer", "urllib3", "dateutil", "jmespath"})
    return Figure(
        name="deployment zip (dev), without the console assets",
        value=math.ceil(size / (1024 * 1024) * 100) / 100,  # rounded up: never flatters
        unit="MB",
        goal=GOAL_BYTES / (1024 * 1024),
        note="MB = 2^20 bytes; with the app's bytecode (make package's default); boto3/botocore "
             "and their dependencies come from the Lambda runtime; without the console's assets "
             "(their own figure: console assets in the zip)",
        error=f"the zip vendors {', '.join(vendored)}" if vendored else None,
        details={"bytes": size, "goal_bytes": GOAL_BYTES, "files": len(names),
                 "whole_zip_bytes": zip_path.stat().st_size, "console_bytes": console,
                 "pyc_files": sum(1 for n in names if n.endswith(".pyc")),
                 "uncompressed_bytes": uncompressed,
                 "path": str(zip_path.relative_to(ROOT)),
                 "reused_existing_build": reused, "largest_entries": contents(zip_path)},
    )
