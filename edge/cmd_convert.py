"""``wheel-edge convert``: one or more scans to per-wheel CSV + metadata JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schemas.calibration import Calibration

NAME = "convert"
HELP = "convert SICK iCon scans (.dat or .xml) into per-wheel CSV + metadata JSON"

EPILOG = """\
Writes <stem>.csv (columns line,x,range,intensity[,scatter], values exactly as in
the .dat) and <stem>.meta.json into --out. Exit codes: 0 all converted, 1 a scan
could not be read or written, 2 bad arguments.
"""


def _calibration(text: str) -> Calibration:
    from schemas.calibration import Calibration

    try:
        return Calibration.parse(text)
    except ValueError as exc:
        msg = str(exc).splitlines()[0] if "validation error" not in str(exc) else (
            f"invalid calibration {text!r}: values must be positive numbers")
        raise argparse.ArgumentTypeError(msg) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``convert``."""
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("scans", nargs="+", metavar="SCAN", type=Path,
                        help="a scan's .dat or .xml file (the other file must be beside it)")
    parser.add_argument("--out", "-o", type=Path, default=Path("."), metavar="DIR",
                        help="output folder (created if needed; default: current folder)")
    parser.add_argument("--calibration", type=_calibration, default=None,
                        metavar="MM_PER_COL,MM_PER_ROW,MM_PER_LINE",
                        help="camera calibration recorded in the metadata, e.g. 0.1,0.05,0.5")


def run(args: argparse.Namespace) -> int:
    """Convert every scan; report each result; 1 if any failed."""
    from edge.convert import convert_scan
    from schemas.errors import WheelWatchError

    failed = 0
    for scan in args.scans:
        try:
            res = convert_scan(scan, args.out, calibration=args.calibration)
        except WheelWatchError as exc:
            print(f"wheel-edge convert: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        except OSError as exc:
            print(f"wheel-edge convert: error: {exc.filename or args.out}: "
                  f"{exc.strerror or exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{res.csv_path}\t{res.rows} rows\t{res.bytes} bytes\tfile_id {res.file_id}")
    return 1 if failed else 0
