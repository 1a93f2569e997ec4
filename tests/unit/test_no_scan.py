"""No request path scans a table (issue 8, item 4; docs/data-model.md): every access is a
GetItem, Query, BatchGetItem or a write. A Scan reads the whole table, so its cost grows with
the data; this keeps it out of the code. `make bench` (bench/scale.py) checks the other side:
the emulator's request log holds no Scan while the agent requests run."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# pynamodb Model.scan / Index.scan / rate_limited_scan / parallel scans, boto3 client.scan and
# Table.scan, the scan paginator, and the operation named as a string (_make_api_call("Scan"))
SCAN = re.compile(
    r"""\.\s*(?:rate_limited_|parallel_)?scan\s*\("""
    r"""|\bscan\s*\(\s*(?:TableName|table_name|Segment|\*\*)"""
    r"""|get_paginator\(\s*["']scan["']"""
    r"""|["'](?:Scan|ParallelScan)["']""",
    re.IGNORECASE)


def _sources() -> list[Path]:
    return [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]


def test_the_app_never_scans():
    hits = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
            for path in _sources()
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
            if SCAN.search(line)]
    assert not hits, "a Scan in the app (use a GetItem, Query or BatchGetItem):\n" + "\n".join(hits)


def test_the_sources_are_there():
    assert len(_sources()) > 20  # the glob found the package, not an empty directory


@pytest.mark.parametrize("line", [
    "for t in Ticket.scan():",
    "Ticket.status_index.scan(limit=10)",
    "Key.rate_limited_scan(page_size=10)",
    'client.scan(TableName="setu-tickets")',
    "table.scan(**kwargs)",
    'paginator = client.get_paginator("scan")',
    'connection.dispatch("Scan", kwargs)',
    "self.client._make_api_call('Scan', params)",
])
def test_the_pattern_catches_scans(line):
    assert SCAN.search(line)


@pytest.mark.parametrize("line", [
    "return TimelineItem.query(ticket_id, scan_index_forward=True)",
    "# The HTML tree builder scans the open elements for every new tag",
    "def _fast_scanner(self):",
])
def test_the_pattern_lets_queries_be(line):
    assert not SCAN.search(line)
