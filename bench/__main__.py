"""`python -m bench [--only zip,imports,calls,scale,mail,timers,throughput,load,cost,fuzz,console] [--runs N] [--rebuild]`

`fuzz` runs the property-based API test at SETU_FUZZ_EXAMPLES=200 (bench/fuzz.py).

`console` times the agent console's first screen in Chromium (bench/console.py).

`mail` also reports reply-stripping and header-decoding rates on the sample sets (bench/mail_parse.py).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from bench.figures import Figure

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
SECTIONS = ("zip", "imports", "calls", "scale", "mail", "timers", "throughput", "load", "cost",
            "fuzz", "console")


def _section(name: str, args: argparse.Namespace, earlier: list[Figure]) -> list[Figure]:
    if name == "throughput":
        from bench import throughput

        return throughput.measure()
    if name == "load":
        from bench import load_mixed

        return load_mixed.figures()
    if name == "console":
        from bench import console

        return console.measure()
    if name == "fuzz":
        from bench import fuzz

        return fuzz.measure()
    if name == "cost":
        from bench import cost

        return cost.measure(earlier)
    if name == "zip":
        from bench import package_size

        code = package_size.measure(rebuild=args.rebuild)
        return [code, package_size.measure_console()]
    if name == "imports":
        from bench import cold_import

        return cold_import.measure(runs=args.runs)
    if name == "timers":
        from bench import timer_lateness

        return timer_lateness.measure()
    if name == "scale":
        from bench import scale

        return scale.measure()
    if name == "mail":
        from bench import mail_parse

        return mail_parse.measure(runs=args.runs)
    from bench import api_calls

    return api_calls.measure()


def _print(figure: Figure) -> None:
    print(f"  {figure.line()}")
    if figure.note:
        print(f"      {figure.note}")
    details = figure.details
    if "largest_entries" in details:
        entries = ", ".join(f"{e['entry']} {e['compressed_bytes'] / 1024:.0f}"
                            for e in details["largest_entries"])
        print(f"      {details['bytes']:,} bytes, {details.get('files', '?')} files; "
              f"largest (KB compressed): {entries}")
    if "app_median_ms" in details:
        print(f"      import app {details['app_median_ms']} ms, import boto3 "
              f"{details['boto3_median_ms']} ms (medians of {details['runs']})")
        offenders = details["importtime_offenders"]
        print("      -X importtime, top packages by self time: " + ", ".join(
            f"{o['package']} {o['ms']}" for o in offenders["by_package_self_ms"]) + " (ms)")
        if "beyond_boto3_by_package_self_ms" in offenders:
            print("      -X importtime, what app adds to boto3's imports, by package: " + ", ".join(
                f"{o['package']} {o['ms']}" for o in offenders["beyond_boto3_by_package_self_ms"])
                + " (ms)")
        print("      -X importtime, top modules by self time:")
        for row in offenders["by_module_self_ms"]:
            print(f"        {row['self_ms']:7.1f} ms self {row['cumulative_ms']:8.1f} ms cumulative"
                  f"  {row['module']}")
    if "stdlib_messages_per_second" in details:
        print(f"      {details['messages']} messages, {details['corpus_bytes']:,} bytes; stdlib "
              f"message_from_bytes alone {details['stdlib_messages_per_second']:,} msg/s")
    for line in details.get("lines", ()):
        print(f"      {line}")
    if "by_operation" in details:
        operations = ", ".join(f"{op} x{n}" if n > 1 else op
                               for op, n in details["by_operation"].items()) or "none"
        print(f"      {operations}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections: {', '.join(SECTIONS)}")
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters per import (>= 7)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the zip even when fresh")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")

    figures: list[Figure] = []
    for name in wanted:
        print(f"[{name}]", flush=True)
        started = time.monotonic()
        try:
            produced = _section(name, args, figures)
        except Exception as exc:  # noqa: BLE001 - reported as a failed figure
            traceback.print_exc()
            produced = [Figure(name=f"{name} (not measured)", value=None, unit="",
                               error=f"{type(exc).__name__}: {exc}")]
        for figure in produced:
            _print(figure)
        print(f"  ({time.monotonic() - started:.1f}s)", flush=True)
        figures += produced

    failed = [f for f in figures if f.fails]
    print("summary (FAIL: an enforced goal missed or a figure not measured; miss: a "
          "reported-only goal missed):")
    for figure in figures:
        if figure.goal is None and not figure.error:
            continue
        status = "FAIL" if figure.fails else "miss" if figure.met is False else "ok"
        print(f"  {status:<4}  {figure.line()}")
    report = {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "figures": [f.to_dict() for f in figures],
        "failed": [f.name for f in failed],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    verdict = "all enforced goals met" if not failed else "FAILED: " + "; ".join(f.name for f in failed)
    print(f"bench: {len(figures)} figures, {verdict}; written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
