"""A good wheel in physical units (mm), independent of any camera (WHEELS.md).

:class:`WheelSpec` is what a wheel *is* (size, crown, runout, wear, colour, mould
seams) and stays the same across passes; :class:`ScanConditions` is what changes from
one scan to the next (start angle, dropouts, encoder jitter, heat bands, dust).
:func:`render_surface` turns both into a height map and an intensity map on a grid.
Heights are mm, larger = outward (towards the camera), 0 = nominal tread surface at the
middle of the tread; NaN = no data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Seam:
    """A mould seam ridge (< 0.15 mm): circumferential at ``position_mm`` across the
    tread, or axial (across the whole tread) at ``position_mm`` along the wheel."""

    axial: bool
    position_mm: float
    height_mm: float
    width_mm: float


@dataclass(frozen=True)
class WheelSpec:
    """One physical wheel. Ranges follow WHEELS.md."""

    diameter_mm: float = 280.0  # 150 – 360
    tread_width_mm: float = 80.0  # 50 – 110
    crown_mm: float = 0.6  # 0.2 – 1.5
    chamfer_mm: float = 1.5  # 45° edge chamfer width
    eccentricity_mm: float = 0.1  # runout amplitudes: total indicated runout ≤ 0.4 mm
    eccentricity_phase: float = 0.0
    lobes: tuple[tuple[int, float, float], ...] = ()  # (order 2|3, amplitude mm, phase)
    wear_mm: float = 0.0  # concave wear (compression set) ≤ 1.5 mm
    wear_centre_frac: float = 0.5
    wear_width_frac: float = 0.3
    intensity: float = 120.0  # colour: 40 – 200
    noise_mm: float = 0.04  # 0.02 – 0.08
    seams: tuple[Seam, ...] = ()
    lateral_mm: float = 0.0  # lateral runout (axial wobble of the tread), peak to peak
    lateral_phase: float = 0.0

    @property
    def radius_mm(self) -> float:
        """Nominal radius."""
        return self.diameter_mm / 2.0

    @property
    def circumference_mm(self) -> float:
        """Nominal circumference (π·D)."""
        return math.pi * self.diameter_mm


@dataclass(frozen=True)
class Speck:
    """A dust speck: small dark intensity spot, no height."""

    along_mm: float
    across_mm: float
    radius_mm: float
    darken: float


@dataclass(frozen=True)
class ScanConditions:
    """Benign variation of one scan (WHEELS.md "a good wheel")."""

    start_mm: float = 0.0  # wheel-frame position seen by line 0
    dropout_frac: float = 0.005  # ≤ 0.02 of tread points
    dropout_run_share: float = 0.5  # share of dropouts that come as short runs along a line
    pitch_jitter: float = 0.02  # relative line-pitch variation (encoder jitter)
    overlap_frac: float = 0.0  # extra lines beyond one revolution
    heat_bands: tuple[tuple[float, float, float], ...] = ()  # (across mm, width mm, delta)
    specks: tuple[Speck, ...] = field(default_factory=tuple)


def _lateral_draw(rng: np.random.Generator) -> tuple[float, float]:
    """Lateral runout (peak to peak, 0 – 0.5 mm) and phase, from a child of ``rng`` so
    that the parent's stream (and every wheel drawn before this field existed) is kept."""
    try:
        sub = rng.spawn(1)[0]
    except (TypeError, ValueError):  # a generator without a seed sequence
        sub = rng
    return float(sub.uniform(0.0, 0.5)), float(sub.uniform(0, 2 * math.pi))


def random_wheel(rng: np.random.Generator, *, road: bool = False) -> WheelSpec:
    """A random wheel across the full ranges of WHEELS.md (road wheels 220–330 mm), with
    a lateral runout (the tread moving sideways by up to 0.5 mm over a revolution)."""
    diameter = rng.uniform(220, 330) if road else rng.uniform(150, 360)
    width = rng.uniform(50, 110)
    runout = rng.uniform(0.0, 0.2)  # sum of amplitudes; peak-to-peak (TIR) ≤ 0.4 mm
    ecc_share = rng.uniform(0.3, 1.0)
    n_lobes = int(rng.integers(0, 3))
    lobe_amp = runout * (1 - ecc_share) / max(n_lobes, 1)
    lobes = tuple((int(k), float(lobe_amp), float(rng.uniform(0, 2 * math.pi)))
                  for k in rng.choice([2, 3], size=n_lobes, replace=False))
    seams: list[Seam] = []
    if rng.random() < 0.6:
        seams.append(Seam(False, float(rng.uniform(0.3, 0.7) * width),
                          float(rng.uniform(0.02, 0.14)), float(rng.uniform(0.3, 1.0))))
    for _ in range(int(rng.integers(0, 4))):
        seams.append(Seam(True, float(rng.uniform(0, math.pi * diameter)),
                          float(rng.uniform(0.02, 0.14)), float(rng.uniform(0.3, 1.0))))
    lateral = _lateral_draw(rng)
    return WheelSpec(
        diameter_mm=float(diameter), tread_width_mm=float(width),
        crown_mm=float(rng.uniform(0.2, 1.5)), chamfer_mm=float(rng.uniform(0.8, 3.0)),
        eccentricity_mm=float(runout * ecc_share) if n_lobes else float(runout),
        eccentricity_phase=float(rng.uniform(0, 2 * math.pi)), lobes=lobes,
        wear_mm=float(rng.uniform(0.0, 1.5) * (rng.random() < 0.7)),
        wear_centre_frac=float(rng.uniform(0.35, 0.65)),
        wear_width_frac=float(rng.uniform(0.15, 0.4)),
        intensity=float(rng.uniform(40, 200)), noise_mm=float(rng.uniform(0.02, 0.08)),
        seams=tuple(seams), lateral_mm=lateral[0], lateral_phase=lateral[1],
    )


def random_conditions(rng: np.random.Generator, wheel: WheelSpec) -> ScanConditions:
    """Random benign variation for one scan of ``wheel``."""
    bands = tuple(
        (float(rng.uniform(0, wheel.tread_width_mm)), float(rng.uniform(3, 20)),
         float(rng.uniform(-25, 25)))
        for _ in range(int(rng.integers(0, 4)))
    )
    specks = tuple(
        Speck(float(rng.uniform(0, wheel.circumference_mm)),
              float(rng.uniform(0, wheel.tread_width_mm)),
              float(rng.uniform(0.15, 1.0)), float(rng.uniform(20, 70)))
        for _ in range(int(rng.integers(0, 40)))
    )
    return ScanConditions(
        start_mm=float(rng.uniform(0, wheel.circumference_mm)),
        dropout_frac=float(rng.uniform(0.0, 0.02)), dropout_run_share=float(rng.uniform(0, 1)),
        pitch_jitter=float(rng.uniform(0.0, 0.04)), overlap_frac=float(rng.uniform(0, 0.02)),
        heat_bands=bands, specks=specks,
    )


def line_positions(
    n_lines: int, lines_per_rev: int, circumference_mm: float, jitter: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Scan-frame position (mm) of each line: one revolution = ``lines_per_rev`` lines
    with a smooth relative pitch variation of about ``jitter`` (encoder jitter)."""
    k = np.arange(n_lines, dtype=np.float64)
    theta = 2 * math.pi * k / lines_per_rev
    phases = rng.uniform(0, 2 * math.pi, 3)
    wobble = (np.sin(theta + phases[0]) + 0.6 * np.sin(3 * theta + phases[1])
              + 0.4 * np.sin(7 * theta + phases[2])) / 2.0
    rel = 1.0 + jitter * wobble + 0.1 * jitter * rng.standard_normal(n_lines)
    pitch = circumference_mm / lines_per_rev * np.clip(rel, 0.5, 1.5)
    pitch *= circumference_mm / pitch[:lines_per_rev].sum()
    return np.concatenate(([0.0], np.cumsum(pitch[:-1])))


def tread_profile(wheel: WheelSpec, across_mm: np.ndarray) -> np.ndarray:
    """Height across the tread: crown, concave wear, chamfers, circumferential seams.
    NaN outside the tread (0 ≤ across ≤ width)."""
    w = wheel.tread_width_mm
    x = across_mm.astype(np.float64)
    prof = wheel.crown_mm * (1.0 - (2.0 * x / w - 1.0) ** 2)
    sigma = wheel.wear_width_frac * w / 2.0
    prof -= wheel.wear_mm * np.exp(-0.5 * ((x - wheel.wear_centre_frac * w) / sigma) ** 2)
    edge = np.minimum(x, w - x)
    prof -= np.clip(wheel.chamfer_mm - edge, 0.0, None)
    for s in wheel.seams:
        if not s.axial:
            prof += s.height_mm * np.clip(1.0 - np.abs(x - s.position_mm) / (s.width_mm / 2), 0, 1)
    prof[(x < 0) | (x > w)] = np.nan
    return prof


def lateral_shift(wheel: WheelSpec, wheel_pos_mm: np.ndarray) -> np.ndarray:
    """Sideways displacement (mm) of the tread at each wheel-frame position: a wheel
    running slightly skew on its axle (once per revolution, a little second order)."""
    theta = wheel_pos_mm / wheel.radius_mm - wheel.lateral_phase
    shape = (np.cos(theta) + 0.15 * np.cos(2 * theta + 1.0)) / 1.15
    return 0.5 * wheel.lateral_mm * shape


def runout(wheel: WheelSpec, wheel_pos_mm: np.ndarray) -> np.ndarray:
    """Radial deviation (mm) at each wheel-frame position: eccentricity + lobes."""
    theta = wheel_pos_mm / wheel.radius_mm
    r = wheel.eccentricity_mm * np.cos(theta - wheel.eccentricity_phase)
    for order, amp, phase in wheel.lobes:
        r += amp * np.cos(order * theta + phase)
    return r
