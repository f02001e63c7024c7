"""Render the evidence map (noise-normalised |residual|) as a small PNG."""

from __future__ import annotations

import io

import numpy as np

# a few anchor colours (dark blue -> red -> yellow -> white), interpolated
_ANCHORS = np.array([[0, 0, 40], [90, 0, 120], [200, 30, 40], [250, 160, 0], [255, 255, 220]],
                    dtype=np.float64)
MAX_WIDTH = 1200


def colourise(z: np.ndarray, vmax: float = 12.0) -> np.ndarray:
    """(rows, cols) non-negative values -> (rows, cols, 3) uint8 RGB."""
    u = np.clip(np.nan_to_num(z) / vmax, 0, 1) * (len(_ANCHORS) - 1)
    i = np.minimum(u.astype(int), len(_ANCHORS) - 2)
    f = (u - i)[..., None]
    return (_ANCHORS[i] * (1 - f) + _ANCHORS[i + 1] * f).astype(np.uint8)


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
