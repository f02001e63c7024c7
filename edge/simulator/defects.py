"""The defect catalogue of WHEELS.md as geometry on a millimetre grid.

Every defect is a frozen dataclass in physical units. :func:`apply_defect` carves one
defect into a height map (mm, NaN = missing) and an intensity map, in place, on the grid
given by ``along_mm`` (one value per line, position along the circumference) and
``across_mm`` (one value per column, position across the tread). It works on any such
grid, so it also implants synthetic defects on real good scans (the classifier's
training helper imports it). Only a window around the defect is touched, so it is fast.

| defect   | geometry                                          | intensity            |
|----------|---------------------------------------------------|----------------------|
| chunking | elliptic missing piece, semi-axes 2–25 mm, 1–8 mm | brighter (fresh)     |
|          | deep, steep walls, some dropouts inside           |                      |
| crack    | 8–60 mm long, 0.3–1.5 mm wide, 0.5–4 mm deep,     | darker line          |
|          | any angle (0° = across the tread, 90° = along)    |                      |
| flat     | chord over 15–70 mm of circumference,             | slightly brighter    |
|          | depth = L²/(8R)                                   |                      |
| blister  | bulge 5–25 mm radius, 0.4–2.5 mm high             | little change        |
"""

from __future__ import annotations

import math

import numpy as np

from edge.simulator.carve import carve_blister, carve_chunking, carve_crack, carve_flat_spot
from edge.simulator.defect_types import (
    DEFECT_KINDS,
    Blister,
    Chunking,
    Crack,
    Defect,
    DefectKind,
    DefectTruth,
    FlatSpot,
    defect_params,
)
from edge.simulator.grid import Window, nearest_index, window

__all__ = [
    "DEFECT_KINDS", "Blister", "Chunking", "Crack", "Defect", "DefectKind", "DefectTruth",
    "FlatSpot", "apply_defect", "defect_params",
]


def _extent(defect: Defect, along_mm: np.ndarray, across_mm: np.ndarray) -> tuple[float, float]:
    """Half extents (along, across) of the window the defect can touch."""
    if isinstance(defect, Chunking):
        r = max(defect.semi_along_mm, defect.semi_across_mm) * 1.2 + 0.5
        return r, r
    if isinstance(defect, Crack):
        a = math.radians(defect.angle_deg)
        pad = defect.width_mm + 3.0 * _pitch(along_mm) + 3.0 * _pitch(across_mm)
        half = defect.length_mm / 2
        return abs(math.sin(a)) * half + pad, abs(math.cos(a)) * half + pad
    if isinstance(defect, FlatSpot):  # across the whole grid unless bounded
        lo, hi = defect.across_min_mm, defect.across_max_mm
        return defect.length_mm / 2, (math.inf if lo is None or hi is None else 0.5 * (hi - lo))
    r = defect.radius_mm * max(1.0, defect.aspect)
    return r, r


def _pitch(coord: np.ndarray) -> float:
    """Median spacing of a 1-D grid (1.0 for a single point)."""
    return float(np.median(np.abs(np.diff(coord)))) if coord.size > 1 else 1.0


def _span(idx: np.ndarray, default: int) -> tuple[int, int]:
    return (int(idx.min()), int(idx.max())) if idx.size else (default, default)


def _check_grid(height_mm: np.ndarray, intensity: np.ndarray, along_mm: np.ndarray,
                across_mm: np.ndarray) -> None:
    if height_mm.shape != intensity.shape or height_mm.shape != (along_mm.size, across_mm.size):
        raise ValueError(
            f"grid mismatch: height {height_mm.shape}, intensity {intensity.shape}, "
            f"along {along_mm.shape}, across {across_mm.shape}"
        )
    if not (np.issubdtype(height_mm.dtype, np.floating)
            and np.issubdtype(intensity.dtype, np.floating)):
        raise TypeError("height_mm and intensity must be float arrays (NaN marks missing)")


def _visibility(before: np.ndarray, after: np.ndarray) -> tuple[float, int]:
    """Largest height change shown and the number of points changed or lost."""
    delta = np.abs(after - before)
    finite = np.isfinite(delta)
    observed = float(delta[finite].max()) if finite.any() else 0.0
    gone = np.isnan(after) & ~np.isnan(before)
    return observed, int((finite & (delta > 0.05)).sum() + gone.sum())


def _carve(h: np.ndarray, it: np.ndarray, along_mm: np.ndarray, across_mm: np.ndarray,
           win: Window, defect: Defect, rng: np.random.Generator) -> None:
    if isinstance(defect, Chunking):
        carve_chunking(h, it, win, defect, rng)
    elif isinstance(defect, Crack):
        carve_crack(h, it, win, defect, rng, _pitch(along_mm), _pitch(across_mm))
    elif isinstance(defect, FlatSpot):
        carve_flat_spot(h, it, win, defect)
    else:
        carve_blister(h, it, win, defect)


def apply_defect(
    height_mm: np.ndarray,
    intensity: np.ndarray,
    along_mm: np.ndarray,
    across_mm: np.ndarray,
    defect: Defect,
    rng: np.random.Generator,
    *,
    circumference_mm: float | None = None,
) -> DefectTruth:
    """Carve ``defect`` into ``height_mm`` and ``intensity`` in place; return its truth.

    ``height_mm`` and ``intensity`` are float arrays of shape (lines, width), heights in
    mm with larger = outward (towards the camera) and NaN = missing; ``along_mm`` (lines,)
    and ``across_mm`` (width,) give each line's and column's position in mm. With
    ``circumference_mm`` the along axis wraps around (a defect at the seam of the scan
    shows at both ends). Intensity is not clipped here (clip to 0..255 when encoding).
    """
    _check_grid(height_mm, intensity, along_mm, across_mm)
    centre_across = defect.across_mm
    half_al, half_ac = _extent(defect, along_mm, across_mm)
    win = window(along_mm, across_mm, defect.along_mm, centre_across, half_al, half_ac,
                 circumference_mm)
    observed, affected = 0.0, 0
    if win.rows.size and win.cols.size:
        before = height_mm[win.ix].copy()
        _carve(height_mm, intensity, along_mm, across_mm, win, defect, rng)
        observed, affected = _visibility(before, height_mm[win.ix])
    line = nearest_index(along_mm, defect.along_mm, circumference_mm)
    column = nearest_index(across_mm, centre_across, None)
    return DefectTruth(
        kind=defect.kind, params=defect_params(defect), along_mm=float(defect.along_mm),
        across_mm=float(centre_across), line=line, column=column,
        line_span=_span(win.rows, line), column_span=_span(win.cols, column),
        observed_mm=observed, affected_points=affected,
    )
