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

import functools

import numpy as np

from models.serving.robust import median


def _harmonic_basis(t: np.ndarray, k: int) -> np.ndarray:
    cols = [np.ones(t.size)]
    for j in range(1, k + 1):
        cols += [np.cos(j * t), np.sin(j * t)]
    return np.stack(cols, axis=1)


@functools.lru_cache(maxsize=64)
def _circle_harmonic(n: int, j: int) -> tuple[np.ndarray, np.ndarray]:
    """``cos(j t)``, ``sin(j t)`` at the angles ``t = 2 pi arange(n) / n`` of a whole
    revolution of ``n`` rows (read-only; wheels of a site come back, and the runout and
    registration fits of one wheel share them)."""
    t = 2 * np.pi * np.arange(n) / n
    c, s = np.cos(j * t), np.sin(j * t)
    c.flags.writeable = s.flags.writeable = False
    return c, s


def circle_basis(n: int, k: int) -> np.ndarray:
    """``_harmonic_basis(2 pi arange(n) / n, k)`` (the same values), a new array."""
    cols = [np.ones(n)]
    for j in range(1, k + 1):
        cols += _circle_harmonic(n, j)
    return np.stack(cols, axis=1)


def smooth_over_revolution(t: np.ndarray, v: np.ndarray, w: np.ndarray, k: int,
                           iters: int = 4, basis: np.ndarray | None = None) -> np.ndarray:
    """Coefficients of a weighted, Tukey-robust least-squares fit of harmonics 0..k of
    ``v`` at angles ``t`` (one revolution); zeros if too few values. ``basis``: the
    harmonics at ``t`` if already computed."""
    b = _harmonic_basis(t, k) if basis is None else basis
    base = np.where(np.isfinite(v), w, 0.0)
    vv = np.where(np.isfinite(v), v, 0.0)
    rw = np.ones(v.size)
    coef = np.zeros(b.shape[1])
    if np.count_nonzero(base) < 2 * k + 2:
        return coef
    for _ in range(iters):
        bw = b * (base * rw)[:, None]
        try:  # normal equations: (2k+1)^2, well conditioned on a revolution
            coef = np.linalg.solve(bw.T @ b, bw.T @ vv)
        except np.linalg.LinAlgError:
            return np.zeros(b.shape[1])
        res = vv - b @ coef
        used = res[base > 0]
        s = 1.4826 * float(median(np.abs(used - median(used)), overwrite=True)) + 1e-9
        u = res / (4.685 * s)
        rw = np.where(np.abs(u) < 1, (1 - u**2) ** 2, 0.0)
    return np.asarray(coef)


def shifted(profile: np.ndarray, shift: np.ndarray,
            dtype: type[np.floating] = np.float64) -> np.ndarray:
    """(rows, cols): ``profile`` moved by ``shift[row]`` columns, i.e. ``profile(c - shift)``
    (linear interpolation; beyond the ends the end slope goes on: a chamfer continues).

    ``c - shift`` has the same fractional part on a whole row, so each row is one
    integer-offset slice of the profile plus its fraction of the next difference (done
    on whole runs of rows sharing that offset).
    """
    n = profile.size
    k = np.floor(-shift).astype(np.int64)
    f = (-shift - k)[:, None]
    pad = int(np.abs(k).max()) + 2
    steps = np.arange(1, pad + 1)
    ext = np.concatenate([profile[0] - (profile[1] - profile[0]) * steps[::-1], profile,
                          profile[-1] + (profile[-1] - profile[-2]) * steps])
    diff = np.diff(ext)
    out = np.empty((shift.size, n))  # float64 sums, rounded to ``dtype`` once at the end
    cuts = np.flatnonzero(np.diff(k)) + 1  # runs of rows with one integer offset
    for a, b in zip([0, *cuts], [*cuts, k.size], strict=True):
        lo = pad + int(k[a])
        np.multiply(f[a:b], diff[lo : lo + n], out=out[a:b])
        out[a:b] += ext[lo : lo + n]
    return out.astype(dtype, copy=False)


def _slope_sums(ok: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the number of valid cells, and the sums of the slope ``g`` and of its
    square over them (the same on every iteration of the registration)."""
    m = ok.astype(np.float64)
    return m.sum(axis=1), m @ g, m @ (g * g)


def _row_shifts(h: np.ndarray, nominal: np.ndarray, ok: np.ndarray, g: np.ndarray,
                sums: tuple[np.ndarray, np.ndarray, np.ndarray]
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the sideways shift (columns) that best explains ``h - nominal`` by the
    profile's slope ``g`` (plus a level), and its weight (the slope information seen);
    ``sums``: ``_slope_sums(ok, g)``."""
    r = h - nominal
    np.copyto(r, 0.0, where=~ok)
    n, sg, sgg = sums
    sr, sgr = r.sum(axis=1), r @ g
    var = sgg - sg * sg / np.maximum(n, 1)  # slope information left after the level
    with np.errstate(all="ignore"):
        s = -(sgr - sg * sr / np.maximum(n, 1)) / var
    good = (n > 2) & (var > 1e-9)
    return np.where(good, s, np.nan), np.where(good, var, 0.0)


def lateral_nominal(h: np.ndarray, profile: np.ndarray, harmonics: int, min_shift: float,
                    dtype: type[np.floating] = np.float64, iters: int = 2,
                    max_rows: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The tread profile on every row, following the tread's sideways motion.

    Returns ``(nominal (rows, cols) of ``dtype`` (a new array), shift (rows,) in
    columns)``. The motion is measured
    on at most ``max_rows`` rows spread over the revolution (it is smooth); a fitted
    motion smaller than ``min_shift`` columns peak to peak is noise: the plain profile.
    """
    rows = h.shape[0]
    sub = np.arange(0, rows, max(1, rows // max_rows))
    hs = h[sub]
    ok = np.isfinite(hs)
    g = np.gradient(profile)
    t_all = 2 * np.pi * np.arange(rows) / rows
    t_sub = t_all[sub]
    b_sub, sums = _harmonic_basis(t_sub, harmonics), _slope_sums(ok, g)
    coef = np.zeros(2 * harmonics + 1)
    nominal: np.ndarray = np.broadcast_to(profile, hs.shape)
    for _ in range(iters):
        step, w = _row_shifts(hs, nominal, ok, g, sums)
        coef = coef + smooth_over_revolution(t_sub, step, w, harmonics, basis=b_sub)
        shift_sub = b_sub @ coef
        if float(np.ptp(shift_sub)) < min_shift:
            return np.tile(profile.astype(dtype), (rows, 1)), np.zeros(rows)
        nominal = shifted(profile, shift_sub)
    shift = circle_basis(rows, harmonics) @ coef
    return shifted(profile, shift, dtype), shift


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
