"""Remove the wheel's nominal shape from the gridded heights, leaving local deviations.

nominal = tread profile (robust per-column median over the revolution), moved sideways
          line by line with the tread's lateral runout (``register``)
        + runout (robust fit of low-order harmonics of each row's level vs angle)
        + smooth wear (coarse block medians, median-filtered over ~150 mm of circumference).
A flat spot (15-70 mm) or a chunk is shorter than half the smoothing window and sits
outside the robust harmonic fit, so it survives into the residual.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from models.serving.grid import WheelGrid
from models.serving.register import chamfer_columns, circle_basis, lateral_nominal
from models.serving.robust import mad, median, nanmedian


@dataclass(frozen=True)
class ResidualParams:
    """Nominal-shape removal parameters (stored in the model metadata)."""

    harmonics: int = 4
    block_rows: int = 8
    block_cols: int = 8
    window_mm: float = 150.0
    lateral_harmonics: int = 3
    lateral_min_mm: float = 0.03
    chamfer_slope: float = 0.2
    chamfer_max_mm: float = 3.0


@dataclass
class Residual:
    """Local height deviation (mm, NaN = missing) and its noise level."""

    r: np.ndarray  # (rows, cols) float32
    filled: np.ndarray  # r with missing cells set to 0 (neutral)
    sigma: float  # robust fine-scale noise (mm)
    runout_mm: float  # peak-to-peak of the fitted runout
    profile: np.ndarray  # (cols,) tread profile (mm)
    low: np.ndarray  # lowest point per cell minus nominal and its typical offset, 0 = missing


def _fill_nan_1d(v: np.ndarray) -> np.ndarray:
    ok = np.isfinite(v)
    if ok.all() or not ok.any():
        return np.nan_to_num(v)
    idx = np.arange(v.size)
    return np.interp(idx, idx[ok], v[ok], period=v.size)


def robust_harmonics(v: np.ndarray, k: int, iters: int = 6) -> np.ndarray:
    """Tukey-weighted least-squares fit of harmonics 0..k over one revolution."""
    n = v.size
    b = circle_basis(n, k)
    w = np.ones(n)
    fit = np.zeros(n)
    for _ in range(iters):
        bw = b * (w * w)[:, None]  # normal equations of the weighted least squares
        try:
            coef = np.linalg.solve(bw.T @ b, bw.T @ v)
        except np.linalg.LinAlgError:  # (almost) every point rejected
            coef = np.linalg.lstsq(b * w[:, None], v * w, rcond=None)[0]
        fit = b @ coef
        res = v - fit
        u = res / (4.685 * mad(res))  # (res is float64: the same number as before)
        w = np.where(np.abs(u) < 1, (1 - u**2) ** 2, 0.0)
    return fit


def _block_median(r: np.ndarray, br: int, bc: int) -> np.ndarray:
    rows, cols = r.shape
    nr, nc = -(-rows // br), -(-cols // bc)
    pad = np.full((nr * br, nc * bc), np.nan, dtype=np.float32)
    pad[:rows, :cols] = r
    blocks = pad.reshape(nr, br, nc, bc).transpose(0, 2, 1, 3).reshape(nr, nc, br * bc)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = nanmedian(blocks, 2, overwrite=True)  # a temporary
    return med


def _background(r: np.ndarray, p: ResidualParams, along_mm: float) -> np.ndarray:
    coarse = _block_median(r, p.block_rows, p.block_cols)
    coarse = np.where(np.isfinite(coarse), coarse, 0.0)
    win = max(3, int(p.window_mm / (p.block_rows * along_mm)) | 1)
    smooth = _running_median(coarse, win)
    smooth = ndimage.uniform_filter(smooth, size=(3, 3), mode="nearest")
    return _upsample(smooth, r.shape, p.block_rows, p.block_cols)


def _running_median(c: np.ndarray, win: int) -> np.ndarray:
    """``ndimage.median_filter(c, size=(win, 1), mode="wrap")`` for odd ``win``, no NaN.

    The median of an odd window is one of its values, so sorting the windows gives
    exactly the filter's result (the rank filter is slow on this small array).
    """
    half = win // 2
    # (columns, rows + win - 1): each window is a contiguous run (quicker to sort)
    ext = np.take(c.T, np.arange(-half, c.shape[0] + half) % c.shape[0], axis=1)
    windows = np.lib.stride_tricks.sliding_window_view(ext, win, axis=1)
    return np.ascontiguousarray(np.sort(windows, axis=-1)[..., half].T)


def _upsample(c: np.ndarray, shape: tuple[int, int], br: int, bc: int) -> np.ndarray:
    """Bilinear upsampling of block values (periodic along rows, clamped across)."""
    nr, nc = c.shape
    ri = (np.arange(shape[0]) + 0.5) / br - 0.5
    i0 = np.floor(ri).astype(int)
    fr = (ri - i0)[:, None].astype(c.dtype)
    i0 %= nr
    i1 = (i0 + 1) % nr
    ci = np.clip((np.arange(shape[1]) + 0.5) / bc - 0.5, 0, nc - 1)
    j0 = np.floor(ci).astype(int)
    fc = (ci - j0)[None, :].astype(c.dtype)
    j1 = np.minimum(j0 + 1, nc - 1)
    # interpolate across once per block row; rows of a block share their two block rows
    across = c[:, j0] * (1 - fc) + c[:, j1] * fc
    out = across[i0]
    out *= 1 - fr
    below = across[i1]
    below *= fr
    out += below
    return out


def _fine_noise(r: np.ndarray, filled: np.ndarray, step: int = 4) -> float:
    """Robust sd of the cell noise: MAD of each valid cell minus its 3x3 mean (wrapping
    round), on every ``step``-th row (the noise is the same all round the wheel)."""
    rows = r.shape[0]
    idx = np.arange(0, rows, step)
    mid = filled[idx]
    s3 = filled[idx - 1] + mid + filled[(idx + 1) % rows]
    # (s3 + its roll by 1 + its roll by -1 across) / 9, the rolls as shifted slices
    box = np.empty_like(s3)
    np.add(s3[:, 1:], s3[:, :-1], out=box[:, 1:])
    np.add(s3[:, :1], s3[:, -1:], out=box[:, :1])
    box[:, :-1] += s3[:, 1:]
    box[:, -1:] += s3[:, :1]
    box /= np.float32(9)
    ok = np.isfinite(r[idx])
    if not ok.any():
        return 1.0
    dev = (mid - box)[ok]
    return 1.4826 * float(median(np.abs(dev, out=dev), overwrite=True)) / 0.943


def residual(grid: WheelGrid, p: ResidualParams | None = None) -> Residual:
    """Local deviations of the tread from its nominal shape."""
    p = p or ResidualParams()
    h = grid.height
    sub = h[:: max(1, h.shape[0] // 256)].astype(np.float64)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        profile = _fill_nan_1d(nanmedian(sub, 0))
        # the nominal shape, built up in place (float32: mm heights, um precision)
        base, shift = lateral_nominal(h, profile, p.lateral_harmonics,
                                      p.lateral_min_mm / grid.params.across_mm, np.float32)
        r = h - base
        level = _fill_nan_1d(nanmedian(r[:, ::2], 1))  # every other column suffices
    runout = robust_harmonics(level, p.harmonics)
    base += runout.astype(np.float32)[:, None]
    np.subtract(h, base, out=r)
    base += _background(r, p, grid.params.along_mm)
    np.subtract(h, base, out=r)
    low = grid.low - base
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # per column: the lowest of k noisy points sits below the mean, more on slopes
        off = nanmedian(low[:: max(1, low.shape[0] // 128)], 0)
        low -= np.where(np.isfinite(off), off, 0).astype(np.float32)[None, :]
    edges = chamfer_columns(profile, grid.params.across_mm, p.chamfer_slope, p.chamfer_max_mm,
                            float(np.abs(shift).max()))
    r[:, edges] = np.nan
    low[:, edges] = np.nan
    filled = np.where(np.isfinite(r), r, 0.0).astype(np.float32, copy=False)
    sigma = _fine_noise(r, filled)
    low_filled = np.where(np.isfinite(low), low, 0.0).astype(np.float32, copy=False)
    return Residual(r, filled, max(sigma, 1e-3), float(np.ptp(runout)),
                    profile.astype(np.float32), low_filled)
