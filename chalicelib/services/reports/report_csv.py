"""The report as CSV (GET /api/reports?format=csv, `setu report --format csv`): a header row, a row
per day, the totals row, a row per group (by=agent, department or channel), a row per backlog
age bucket. A cell a spreadsheet would run as a formula is written as text. No AWS calls."""
from __future__ import annotations

import csv
import io
from typing import Any

from chalicelib.services.reports.counters import SCORES, TARGETS

CSV_COLUMNS = (
    "row", "key", "created", "first_responses", "resolved", "reopened", "handled",
    "contacts_in", "replies_out", "breaches",
    *(f"breaches_{t}" for t in TARGETS),
    "first_response_median_seconds", "first_response_p90_seconds",
    "first_response_median_hours", "first_response_p90_hours", "first_response_mean_seconds",
    "resolution_median_seconds", "resolution_p90_seconds",
    "resolution_median_hours", "resolution_p90_hours", "resolution_mean_seconds",
    "csat_count", "csat_average", *(f"csat_{s}" for s in SCORES), "backlog_open",
    "name",  # by=agent: the display name (last, so the older columns keep their places)
)


def to_csv(report: dict[str, Any]) -> str:
    """Header row; a row per day; the totals row; then a row per group (by=agent, department
    or channel) and a row per backlog age bucket (`backlog_open` filled)."""

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for day in report["days"]:
        writer.writerow(_csv_row("day", day["date"], day))
    writer.writerow(_csv_row("total", f"{report['from']}..{report['to']}", report["totals"],
                             backlog_open=report["backlog"]["open"]))
    for group in report.get("groups", []):
        writer.writerow(_csv_row(report["by"], group["key"], group, name=group.get("name", "")))
    for label, n in report["backlog"]["by_age"].items():
        writer.writerow(["backlog", label] + [""] * (len(CSV_COLUMNS) - 4) + [n, ""])
    return out.getvalue()


def _csv_row(kind: str, key: str, f: dict[str, Any], backlog_open: Any = "",
             name: str = "") -> list[Any]:
    fr, res, csat = f["first_response"], f["resolution"], f["csat"]
    values = [kind, key, f["created"], f["first_responses"], f["resolved"], f["reopened"],
              f["handled"], f["contacts_in"], f["replies_out"], f["breaches"]["total"],
              *(f["breaches"][t] for t in TARGETS),
              fr["median_seconds"], fr["p90_seconds"], fr["median_hours"], fr["p90_hours"],
              fr.get("mean_seconds"),
              res["median_seconds"], res["p90_seconds"], res["median_hours"], res["p90_hours"],
              res.get("mean_seconds"),
              csat["count"], csat["average"], *(csat["distribution"][str(s)] for s in SCORES),
              backlog_open, name]
    return ["" if v is None else _cell(v) for v in values]


# a spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula (an agent's display name "=HYPERLINK(..)")
    gets a leading apostrophe, so it is shown as text; numbers are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
