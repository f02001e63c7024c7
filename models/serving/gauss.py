"""``scipy.ndimage.gaussian_filter(f, sigma, mode=..., truncate=..., output=...)`` without
its per-call set-up: the same ``correlate1d`` passes (axis by axis, in place in the
output) with the same kernels, computed once per sigma."""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage


@functools.lru_cache(maxsize=64)
def _weights(sigma: float, truncate: float) -> np.ndarray:
    """SciPy's order-0 ``gaussian_filter1d`` kernel, reversed for correlation (read-only)."""
    radius = int(truncate * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (sigma * sigma) * x**2)
    w = np.ascontiguousarray((phi / phi.sum())[::-1])
    w.flags.writeable = False
    return w


def gaussian(f: np.ndarray, sigma: tuple[float, ...], truncate: float, mode: str = "wrap",
             dtype: type[np.generic] | None = None) -> np.ndarray:
    """Gaussian of ``f`` with per-axis ``sigma`` (ends as ``mode``), as ``dtype`` (that of
    ``f`` if None, as ``gaussian_filter`` without ``output``)."""
    out = np.empty(f.shape, dtype=f.dtype if dtype is None else dtype)
    src = f
    for axis, s in enumerate(sigma):
        if s > 1e-15:  # as gaussian_filter: an axis of (almost) zero sigma is left out
            ndimage.correlate1d(src, _weights(s, truncate), axis, output=out, mode=mode)
            src = out
    if src is f:
        out[...] = f
    return out
