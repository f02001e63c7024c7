"""Lateral registration: follow a tread that moves sideways over the revolution.

A wheel running slightly skew (lateral runout, a few tenths of a mm) moves its tread,
and with it the chamfer steps at both edges, across the columns line by line. A profile
found once per scan then leaves a once-per-revolution ridge/groove along each chamfer in
the residual, which looks like a long crack. Here each line's sideways offset is
estimated against the tread profile (least squares on the profile's slope: the chamfers
carry almost all of the information), smoothed over the revolution (robust fit of a few
harmonics: the wobble of a rigid wheel is smooth), and the profile is evaluated shifted
by it on every line. The data themselves are never resampled, so narrow defects keep
their full depth.
"""

from __future__ import annotations

import numpy as np


def _harmonic_basis(n: int, k: int) -> np.ndarray:
    t = 2 * np.pi * np.arange(n) / n
    cols = [np.ones(n)]
    for j in range(1, k + 1):
        cols += [np.cos(j * t), np.sin(j * t)]
    return np.stack(cols, axis=1)


def smooth_over_revolution(v: np.ndarray, w: np.ndarray, k: int, iters: int = 5) -> np.ndarray:
    """Weighted, Tukey-robust least-squares fit of harmonics 0..k of ``v`` (one revolution)."""
    b = _harmonic_basis(v.size, k)
    base = np.where(np.isfinite(v), w, 0.0)
    vv = np.where(np.isfinite(v), v, 0.0)
    rw = np.ones(v.size)
    fit = np.zeros(v.size)
    for _ in range(iters):
        sw = np.sqrt(base * rw)
        coef = np.linalg.lstsq(b * sw[:, None], vv * sw, rcond=None)[0]
        fit = b @ coef
        res = (vv - fit)[base > 0]
        if res.size < 2 * k + 2:
            return np.zeros(v.size)
        s = 1.4826 * float(np.median(np.abs(res - np.median(res)))) + 1e-9
        u = (vv - fit) / (4.685 * s)
        rw = np.where(np.abs(u) < 1, (1 - u**2) ** 2, 0.0)
    return np.asarray(fit)


def shifted(profile: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """(rows, cols): ``profile`` moved by ``shift[row]`` columns, i.e. ``profile(c - shift)``
    (linear interpolation; beyond the ends the end slope goes on: a chamfer continues)."""
    n = profile.size
    pos = np.arange(n)[None, :] - shift[:, None]
    i0 = np.clip(np.floor(pos).astype(np.int64), 0, n - 2)
    f = pos - i0
    return np.asarray(profile[i0] * (1 - f) + profile[i0 + 1] * f)


def _row_shifts(h: np.ndarray, nominal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the sideways shift (columns) that best explains ``h - nominal`` by the
    nominal's slope (plus a level), and its weight (sum of squared slopes seen)."""
    g = np.gradient(nominal, axis=1)
    r = h - nominal
    m = np.isfinite(r)
    r, g = np.where(m, r, 0.0), np.where(m, g, 0.0)
    n = m.sum(axis=1).astype(np.float64)
    sg, sgg = g.sum(axis=1), (g * g).sum(axis=1)
    sr, sgr = r.sum(axis=1), (g * r).sum(axis=1)
    var = sgg - sg * sg / np.maximum(n, 1)  # slope information left after the level
    with np.errstate(all="ignore"):
        s = -(sgr - sg * sr / np.maximum(n, 1)) / var
    ok = (n > 2) & (var > 1e-9)
    return np.where(ok, s, np.nan), np.where(ok, var, 0.0)


def lateral_nominal(h: np.ndarray, profile: np.ndarray, harmonics: int, min_shift: float,
                    iters: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The tread profile on every row, following the tread's sideways motion.

    Returns ``(nominal (rows, cols), shift (rows,) in columns)``. A fitted motion
    smaller than ``min_shift`` columns peak to peak is noise: the plain profile is used.
    """
    shift = np.zeros(h.shape[0])
    nominal = np.broadcast_to(profile, h.shape)
    for _ in range(iters):
        step, w = _row_shifts(h, nominal)
        trial = shift + smooth_over_revolution(step, w, harmonics)
        if float(np.ptp(trial)) < min_shift:
            break
        shift = trial
        nominal = shifted(profile, shift)
    if float(np.ptp(shift)) < min_shift:
        return np.broadcast_to(profile, h.shape), np.zeros(h.shape[0])
    return nominal, shift


def chamfer_columns(profile: np.ndarray, across_mm: float, max_slope: float,
                    max_mm: float, reach: float = 0.0) -> np.ndarray:
    """Columns of the chamfer steps at the tread's edges: from each edge inwards while
    the profile is steeper than ``max_slope`` mm/mm, plus the kink's cell and the
    columns the tread moves by (``reach``, the largest lateral shift in columns), at
    most ``max_mm`` from each edge.

    A tread moving sideways slides the chamfer's kink through these cells; a cell
    averages (or takes the lowest point of) a kinked slope differently at every offset,
    which no shifted profile reproduces exactly, so they are left out (missing).
    """
    n = profile.size
    d = np.abs(np.diff(profile)) / across_mm  # slope between neighbours
    out = np.zeros(n, dtype=bool)
    cap = min(n // 4, int(max_mm / across_mm))
    margin = int(np.ceil(reach + 0.5))
    for idx, slopes in ((np.arange(n), d), (np.arange(n)[::-1], d[::-1])):
        steep = slopes[:cap] > max_slope
        run = int(np.argmin(steep)) if not steep.all() else cap
        out[idx[: min(cap, run + margin)]] = True
    return out
