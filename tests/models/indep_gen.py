"""An independent wheel-scan generator written from ../shared/WHEELS.md only.

It does NOT share code with ``edge.simulator`` (written by someone else) nor with
``models.serving`` (the model's preprocessing), so the classifier can be checked on
scans it was not designed around: other cameras, resolutions, wheel sizes, and
defects only at the small end of the catalogue.

``make_wheel(rng, setting, defects)`` returns the raw arrays of a scan exactly as a
camera writes them (``Range``/``Intensity`` WORD/BYTE values, 0 = missing, or rectified
FLOAT ``Range X``/``Range R`` in mm with NaN / -1e6 missing), traits, a calibration dict
and the ground truth (defect kinds, sizes, centres).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from schemas.calibration import Calibration

KINDS = ("chunking", "crack", "flat_spot", "blister")


@dataclass
class Setting:
    """Camera and wheel ranges of one simulated site."""

    camera: str = "e55"  # e55 | ranger3 | rectified
    diameter: tuple[float, float] = (220.0, 330.0)
    tread: tuple[float, float] = (50.0, 110.0)
    lines: tuple[int, int] = (800, 1200)
    mm_per_col: tuple[float, float] = (0.12, 0.2)
    mm_per_row: tuple[float, float] = (0.04, 0.1)
    max_width: int = 1536
    small_defects: bool = False  # sizes only from the lowest ~15 % of each range
    benign_level: float = 1.0  # scales heat bands, dust, seams, dropouts
    lateral_mm: float = 0.0  # largest lateral runout (tread moving sideways), peak to peak


@dataclass
class SimWheel:
    arrays: dict[str, np.ndarray]
    traits: dict[str, Any]
    calibration: Calibration
    truth: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def _u(rng: np.random.Generator, lo: float, hi: float, small: bool = False) -> float:
    if small:
        hi = lo + 0.15 * (hi - lo)
    return float(rng.uniform(lo, hi))


def _geometry(rng: np.random.Generator, s: Setting) -> dict[str, Any]:
    d = _u(rng, *s.diameter)
    w = _u(rng, *s.tread)
    n_lines = int(rng.integers(s.lines[0], s.lines[1] + 1))
    mpc = _u(rng, *s.mm_per_col)
    margin = _u(rng, 6.0, 25.0)
    width = min(s.max_width, int((w + 2 * margin) / mpc))
    mpc = (w + 2 * margin) / width if width == s.max_width else mpc
    overlap = int(rng.integers(0, max(1, n_lines // 40)))
    circ = np.pi * d
    # encoder jitter: line pitch varies a few percent around the revolution
    k = np.arange(n_lines + overlap)
    jit = 1 + 0.03 * rng.uniform(0.2, 1) * np.sin(2 * np.pi * k / n_lines * rng.integers(1, 4)
                                                  + rng.uniform(0, 6.3))
    jit += rng.normal(0, 0.005, jit.size)
    along = np.concatenate([[0.0], np.cumsum(jit[:-1])]) * circ / n_lines
    return {"d": d, "w": w, "n_lines": n_lines + overlap, "lpr": n_lines, "mpc": mpc,
            "width": width, "circ": circ, "along": along,
            "x": (np.arange(width) - width / 2) * mpc + rng.uniform(-3, 3)}


def _nominal(rng: np.random.Generator, g: dict[str, Any]) -> np.ndarray:
    """Crowned, chamfered tread + runout + concave wear, in mm (up = towards camera)."""
    u = g["x"] / (g["w"] / 2)  # -1..1 across the tread
    crown = _u(rng, 0.2, 1.5) * (1 - np.clip(u, -1, 1) ** 2)
    ch = _u(rng, 0.8, 3.0)
    edge = np.clip(np.abs(g["x"]) - (g["w"] / 2 - ch), 0, None)
    profile = crown - edge * _u(rng, 0.6, 1.2) + _u(rng, -0.3, 0.3) * u  # tilt
    theta = 2 * np.pi * g["along"] / g["circ"]
    ecc = _u(rng, 0, 0.25)
    runout = ecc * np.cos(theta + rng.uniform(0, 6.3))
    for lobe in (2, 3):
        runout += _u(rng, 0, 0.08) * np.cos(lobe * theta + rng.uniform(0, 6.3))
    wear_depth = _u(rng, 0, 1.5) if rng.random() < 0.7 else 0.0
    wear_w = _u(rng, 0.3, 0.8)
    wear_x = np.exp(-0.5 * (g["x"] / (wear_w * g["w"] / 2)) ** 2)
    wear_t = 1 + _u(rng, 0, 0.3) * np.cos(theta + rng.uniform(0, 6.3))  # smooth, uneven
    h = profile[None, :] + runout[:, None] - wear_depth * wear_t[:, None] * wear_x[None, :]
    return h


def _benign(rng: np.random.Generator, g: dict[str, Any], h: np.ndarray, inten: np.ndarray,
            level: float) -> None:
    """Seam ridges (< 0.15 mm), heat bands and dust specks (intensity only)."""
    x, a = g["x"], g["along"]
    if rng.random() < 0.6 * level:  # circumferential seam at a fixed column
        xs, wd = _u(rng, -g["w"] / 3, g["w"] / 3), _u(rng, 0.3, 1.2)
        h += _u(rng, 0.03, 0.14) * np.exp(-0.5 * ((x - xs) / wd) ** 2)[None, :]
    if rng.random() < 0.5 * level:  # cross seam at one angle
        as_, wd = _u(rng, 0, g["circ"]), _u(rng, 0.3, 1.2)
        h += _u(rng, 0.03, 0.14) * np.exp(-0.5 * ((a - as_) / wd) ** 2)[:, None]
    for _ in range(int(rng.integers(0, 4) * level)):  # heat bands (columns)
        xs, wd = _u(rng, -g["w"] / 2, g["w"] / 2), _u(rng, 2, 15)
        inten *= 1 + _u(rng, -0.3, 0.3) * (np.abs(x - xs) < wd)[None, :]
    for _ in range(int(rng.integers(0, 40) * level)):  # dust specks
        i, j = rng.integers(0, h.shape[0]), _u(rng, -g["w"] / 2, g["w"] / 2)
        r = _u(rng, 0.3, 2.0)
        dist = ((a[:, None] - a[i]) ** 2 + (x[None, :] - j) ** 2) < r * r
        inten[dist] *= _u(rng, 0.2, 0.7)


def _implant(rng: np.random.Generator, g: dict[str, Any], h: np.ndarray, inten: np.ndarray,
             drop: np.ndarray, kind: str, small: bool) -> dict[str, Any]:
    x, a = g["x"], g["along"]
    ca, cx = _u(rng, 30, g["circ"] - 30), _u(rng, -g["w"] / 2 + 8, g["w"] / 2 - 8)
    da = a[:, None] - ca
    dx = x[None, :] - cx
    truth: dict[str, Any] = {"kind": kind, "along_mm": ca, "across_mm": cx}
    if kind == "chunking":
        sa, sb = _u(rng, 2, 25, small), _u(rng, 2, 25, small)
        depth, rot = _u(rng, 1, 8, small), rng.uniform(0, np.pi)
        p = da * np.cos(rot) + dx * np.sin(rot)
        q = -da * np.sin(rot) + dx * np.cos(rot)
        rr = np.sqrt((p / sa) ** 2 + (q / sb) ** 2)
        inside = rr < 1
        h -= depth * np.clip((1 - rr) * 6, 0, 1)  # steep walls
        inten[inside] *= _u(rng, 1.2, 1.6)
        drop |= inside & (rng.random(h.shape) < _u(rng, 0.05, 0.4))
        truth |= {"size_mm": max(sa, sb), "depth_mm": depth}
    elif kind == "crack":
        length, wd = _u(rng, 8, 60, small), _u(rng, 0.3, 1.5, small)
        depth, rot = _u(rng, 0.5, 4, small), rng.uniform(0, np.pi)
        p = da * np.cos(rot) + dx * np.sin(rot)
        q = np.abs(-da * np.sin(rot) + dx * np.cos(rot))
        pitch = g["circ"] / g["lpr"]
        # the laser footprint (~ half a line pitch) averages a crack narrower than it
        foot = max(wd, 0.5 * pitch * abs(np.cos(rot)), g["mpc"])
        prof = np.clip(1 - q / (foot / 2), 0, 1) * min(1.0, wd / foot)
        prof *= np.abs(p) < length / 2
        h -= depth * prof
        inten *= 1 - 0.4 * (prof > 0.2)
        truth |= {"size_mm": length, "depth_mm": depth, "width_mm": wd}
    elif kind == "flat_spot":
        length = _u(rng, 15, 70, small)
        r = g["d"] / 2
        dep = np.clip((length**2 / 4 - da[:, 0] ** 2) / (2 * r), 0, None)
        inside = np.abs(x) < g["w"] / 2
        h -= dep[:, None] * inside[None, :]
        inten[(dep > 0)[:, None] & inside[None, :]] *= 1.1
        truth |= {"size_mm": length, "depth_mm": length**2 / (8 * r), "across_mm": 0.0}
    else:  # blister
        rad, hh = _u(rng, 5, 25, small), _u(rng, 0.4, 2.5, small)
        rr = np.sqrt(da**2 + dx**2) / rad
        h += hh * np.cos(np.clip(rr, 0, 1) * np.pi / 2) ** 2
        truth |= {"size_mm": rad, "depth_mm": -hh}
    return truth


def _wobble(rng: np.random.Generator, s: Setting, g: dict[str, Any], h: np.ndarray,
            inten: np.ndarray, drop: np.ndarray) -> np.ndarray:
    """Move every line sideways with the wheel's lateral runout (tread, defects, seams
    together); returns each line's shift in mm."""
    theta = 2 * np.pi * g["along"] / g["circ"]
    amp = _u(rng, 0, s.lateral_mm) / 2
    shift = amp * np.sin(theta + rng.uniform(0, 6.3))
    shift += amp * _u(rng, 0, 0.3) * np.sin(2 * theta + rng.uniform(0, 6.3))
    if amp == 0:
        return shift
    x = g["x"]
    for i, dx in enumerate(shift):  # line i sees the surface point x - dx
        h[i] = np.interp(x - dx, x, h[i])
        inten[i] = np.interp(x - dx, x, inten[i])
        drop[i] = np.interp(x - dx, x, drop[i].astype(float)) > 0.5
    return shift


def _dropouts(rng: np.random.Generator, shape: tuple[int, int], frac: float) -> np.ndarray:
    drop = rng.random(shape) < frac * 0.5
    n_runs = int(frac * 0.5 * shape[0] * shape[1] / 15)
    for _ in range(n_runs):
        i, j = rng.integers(0, shape[0]), rng.integers(0, shape[1])
        drop[i, j : j + int(rng.integers(3, 30))] = True
    return drop


def _encode(rng: np.random.Generator, s: Setting, g: dict[str, Any], h: np.ndarray,
            inten: np.ndarray, valid: np.ndarray) -> SimWheel:
    """Raw values as the camera stores them (heights grow with the stored value)."""
    mpr = _u(rng, *s.mm_per_row)
    i8 = np.clip(inten, 1, 255).astype(np.uint8)
    i8[~valid] = 0
    cal = Calibration(mm_per_col=g["mpc"], mm_per_row=mpr, mm_per_line=g["circ"] / g["lpr"])
    if s.camera == "rectified":
        hr = (h + _u(rng, 100, 300)).astype(np.float32)
        miss = np.float32(np.nan) if rng.random() < 0.5 else np.float32(-1e6)
        hr[~valid] = miss
        xs = np.broadcast_to((g["x"] + 50).astype(np.float32), h.shape).copy()
        return SimWheel({"Range X": xs, "Range R": hr, "Intensity": i8}, {}, cal)
    sz = -0.0625 if s.camera == "e55" else 0.0625
    top = 8191 if s.camera == "e55" else 16 * 1024 - 1
    traits = {"scale z": str(sz), "origin z": "0", "fov z2": str(top),
              "scale x": "1", "origin x": "0"}
    rows = (h + 0.5 * top / 16 * mpr) / mpr  # sensor row of each point (mid-window)
    v = np.rint(rows * 16)  # both generations: height = v / 16 * mm_per_row
    v[~valid] = 0
    v = np.clip(v, 0, top).astype(np.uint16)
    return SimWheel({"Range": v, "Intensity": i8}, traits, cal)


def make_wheel(rng: np.random.Generator, setting: Setting | None = None,
               defects: tuple[str, ...] = ()) -> SimWheel:
    """One wheel scan following WHEELS.md; ``defects`` lists catalogue kinds to implant."""
    s = setting or Setting()
    g = _geometry(rng, s)
    h = _nominal(rng, g)
    colour = _u(rng, 40, 200)
    inten = colour * (1 + 0.05 * rng.standard_normal(h.shape))
    inten *= (1 - 0.15 * (g["x"] / g["w"]) ** 2)[None, :]
    _benign(rng, g, h, inten, s.benign_level)
    drop = _dropouts(rng, h.shape, _u(rng, 0.0, 0.02) * s.benign_level)
    truth = [_implant(rng, g, h, inten, drop, k, s.small_defects) for k in defects]
    shift = _wobble(rng, s, g, h, inten, drop) if s.lateral_mm > 0 else np.zeros(h.shape[0])
    h += rng.normal(0, _u(rng, 0.02, 0.08), h.shape)
    outside = np.abs(g["x"][None, :] - shift[:, None]) > g["w"] / 2
    if rng.random() < 0.5:
        valid = ~drop & ~outside
    else:  # background (hub / frame) seen beside the tread, much lower
        h[outside] = -rng.uniform(12, 20) + rng.normal(0, 0.3, int(outside.sum()))
        valid = ~drop
    wheel = _encode(rng, s, g, h, inten, valid)
    wheel.truth = truth
    wheel.meta = {"diameter_mm": g["d"], "tread_mm": g["w"], "camera": s.camera}
    return wheel


SETTINGS: dict[str, Setting] = {
    "train_e55": Setting(),
    "ranger3_hires": Setting(camera="ranger3", lines=(1800, 3000), mm_per_col=(0.05, 0.08),
                             max_width=2560),
    "rectified_lowres": Setting(camera="rectified", lines=(400, 600), mm_per_col=(0.15, 0.2)),
    "small_wheels": Setting(diameter=(150.0, 220.0), lines=(500, 900)),
    "big_wheels": Setting(diameter=(330.0, 360.0), lines=(1000, 1500)),
    "small_defects": Setting(small_defects=True),
    "lateral_wobble": Setting(lateral_mm=0.5),
}


def make_set(seed: int, setting: Setting, n_good: int, n_bad: int,
             kinds: tuple[str, ...] = KINDS) -> list[tuple[SimWheel, int]]:
    """``n_good`` good and ``n_bad`` bad wheels (label 1 = bad), defects cycling ``kinds``."""
    rng = np.random.default_rng(seed)
    out = [(make_wheel(rng, setting), 0) for _ in range(n_good)]
    for i in range(n_bad):
        kind = kinds[i % len(kinds)]
        extra = (kinds[int(rng.integers(len(kinds)))],) if rng.random() < 0.15 else ()
        out.append((make_wheel(rng, setting, (kind, *extra)), 1))
    return out
