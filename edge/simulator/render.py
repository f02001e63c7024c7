"""Turn height/intensity maps into the subcomponent arrays a camera stores."""

from __future__ import annotations

import numpy as np

from edge.sick.mark import encode_status
from edge.simulator.camera import (
    CALIBRATED_DATUM_MM,
    FLOAT_MISSING,
    CameraSpec,
    decode_height,
    encode_range,
)

ENCODER_TICKS_PER_MM = 20.0
LINE_PERIOD_US = 250
X_OFFSET_MM = 20.0  # Range X of column 0 in calibrated output (never 0 = missing)


def fill_outside(height: np.ndarray, intensity: np.ndarray, tread: np.ndarray, cam: CameraSpec,
                 rng: np.random.Generator, off_tread: np.ndarray | None = None) -> None:
    """Columns beside the tread: missing, or the lower and darker side/hub (in place).

    ``off_tread`` (lines, cols), if given, marks every point beside the tread on its own
    line (a tread with lateral runout) and is filled instead of the columns.
    """
    if off_tread is not None:
        _fill_points(height, intensity, off_tread, cam, rng)
        return
    off = ~tread
    if not off.any():
        return
    if cam.outside == "missing":
        height[:, off] = np.nan
        intensity[:, off] = 0.0
        return
    drop = float(rng.uniform(4.0, 12.0))
    n_off = int(off.sum())
    height[:, off] = -drop + 0.05 * rng.standard_normal((height.shape[0], n_off), dtype=np.float32)
    intensity[:, off] = float(rng.uniform(10, 40)) * (
        1.0 + 0.1 * rng.standard_normal((height.shape[0], n_off), dtype=np.float32))


def _fill_points(height: np.ndarray, intensity: np.ndarray, off: np.ndarray, cam: CameraSpec,
                 rng: np.random.Generator) -> None:
    """``fill_outside`` for a (lines, cols) mask of points beside the tread."""
    if cam.outside == "missing":
        height[off] = np.nan
        intensity[off] = 0.0
        return
    drop, n = float(rng.uniform(4.0, 12.0)), int(off.sum())
    height[off] = -drop + 0.05 * rng.standard_normal(n, dtype=np.float32)
    intensity[off] = float(rng.uniform(10, 40)) * (
        1.0 + 0.1 * rng.standard_normal(n, dtype=np.float32))


def mounting(height: np.ndarray, intensity: np.ndarray, cam: CameraSpec) -> None:
    """Camera installation effects, in place: tilt (height ramp) and laser fall-off."""
    x = (np.arange(cam.width) - (cam.width - 1) / 2) / max(cam.width / 2, 1)
    if cam.tilt_deg:
        ramp = np.tan(np.radians(cam.tilt_deg)) * x * cam.width * cam.mm_per_col / 2
        height += ramp.astype(height.dtype)[None, :]
    if cam.laser_falloff:
        intensity *= (1.0 - cam.laser_falloff * x**2).astype(intensity.dtype)[None, :]


def intensity_bytes(intensity: np.ndarray) -> np.ndarray:
    """Clip and round to BYTE."""
    return np.clip(np.rint(intensity), 0, 255).astype(np.uint8)


def mark_array(along_mm: np.ndarray, cam: CameraSpec, rng: np.random.Generator) -> np.ndarray:
    """Per-line Mark: encoder counter + status (+ time stamps and scan id for Ranger3)."""
    n = along_mm.size
    start = int(rng.integers(0, 1 << 30))
    enc = (start + np.rint(along_mm * ENCODER_TICKS_PER_MM)).astype(np.int64)
    phase = enc % 4
    overtrig = (rng.random(n) < 0.002).astype(np.uint32)
    low16 = (int(rng.integers(0, 1 << 16)) + np.arange(n)) & 0xFFFF
    status = encode_status(enable=True, encoder_a=(phase == 1) | (phase == 2),
                           encoder_b=phase >= 2, overtrig_count=overtrig, low16=low16)
    status = status | np.int32(1 << 29)  # set on every line of real Ranger E55 files
    enc32 = (enc & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
    if cam.model == "ranger_e55":
        return np.stack([enc32, status], axis=1)
    t0 = int(rng.integers(0, 1 << 30))
    sample_ts = (t0 + LINE_PERIOD_US * np.arange(n)).astype(np.uint32).view(np.int32)
    enc_ts = (t0 + LINE_PERIOD_US * np.arange(n) - rng.integers(0, LINE_PERIOD_US, n)).astype(
        np.uint32).view(np.int32)
    scan_id = np.full(n, int(rng.integers(0, 1 << 20)), dtype=np.int32)
    return np.stack([enc32, status, sample_ts, enc_ts, scan_id], axis=1)


def scatter_array(
    intensity: np.ndarray, rng: np.random.Generator, missing: np.ndarray
) -> np.ndarray:
    """Ranger3 Scatter (WORD): laser light spread, loosely following intensity."""
    noise = rng.standard_normal(intensity.shape, dtype=np.float32)
    s = np.clip(40.0 + 1.5 * intensity * (1.0 + 0.15 * noise), 1, 65535).astype(np.uint16)
    s[missing] = 0
    return s


def camera_arrays(height: np.ndarray, intensity: np.ndarray, along_mm: np.ndarray,
                  cam: CameraSpec, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The subcomponents in the camera's file order (E55: Mark, Intensity, Range;
    Ranger3: Range, Intensity, [Scatter], [Mark]; calibrated: Range X, Range R, [Mark],
    Intensity; rectified: Range, Intensity, [Mark])."""
    rng_val = encode_range(height, cam)
    missing = rng_val == 0
    inten = intensity_bytes(intensity)
    inten[missing] = 0  # no laser peak found: the camera reports intensity 0 as well
    mark = mark_array(along_mm, cam, rng) if cam.mark else None
    out: dict[str, np.ndarray] = {}
    if cam.model == "ranger_e55":
        if mark is not None:
            out["Mark"] = mark
        out["Intensity"] = inten
        out["Range"] = rng_val
    elif cam.model == "ranger3":
        out["Range"] = rng_val
        out["Intensity"] = inten
        if cam.scatter:
            out["Scatter"] = scatter_array(intensity, rng, missing)
        if mark is not None:
            out["Mark"] = mark
    elif cam.rectified:
        out["Range"] = rng_val
        out["Intensity"] = inten
        if mark is not None:
            out["Mark"] = mark
    else:
        sentinel = np.float32(FLOAT_MISSING[cam.float_missing])
        r = (CALIBRATED_DATUM_MM + decode_height(rng_val, cam)).astype(np.float32)
        cols = (X_OFFSET_MM + np.arange(cam.width) * cam.mm_per_col).astype(np.float32)
        x = np.broadcast_to(cols, r.shape).copy()
        r[missing] = sentinel
        x[missing] = sentinel
        out["Range X"] = x
        out["Range R"] = r
        if mark is not None:
            out["Mark"] = mark
        out["Intensity"] = inten
    return out
