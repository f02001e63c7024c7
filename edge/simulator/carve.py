"""Carving functions, one per defect kind, on a window of a height/intensity map."""

from __future__ import annotations

import math

import numpy as np

from edge.simulator.defect_types import Blister, Chunking, Crack, FlatSpot
from edge.simulator.grid import Window


def _rotate(da: np.ndarray, dc: np.ndarray, angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate grid offsets into the defect frame (u along its first axis)."""
    a = math.radians(angle_deg)
    ca, sa = math.cos(a), math.sin(a)
    return da * ca + dc * sa, -da * sa + dc * ca


TRIANGULATION_DEG = 25.0  # camera/laser angle: a wall of depth d hides d·tan(angle) behind it


def carve_chunking(
    h: np.ndarray, it: np.ndarray, w: Window, d: Chunking, rng: np.random.Generator
) -> None:
    """Elliptic pit with steep walls, rough floor, wall shadow and brighter fresh material."""
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


def carve_crack(
    h: np.ndarray, it: np.ndarray, w: Window, d: Crack, rng: np.random.Generator,
    pitch_along: float, pitch_across: float,
) -> None:
    """V-groove along a wavy line; area-sampled when narrower than a pixel footprint."""
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


def carve_flat_spot(h: np.ndarray, it: np.ndarray, w: Window, d: FlatSpot) -> None:
    """Chord cut: depth L²/(8R) in the middle, zero at the chord ends; polished."""
    cut = np.maximum(d.depth_mm - w.d_along**2 / (2.0 * d.radius_mm), 0.0)
    cut = np.broadcast_to(cut, (w.d_along.shape[0], w.d_across.shape[1]))
    h[w.ix] -= cut.astype(h.dtype)
    it[w.ix] += (d.brighten * (cut > 0)).astype(it.dtype)


def carve_blister(h: np.ndarray, it: np.ndarray, w: Window, d: Blister) -> None:
    """Smooth (1 − r²)² bulge, slightly elliptic and rotated."""
    u, v = _rotate(w.d_along, w.d_across, d.angle_deg)
    r2 = (u / d.radius_mm) ** 2 + (v / (d.radius_mm * d.aspect)) ** 2
    bump = np.clip(1.0 - r2, 0.0, 1.0) ** 2
    h[w.ix] += (d.height_mm * bump).astype(h.dtype)
    it[w.ix] += (d.intensity_delta * bump).astype(it.dtype)
