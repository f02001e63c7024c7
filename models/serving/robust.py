"""Fast NaN-aware medians (np.nanmedian along an axis goes through masked arrays)."""

from __future__ import annotations

import numpy as np


def nanmedian(a: np.ndarray, axis: int) -> np.ndarray:
    """Median along ``axis`` ignoring NaN; NaN where a slice has no value."""
    s = np.sort(a, axis=axis)  # NaN sort last
    n = np.isfinite(a).sum(axis=axis)
    lo = np.expand_dims(np.maximum(n - 1, 0) // 2, axis)
    hi = np.expand_dims(np.maximum(n, 1) // 2, axis)
    hi = np.minimum(hi, np.maximum(np.expand_dims(n, axis) - 1, 0))
    m = 0.5 * (np.take_along_axis(s, lo, axis) + np.take_along_axis(s, hi, axis))
    m = np.squeeze(m, axis=axis)
    return np.where(n > 0, m, np.nan)
