"""Ranges quoted from WHEELS.md and the sampling of wheel and defect parameters."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

WHEEL_RANGES: dict[str, tuple[float, float]] = {
    "diameter_mm": (150.0, 360.0),
    "tread_mm": (50.0, 110.0),
    "intensity": (40.0, 200.0),
    "crown_mm": (0.2, 1.5),
    "runout_mm": (0.0, 0.4),
    "wear_mm": (0.0, 1.5),
    "noise_mm": (0.02, 0.08),
    "dropout_frac": (0.0, 0.02),
    "seam_mm": (0.0, 0.15),
}

CATALOGUE: dict[str, dict[str, tuple[float, float]]] = {
    "chunking": {"a_mm": (2.0, 25.0), "b_mm": (2.0, 25.0), "depth_mm": (1.0, 8.0)},
    "crack": {"length_mm": (8.0, 60.0), "width_mm": (0.3, 1.5), "depth_mm": (0.5, 4.0)},
    "flat_spot": {"chord_mm": (15.0, 70.0)},
    "blister": {"radius_mm": (5.0, 25.0), "height_mm": (0.4, 2.5)},
}
DEFECT_TYPES = tuple(CATALOGUE)
SMALL_END = 0.25  # "small" defects draw every size parameter from the lowest quarter


@dataclass
class WheelParams:
    """Benign parameters of one good wheel (all mm unless named otherwise)."""

    diameter_mm: float
    tread_mm: float
    intensity: float
    crown_mm: float
    crown_power: float
    chamfer_mm: float
    runout_mm: float
    runout_lobes: list[tuple[int, float, float]]
    wear_mm: float
    wear_centre: float
    wear_width: float
    noise_mm: float
    dropout_frac: float
    jitter: float
    tilt_mm_per_mm: float
    lateral_wobble_mm: float
    heat_bands: list[tuple[float, float, float]] = field(default_factory=list)
    seams: list[tuple[str, float, float, float]] = field(default_factory=list)
    dust_specks: int = 0

    @property
    def radius_mm(self) -> float:
        """Nominal radius."""
        return self.diameter_mm / 2.0

    @property
    def circumference_mm(self) -> float:
        """Nominal circumference."""
        return float(np.pi * self.diameter_mm)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _harsh(w: WheelParams, rng: np.random.Generator) -> WheelParams:
    """Benign variation pushed to the top quarter of every WHEELS.md range."""
    w.runout_mm, w.wear_mm = _u(rng, 0.3, 0.4), _u(rng, 1.1, 1.5)
    w.noise_mm, w.dropout_frac = _u(rng, 0.065, 0.08), _u(rng, 0.015, 0.019)
    w.jitter, w.crown_mm = _u(rng, 0.03, 0.05), _u(rng, 1.2, 1.5)
    w.seams = [(str(rng.choice(["circ", "axial"])), _u(rng, 0.0, 1.0), _u(rng, 0.11, 0.14),
                _u(rng, 0.3, 1.0)) for _ in range(int(rng.integers(1, 4)))]
    w.heat_bands = [(_u(rng, 0.05, 0.95), _u(rng, 2.0, 15.0), float(rng.choice([0.7, 1.35])))
                    for _ in range(int(rng.integers(2, 5)))]
    w.dust_specks = int(rng.integers(60, 150))
    return w


def sample_wheel(rng: np.random.Generator, diameter: tuple[float, float],
                 tread: tuple[float, float], harsh: bool = False,
                 wobble_mm: float = 0.3) -> WheelParams:
    """Draw a good wheel inside WHEELS.md's ranges (diameter/tread limited by the camera).

    ``harsh``: benign variation from the top quarter of its ranges (stress test).
    ``wobble_mm``: largest lateral (axial) runout of the tread — this generator's own
    reading of "runout"; WHEELS.md itself only quantifies the radial runout.
    """
    lobes = [(1, _u(rng, 0.2, 1.0), _u(rng, 0, 2 * np.pi))]
    lobes += [(k, _u(rng, 0.0, 0.5), _u(rng, 0, 2 * np.pi)) for k in (2, 3) if rng.random() < 0.8]
    bands = [(_u(rng, 0.05, 0.95), _u(rng, 2.0, 15.0), _u(rng, 0.75, 1.3))
             for _ in range(int(rng.integers(0, 4)))]
    seams = [(str(rng.choice(["circ", "axial"])), _u(rng, 0.0, 1.0), _u(rng, 0.02, 0.14),
              _u(rng, 0.3, 1.0)) for _ in range(int(rng.integers(0, 3)))]
    w = WheelParams(
        diameter_mm=_u(rng, *diameter), tread_mm=_u(rng, *tread),
        intensity=_u(rng, *WHEEL_RANGES["intensity"]), crown_mm=_u(rng, 0.2, 1.5),
        crown_power=_u(rng, 2.0, 4.0), chamfer_mm=_u(rng, 1.5, 4.0),
        runout_mm=_u(rng, 0.0, 0.4), runout_lobes=lobes, wear_mm=_u(rng, 0.0, 1.5),
        wear_centre=_u(rng, -0.15, 0.15), wear_width=_u(rng, 0.35, 0.8),
        noise_mm=_u(rng, 0.02, 0.08), dropout_frac=_u(rng, 0.0, 0.019),
        jitter=_u(rng, 0.0, 0.04), tilt_mm_per_mm=_u(rng, -0.012, 0.012),
        lateral_wobble_mm=_u(rng, 0.0, 1.0) * wobble_mm, heat_bands=bands, seams=seams,
        dust_specks=int(rng.integers(0, 80)),
    )
    return _harsh(w, rng) if harsh else w


def sample_defect_params(rng: np.random.Generator, kind: str, small: bool) -> dict[str, float]:
    """Parameters of one catalogue defect; ``small`` keeps each in its lowest quarter.

    Spans (semi-axes, lengths, radii) are drawn log-uniform, the rest uniform.
    Chunk depth is capped at twice its smaller semi-axis (a pit cannot be a shaft).
    """
    out: dict[str, float] = {}
    for name, (lo, hi) in CATALOGUE[kind].items():
        top = lo + SMALL_END * (hi - lo) if small else hi
        if name.endswith(("a_mm", "b_mm", "length_mm", "radius_mm", "chord_mm")):
            out[name] = float(np.exp(rng.uniform(np.log(lo), np.log(top))))
        else:
            out[name] = float(rng.uniform(lo, top))
    if kind == "chunking":
        out["depth_mm"] = min(out["depth_mm"], max(1.0, 2 * min(out["a_mm"], out["b_mm"])))
    return out


def size_bin(kind: str, params: dict[str, float]) -> str:
    """small / medium / large by the mean normalised position of the size parameters."""
    pos = [(params[n] - lo) / (hi - lo) for n, (lo, hi) in CATALOGUE[kind].items()]
    m = float(np.mean(pos))
    if max(pos) <= SMALL_END + 1e-9:
        return "small"
    return "medium" if m < 0.5 else "large"
