"""Run benchmarks: ``python -m bench [NAME ...] [--list] [--out DIR]``."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import RESULTS_DIR, available

COLUMNS = ("bench", "case", "metric", "value", "unit", "baseline", "ratio", "note")


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"
    return str(value)


def format_table(rows: list[dict[str, Any]]) -> str:
    """One aligned text table of all rows."""
    cells = [list(COLUMNS)] + [[_fmt(r.get(c)) for c in COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _run_one(name: str) -> list[dict[str, Any]]:
    module = importlib.import_module(f"bench.{name}")
    started = time.perf_counter()
    rows = [{"bench": name, **row} for row in module.run()]
    print(f"[bench] {name}: {len(rows)} rows in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    os.sync()  # the next bench must not pay for this one's writeback (e.g. a year of rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the chosen (default: all) benchmarks, print the table, save JSON."""
    names = available()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"one of {names}")
    parser.add_argument("--list", action="store_true", help="list benchmarks and exit")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results folder")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(names))
        return 0
    unknown = [n for n in args.names if n not in names]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; available: {names}")
    rows: list[dict[str, Any]] = []
    for name in args.names or names:
        rows.extend(_run_one(name))
    print(format_table(rows))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{stamp}.json"
    doc = {"created": stamp, "python": sys.version.split()[0], "machine": platform.machine(),
           "cpus": os.cpu_count(), "rows": rows}
    path.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
