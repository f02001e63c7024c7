"""Extremes of a wide Gaussian smoothing without its costly second pass, bit-exact.

``ndimage.gaussian_filter(f, (sr, sc), mode="wrap")`` filters along rows (axis 0) into a
float32 intermediate ``I`` and then along columns. Of the widest smoothing the features
need only the lowest and highest value (and where), plus whether the robust spread of a
subsample is below the noise floor. So the second pass is done approximately (FFT,
float32) with a strict error bound per cell; the cells that can hold an extreme are then
computed exactly the way SciPy does (same double sums, same order), and the spread is
certified below the floor from the bounds. If it cannot be certified the caller falls
back to the full filter: the results are SciPy's, bit for bit, either way.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from scipy import ndimage

from models.serving.robust import median

TRUNCATE = 3.0
# |FFT convolution in float32 - exact| <= FFT_REL * max|row| (a float32 FFT of a few
# hundred points errs by ~1e-7 of the row's size; the bound leaves a margin of ~1000)
FFT_REL = 1e-4
ULP = 2.0**-23  # twice float32's relative rounding error


def gaussian_weights(sigma: float) -> np.ndarray:
    """SciPy's own Gaussian weights (its impulse response, exact in double)."""
    radius = int(TRUNCATE * float(sigma) + 0.5)
    delta = np.zeros(2 * radius + 1)
    delta[radius] = 1.0
    return ndimage.gaussian_filter1d(delta, sigma, mode="constant", truncate=TRUNCATE)


def exact_pass(inter: np.ndarray, r: np.ndarray, c: np.ndarray,
               w: np.ndarray) -> np.ndarray:
    """SciPy's ``correlate1d`` along axis 1 (mode wrap) of ``inter`` at cells (r, c).

    Its symmetric-kernel loop: ``x[c] w[R]``, then ``+= (x[c-d] + x[c+d]) w[R-d]`` for
    d = R .. 1, in double, stored as float32.
    """
    n, radius = inter.shape[1], w.size // 2
    x = inter[r[:, None], (c[:, None] + np.arange(-radius, radius + 1)) % n]
    x = x.astype(np.float64)
    acc = x[:, radius] * w[radius]
    for d in range(radius, 0, -1):
        acc += (x[:, radius - d] + x[:, radius + d]) * w[radius - d]
    return acc.astype(np.float32)


def _approx(inter: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    """FFT approximation (float32) of the column pass and a strict bound on its error:
    FFT error plus the float32 rounding of SciPy's result (its double sums err ~1e-16)."""
    n, radius = inter.shape[1], w.size // 2
    k = np.zeros(n)
    np.add.at(k, np.arange(-radius, radius + 1) % n, w)
    spec = scipy.fft.rfft(k).astype(np.complex64)
    a = scipy.fft.irfft(scipy.fft.rfft(inter, axis=1) * spec, n=n, axis=1)
    big = float(np.abs(inter).max())
    return a, FFT_REL * big + ULP * float(np.abs(a).max()) + 1e-30


def _pick(a: np.ndarray, err: float, inter: np.ndarray, w: np.ndarray,
          invalid: np.ndarray, low: bool) -> tuple[int, np.float32]:
    """Exact extreme (first cell in row-major order): every cell within 2 ``err`` (3 for
    float32 rounding of the threshold) of the approximate extreme is computed exactly;
    invalid cells (``a`` = 0 there) are exactly 0."""
    if low:
        cand = np.flatnonzero(a.ravel() <= float(a.min()) + 3 * err)
    else:
        cand = np.flatnonzero(a.ravel() >= float(a.max()) - 3 * err)
    r, c = np.divmod(cand, a.shape[1])
    vals = exact_pass(inter, r, c, w)
    vals[invalid.ravel()[cand]] = 0.0
    k = int(np.argmin(vals) if low else np.argmax(vals))
    return int(cand[k]), vals[k]


def _certified_spread(a: np.ndarray, err: float, sample: np.ndarray, floor: float) -> bool:
    """True if ``1.4826 * MAD + 1e-6`` of the exact sample values is surely < ``floor``.

    Order statistics move at most by the values' error e, so the MAD by at most 2e plus
    float32 rounding of the medians and differences.
    """
    v = a.ravel()[sample]
    raw = float(median(np.abs(v - median(v))))
    bound = 1.4826 * (raw + 3 * err + 1e-6 * float(np.abs(v).max())) + 1e-6
    return bound < floor * (1 - 1e-6)


def smooth_extremes(f: np.ndarray, sigmas: tuple[float, float], invalid: np.ndarray,
                    sample: np.ndarray, floor: float
                    ) -> tuple[tuple[int, np.float32], tuple[int, np.float32]] | None:
    """(flat index, value) of the lowest and highest cell of
    ``gaussian_filter(f, sigmas, mode="wrap", truncate=3)`` with invalid cells as 0,
    when the MAD spread of its ``sample`` (valid cells) is certainly below ``floor``;
    None otherwise (or when the shortcut does not apply): use the full filter then."""
    if invalid.all():  # the spread would be taken over invalid cells
        return None
    inter = ndimage.gaussian_filter1d(f, sigmas[0], axis=0, mode="wrap", truncate=TRUNCATE)
    w = gaussian_weights(sigmas[1])
    if w.size > inter.shape[1] or not np.isfinite(inter).all():
        return None
    a, err = _approx(inter, w)
    if not _certified_spread(a, err, sample, floor):
        return None
    a[invalid] = 0.0
    return (_pick(a, err, inter, w, invalid, low=True),
            _pick(a, err, inter, w, invalid, low=False))
