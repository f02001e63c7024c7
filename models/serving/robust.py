"""Fast medians with exactly NumPy's results (np.median / np.nanmedian go through a
two-k partition or masked arrays; NumPy's SIMD sort, or its one-k SIMD partition for
long arrays, is several times quicker here)."""

from __future__ import annotations

import numpy as np

PARTITION_MIN = 4096  # shorter arrays: a sort is as quick as a partition


def nanmedian(a: np.ndarray, axis: int, overwrite: bool = False) -> np.ndarray:
    """Median along ``axis`` ignoring NaN; NaN where a slice has no value (``overwrite``:
    ``a`` is a temporary that may be sorted in place).

    The slices are sorted as contiguous rows (NaN sort last; in place in a rearranged
    copy); the middle of each row's finite values is read by flat index (quicker than
    ``take_along_axis``).
    """
    if axis % a.ndim != a.ndim - 1:  # sort contiguous rows (same values, quicker)
        moved = np.ascontiguousarray(np.moveaxis(a, axis, -1))
        overwrite = overwrite or not np.may_share_memory(moved, a)
        a = moved
    if overwrite and a.flags.c_contiguous and a.flags.writeable:
        a.sort(axis=-1)  # what np.sort does to its copy
        s = a.reshape(-1, a.shape[-1])
    else:
        s = np.sort(a, axis=-1).reshape(-1, a.shape[-1])
    n = _finite_count(s)
    lo = np.maximum(n - 1, 0) // 2
    hi = np.minimum(np.maximum(n, 1) // 2, np.maximum(n - 1, 0))
    flat = s.reshape(-1)
    first = np.arange(0, flat.size, a.shape[-1])
    m = 0.5 * (flat[first + lo] + flat[first + hi])
    return np.where(n > 0, m, np.nan).reshape(a.shape[:-1])


def _finite_count(s: np.ndarray) -> np.ndarray:
    """Finite values per row of a 2-D array (intp), summed in the narrowest exact
    integer type (a uint8 sum of a 64-value row is several times quicker)."""
    width = s.shape[1]
    acc = np.uint8 if width < 2**8 else np.uint16 if width < 2**16 else np.intp
    fin = np.isfinite(s).view(np.uint8)
    return np.add.reduce(fin, axis=1, dtype=acc).astype(np.intp)


def median(v: np.ndarray, overwrite: bool = False) -> np.floating:
    """``np.median(v)`` of a non-empty 1-D array, bit for bit (``overwrite``: ``v`` is a
    temporary that may be reordered in place).

    NumPy takes the middle element, or the mean of the two middle ones in the array's
    dtype, i.e. ``(a + b) / 2`` rounded in that dtype — reproduced here. Short arrays
    are sorted; long ones partitioned around the upper middle (one k: NumPy's quick
    SIMD selection), the lower middle being the largest value before it.
    """
    k = v.size // 2
    if v.size < PARTITION_MIN:
        s = v if overwrite else v.copy()
        s.sort()  # NaN sort last; np.median then gives NaN
        if np.isnan(s[-1]):
            return s[-1]
        return s[k] if s.size % 2 else (s[k - 1] + s[k]) / 2
    s = v if overwrite else v.copy()
    s.partition(k)  # NaN sort last: any NaN is at or after k
    top = s[k:].max()
    if np.isnan(top):
        return top
    return s[k] if s.size % 2 else (s[:k].max() + s[k]) / 2


def mad(v: np.ndarray) -> float:
    """``1.4826 * median(|v - median(v)|) + 1e-6`` (robust spread), as float."""
    return 1.4826 * float(median(np.abs(v - median(v)), overwrite=True)) + 1e-6


def percentile(v: np.ndarray, q: float) -> np.floating:
    """``np.percentile(v, q)`` (linear, python-float ``q``) of a 1-D array without NaN,
    bit for bit: NumPy's virtual index and float32/64 interpolation, with the two order
    statistics found among the values below a threshold read off a sorted subsample
    (quick for the low percentiles used here; a full partition otherwise)."""
    n = v.size
    virt = (n - 1) * np.true_divide(q, 100)
    prev = int(np.floor(virt))
    nxt = prev + 1
    if virt >= n - 1:
        prev = nxt = n - 1
    elif virt < 0:
        prev = nxt = 0
    a, b = _order_stats(v, prev, nxt)
    t = float(virt - prev)  # beyond the ends a == b: any weight gives a
    d = b - a
    return b - d * (1 - t) if t >= 0.5 else a + d * t


def _order_stats(v: np.ndarray, i: int, j: int) -> tuple[np.floating, np.floating]:
    """The i-th and j-th smallest values of ``v`` (i <= j)."""
    sub = np.sort(v[::16])
    k = j // 16 + 8 + j // 100
    if k < sub.size:
        low = v[v <= sub[k]]
        if low.size > j:
            s = np.sort(low)
            return s[i], s[j]
    s = np.partition(v, [i, j])
    return s[i], s[j]
