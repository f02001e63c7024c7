"""Turn the raw arrays of one scan into heights in mm and column positions in mm.

Input is exactly what a scan reader returns: ``arrays`` (name -> (lines, width) array,
``"Range"``/``"Intensity"`` values as stored, or rectified FLOAT ``"Range X"``/``"Range R"``
in mm), ``traits`` (camera traits, a mapping or object) and ``calibration`` (a mapping or
object; ``schemas.calibration`` when present). Missing points: 0 for integer range, NaN,
<= -1e5 or 0 for FLOAT range. Nothing here imports TensorFlow or ``edge``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.serving.robust import nanmedian
from schemas.calibration import (
    Calibration,
    column_mm,
    float_missing,
    height_mm,
    merge_traits,
)
from schemas.errors import ContractError, ScoringError


@dataclass(frozen=True)
class RawHeights:
    """Heights (mm, up = towards the camera, NaN = missing) and geometry of one scan."""

    height: np.ndarray  # (lines, width) float32
    intensity: np.ndarray | None  # (lines, width) as stored; ignored where height is NaN
    x_mm: np.ndarray  # (width,) column position across the tread, mm
    mm_per_line: float
    lines_per_rev: int


DEFAULT_DIAMETER_MM = 275.0  # used only when neither mm_per_line nor a diameter is known


def _calibration(calibration: Any) -> Calibration | None:
    if calibration is None or isinstance(calibration, Calibration):
        return calibration
    if isinstance(calibration, Mapping):
        try:
            return Calibration(**calibration)
        except ValueError as exc:
            raise ScoringError(f"invalid calibration: {exc}") from exc
    raise ScoringError(f"calibration of unsupported type {type(calibration).__name__}")


def _column_x(arrays: Mapping[str, np.ndarray], traits: Mapping[str, str],
              cal: Calibration | None, width: int) -> np.ndarray:
    xs = arrays.get("Range X")
    if xs is not None:
        xa = np.asarray(xs, dtype=np.float32)
        xa = np.where(~float_missing(xa) | (xa == 0), xa, np.nan)
        if np.isfinite(xa).any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                x = nanmedian(xa[:: max(1, xa.shape[0] // 64)], 0)
            if np.isfinite(x).sum() > width // 2:
                return _fill_x(x.astype(np.float32))
    if cal is None:
        raise ScoringError("no 'Range X' and no calibration: column positions unknown")
    return column_mm(width, traits, cal)


def raw_heights(arrays: Mapping[str, np.ndarray], traits: Mapping[str, Any] | None,
                calibration: Any, diameter_mm: float | None = None) -> RawHeights:
    """Heights in mm and geometry of one scan; raises ScoringError on unusable input."""
    traits = dict(traits or {})
    if any(isinstance(v, Mapping) for v in traits.values()):  # {tag: {name: value}}
        traits = merge_traits(traits)
    traits = {str(k): str(v) for k, v in traits.items()}
    cal = _calibration(calibration)
    name = "Range R" if "Range R" in arrays else "Range" if "Range" in arrays else None
    if name is None:
        raise ScoringError(f"scan has no range data (arrays: {sorted(arrays)})")
    try:
        height = height_mm(np.asarray(arrays[name]), traits, cal)
    except ContractError as exc:
        raise ScoringError(str(exc)) from exc
    if height.ndim != 2 or min(height.shape) < 8:
        raise ScoringError(f"range array has unusable shape {height.shape}")
    lines, width = height.shape
    x = _column_x(arrays, traits, cal, width)
    mpl = cal.line_pitch_mm(lines=lines, diameter_mm=diameter_mm) if cal else None
    if mpl is None:
        per_rev = (cal.lines_per_rev if cal else None) or lines
        mpl = np.pi * (diameter_mm or DEFAULT_DIAMETER_MM) / per_rev
    lpr = cal.lines_per_rev if cal and cal.lines_per_rev else lines
    inten = arrays.get("Intensity")
    fi = None
    if inten is not None and np.shape(inten) == height.shape:
        fi = np.asarray(inten)  # masked and converted on the tread only (to_grid)
    return RawHeights(height.astype(np.float32, copy=False), fi, x, float(mpl),
                      min(int(lpr), lines))


def _fill_x(x: np.ndarray) -> np.ndarray:
    """Fill missing column positions by linear interpolation (monotone grid)."""
    ok = np.isfinite(x)
    if ok.all():
        return x
    idx = np.arange(x.size)
    return np.interp(idx, idx[ok], x[ok]).astype(np.float32)
