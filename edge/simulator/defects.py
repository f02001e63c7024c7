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
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from edge.simulator.grid import Window, nearest_index, window

DefectKind = Literal["chunking", "crack", "flat_spot", "blister"]
DEFECT_KINDS: tuple[DefectKind, ...] = ("chunking", "crack", "flat_spot", "blister")


@dataclass(frozen=True)
class Chunking:
    """Elliptic missing piece of tread (semi-axes along/across before rotation)."""

    kind: ClassVar[DefectKind] = "chunking"
    along_mm: float
    across_mm: float
    semi_along_mm: float
    semi_across_mm: float
    depth_mm: float
    angle_deg: float = 0.0
    dropout_frac: float = 0.1
    brighten: float = 40.0


@dataclass(frozen=True)
class Crack:
    """Narrow V-shaped groove; ``angle_deg`` 0 runs across the tread, 90 along it."""

    kind: ClassVar[DefectKind] = "crack"
    along_mm: float
    across_mm: float
    length_mm: float
    width_mm: float
    depth_mm: float
    angle_deg: float = 0.0
    darken: float = 50.0


@dataclass(frozen=True)
class FlatSpot:
    """A chord cut over ``length_mm`` of circumference of a wheel of ``radius_mm``.

    It spans the tread between ``across_min_mm`` and ``across_max_mm`` (None = every
    column of the grid).
    """

    kind: ClassVar[DefectKind] = "flat_spot"
    along_mm: float
    length_mm: float
    radius_mm: float
    across_min_mm: float | None = None
    across_max_mm: float | None = None
    brighten: float = 12.0

    @property
    def depth_mm(self) -> float:
        """Depth at the middle of the chord: L²/(8R)."""
        return self.length_mm**2 / (8.0 * self.radius_mm)

    @property
    def across_mm(self) -> float:
        """Middle of the flat across the tread (0 when unbounded)."""
        if self.across_min_mm is None or self.across_max_mm is None:
            return 0.0
        return 0.5 * (self.across_min_mm + self.across_max_mm)


@dataclass(frozen=True)
class Blister:
    """Smooth bulge (bond failure) of ``radius_mm`` and ``height_mm``."""

    kind: ClassVar[DefectKind] = "blister"
    along_mm: float
    across_mm: float
    radius_mm: float
    height_mm: float
    aspect: float = 1.0
    angle_deg: float = 0.0
    intensity_delta: float = 0.0


Defect = Chunking | Crack | FlatSpot | Blister


@dataclass(frozen=True)
class DefectTruth:
    """Where a defect was put and what it is (JSON-able via :meth:`to_dict`)."""

    kind: DefectKind
    params: dict[str, float | None]
    along_mm: float
    across_mm: float
    line: int
    column: int
    line_span: tuple[int, int]
    column_span: tuple[int, int]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for the ``.truth.json`` file."""
        out = asdict(self)
        out["line_span"] = list(self.line_span)
        out["column_span"] = list(self.column_span)
        return out


def defect_params(defect: Defect) -> dict[str, float | None]:
    """The defect's size/shape parameters (and derived depth for flat spots)."""
    params: dict[str, float | None] = {
        k: (None if v is None else float(v)) for k, v in asdict(defect).items()
    }
    if isinstance(defect, FlatSpot):
        params["depth_mm"] = defect.depth_mm
    return params


def _rotate(da: np.ndarray, dc: np.ndarray, angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate grid offsets into the defect frame (u along its first axis)."""
    a = math.radians(angle_deg)
    ca, sa = math.cos(a), math.sin(a)
    return da * ca + dc * sa, -da * sa + dc * ca


TRIANGULATION_DEG = 25.0  # camera/laser angle: a wall of depth d hides d·tan(angle) behind it


def _chunking(
    h: np.ndarray, it: np.ndarray, w: Window, d: Chunking, rng: np.random.Generator
) -> None:
    ph = rng.uniform(0, 2 * math.pi, 2)

    def radius(da: np.ndarray, dc: np.ndarray) -> np.ndarray:
        u, v = _rotate(da, dc, d.angle_deg)
        theta = np.arctan2(v, u)
        wobble = 1.0 + 0.08 * np.sin(3 * theta + ph[0]) + 0.05 * np.sin(5 * theta + ph[1])
        return np.sqrt((u / d.semi_along_mm) ** 2 + (v / d.semi_across_mm) ** 2) / wobble

    r = radius(w.d_along, w.d_across)
    wall_mm = 0.25  # steep walls: the rim drops over a quarter millimetre
    t = np.clip((1.0 - r) * min(d.semi_along_mm, d.semi_across_mm) / wall_mm, 0.0, 1.0)
    floor = d.depth_mm * (1.0 - 0.08 * np.minimum(r, 1.0) ** 2)
    rough = rng.normal(0.0, 0.03 + 0.01 * d.depth_mm, size=r.shape)
    dz = t * (floor + rough * t)
    inside = r < 1.0
    sub_h = h[w.ix]
    sub_h -= dz.astype(h.dtype)
    shadow_mm = d.depth_mm * math.tan(math.radians(TRIANGULATION_DEG))
    shadowed = inside & (radius(w.d_along + shadow_mm, w.d_across) > 1.0)
    drop = inside & (rng.random(r.shape) < d.dropout_frac * (0.4 + 1.2 * r**2))
    drop |= shadowed & (rng.random(r.shape) < 0.85)
    sub_h[drop] = np.nan
    h[w.ix] = sub_h
    it[w.ix] += (d.brighten * t).astype(it.dtype)


def _crack(
    h: np.ndarray, it: np.ndarray, w: Window, d: Crack, rng: np.random.Generator,
    pitch_along: float, pitch_across: float,
) -> None:
    a = math.radians(d.angle_deg)
    t_al, t_ac = math.sin(a), math.cos(a)  # crack direction in (along, across)
    p = w.d_along * t_al + w.d_across * t_ac
    n = -w.d_along * t_ac + w.d_across * t_al
    n = n - 0.15 * d.width_mm * np.sin(2 * math.pi * p / 7.0 + rng.uniform(0, 6.3))
    footprint = abs(t_ac) * pitch_along + abs(t_al) * pitch_across
    w_eff = max(d.width_mm, footprint)
    depth_eff = d.depth_mm * min(1.0, d.width_mm / footprint)
    half_len = d.length_mm / 2
    taper = np.clip((half_len - np.abs(p)) / (0.2 * half_len), 0.0, 1.0)
    v_prof = np.clip(1.0 - np.abs(n) / (w_eff / 2), 0.0, 1.0) * taper
    sub_h = h[w.ix]
    sub_h -= (depth_eff * v_prof).astype(h.dtype)
    if d.depth_mm / d.width_mm > 2.0:  # deep narrow crack: the bottom is occluded
        occl = (v_prof > 0.5) & (rng.random(v_prof.shape) < 0.25)
        sub_h[occl] = np.nan
    h[w.ix] = sub_h
    band = np.clip(1.0 - np.abs(n) / (w_eff / 2 + footprint / 2), 0.0, 1.0) * taper
    it[w.ix] -= (d.darken * math.sqrt(min(1.0, d.width_mm / footprint)) * band).astype(it.dtype)


def _flat_spot(h: np.ndarray, it: np.ndarray, w: Window, d: FlatSpot) -> None:
    cut = np.maximum(d.depth_mm - w.d_along**2 / (2.0 * d.radius_mm), 0.0)
    cut = np.broadcast_to(cut, (w.d_along.shape[0], w.d_across.shape[1]))
    h[w.ix] -= cut.astype(h.dtype)
    it[w.ix] += (d.brighten * (cut > 0)).astype(it.dtype)


def _blister(h: np.ndarray, it: np.ndarray, w: Window, d: Blister) -> None:
    u, v = _rotate(w.d_along, w.d_across, d.angle_deg)
    r2 = (u / d.radius_mm) ** 2 + (v / (d.radius_mm * d.aspect)) ** 2
    bump = np.clip(1.0 - r2, 0.0, 1.0) ** 2
    h[w.ix] += (d.height_mm * bump).astype(h.dtype)
    it[w.ix] += (d.intensity_delta * bump).astype(it.dtype)


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
    if isinstance(defect, FlatSpot):
        return defect.length_mm / 2, math.inf
    r = defect.radius_mm * max(1.0, defect.aspect)
    return r, r


def _pitch(coord: np.ndarray) -> float:
    """Median spacing of a 1-D grid (1.0 for a single point)."""
    return float(np.median(np.abs(np.diff(coord)))) if coord.size > 1 else 1.0


def _span(idx: np.ndarray, default: int) -> tuple[int, int]:
    return (int(idx.min()), int(idx.max())) if idx.size else (default, default)


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
    if height_mm.shape != intensity.shape or height_mm.shape != (along_mm.size, across_mm.size):
        raise ValueError(
            f"grid mismatch: height {height_mm.shape}, intensity {intensity.shape}, "
            f"along {along_mm.shape}, across {across_mm.shape}"
        )
    if not (np.issubdtype(height_mm.dtype, np.floating)
            and np.issubdtype(intensity.dtype, np.floating)):
        raise TypeError("height_mm and intensity must be float arrays (NaN marks missing)")
    centre_across = defect.across_mm
    half_al, half_ac = _extent(defect, along_mm, across_mm)
    if isinstance(defect, FlatSpot):
        lo, hi = defect.across_min_mm, defect.across_max_mm
        if lo is not None and hi is not None:
            half_ac = 0.5 * (hi - lo)
    win = window(along_mm, across_mm, defect.along_mm, centre_across, half_al, half_ac,
                 circumference_mm)
    if win.rows.size and win.cols.size:
        if isinstance(defect, Chunking):
            _chunking(height_mm, intensity, win, defect, rng)
        elif isinstance(defect, Crack):
            _crack(height_mm, intensity, win, defect, rng, _pitch(along_mm), _pitch(across_mm))
        elif isinstance(defect, FlatSpot):
            _flat_spot(height_mm, intensity, win, defect)
        else:
            _blister(height_mm, intensity, win, defect)
    line = nearest_index(along_mm, defect.along_mm, circumference_mm)
    column = nearest_index(across_mm, centre_across, None)
    return DefectTruth(
        kind=defect.kind,
        params=defect_params(defect),
        along_mm=float(defect.along_mm),
        across_mm=float(centre_across),
        line=line,
        column=column,
        line_span=_span(win.rows, line),
        column_span=_span(win.cols, column),
    )
