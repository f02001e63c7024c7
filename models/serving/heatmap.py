"""Render the evidence map (noise-normalised |residual|) as a small PNG."""

from __future__ import annotations

import functools
import io

import numpy as np

# a few anchor colours (dark blue -> red -> yellow -> white), interpolated
_ANCHORS = np.array([[0, 0, 40], [90, 0, 120], [200, 30, 40], [250, 160, 0], [255, 255, 220]],
                    dtype=np.float64)
MAX_WIDTH = 1200
_BINS = 16384  # lookup-table bins per colour segment (a power of two: exact keys)
_MARGIN = 1e-9  # >> the float64 rounding error of the interpolation (~1e-13 at 255)


def _interpolate(u: np.ndarray) -> np.ndarray:
    """The colours of positions ``u`` (float32 in [0, len(_ANCHORS) - 1]): the reference
    per-value float64 interpolation, truncated to uint8 (shape ``u.shape + (3,)``)."""
    i = np.minimum(u.astype(int), len(_ANCHORS) - 2)
    f = (u - i)[..., None]
    return (_ANCHORS[i] * (1 - f) + _ANCHORS[i + 1] * f).astype(np.uint8)


@functools.cache
def _table() -> tuple[np.ndarray, np.ndarray]:
    """Colour of each of ``_BINS`` equal bins of every segment (last entry: the top end
    itself), and whether a bin is unsure: an integer (a truncation step) lies within
    ``_MARGIN`` of the exact colour values the bin spans (linear, so its two ends bound
    them). Elsewhere every value of the bin truncates to the same colour."""
    segs = len(_ANCHORS) - 1
    ends = np.arange(segs * _BINS + 1, dtype=np.float64) / _BINS
    seg = np.minimum(ends.astype(int), segs - 1)
    f = (ends - seg)[:, None]
    exact = _ANCHORS[seg] * (1 - f) + _ANCHORS[seg + 1] * f  # within ~1e-13 of exact
    lo, hi = exact[:-1], exact[1:]
    # (no value is below 0: a sum of products of non-negative numbers)
    lo, hi = np.maximum(np.minimum(lo, hi) - _MARGIN, 0), np.maximum(lo, hi) + _MARGIN
    unsure = (np.floor(lo) != np.floor(hi)).any(axis=1)
    lut = np.floor(hi).astype(np.uint8)  # the colour of a sure bin
    lut = np.concatenate([lut, _interpolate(np.array([segs], dtype=np.float32))])
    unsure = np.append(unsure, False)
    lut.flags.writeable = unsure.flags.writeable = False  # shared by every call
    return lut, unsure


def colourise(z: np.ndarray, vmax: float = 12.0) -> np.ndarray:
    """(rows, cols) non-negative values -> (rows, cols, 3) uint8 RGB.

    Bit for bit the per-value interpolation (``_interpolate``), read from a lookup table
    except for the few values in bins where the truncated colour may change.
    """
    u = np.ascontiguousarray(np.nan_to_num(z)) / vmax  # the reference's operations
    np.clip(u, 0, 1, out=u)
    u *= len(_ANCHORS) - 1
    key = (u * np.float32(_BINS)).astype(np.intp)  # exact product: the bin of each value
    lut, unsure = _table()
    out = lut.take(key, axis=0)
    redo = np.flatnonzero(unsure.take(key))
    if redo.size:
        out.reshape(-1, 3)[redo] = _interpolate(u.ravel()[redo])
    return out


def png_bytes(evidence: np.ndarray, mark: tuple[float, float] | None = None,
              along_mm: float = 1.0, across_mm: float = 0.5) -> bytes:
    """PNG with the circumference left to right; ``mark`` (mm along, mm across) boxed."""
    from PIL import Image, ImageDraw

    img = colourise(evidence.T)
    step = max(1, int(np.ceil(img.shape[1] / MAX_WIDTH)))
    pic = Image.fromarray(np.ascontiguousarray(img[:, ::step]))
    if mark is not None:
        x, y = mark[0] / along_mm / step, mark[1] / across_mm
        ImageDraw.Draw(pic).rectangle([x - 8, y - 8, x + 8, y + 8], outline=(0, 255, 0))
    buf = io.BytesIO()
    pic.save(buf, format="PNG")
    return buf.getvalue()
