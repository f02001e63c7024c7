"""Catalogue defects as height/intensity/dropout changes on a window of lines.

Each ``*_stamp`` function is pure: it returns a :class:`Stamp` (lines touched, height
change, intensity gain, extra dropouts, where it was placed) that the caller applies,
so a defect that the camera grid cannot see can be placed again elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from tests.blind.gen.params import WheelParams
from tests.blind.gen.surface import Grid


@dataclass
class Stamp:
    """A defect's effect on lines ``rows`` of the scan (arrays shaped (len(rows), width))."""

    rows: np.ndarray
    dh: np.ndarray
    gain: np.ndarray
    miss: np.ndarray
    s_mm: float
    x_mm: float
    extra: dict[str, float]


def _wrap(g: Grid, s0: float) -> np.ndarray:
    c = g.circumference
    return ((g.s - s0 + c / 2) % c) - c / 2


def _window(g: Grid, s0: float, extent: float) -> tuple[np.ndarray, np.ndarray]:
    ds = _wrap(g, s0)
    rows = np.flatnonzero(np.abs(ds) < extent)
    return rows, ds[rows]


def _place(rng: np.random.Generator, g: Grid, w: WheelParams) -> tuple[float, float]:
    flat = w.tread_mm / 2 - w.chamfer_mm
    return float(rng.uniform(g.s[0], g.s[0] + g.circumference)), float(
        rng.uniform(-0.92 * flat, 0.92 * flat))


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _rotated(ds: np.ndarray, x: np.ndarray, ang: float) -> tuple[np.ndarray, np.ndarray]:
    S = ds[:, None] + 0 * x
    return S * np.cos(ang) + x * np.sin(ang), -S * np.sin(ang) + x * np.cos(ang)


def chunk_stamp(rng: np.random.Generator, p: dict[str, float], g: Grid, w: WheelParams,
                h: np.ndarray) -> Stamp:
    """Missing piece: irregular ellipse, steep walls, rough floor, brighter, shadowed."""
    a, b, depth = p["a_mm"], p["b_mm"], p["depth_mm"]
    s0, x0 = _place(rng, g, w)
    ang = rng.uniform(0, np.pi)
    rows, ds = _window(g, s0, max(a, b) * 1.3 + 2)
    u, v = _rotated(ds, g.x[rows] - x0, ang)
    phi = np.arctan2(v / b, u / a)
    irr = 1.0 + sum(rng.uniform(0, 0.07) * np.cos(k * phi + rng.uniform(0, 6.3))
                    for k in range(2, 6))
    r = np.sqrt((u / a) ** 2 + (v / b) ** 2) / irr
    wall = rng.uniform(0.15, 0.8)
    inside_mm = (1.0 - r) * min(a, b)
    prof = _smoothstep(inside_mm / wall)
    k1, k2 = rng.uniform(0.3, 1.5, size=2)
    rough = 1.0 + 0.1 * np.sin(k1 * u + rng.uniform(0, 6)) * np.cos(k2 * v) + 0.05 * (
        u / max(a, b))
    dh = -prof * depth * rough
    gain = np.where(prof > 0.3, rng.uniform(1.2, 1.6), 1.0)
    shadow_side = np.sign(rng.uniform(-1, 1))
    shadow = (prof > 0) & (inside_mm < wall + 0.3 * depth) & (shadow_side * u < 0)
    miss = (shadow & (rng.random(u.shape) < 0.5)) | (
        (prof > 0.5) & (rng.random(u.shape) < rng.uniform(0.03, 0.2)))
    return Stamp(rows, dh, gain, miss, s0, x0, {"angle_rad": ang, "wall_mm": wall})


def _crack_path(rng: np.random.Generator, length: float, ang: float, step: float
                ) -> np.ndarray:
    n = max(int(length / step), 8)
    heading = ang + np.cumsum(rng.normal(0, 0.25 * np.sqrt(step / 3.0), size=n))
    heading -= heading.mean() - ang
    pts = np.cumsum(np.stack([np.cos(heading), np.sin(heading)], 1) * step, axis=0)
    return pts - pts.mean(axis=0)


def crack_stamp(rng: np.random.Generator, p: dict[str, float], g: Grid, w: WheelParams,
                h: np.ndarray) -> Stamp:
    """Meandering V-groove, tapering at the ends, maybe one branch; darker line."""
    length, width, depth = p["length_mm"], p["width_mm"], p["depth_mm"]
    s0, x0 = _place(rng, g, w)
    ang = rng.uniform(0, np.pi)
    step = min(0.1, width / 4)
    paths = [(_crack_path(rng, length, ang, step), width, depth)]
    if rng.random() < 0.3:
        base = paths[0][0][rng.integers(len(paths[0][0]))]
        br = _crack_path(rng, length * rng.uniform(0.2, 0.4), ang + rng.uniform(-1, 1), step)
        paths.append((br - br[0] + base, width * 0.7, depth * 0.6))
    rows, ds = _window(g, s0, length / 2 + 3)
    X = g.x[rows] - x0
    pts = np.stack([(ds[:, None] + 0 * X).ravel(), X.ravel()], 1)
    dh = np.zeros(pts.shape[0])
    dark = np.zeros(pts.shape[0], dtype=bool)
    for path, wd, dp in paths:
        tree = cKDTree(path)
        dist, idx = tree.query(pts, distance_upper_bound=wd * 1.5 + 0.3)
        ok = np.isfinite(dist)
        t = np.where(ok, idx, 0) / max(len(path) - 1, 1)
        taper = np.sin(np.pi * np.clip(t, 0, 1)) ** 0.3
        groove = np.where(ok, dp * taper * np.clip(1 - dist / (wd / 2), 0, 1), 0.0)
        dh = np.minimum(dh, -groove)
        dark |= ok
    dh = dh.reshape(X.shape)
    gain = np.where(dark.reshape(X.shape), rng.uniform(0.3, 0.7), 1.0)
    miss = (dh < -0.5 * depth) & (rng.random(X.shape) < rng.uniform(0.1, 0.5))
    return Stamp(rows, dh, gain, miss, s0, x0, {"angle_rad": ang, "branches": len(paths) - 1})


def flat_stamp(rng: np.random.Generator, p: dict[str, float], g: Grid, w: WheelParams,
               h: np.ndarray) -> Stamp:
    """A chord plane cut over the whole tread; depth = L²/(8R); slightly brighter."""
    chord, radius = p["chord_mm"], w.radius_mm
    depth = chord**2 / (8 * radius)
    s0, _ = _place(rng, g, w)
    rows, ds = _window(g, s0, chord / 2 + 2)
    seg = h[rows]
    flat = w.tread_mm / 2 - w.chamfer_mm
    centre = rows[np.abs(ds) < chord / 4]
    top = float(np.nanmax(h[centre][:, np.abs(g.x[centre[0]]) < flat])) if centre.size else 0.0
    plane = (radius + top - depth) / np.cos(ds / radius) - radius
    on = np.abs(g.x[rows]) < w.tread_mm / 2
    dh = np.where(on, np.minimum(seg, plane[:, None]) - seg, 0.0)
    polish = rng.uniform(1.05, 1.25) * (1 + 0.04 * np.sin(g.x[rows] * rng.uniform(2, 6)))
    gain = np.where(dh < -0.02, polish, 1.0)
    return Stamp(rows, dh, gain, np.zeros(dh.shape, bool), s0, 0.0, {"depth_mm": depth})


def blister_stamp(rng: np.random.Generator, p: dict[str, float], g: Grid, w: WheelParams,
                  h: np.ndarray) -> Stamp:
    """Bond-failure bulge: elliptic dome, little intensity change."""
    r0, height = p["radius_mm"], p["height_mm"]
    s0, x0 = _place(rng, g, w)
    asp, ang, pw = rng.uniform(0.75, 1.33), rng.uniform(0, np.pi), rng.uniform(1.3, 3.0)
    rows, ds = _window(g, s0, r0 * 1.4 + 2)
    u, v = _rotated(ds, g.x[rows] - x0, ang)
    rho2 = (u / (r0 * asp)) ** 2 + (v / (r0 / asp)) ** 2
    dh = height * np.clip(1 - rho2, 0, 1) ** pw
    gain = np.where(rho2 < 1, rng.uniform(0.95, 1.05), 1.0)
    return Stamp(rows, dh, gain, np.zeros(dh.shape, bool), s0, x0, {"aspect": asp})


STAMPS: dict[str, Callable[..., Stamp]] = {
    "chunking": chunk_stamp, "crack": crack_stamp, "flat_spot": flat_stamp,
    "blister": blister_stamp,
}
