"""Draw random defects from the catalogue of WHEELS.md, over the full size ranges.

``size="small"`` draws only from the bottom fifth of every size range (the hard
cases), ``size="large"`` from the top half, ``size="any"`` from the whole range.
Positions are in the wheel frame: ``along_mm`` in [0, circumference), ``across_mm``
from the tread's first edge, kept inside the tread.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from edge.simulator.defects import (
    DEFECT_KINDS,
    Blister,
    Chunking,
    Crack,
    Defect,
    DefectKind,
    FlatSpot,
)
from edge.simulator.wheel import WheelSpec

SizeClass = Literal["any", "small", "large"]
_SIZE_U: dict[str, tuple[float, float]] = {
    "any": (0.0, 1.0), "small": (0.0, 0.2), "large": (0.5, 1.0),
}

# The catalogue's ranges (WHEELS.md), in mm.
RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "chunking": {"semi_axis_mm": (2.0, 25.0), "depth_mm": (1.0, 8.0)},
    "crack": {"length_mm": (8.0, 60.0), "width_mm": (0.3, 1.5), "depth_mm": (0.5, 4.0)},
    "flat_spot": {"length_mm": (15.0, 70.0)},
    "blister": {"radius_mm": (5.0, 25.0), "height_mm": (0.4, 2.5)},
}


def _bounds(bounds: tuple[float, float], size: SizeClass) -> tuple[float, float]:
    lo_u, hi_u = _SIZE_U[size]
    lo, hi = bounds
    return lo + (hi - lo) * lo_u, lo + (hi - lo) * hi_u


def _draw(rng: np.random.Generator, bounds: tuple[float, float], size: SizeClass) -> float:
    return float(rng.uniform(*_bounds(bounds, size)))


def _across(rng: np.random.Generator, wheel: WheelSpec, half: float) -> float:
    w = wheel.tread_width_mm
    lo, hi = min(half, w / 2), max(w - half, w / 2)
    return float(rng.uniform(lo, hi))


def random_defect(
    kind: DefectKind, rng: np.random.Generator, wheel: WheelSpec, *, size: SizeClass = "any"
) -> Defect:
    """One random defect of ``kind`` on ``wheel`` (wheel-frame position)."""
    if size not in _SIZE_U:
        raise ValueError(f"size must be one of {sorted(_SIZE_U)}, got {size!r}")
    r = RANGES[kind]
    along = float(rng.uniform(0, wheel.circumference_mm))
    if kind == "chunking":
        a = _draw(rng, r["semi_axis_mm"], size)
        b = float(np.clip(a * rng.uniform(0.5, 1.6), *_bounds(r["semi_axis_mm"], size)))
        b = min(b, wheel.tread_width_mm / 2)
        return Chunking(along, _across(rng, wheel, 0.8 * b), a, b, _draw(rng, r["depth_mm"], size),
                        float(rng.uniform(-90, 90)), float(rng.uniform(0.03, 0.25)),
                        float(rng.uniform(25, 60)))
    if kind == "crack":
        angle = float(rng.uniform(-90, 90))
        length = _draw(rng, r["length_mm"], size)
        half_across = abs(math.cos(math.radians(angle))) * length / 2
        if half_across > wheel.tread_width_mm / 2:  # keep the crack on the tread
            angle = math.copysign(math.degrees(math.acos(wheel.tread_width_mm / length)), angle)
            half_across = wheel.tread_width_mm / 2
        return Crack(along, _across(rng, wheel, half_across), length,
                     _draw(rng, r["width_mm"], size), _draw(rng, r["depth_mm"], size), angle,
                     float(rng.uniform(30, 70)))
    if kind == "flat_spot":
        return FlatSpot(along, _draw(rng, r["length_mm"], size), wheel.radius_mm,
                        0.0, wheel.tread_width_mm, float(rng.uniform(6, 20)))
    if kind == "blister":
        radius = _draw(rng, r["radius_mm"], size)
        aspect = float(rng.uniform(0.7, 1.0))
        return Blister(along, _across(rng, wheel, 0.8 * radius * aspect), radius,
                       _draw(rng, r["height_mm"], size), aspect, float(rng.uniform(-90, 90)),
                       float(rng.uniform(-6, 6)))
    raise ValueError(f"unknown defect kind {kind!r}; known: {', '.join(DEFECT_KINDS)}")


def random_defects(
    rng: np.random.Generator, wheel: WheelSpec, *, kinds: tuple[DefectKind, ...] | None = None,
    count: int | None = None, size: SizeClass = "any",
) -> list[Defect]:
    """``count`` random defects (default: 1, sometimes 2–3) of the given kinds."""
    pool = kinds or DEFECT_KINDS
    n = count if count is not None else int(rng.choice([1, 1, 1, 2, 3]))
    return [random_defect(pool[int(rng.integers(len(pool)))], rng, wheel, size=size)
            for _ in range(n)]
