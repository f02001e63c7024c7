"""Synthetic defects from the WHEELS.md catalogue implanted on a site's own good wheels.

Works on the physical grid (heights in mm, NaN = missing), between the grid and the
residual stage of the shared preprocessing, so the model learns what a defect looks like
on exactly this site's wheels, camera and noise. Sizes are drawn with a bias towards the
small end of each range (the hard cases). Benign augmentation (seam ridges < 0.15 mm,
dropouts, intensity-only heat bands and dust) is applied to good and bad copies alike.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from models.serving.grid import WheelGrid

KINDS = ("chunking", "crack", "flat_spot", "blister")


def _size(rng: np.random.Generator, lo: float, hi: float) -> float:
    """Size in [lo, hi], half of the draws in the lowest quarter of the range."""
    return float(lo + (hi - lo) * rng.uniform() ** 2)


def _coords(g: WheelGrid) -> tuple[np.ndarray, np.ndarray, float]:
    rows, cols = g.height.shape
    along = np.arange(rows) * g.params.along_mm
    across = np.arange(cols) * g.params.across_mm
    return along, across, rows * g.params.along_mm


def _centre(rng: np.random.Generator, along: np.ndarray, across: np.ndarray,
            margin: float) -> tuple[float, float]:
    width = across[-1]
    m = min(margin, width / 3)
    return float(rng.uniform(0, along[-1])), float(rng.uniform(m, width - m))


def _wrap(d: np.ndarray, circ: float) -> np.ndarray:
    return (d + circ / 2) % circ - circ / 2


def _chunk(g: WheelGrid, rng: np.random.Generator) -> dict[str, Any]:
    along, across, circ = _coords(g)
    sa, sb, depth = _size(rng, 2, 25), _size(rng, 2, 25), _size(rng, 1, 8)
    ca, cx = _centre(rng, along, across, 4)
    rot = rng.uniform(0, np.pi)
    da, dx = _wrap(along[:, None] - ca, circ), across[None, :] - cx
    p = da * np.cos(rot) + dx * np.sin(rot)
    q = -da * np.sin(rot) + dx * np.cos(rot)
    rr = np.sqrt((p / sa) ** 2 + (q / sb) ** 2)
    delta = depth * np.clip((1 - rr) * rng.uniform(3, 10), 0, 1)
    g.height -= delta
    g.low -= delta
    inside = rr < 1
    holes = inside & (rng.random(g.height.shape) < rng.uniform(0, 0.3))
    g.height[holes] = np.nan
    g.low[holes] = np.nan
    g.intensity[inside] *= rng.uniform(1.1, 1.6)
    return {"kind": "chunking", "size_mm": max(sa, sb), "depth_mm": depth}


def _crack(g: WheelGrid, rng: np.random.Generator) -> dict[str, Any]:
    along, across, circ = _coords(g)
    length, width, depth = _size(rng, 8, 60), _size(rng, 0.3, 1.5), _size(rng, 0.5, 4)
    ca, cx = _centre(rng, along, across, 2)
    rot = rng.uniform(0, np.pi)
    da, dx = _wrap(along[:, None] - ca, circ), across[None, :] - cx
    p = da * np.cos(rot) + dx * np.sin(rot)
    q = np.abs(-da * np.sin(rot) + dx * np.cos(rot))
    cell = abs(np.cos(rot)) * g.params.along_mm + abs(np.sin(rot)) * g.params.across_mm
    foot = max(width, cell)
    inside = np.abs(p) < length / 2
    prof = np.clip(1 - q / (foot / 2), 0, 1) * min(1.0, width / foot) * inside
    g.height -= depth * prof
    # the lowest point of a cell the crack crosses sees (most of) its depth
    hit = (q < (cell + width) / 2) & inside
    g.low -= depth * rng.uniform(0.4, 1.0) * hit
    g.intensity *= 1 - rng.uniform(0.1, 0.5) * (prof > 0.2)
    return {"kind": "crack", "size_mm": length, "depth_mm": depth, "width_mm": width}


def _flat(g: WheelGrid, rng: np.random.Generator) -> dict[str, Any]:
    along, _, circ = _coords(g)
    length = _size(rng, 15, 70)
    radius = circ / (2 * np.pi)
    ca = float(rng.uniform(0, circ))
    da = _wrap(along - ca, circ)
    dep = np.clip((length**2 / 4 - da**2) / (2 * radius), 0, None)
    g.height -= dep[:, None]
    g.low -= dep[:, None]
    g.intensity[dep > 0] *= rng.uniform(1.0, 1.15)
    return {"kind": "flat_spot", "size_mm": length, "depth_mm": length**2 / (8 * radius)}


def _blister(g: WheelGrid, rng: np.random.Generator) -> dict[str, Any]:
    along, across, circ = _coords(g)
    rad, high = _size(rng, 5, 25), _size(rng, 0.4, 2.5)
    ca, cx = _centre(rng, along, across, 3)
    da, dx = _wrap(along[:, None] - ca, circ), across[None, :] - cx
    rr = np.sqrt(da**2 + dx**2) / rad
    bump = high * np.cos(np.clip(rr, 0, 1) * np.pi / 2) ** 2
    g.height += bump
    g.low += bump
    return {"kind": "blister", "size_mm": rad, "depth_mm": -high}


_MAKERS = {"chunking": _chunk, "crack": _crack, "flat_spot": _flat, "blister": _blister}


def benign(g: WheelGrid, rng: np.random.Generator) -> None:
    """Benign variation in place: seams < 0.15 mm, dropouts <= 2 %, heat bands, dust."""
    along, across, _ = _coords(g)
    if rng.random() < 0.5:
        xs, w = rng.uniform(0, across[-1]), rng.uniform(0.3, 1.5)
        seam = rng.uniform(0.02, 0.14) * np.exp(-0.5 * ((across - xs) / w) ** 2)[None, :]
        g.height += seam
        g.low += seam
    if rng.random() < 0.5:
        a0, w = rng.uniform(0, along[-1]), rng.uniform(0.3, 1.5)
        seam = rng.uniform(0.02, 0.14) * np.exp(-0.5 * ((along - a0) / w) ** 2)[:, None]
        g.height += seam
        g.low += seam
    frac = rng.uniform(0, 0.02)
    drop = rng.random(g.height.shape) < frac / 2
    for _ in range(int(frac / 2 * g.height.size / 6)):
        i, j = rng.integers(0, g.height.shape[0]), rng.integers(0, g.height.shape[1])
        drop[i, j : j + int(rng.integers(2, 12))] = True
    g.height[drop] = np.nan
    g.low[drop] = np.nan
    band = (across > rng.uniform(0, across[-1])) & (across < rng.uniform(0, across[-1]) + 10)
    g.intensity[:, band] *= rng.uniform(0.7, 1.3)


def implant(grid: WheelGrid, rng: np.random.Generator, kinds: tuple[str, ...] = (),
            benign_prob: float = 0.5) -> tuple[WheelGrid, list[dict[str, Any]]]:
    """A copy of ``grid`` with the catalogue defects ``kinds`` (and maybe benign variation)."""
    g = copy.copy(grid)
    g.height = grid.height.copy()
    g.intensity = grid.intensity.copy()
    g.low = grid.low.copy()
    if rng.random() < benign_prob:
        benign(g, rng)
    truth = [_MAKERS[k](g, rng) for k in kinds]
    return g, truth
