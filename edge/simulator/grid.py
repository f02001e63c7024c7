"""Helpers for the scan grid: lines along the circumference, columns across the tread."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Window:
    """The lines and columns around a feature, with their offsets from its centre (mm).

    ``d_along`` has shape (rows, 1) and ``d_across`` shape (1, cols) so they broadcast to
    the window; ``ix`` indexes the window in a (lines, width) array.
    """

    rows: np.ndarray
    cols: np.ndarray
    d_along: np.ndarray
    d_across: np.ndarray

    @property
    def ix(self) -> tuple[np.ndarray, np.ndarray]:
        """Open-mesh index of the window (usable for read and write)."""
        rows, cols = np.ix_(self.rows, self.cols)
        return rows, cols


def wrap_offset(delta: np.ndarray, period: float | None) -> np.ndarray:
    """Offsets folded into [-period/2, period/2) when the axis is periodic."""
    if period is None:
        return delta
    return (delta + period / 2.0) % period - period / 2.0


def window(
    along_mm: np.ndarray,
    across_mm: np.ndarray,
    centre_along: float,
    centre_across: float,
    half_along: float,
    half_across: float,
    period_along: float | None = None,
) -> Window:
    """The lines/columns within the half extents of a centre (along may wrap)."""
    d_al = wrap_offset(along_mm.astype(np.float64) - centre_along, period_along)
    d_ac = across_mm.astype(np.float64) - centre_across
    rows = np.flatnonzero(np.abs(d_al) <= half_along)
    cols = np.flatnonzero(np.abs(d_ac) <= half_across)
    return Window(rows, cols, d_al[rows][:, None], d_ac[cols][None, :])


def nearest_index(coord: np.ndarray, value: float, period: float | None) -> int:
    """Index of the grid point nearest to ``value`` (periodic when ``period`` is set)."""
    d = np.abs(wrap_offset(coord.astype(np.float64) - value, period))
    return int(np.argmin(d))
