"""A good wheel seen by a line camera: sampling grid, clean height, intensity, dropouts.

Coordinates: ``s`` (mm along the circumference, periodic with the circumference) per
line, ``x`` (mm across the tread, 0 = tread centre) per point. Heights are radial
(outward positive) in mm, relative to the nominal tread radius; NaN = not seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.blind.gen.params import WheelParams


@dataclass
class Grid:
    """Where each point of the scan lies on the wheel."""

    s: np.ndarray  # (lines,) mm along the circumference (unwrapped)
    theta: np.ndarray  # (lines,) rad
    x: np.ndarray  # (lines, width) mm across the tread, 0 = centre
    circumference: float


def make_grid(rng: np.random.Generator, w: WheelParams, mm_per_line: float, width: int,
              mm_per_col: float) -> Grid:
    """Encoder-triggered lines with jitter, one turn plus up to 3 % overlap."""
    circ = w.circumference_mm
    n = round(float(circ * (1.0 + rng.uniform(0.0, 0.03)) / mm_per_line))
    knots = rng.normal(0.0, 1.0, size=12)
    smooth = np.interp(np.linspace(0, 11, n), np.arange(12), knots)
    pitch = mm_per_line * (1.0 + w.jitter * np.clip(smooth, -2.0, 2.0) / 2.0)
    s = np.concatenate([[0.0], np.cumsum(pitch[:-1])]) + rng.uniform(0, circ)
    theta = s / w.radius_mm
    fov = width * mm_per_col
    free = max(fov - w.tread_mm, 0.0)
    centre = fov / 2 + rng.uniform(-0.35, 0.35) * free
    wobble = w.lateral_wobble_mm * np.sin(theta + rng.uniform(0, 2 * np.pi))
    x = (np.arange(width) * mm_per_col)[None, :] - centre - wobble[:, None]
    return Grid(s=s, theta=theta, x=x, circumference=circ)


def _profile(w: WheelParams, x: np.ndarray, rng: np.random.Generator) -> tuple[
        np.ndarray, np.ndarray]:
    """Crowned, chamfered tread and background; returns (height, on_tread mask)."""
    half = w.tread_mm / 2
    flat = half - w.chamfer_mm
    ax = np.abs(x)
    h = w.crown_mm * (1.0 - np.clip(ax / flat, 0, 1) ** w.crown_power)
    slope = rng.uniform(0.7, 1.3)
    cham = ax > flat
    h = np.where(cham, -(ax - flat) * slope, h)
    drop = w.chamfer_mm * slope
    back = ax > half
    h = np.where(back, -drop - rng.uniform(3.0, 6.0) - 0.02 * (ax - half), h)
    return h, ~back


def clean_height(rng: np.random.Generator, w: WheelParams, g: Grid) -> tuple[
        np.ndarray, np.ndarray]:
    """Noise-free height (runout, wear, tilt, seams) and the on-tread mask."""
    h, tread = _profile(w, g.x, rng)
    run = sum(a * np.cos(k * g.theta + p) for k, a, p in w.runout_lobes)
    run = np.asarray(run, dtype=float)
    run *= w.runout_mm / max(float(np.ptp(run)), 1e-9)  # peak-to-peak = runout
    flat = w.tread_mm / 2 - w.chamfer_mm
    rel = (g.x / flat - w.wear_centre) / w.wear_width
    wear_var = 1.0 + 0.08 * np.sin(g.theta + rng.uniform(0, 6.3))
    wear = -w.wear_mm * np.cos(np.clip(rel, -1, 1) * np.pi / 2) ** 2 * wear_var[:, None]
    h = h + np.where(tread, wear, 0.0) + run[:, None] + w.tilt_mm_per_mm * g.x
    for kind, pos, height, width in w.seams:
        if kind == "circ":
            d = g.x - (pos - 0.5) * 1.8 * flat
        else:
            d = (((g.s - pos * g.circumference) + g.circumference / 2) % g.circumference
                 - g.circumference / 2)[:, None] + 0 * g.x
        h = h + np.where(tread, height * np.exp(-0.5 * (d / (width / 2.5)) ** 2), 0.0)
    return h, tread


def intensity(rng: np.random.Generator, w: WheelParams, g: Grid, tread: np.ndarray
              ) -> np.ndarray:
    """Reflectance: colour, laser fall-off, chamfer shading, heat bands, dust, speckle."""
    half = w.tread_mm / 2
    flat = half - w.chamfer_mm
    inten = w.intensity * (1.0 - rng.uniform(0.05, 0.3) * (g.x / half) ** 2)
    inten = np.where(np.abs(g.x) > flat, inten * rng.uniform(0.5, 0.8), inten)
    inten = np.where(tread, inten, w.intensity * rng.uniform(0.2, 0.5))
    for pos, width, gain in w.heat_bands:
        d = g.x - (pos - 0.5) * 2 * flat
        edge = np.clip(1.0 - (np.abs(d) - width / 2) / 1.5, 0, 1)
        inten = inten * (1.0 + (gain - 1.0) * edge)
    pitch = float(np.median(np.diff(g.s)))
    for li in rng.integers(0, len(g.s), size=w.dust_specks):
        r, x0 = rng.uniform(0.2, 1.5), rng.uniform(-flat, flat)
        lo, hi = max(0, li - int(r / pitch) - 1), li + int(r / pitch) + 2
        ds = (g.s[lo:hi] - g.s[li])[:, None]
        inside = (ds**2 + (g.x[lo:hi] - x0) ** 2) < r**2
        inten[lo:hi] = np.where(inside, inten[lo:hi] * rng.uniform(0.3, 0.7), inten[lo:hi])
    return inten * (1.0 + rng.normal(0.0, rng.uniform(0.03, 0.08), size=g.x.shape))


def benign_dropouts(rng: np.random.Generator, w: WheelParams, g: Grid, tread: np.ndarray
                    ) -> np.ndarray:
    """Mask of specular/edge dropouts on the tread: scattered, short glint runs, chamfer.

    The total stays within ``w.dropout_frac`` of the tread points (≤ 2 % by WHEELS.md).
    """
    width = g.x.shape[1]
    budget = int(w.dropout_frac * int(tread.sum()))
    share = rng.dirichlet([1.0, 1.0, 1.0]) * budget
    miss = np.zeros(g.x.shape, dtype=bool)
    idx = np.flatnonzero(tread.ravel())
    miss.ravel()[rng.choice(idx, size=min(int(share[0]), idx.size), replace=False)] = True
    top = np.flatnonzero((tread & (np.abs(g.x) < 0.25 * w.tread_mm)).ravel())
    left = int(share[1])
    while left > 0 and top.size:
        p = int(rng.choice(top))
        run = min(int(rng.integers(3, 26)), left)
        li, ci = divmod(p, width)
        miss[li, ci:ci + run] = True
        left -= run
    flat = w.tread_mm / 2 - w.chamfer_mm
    cham = np.flatnonzero((tread & (np.abs(g.x) > flat)).ravel())
    if cham.size:
        k = min(int(share[2]), cham.size)
        miss.ravel()[rng.choice(cham, size=k, replace=False)] = True
    return miss & tread
