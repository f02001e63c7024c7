"""Read one labelled wheel file for the CLI and training: scan pair or per-wheel CSV.

Returns exactly what the scorer takes (arrays, traits, calibration) plus the ground
truth when a simulator wrote one (``<stem>.truth.json``). ``.dat``/``.xml`` reading uses
``edge.sick`` (imported lazily: serving never imports this module).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from schemas.calibration import Calibration, merge_traits
from schemas.errors import ContractError, ScanFormatError

SCAN_SUFFIXES = (".dat", ".xml", ".csv")


@dataclass
class WheelFile:
    """The inputs of the scorer for one file, plus simulator truth if any."""

    path: Path
    arrays: dict[str, np.ndarray]
    traits: dict[str, str]
    calibration: Calibration | None
    truth: dict[str, Any] | None


def _truth(path: Path) -> dict[str, Any] | None:
    stem = path.name.removesuffix(".meta.json").rsplit(".", 1)[0]
    tpath = path.with_name(stem + ".truth.json")
    if not tpath.exists():
        return None
    try:
        return dict(json.loads(tpath.read_text()))
    except (OSError, ValueError) as exc:
        raise ContractError(f"{tpath}: unreadable truth file: {exc}") from exc


def _calibration_from_truth(truth: dict[str, Any] | None) -> Calibration | None:
    if not truth or "camera" not in truth:
        return None
    cam = truth["camera"]
    return Calibration(mm_per_col=float(cam["mm_per_col"]), mm_per_row=float(cam["mm_per_row"]),
                       mm_per_line=float(truth["line_pitch_mm"]))


def read_wheel_file(path: str | Path, calibration: Calibration | None = None) -> WheelFile:
    """Read a ``.dat``/``.xml`` pair or a per-wheel ``.csv`` (typed error if unreadable).

    Calibration precedence: ``calibration`` argument, the CSV metadata, the simulator
    truth beside the file.
    """
    p = Path(path)
    truth = _truth(p)
    if p.suffix.lower() == ".csv":
        from schemas.wheel_csv import read_wheel_csv

        data = read_wheel_csv(p)
        cal = calibration or data.meta.calibration or _calibration_from_truth(truth)
        arrays = {k: np.asarray(v) for k, v in data.arrays.items()}
        return WheelFile(p, arrays, merge_traits(data.meta.traits), cal, truth)
    if p.suffix.lower() not in (".dat", ".xml"):
        raise ScanFormatError(p, f"not a scan file (expected one of {SCAN_SUFFIXES})")
    from edge.sick import read_scan

    scan = read_scan(p)
    arrays = {k: np.array(v) for k, v in scan.arrays.items()}
    cal = calibration or _calibration_from_truth(truth)
    return WheelFile(p, arrays, merge_traits(scan.all_traits), cal, truth)


def read_labels(path: str | Path) -> list[tuple[str, int]]:
    """``file,label`` rows (good|bad) -> (file, 1 if bad else 0); ContractError if bad."""
    p = Path(path)
    out: list[tuple[str, int]] = []
    try:
        with p.open(newline="") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise ContractError(f"{p}: cannot read labels: {exc.strerror or exc}") from exc
    for i, row in enumerate(rows, start=1):
        if not row or (i == 1 and row[0].strip().lower() == "file"):
            continue
        if len(row) < 2 or row[1].strip().lower() not in ("good", "bad"):
            raise ContractError(f"{p}:{i}: expected 'file,good|bad', got {','.join(row)!r}")
        out.append((row[0].strip(), int(row[1].strip().lower() == "bad")))
    if not out:
        raise ContractError(f"{p}: no labelled files")
    return out


CATALOGUE_SIZE = {  # main size parameter of each defect kind and its catalogue range
    "chunking": (("semi_axis_mm", "a_mm", "size_mm"), (2.0, 25.0)),
    "crack": (("length_mm", "size_mm"), (8.0, 60.0)),
    "flat_spot": (("length_mm", "size_mm"), (15.0, 70.0)),
    "blister": (("radius_mm", "size_mm"), (5.0, 25.0)),
}


def size_bin(kind: str, params: dict[str, Any]) -> str:
    """small (lowest fifth of the catalogue range) | medium | large | unknown."""
    names, (lo, hi) = CATALOGUE_SIZE.get(kind, ((), (0.0, 1.0)))
    if kind == "chunking" and params.get("semi_along_mm") is not None:
        params = {"size_mm": max(params["semi_along_mm"], params.get("semi_across_mm") or 0)}
    value = next((params[n] for n in names if params.get(n) is not None), None)
    if value is None:
        return "unknown"
    u = (float(value) - lo) / (hi - lo)
    return "small" if u < 0.2 else "medium" if u < 0.5 else "large"


def truth_defects(truth: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(kind, size bin) of every defect in a simulator truth."""
    if not truth:
        return []
    out = []
    for d in truth.get("defects", []):
        params = dict(d.get("params", {})) | {k: v for k, v in d.items() if k != "params"}
        out.append((str(d.get("kind")), size_bin(str(d.get("kind")), params)))
    return out
