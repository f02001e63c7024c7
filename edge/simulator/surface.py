"""Render a good wheel's surface (height mm + intensity) on a scan grid, vectorised."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.simulator.grid import window
from edge.simulator.wheel import (
    ScanConditions,
    WheelSpec,
    lateral_shift,
    runout,
    tread_profile,
)


@dataclass
class Surface:
    """Height (mm, NaN = missing) and intensity (float, not yet clipped) maps.

    ``along_mm`` is the scan-frame position of each line, ``across_mm`` the position of
    each column measured from the tread's first edge; ``tread`` marks tread columns and
    ``edge`` the steep chamfer columns at its sides (more dropouts there). With a
    lateral runout the tread's edges move across columns line by line: ``tread`` then
    marks the columns on the tread on every line and ``off_tread`` (lines, cols) every
    point beside the tread on its line (None without lateral runout).
    """

    height_mm: np.ndarray
    intensity: np.ndarray
    along_mm: np.ndarray
    across_mm: np.ndarray
    tread: np.ndarray
    edge: np.ndarray
    off_tread: np.ndarray | None = None


def _axial_seams(h: np.ndarray, wheel: WheelSpec, wheel_pos: np.ndarray) -> None:
    for s in wheel.seams:
        if not s.axial:
            continue
        d = (wheel_pos - s.position_mm + wheel.circumference_mm / 2) % wheel.circumference_mm
        d = np.abs(d - wheel.circumference_mm / 2)
        ridge = s.height_mm * np.clip(1.0 - d / (s.width_mm / 2), 0.0, 1.0)
        rows = np.flatnonzero(ridge > 0)
        if rows.size == 0:  # narrower than the line pitch: the nearest line still sees a trace
            rows = np.array([int(np.argmin(d))])
            ridge[rows] = s.height_mm * 0.5
        h[rows, :] += ridge[rows, None].astype(h.dtype)


def _intensity(wheel: WheelSpec, cond: ScanConditions, across: np.ndarray, prof: np.ndarray,
               n_lines: int, rng: np.random.Generator) -> np.ndarray:
    col = np.full(across.shape, wheel.intensity, dtype=np.float64)
    for centre, width, delta in cond.heat_bands:
        col += delta * np.exp(-0.5 * ((across - centre) / (width / 2)) ** 2)
    slope = np.abs(np.gradient(np.nan_to_num(prof), across)) if across.size > 1 else 0 * across
    col *= 1.0 / (1.0 + 0.8 * slope)  # chamfers look darker
    speckle = rng.standard_normal((n_lines, across.size), dtype=np.float32)
    return col.astype(np.float32)[None, :] * (1.0 + 0.04 * speckle)


def _specks(it: np.ndarray, cond: ScanConditions, along: np.ndarray, across: np.ndarray,
            circ: float) -> None:
    for sp in cond.specks:
        pos = (sp.along_mm - cond.start_mm) % circ
        win = window(along, across, pos, sp.across_mm, sp.radius_mm + 0.5, sp.radius_mm + 0.5, circ)
        if win.rows.size == 0 or win.cols.size == 0:
            continue
        r2 = (win.d_along**2 + win.d_across**2) / sp.radius_mm**2
        it[win.ix] -= (sp.darken * np.clip(1.0 - r2, 0.0, 1.0)).astype(it.dtype)


def _dropouts(
    h: np.ndarray, tread: np.ndarray, edge: np.ndarray, cond: ScanConditions,
    rng: np.random.Generator,
) -> None:
    """Knock out ``dropout_frac`` of tread points: short runs along lines, scattered
    points, and (a third of the scattered ones) points on the steep chamfers."""
    cols = np.flatnonzero(tread)
    n_lines = h.shape[0]
    budget = int(cond.dropout_frac * n_lines * cols.size)
    if budget == 0 or cols.size == 0:
        return
    n_runs_pts = int(budget * cond.dropout_run_share)
    used = 0
    lens = rng.integers(3, 31, size=max(1, n_runs_pts // 3 + 1))
    lines = rng.integers(0, n_lines, size=lens.size)
    starts = rng.integers(0, max(1, cols.size - 30), size=lens.size)
    for ln, st, length in zip(lines, starts, lens, strict=True):
        length = int(min(length, n_runs_pts - used, cols.size - st))
        if length <= 0:
            break
        h[ln, cols[st:st + length]] = np.nan
        used += length
    n_scatter = budget - used
    edge_cols = np.flatnonzero(edge & tread)
    n_edge = min(n_scatter // 3, n_lines * edge_cols.size // 4)
    if n_edge > 0:
        flat = rng.choice(n_lines * edge_cols.size, size=n_edge, replace=False)
        h[flat // edge_cols.size, edge_cols[flat % edge_cols.size]] = np.nan
    if n_scatter - n_edge > 0:
        flat = rng.choice(n_lines * cols.size, size=n_scatter - n_edge, replace=False)
        h[flat // cols.size, cols[flat % cols.size]] = np.nan


def render_surface(
    wheel: WheelSpec, cond: ScanConditions, along_mm: np.ndarray, across_mm: np.ndarray,
    rng: np.random.Generator,
) -> Surface:
    """Height and intensity of a good wheel on the grid (lines at ``along_mm`` in the scan
    frame, columns at ``across_mm`` from the first tread edge); outside the tread NaN.

    Benign dropouts are not applied here (see :func:`apply_dropouts`) so that defects
    can be carved first and dropouts counted on the final map.
    """
    wheel_pos = (along_mm + cond.start_mm) % wheel.circumference_mm
    prof = tread_profile(wheel, across_mm)
    tread = ~np.isnan(prof)
    n_lines = along_mm.size
    h = np.empty((n_lines, across_mm.size), dtype=np.float32)
    h[:] = runout(wheel, wheel_pos).astype(np.float32)[:, None]
    off_tread = None
    if wheel.lateral_mm > 0:  # the tread (crown, chamfers, seams) moves sideways per line
        lat = lateral_shift(wheel, wheel_pos)
        prof2 = tread_profile(wheel, across_mm[None, :] - lat[:, None])
        off_tread = np.isnan(prof2)
        tread = ~off_tread.any(axis=0)
        h += prof2.astype(np.float32)
    else:
        h += prof.astype(np.float32)[None, :]
    h += wheel.noise_mm * rng.standard_normal(h.shape, dtype=np.float32)
    h += (0.3 * wheel.noise_mm * rng.standard_normal(n_lines)).astype(np.float32)[:, None]
    _axial_seams(h, wheel, wheel_pos)
    it = _intensity(wheel, cond, across_mm, prof, n_lines, rng)
    _specks(it, cond, along_mm, across_mm, wheel.circumference_mm)
    edge = tread & (np.minimum(across_mm, wheel.tread_width_mm - across_mm)
                    < wheel.chamfer_mm + 0.3)
    return Surface(h, it, along_mm, across_mm, tread, edge, off_tread)


def apply_dropouts(surface: Surface, cond: ScanConditions, rng: np.random.Generator) -> None:
    """Benign specular dropouts (≤ 2 % of tread points), in place."""
    _dropouts(surface.height_mm, surface.tread, surface.edge, cond, rng)
