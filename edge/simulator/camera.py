"""The cameras of WHEELS.md: what a SICK camera makes of a height map.

:class:`CameraSpec` describes one camera generation and its calibration. The stored
WORD range value grows with the height for both generations (the convention of
``schemas.calibration``: height = sign(scale z) · (origin z + scale z · v) · mm_per_row):
``v = v_datum + h / (mm_per_row · |scale z|)`` rounded to an integer, i.e. steps of
1/16 sensor row, with 0 = missing and values outside ``[1, fov z2]`` (outside the
measurement window) missing too. ``v_datum`` puts the nominal tread surface
``headroom_mm`` below the top of the window. :func:`decode_height` is the exact inverse
(heights relative to the nominal surface); ``schemas.calibration.height_mm`` gives the
same heights up to a constant offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from schemas.calibration import Calibration

CameraModel = Literal["ranger_e55", "ranger3", "calibrated"]
MissingFloat = Literal["zero", "nan", "neg1e6"]
MAX_WIDTH: dict[str, int] = {"ranger_e55": 1536, "ranger3": 2560, "calibrated": 4096}
FLOAT_MISSING: dict[str, float] = {"zero": 0.0, "nan": math.nan, "neg1e6": -1.0e6}
E55_ORIGIN_Z = 510.875
CALIBRATED_DATUM_MM = 100.0  # Range R of the nominal tread surface


@dataclass(frozen=True)
class CameraSpec:
    """One camera and its calibration.

    Typical (WHEELS.md): 0.05–0.2 mm per column, 0.02–0.1 mm per sensor row,
    400–3000 lines per wheel revolution. ``sensor_rows`` is the height of the sensor
    window (Ranger E55: 512 rows = ``fov z2`` 8191; Ranger3: ``fov z2`` = rows·16 − 1).
    ``outside`` says what columns beside the tread show: ``missing`` (0) or
    ``background`` (the wheel's side / hub, lower and darker). ``headroom_mm`` is how far
    above the nominal tread surface the top of the measurement window lies (at most
    70 % of the window). ``tilt_deg`` and ``laser_falloff`` model the installation: a
    camera rolled against the wheel axis sees the tread on a slope, and the laser line is
    dimmer at its ends.
    """

    model: CameraModel = "ranger_e55"
    width: int = 1536
    lines_per_rev: int = 1000
    mm_per_col: float = 0.08
    mm_per_row: float = 0.05
    sensor_rows: int = 512
    mark: bool = True
    scatter: bool = False
    outside: Literal["missing", "background"] = "missing"
    float_missing: MissingFloat = "nan"
    headroom_mm: float = 5.0
    mm_per_line: float | None = None  # if set, lines per rev = circumference / mm_per_line
    rectified: bool = False  # calibrated only: WORD Range + genistream scale/offset, not FLOAT
    tilt_deg: float = 0.0  # mounting roll: a linear height ramp across the field of view
    laser_falloff: float = 0.0  # intensity loss at the ends of the laser line (0..0.5)

    def __post_init__(self) -> None:
        if self.model not in MAX_WIDTH:
            raise ValueError(f"camera model must be one of {sorted(MAX_WIDTH)}, got {self.model!r}")
        if not 1 <= self.width <= MAX_WIDTH[self.model]:
            raise ValueError(f"{self.model}: width {self.width} not in 1..{MAX_WIDTH[self.model]}")
        if self.lines_per_rev < 2 or self.mm_per_col <= 0 or self.mm_per_row <= 0:
            raise ValueError("lines_per_rev must be >= 2 and mm per column/row positive")
        if self.scatter and self.model != "ranger3":
            raise ValueError("only the Ranger3 has a Scatter subcomponent")
        if self.rectified and self.model != "calibrated":
            raise ValueError("rectified output is a calibrated camera's option")
        if self.model == "ranger_e55" and self.sensor_rows != 512:
            raise ValueError("the Ranger E55 range window is 512 rows (fov z2 8191)")

    @property
    def origin_z(self) -> float:
        """``origin z`` of the sensorrangetraits."""
        return E55_ORIGIN_Z if self.model == "ranger_e55" else 0.0

    @property
    def scale_z(self) -> float:
        """``scale z``: −1/16 for the Ranger E55, +1/16 for the Ranger3."""
        return -0.0625 if self.model == "ranger_e55" else 0.0625

    @property
    def fov_z2(self) -> int:
        """Largest valid range value."""
        return 8191 if self.model == "ranger_e55" else self.sensor_rows * 16 - 1

    @property
    def window_mm(self) -> float:
        """Height of the measurement window in mm."""
        return self.sensor_rows * self.mm_per_row

    @property
    def value_step_mm(self) -> float:
        """Height of one range value step (1/16 sensor row)."""
        return self.mm_per_row * abs(self.scale_z)

    def value_datum(self) -> float:
        """Range value of the nominal tread surface (height 0)."""
        headroom = min(self.headroom_mm, 0.7 * self.window_mm)
        return self.fov_z2 - headroom / self.value_step_mm

    def calibration(self) -> Calibration:
        """The calibration a site config would state for this camera."""
        if self.mm_per_line is not None:
            return Calibration(mm_per_col=self.mm_per_col, mm_per_row=self.mm_per_row,
                               mm_per_line=self.mm_per_line)
        return Calibration(mm_per_col=self.mm_per_col, mm_per_row=self.mm_per_row,
                           lines_per_rev=self.lines_per_rev)

    def for_wheel(self, circumference_mm: float) -> CameraSpec:
        """This camera with ``lines_per_rev`` fixed for a wheel (when ``mm_per_line`` is set)."""
        if self.mm_per_line is None:
            return self
        return replace(self, lines_per_rev=max(2, round(circumference_mm / self.mm_per_line)))


def ranger_e55(**kw: object) -> CameraSpec:
    """A Ranger E55 (Ranger Studio): WORD range, BYTE intensity, Mark 2×INT."""
    return replace(CameraSpec(model="ranger_e55"), **kw)  # type: ignore[arg-type]


def ranger3(**kw: object) -> CameraSpec:
    """A Ranger3: up to 2560 wide, WORD range (+1/16), optional Scatter, Mark 5×INT."""
    base = CameraSpec(model="ranger3", width=2560, sensor_rows=832, mm_per_col=0.05)
    return replace(base, **kw)  # type: ignore[arg-type]


def calibrated(**kw: object) -> CameraSpec:
    """Calibrated / rectified output: FLOAT ``Range X`` / ``Range R`` in mm."""
    return replace(CameraSpec(model="calibrated", width=1024, mark=False), **kw)  # type: ignore[arg-type]


def random_camera(
    model: CameraModel, rng: np.random.Generator, *, tread_width_mm: float = 110.0,
    width: int | None = None, lines_per_rev: int | None = None,
) -> CameraSpec:
    """A camera with a random calibration in the typical ranges, wide enough for the tread."""
    w = width or {"ranger_e55": 1536, "ranger3": int(rng.choice([1280, 1920, 2560])),
                  "calibrated": 1024}[model]
    lo = max(0.05, tread_width_mm * 1.1 / w)
    mpc = float(rng.uniform(lo, max(lo, 0.2)))
    rows = 512 if model == "ranger_e55" else int(rng.choice([384, 512, 832]))
    mpr = float(rng.uniform(max(0.02, 12.0 / rows), 0.1))  # the wheel fits: window ≥ 12 mm
    return CameraSpec(
        model=model, width=w, lines_per_rev=lines_per_rev or int(rng.integers(400, 3001)),
        mm_per_col=mpc, mm_per_row=mpr, sensor_rows=rows,
        mark=bool(rng.random() < 0.7), scatter=model == "ranger3" and bool(rng.random() < 0.5),
        outside="background" if rng.random() < 0.4 else "missing",
        float_missing=("zero", "nan", "neg1e6")[int(rng.integers(3))],
        rectified=model == "calibrated" and bool(rng.random() < 0.3),
        headroom_mm=float(rng.uniform(3.0, 0.5 * rows * mpr)),
        tilt_deg=float(rng.uniform(-1.0, 1.0)), laser_falloff=float(rng.uniform(0.0, 0.3)),
    )


def encode_range(height_mm: np.ndarray, cam: CameraSpec) -> np.ndarray:
    """Quantise heights (mm, NaN = missing) into the camera's WORD range values."""
    v = np.rint(cam.value_datum() + height_mm.astype(np.float64) / cam.value_step_mm)
    bad = ~np.isfinite(v) | (v < 1) | (v > cam.fov_z2)
    v[bad] = 0
    return v.astype(np.uint16)


def decode_height(values: np.ndarray, cam: CameraSpec) -> np.ndarray:
    """Inverse of :func:`encode_range` (mm relative to the nominal surface; NaN = missing)."""
    h = (values.astype(np.float64) - cam.value_datum()) * cam.value_step_mm
    h[values == 0] = np.nan
    return h


def sensor_traits(cam: CameraSpec) -> dict[str, str]:
    """``sensorrangetraits`` exactly as the camera writes them."""
    last = str(cam.width - 1)
    return {
        "coordinates": "", "fov x0": "0", "fov x1": last, "fov x2": "0", "fov x3": last,
        "fov z0": "1", "fov z1": "1", "fov z2": str(cam.fov_z2), "fov z3": str(cam.fov_z2),
        "origin x": "0", "scale x": "1", "origin z": f"{cam.origin_z:g}",
        "scale z": f"{cam.scale_z:g}",
    }


def world_traits(cam: CameraSpec) -> dict[str, str]:
    """``worldrangetraits`` of calibrated output (bounds in mm)."""
    return {
        "lower bound x": "0", "lower bound r": "0",
        "upper bound x": f"{20.0 + cam.width * cam.mm_per_col:.6g}",
        "upper bound r": f"{CALIBRATED_DATUM_MM + cam.headroom_mm:.6g}",
        "coordinate unit": "mm",
    }


def genistream_traits(cam: CameraSpec) -> dict[str, str]:
    """``genistreamtraits`` of rectified WORD output: mm = value · scale + offset."""
    step = cam.value_step_mm
    return {
        "unit": "millimeter",
        "a axis range scale": f"{cam.mm_per_col:.9g}", "a axis range offset": "20",
        "a axis range min": "0", "a axis range max": str(cam.width - 1),
        "c axis range scale": f"{step:.9g}",
        "c axis range offset": f"{CALIBRATED_DATUM_MM - cam.value_datum() * step:.9g}",
        "c axis range min": "1", "c axis range max": str(cam.fov_z2),
        "c axis range missing": "true", "c axis range missing value": "0",
    }
