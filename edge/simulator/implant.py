"""Implant catalogue defects into an existing scan (for example a real good wheel).

The training helper uses this to make bad examples from real good scans::

    scan = edge.sick.read_scan(path)
    out = implant_random(scan.arrays, scan.traits, calibration, rng, size="small")
    out.arrays  # same names/dtypes as the scan, Range (or Range R) and Intensity changed
    out.truths  # what was put where (line/column and mm)

Heights come from ``schemas.calibration.height_mm`` (so integer range data needs the
camera's :class:`~schemas.calibration.Calibration`); the defect is carved by
:func:`edge.simulator.apply_defect`; only the points a defect touched are re-encoded
(every other value stays bit-identical). Points pushed out of the measurement window
become missing (0), as the camera would report them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from edge.simulator.catalogue import SizeClass, random_defects
from edge.simulator.defects import Defect, DefectKind, DefectTruth, FlatSpot, apply_defect
from edge.simulator.wheel import WheelSpec
from schemas.calibration import Calibration, column_mm, float_missing, height_mm

RANGE_NAMES = ("Range", "Range R")


@dataclass
class Implanted:
    """Arrays with the defects carved in, plus the grid and the truth."""

    arrays: dict[str, np.ndarray]
    truths: list[DefectTruth]
    along_mm: np.ndarray
    across_mm: np.ndarray
    circumference_mm: float


def _range_name(arrays: Mapping[str, np.ndarray]) -> str:
    for name in RANGE_NAMES:
        if name in arrays:
            return name
    raise ValueError(f"no range subcomponent ({' or '.join(RANGE_NAMES)}) in {list(arrays)}")


def scan_grid(lines: int, width: int, traits: Mapping[str, str], calibration: Calibration, *,
              diameter_mm: float = 280.0) -> tuple[np.ndarray, np.ndarray, float]:
    """(along_mm per line, across_mm per column, circumference) of a scan."""
    pitch = calibration.line_pitch_mm(lines=lines, diameter_mm=diameter_mm) or 1.0
    along = np.arange(lines, dtype=np.float64) * pitch
    across = column_mm(width, traits, calibration).astype(np.float64)
    return along, across, pitch * (calibration.lines_per_rev or lines)


def _encode_int(h: np.ndarray, orig: np.ndarray, traits: Mapping[str, str],
                cal: Calibration) -> np.ndarray:
    scale = float(traits.get("scale z") or 1.0)
    origin = float(traits.get("origin z") or 0.0)
    sign = cal.height_sign or (-1 if scale < 0 else 1)
    v = np.rint((h.astype(np.float64) / (sign * cal.mm_per_row) - origin) / scale)
    top = min(float(traits.get("fov z2") or np.iinfo(orig.dtype).max), np.iinfo(orig.dtype).max)
    bad = ~np.isfinite(v) | (v < 1) | (v > top)
    v[bad] = 0
    return v.astype(orig.dtype)


def implant_defects(
    arrays: Mapping[str, np.ndarray], traits: Mapping[str, str], calibration: Calibration,
    defects: Sequence[Defect], rng: np.random.Generator, *, diameter_mm: float = 280.0,
) -> Implanted:
    """Carve ``defects`` (positions in the scan grid of :func:`scan_grid`) into copies of
    the scan's range and intensity arrays."""
    name = _range_name(arrays)
    rng_in = np.asarray(arrays[name])
    lines, width = rng_in.shape
    along, across, circ = scan_grid(lines, width, traits, calibration, diameter_mm=diameter_mm)
    h0 = height_mm(rng_in, traits, calibration)
    h = h0.copy()
    inten_in = np.asarray(arrays["Intensity"]) if "Intensity" in arrays else None
    it = (inten_in.astype(np.float32) if inten_in is not None
          else np.zeros(rng_in.shape, np.float32))
    truths = [apply_defect(h, it, along, across, d, rng, circumference_mm=circ) for d in defects]
    changed = ~((h == h0) | (np.isnan(h) & np.isnan(h0)))
    out = {k: np.array(v, copy=True) for k, v in arrays.items()}
    if rng_in.dtype.kind == "f":
        gone = float_missing(rng_in)
        sentinel = rng_in[gone][0] if gone.any() else np.float32(np.nan)
        new = np.where(np.isnan(h), sentinel, h).astype(rng_in.dtype)
        out[name][changed] = new[changed]
        if "Range X" in out:
            out["Range X"][changed & np.isnan(h)] = sentinel
    else:
        out[name][changed] = _encode_int(h, rng_in, traits, calibration)[changed]
    if inten_in is not None:
        out["Intensity"] = np.clip(np.rint(it), 0, 255).astype(inten_in.dtype)
        out["Intensity"][changed & np.isnan(h)] = 0  # no laser peak: intensity 0 too
        if rng_in.dtype.kind != "f":
            out["Intensity"][changed & (out[name] == 0)] = 0
    return Implanted(out, truths, along, across, circ)


def tread_columns(height: np.ndarray, drop_mm: float = 2.5) -> np.ndarray:
    """Columns of the tread: mostly valid data and not far below the top of the profile
    (the side/hub background lies lower); the longest such run of columns."""
    valid = np.isfinite(height)
    ok = valid.mean(axis=0) >= 0.5
    if not ok.any():
        return np.flatnonzero(ok)
    med = np.full(height.shape[1], -np.inf)
    med[ok] = np.nanmedian(height[:, ok], axis=0)
    ok &= med >= np.percentile(med[ok], 95) - drop_mm
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.astype(np.int8), [0]))))
    starts, stops = edges[::2], edges[1::2]
    k = int(np.argmax(stops - starts))
    return np.arange(starts[k], stops[k])


def implant_random(
    arrays: Mapping[str, np.ndarray], traits: Mapping[str, str], calibration: Calibration,
    rng: np.random.Generator, *, kinds: tuple[DefectKind, ...] | None = None,
    count: int | None = None, size: SizeClass = "any", diameter_mm: float = 280.0,
) -> Implanted:
    """Draw random catalogue defects inside the scan's tread (columns with mostly valid
    data) and implant them; see :func:`implant_defects`."""
    name = _range_name(arrays)
    rng_in = np.asarray(arrays[name])
    lines, width = rng_in.shape
    cols = tread_columns(height_mm(rng_in, traits, calibration))
    if cols.size < 2:
        raise ValueError("no tread found: fewer than 2 columns with mostly valid range data")
    _, across, circ = scan_grid(lines, width, traits, calibration, diameter_mm=diameter_mm)
    off = float(across[cols[0]])
    wheel = WheelSpec(diameter_mm=circ / np.pi, tread_width_mm=float(across[cols[-1]] - off))
    drawn = random_defects(rng, wheel, kinds=kinds, count=count, size=size)
    shifted: list[Defect] = []
    for d in drawn:
        if isinstance(d, FlatSpot):
            shifted.append(replace(d, across_min_mm=off, across_max_mm=off + wheel.tread_width_mm))
        else:
            shifted.append(replace(d, across_mm=d.across_mm + off))
    return implant_defects(arrays, traits, calibration, shifted, rng, diameter_mm=diameter_mm)
