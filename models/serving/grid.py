"""Resample a scan onto a fixed physical grid (mm along the circumference x mm across).

Binning averages every valid point that falls into a cell (so thin features keep their
area); cells coarser than the scan are filled from the nearest line/column. Missing data
stays a mask (NaN), never zeros. The tread is found as the widest run of columns that
are mostly valid and near the tread level; background (hub, frame) is dropped.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from models.serving.inputs import RawHeights
from models.serving.robust import median, nanmedian
from schemas.errors import ScoringError


@dataclass(frozen=True)
class GridParams:
    """Physical grid of the preprocessing (stored in the model metadata)."""

    along_mm: float = 1.0
    across_mm: float = 0.5
    edge_trim_mm: float = 1.5
    background_drop_mm: float = 6.0
    min_tread_mm: float = 30.0
    cliff_slope: float = 3.0  # a step this steep (mm/mm, > 70 deg) and >= cliff_min_mm ...
    cliff_min_mm: float = 0.5  # ... is the tread's edge, never a chamfer


@dataclass
class WheelGrid:
    """Heights (mm) and normalised intensity on the physical grid, NaN = missing."""

    height: np.ndarray  # (rows, cols) float32
    intensity: np.ndarray  # (rows, cols) float32, 1.0 = wheel median (read-only NaN if unused)
    line_of_row: np.ndarray  # (rows,) source line index of each row
    col_of_col: np.ndarray  # (cols,) source column index of each grid column
    params: GridParams
    lines_per_rev: int
    mean_intensity: float
    low: np.ndarray  # (rows, cols) float32: lowest point of each cell (mm)

    @property
    def valid(self) -> np.ndarray:
        """Mask of cells with data."""
        return np.isfinite(self.height)


def _bin_index(pos: np.ndarray, step: float) -> tuple[np.ndarray, int]:
    idx = np.floor((pos - pos.min()) / step).astype(np.int64)
    return idx, int(idx.max()) + 1


def _segments(idx: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and length of each bin's run in sorted ``idx`` (empty bin: its next source)."""
    starts = np.minimum(np.searchsorted(idx, np.arange(n)), idx.size - 1)
    ends = np.append(starts[1:], idx.size)
    return starts, np.maximum(ends - starts, 1)


# the exact identity of each binning op: x + (-0.0) == x for every float32 x, also -0.0;
# fmin ignores NaN (missing points)
_IDENTITY: dict[np.ufunc, np.float32] = {np.add: np.float32(-0.0),
                                         np.minimum: np.float32(np.inf),
                                         np.fmin: np.float32(np.nan)}


def _reduce_seq(ext: np.ndarray, idx: np.ndarray, n: int, op: np.ufunc) -> np.ndarray:
    """``op`` over each bin of rows of ``ext[:-1]`` with ``op.reduceat``'s exact results.

    ``reduceat`` computes ``first op (rest reduced from the identity)``; for fewer than
    8 remaining points that rest is a plain sequential loop, reproduced here with
    whole-array operations: step ``j`` gathers row ``start + j`` of each bin, or the
    identity row ``ext[-1]`` for bins shorter than that. Larger bins use ``reduceat``.
    A bin without source points takes its nearest following source line/column.
    """
    starts, lens = _segments(idx, n)
    longest, last = int(lens.max()), ext.shape[0] - 1
    if longest > 8:
        return _reduceat(ext[:-1], starts, lens, 0, op)
    first = ext[starts]
    if longest == 1:
        return first
    rest = ext[np.where(lens > 1, starts + 1, last)]
    for j in range(2, longest):
        op(rest, ext[np.where(lens > j, starts + j, last)], out=rest)
    op(first, rest, out=first)
    return first


def _reduceat(values: np.ndarray, starts: np.ndarray, lens: np.ndarray, axis: int,
              op: np.ufunc) -> np.ndarray:
    """The reference path: ``op.reduceat`` along ``axis`` (empty bins: next source)."""
    v = values if axis == 0 else np.ascontiguousarray(values.T)
    s = op.reduceat(v, starts, axis=0)
    one = np.flatnonzero(lens == 1)
    s[one] = v[starts[one]]
    return s if axis == 0 else np.ascontiguousarray(s.T)


def _bin2d(values: np.ndarray, cidx: np.ndarray, nc: int, ridx: np.ndarray, nr: int,
           op: np.ufunc) -> np.ndarray:
    """(lines, cols) -> (rows, grid cols) by ``op`` over each cell (columns first)."""
    ext = np.empty((values.shape[1] + 1, values.shape[0]), dtype=values.dtype)
    ext[:-1] = values.T
    return _bin2d_t(ext, cidx, nc, ridx, nr, op)


def _bin2d_t(ext: np.ndarray, cidx: np.ndarray, nc: int, ridx: np.ndarray, nr: int,
             op: np.ufunc) -> np.ndarray:
    """Like ``_bin2d`` for input transposed to (cols + 1, lines); the last row is scratch."""
    ext[-1] = _IDENTITY[op]
    t = _reduce_seq(ext, cidx, nc, op)
    tt = np.empty((t.shape[1] + 1, t.shape[0]), dtype=t.dtype)
    tt[:-1] = t.T
    tt[-1] = _IDENTITY[op]
    return _reduce_seq(tt, ridx, nr, op)


def _valid_fraction(h: np.ndarray) -> np.ndarray:
    """``np.isfinite(h).mean(axis=0)``: exact integer counts (uint16 sums are quicker)."""
    acc = np.uint16 if h.shape[0] < 2**16 else np.int64
    return np.add.reduce(np.isfinite(h).view(np.uint8), axis=0, dtype=acc) / h.shape[0]


def _tread_columns(raw: RawHeights, p: GridParams) -> np.ndarray:
    """Boolean mask of source columns on the tread."""
    h = raw.height
    valid_frac = _valid_fraction(h)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = nanmedian(h[:: max(1, h.shape[0] // 64)], 0)
    good = (valid_frac > 0.5) & np.isfinite(med)
    if good.sum() < 8:
        raise ScoringError("no tread found: fewer than 8 columns with data")
    # a step larger than background_drop_mm between neighbours ends the tread
    # (works whichever way the height axis points)
    # (or a cliff: background only a little below the end of a chamfer)
    x = raw.x_mm
    step = np.abs(np.diff(np.where(good, med, np.nan)))
    with np.errstate(all="ignore"):
        cliff = (step >= p.cliff_min_mm) & (step > p.cliff_slope * np.abs(np.diff(x)))
    cut = np.concatenate([[False], ~(step < p.background_drop_mm / 3) | cliff])
    on = good.copy()
    on[cut] = False
    # widest contiguous run of columns
    d = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    span = np.abs(x[ends - 1] - x[starts])
    # the tread is the highest wide run (heights grow towards the camera); background
    # (hub, frame, table) beside it is lower, and may be wider
    wide = span >= min(p.min_tread_mm, 0.5 * float(span.max()))
    # (np.nanmedian of runs of finite values: their median)
    level = np.array([median(med[a:b]) for a, b in zip(starts, ends, strict=True)])
    k = int(np.argmax(np.where(wide, level, -np.inf)))
    a, b = starts[k], ends[k]
    lo, hi = min(x[a], x[b - 1]), max(x[a], x[b - 1])
    mask = np.zeros(h.shape[1], dtype=bool)
    mask[a:b] = True
    mask &= (x >= lo + p.edge_trim_mm) & (x <= hi - p.edge_trim_mm)
    if mask.sum() < 8:
        raise ScoringError("tread narrower than the edge trim")
    return mask


def _tread_t(a: np.ndarray, lines: int, cols: np.ndarray,
             dtype: type[np.generic] = np.float32) -> np.ndarray:
    """``a[:lines, cols].T`` as a contiguous (cols + 1, lines) ``dtype`` array; the last
    row is scratch for the binning (``_bin2d_t``).

    Gathering along rows first and then transposing the narrower result is several times
    quicker than gathering rows of ``a.T``, whose stride can thrash the cache (1536 px).
    """
    out = np.empty((cols.size + 1, lines), dtype=dtype)
    out[:-1] = np.take(a[:lines], cols, axis=1).T
    out[-1] = 0
    return out


def _counts(ok: np.ndarray, cidx: np.ndarray, nc: int, ridx: np.ndarray,
            nr: int) -> np.ndarray:
    """Valid points per cell as float32 (small integers: exact in any order, so they are
    summed as uint8 when no cell can hold more than 255 points)."""
    most = int(np.bincount(cidx).max()) * int(np.bincount(ridx).max())
    return _bin2d_t(ok.astype(np.uint8 if most < 256 else np.float32), cidx, nc, ridx, nr,
                    np.add).astype(np.float32)


def _intensity_sums(a: np.ndarray, lines: int, cols: np.ndarray, ok: np.ndarray,
                    bins: tuple[np.ndarray, int, np.ndarray, int]) -> np.ndarray:
    """Per-cell float32 sums of the intensity of valid points (as ``_bin2d_t`` adds).

    Cameras store integer intensity: then every partial sum is an integer far below
    2**24, exact in float32 in any order, so the sums are done in integers (quicker).
    """
    cidx, nc, ridx, nr = bins
    most = int(np.bincount(cidx).max()) * int(np.bincount(ridx).max())
    if a.dtype.kind in "ui":
        info = np.iinfo(a.dtype)
        top = max(abs(int(info.min)), int(info.max)) * most
        if top < 2**24:
            acc = np.uint16 if info.min >= 0 and top < 2**16 else np.int32
            t = _tread_t(a, lines, cols, dtype=acc)
            t *= ok
            return _bin2d_t(t, cidx, nc, ridx, nr, np.add).astype(np.float32)
    t = _tread_t(a, lines, cols)
    return _bin2d_t(np.where(ok, t, np.float32(0)), cidx, nc, ridx, nr, np.add)


def _mean_intensity(a: np.ndarray, lines: int, cols: np.ndarray, ok: np.ndarray) -> float:
    """Mean intensity of the valid tread points (``ok``: (cols + 1, lines), as binned)."""
    sel = np.take(a[:lines], cols, axis=1)
    okt = ok[:-1].T
    n = int(np.count_nonzero(okt))
    return _valid_total(sel, okt) / n if n else 0.0


def _valid_total(sel: np.ndarray, okt: np.ndarray) -> float:
    """The float64 sum of the finite ``sel`` where ``okt`` (``sel`` is scratch).

    Integer intensity is summed in integers: a float64 sum of fewer than 2**53 / max
    integers is exact, so it is the same number (and int / int rounds as float / int).
    """
    if sel.dtype.kind in "ui" and sel.size < 2**53 // 2 ** (8 * sel.itemsize):
        sel *= np.ascontiguousarray(okt)
        return int(sel.sum(dtype=np.uint64 if sel.dtype.kind == "u" else np.int64))
    return float(np.sum(sel, where=okt & np.isfinite(sel), dtype=np.float64))


def _intensity_grid(a: np.ndarray, lines: int, cols: np.ndarray, ok: np.ndarray,
                    bins: tuple[np.ndarray, int, np.ndarray, int],
                    cnt: np.ndarray) -> np.ndarray:
    """Mean intensity per cell, normalised by the wheel's median cell (NaN = missing)."""
    si = _intensity_sums(a, lines, cols, ok, bins)
    with np.errstate(all="ignore"):
        ig = np.where(cnt > 0, si / np.maximum(cnt, 1e-9), np.nan).astype(np.float32)
    known = ig[~np.isnan(ig)]
    med = float(median(known)) if bool(np.isfinite(known).any()) else 1.0
    return ig / np.float32(max(med, 1e-6))


def to_grid(raw: RawHeights, p: GridParams | None = None,
            intensity: bool = True) -> WheelGrid:
    """Resample heights (and, if ``intensity``, the intensity) of one revolution onto the
    physical grid. No feature uses the intensity grid (heat bands and dust are benign):
    scoring leaves it out (all NaN) and reports only the tread's mean intensity."""
    p = p or GridParams()
    cols = np.flatnonzero(_tread_columns(raw, p))
    x = raw.x_mm[cols]
    order = np.argsort(x, kind="stable")
    cols, x = cols[order], x[order]
    # (cols + 1, lines) once: every binning pass below gathers whole source columns
    h = _tread_t(raw.height, raw.lines_per_rev, cols)
    ok = np.isfinite(h)
    along = np.arange(h.shape[1], dtype=np.float64) * raw.mm_per_line
    ridx, nr = _bin_index(along, p.along_mm)
    cidx, nc = _bin_index(x.astype(np.float64), p.across_mm)
    # the lowest point of each cell keeps the full depth of cracks narrower than a cell
    low = _bin2d_t(h, cidx, nc, ridx, nr, np.fmin)  # NaN where no point (h is scratch)
    np.copyto(h, np.float32(0), where=~ok)  # missing points add nothing to the sums
    s = _bin2d_t(h, cidx, nc, ridx, nr, np.add)
    cnt = _counts(ok, cidx, nc, ridx, nr)
    height = np.maximum(cnt, np.float32(1e-9))  # the mean where there are points
    with np.errstate(all="ignore"):
        np.divide(s, height, out=height)
    height[~(cnt > 0)] = np.nan
    ig = np.broadcast_to(np.float32(np.nan), height.shape)  # not computed: read-only NaN
    mean_i = 0.0
    if raw.intensity is not None:
        mean_i = _mean_intensity(raw.intensity, raw.lines_per_rev, cols, ok)
        if intensity:
            ig = _intensity_grid(raw.intensity, raw.lines_per_rev, cols, ok,
                                 (cidx, nc, ridx, nr), cnt)
    line_of_row = np.searchsorted(ridx, np.arange(nr)).clip(0, h.shape[1] - 1)
    col_of_col = cols[np.searchsorted(cidx, np.arange(nc)).clip(0, cols.size - 1)]
    return WheelGrid(height, ig, line_of_row, col_of_col, p, raw.lines_per_rev, mean_i, low)
