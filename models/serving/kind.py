"""Flat spot or chunking? The walls of the depression decide where the classifier hesitates.

Both are "a deep depression a few cm long" to the classifier, which mixes them up. A
chunk is a missing piece with steep walls (the full depth within about a millimetre);
a flat spot is a chord, whose depth L^2/(8R) grows gently from its ends (slope at most
L/(2R), i.e. 4/L of its depth per mm) and, on a crowned tread, fades out sideways as
gently as the crown. The steepest wall at the deepest point, relative to its depth,
settles it when it is clear (above ``CHUNK_ABOVE``: a chunk, below ``FLAT_BELOW``: a
flat spot; in between, small and noisy depressions, the classifier's word stands).
"""

from __future__ import annotations

import numpy as np

from models.serving.features import Detection
from models.serving.gauss import gaussian
from models.serving.residual import Residual

CHUNK_ABOVE = 0.65  # wall slope / depth (1/mm); 0.5 mm smoothing caps a cliff at ~0.8
FLAT_BELOW = 0.3  # a flat spot's chord: at most 4/L (0.27 for the shortest, 15 mm)
BAND_MM = 40.0  # rows either side of the deepest point looked at
SMOOTH_MM = 0.5


def wall_steepness(res: Residual, det: Detection, along_mm: float, across_mm: float) -> float:
    """Steepest slope (mm/mm) around the deepest point ``det`` divided by its depth."""
    rows, cols = res.filled.shape
    half = max(2, round(BAND_MM / along_mm))
    idx = np.arange(det.row - half, det.row + half + 1) % rows
    ok = np.isfinite(res.r[idx])
    sig = (SMOOTH_MM / along_mm, SMOOTH_MM / across_mm)
    with np.errstate(all="ignore"):  # normalised: missing cells do not pull towards 0
        band = gaussian(res.filled[idx], sig, 4.0, "nearest") / \
            gaussian(ok.astype(np.float32), sig, 4.0, "nearest")
    band = np.where(ok, band, 0.0)
    depth = -float(band[half, int(np.clip(det.col, 0, cols - 1))])
    if depth <= 0:
        return 0.0
    # the depression and its rim only, between cells with data (not a masked edge)
    lo = (band < -0.2 * depth) & ok
    ga = np.abs(np.diff(band, axis=0)) / along_mm
    gc = np.abs(np.diff(band, axis=1)) / across_mm
    sel_a = (lo[1:] | lo[:-1]) & ok[1:] & ok[:-1]
    sel_c = (lo[:, 1:] | lo[:, :-1]) & ok[:, 1:] & ok[:, :-1]
    steep = max(float(ga[sel_a].max(initial=0.0)), float(gc[sel_c].max(initial=0.0)))
    return steep / depth


def refine(kind: str, res: Residual, dets: dict[str, Detection], along_mm: float,
           across_mm: float) -> str:
    """``kind`` from the classifier, with flat spot / chunking settled by the walls."""
    if kind not in ("flat_spot", "chunking"):
        return kind
    steep = wall_steepness(res, dets["dep6"], along_mm, across_mm)
    if steep >= CHUNK_ABOVE:
        return "chunking"
    return "flat_spot" if steep <= FLAT_BELOW else kind
