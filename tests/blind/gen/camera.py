"""Camera generations and their iCon encodings (Ranger E55, Ranger3, calibrated FLOAT)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from edge.sick import write_scan

Generation = Literal["e55", "ranger3", "float"]


@dataclass(frozen=True)
class CameraSpec:
    """One installed camera: generation, calibration, field of view, wheels it sees."""

    name: str
    generation: Generation
    mm_per_col: float
    mm_per_row: float
    mm_per_line: float
    width: int
    sensor_rows: int = 512
    diameter: tuple[float, float] = (150.0, 360.0)
    tread: tuple[float, float] = (50.0, 110.0)
    float_missing: Literal["nan", "-1e6", "0"] = "-1e6"
    with_mark: bool = True
    with_scatter: bool = False
    range_only: bool = False

    @property
    def calibration(self) -> str:
        """The product's CLI form ``mm_per_col,mm_per_row,mm_per_line``."""
        return f"{self.mm_per_col},{self.mm_per_row},{self.mm_per_line}"

    def as_dict(self) -> dict[str, object]:
        """JSON-ready description."""
        return asdict(self)


CAMERAS: dict[str, CameraSpec] = {
    # training camera: an E55 on a road-wheel train
    "e55_site": CameraSpec("e55_site", "e55", 0.16, 0.05, 1.05, 760, 512, (220, 330), (60, 110)),
    "e55_fine": CameraSpec("e55_fine", "e55", 0.09, 0.03, 0.75, 760, 512, (150, 260), (50, 62),
                           with_mark=False),
    "e55_coarse": CameraSpec("e55_coarse", "e55", 0.2, 0.1, 1.2, 600, 512, (150, 360), (50, 110)),
    "r3_site": CameraSpec("r3_site", "ranger3", 0.14, 0.04, 1.0, 840, 1024, (180, 360),
                          (60, 110), with_scatter=True),
    "r3_fine": CameraSpec("r3_fine", "ranger3", 0.1, 0.02, 0.6, 700, 1024, (150, 200), (50, 65),
                          with_mark=False),
    "float_nan": CameraSpec("float_nan", "float", 0.15, 0.02, 1.1, 800, 0, (150, 360),
                            (50, 110), float_missing="nan"),
    "float_neg": CameraSpec("float_neg", "float", 0.12, 0.02, 0.9, 840, 0, (150, 300),
                            (50, 90), float_missing="-1e6"),
    "float_zero": CameraSpec("float_zero", "float", 0.18, 0.02, 1.15, 660, 0, (220, 360),
                             (55, 110), float_missing="0"),
    "e55_rangeonly": CameraSpec("e55_rangeonly", "e55", 0.15, 0.05, 1.0, 760, 512, (150, 360),
                                (50, 105), with_mark=False, range_only=True),
}


def _word_traits(cam: CameraSpec, origin_z: float) -> dict[str, str]:
    scale = -0.0625 if cam.generation == "e55" else 0.0625
    top = 8191 if cam.generation == "e55" else cam.sensor_rows * 16 - 1
    return {"coordinates": "", "fov x0": "0", "fov x1": str(cam.width - 1), "fov x2": "0",
            "fov x3": str(cam.width - 1), "fov z0": "1", "fov z1": "1", "fov z2": str(top),
            "fov z3": str(top), "origin x": "0", "scale x": "1", "origin z": f"{origin_z:g}",
            "scale z": f"{scale:g}"}


def encode_word(height: np.ndarray, cam: CameraSpec, rng: np.random.Generator
                ) -> tuple[np.ndarray, dict[str, str], dict[str, float]]:
    """Heights (NaN = missing) to WORD range values; outside the sensor window -> 0.

    Convention (schemas.calibration): row = v*scale_z + origin_z and
    height = sign(scale_z) * row * mm_per_row. The wheel top (height 0) sits ~30 % of
    the window below its top, so deep chunks may leave it (then missing, as on a sensor).
    """
    sign = -1.0 if cam.generation == "e55" else 1.0
    scale = 0.0625 * sign
    fov_top = 8191 if cam.generation == "e55" else cam.sensor_rows * 16 - 1
    origin_z = 510.875 if sign < 0 else float(np.round(rng.uniform(0, 40) * 16) / 16)
    ends = sign * (np.array([1.0, fov_top]) * scale + origin_z) * cam.mm_per_row
    lo, hi = float(ends.min()), float(ends.max())
    offset = hi - 0.3 * rng.uniform(0.8, 1.2) * (hi - lo)
    values = np.rint(((height + offset) / (sign * cam.mm_per_row) - origin_z) / scale)
    bad = ~np.isfinite(values) | (values < 1) | (values > fov_top)
    out = np.where(bad, 0, values).astype(np.uint16)
    return out, _word_traits(cam, origin_z), {"height_offset_mm": float(offset)}


def _mark(n: int, width: int, rng: np.random.Generator) -> np.ndarray:
    mark = np.zeros((n, width), dtype=np.int32)
    mark[:, 0] = np.cumsum(rng.integers(95, 106, size=n)).astype(np.int32)
    mark[:, 1] = np.int32(0x38000000) | np.arange(n, dtype=np.int32) & 0xFFFF
    return mark


def write(dat: Path, cam: CameraSpec, height: np.ndarray, inten: np.ndarray,
          x_mm: np.ndarray, rng: np.random.Generator) -> dict[str, float]:
    """Write one scan as an iCon pair the way ``cam`` would; returns encoding facts."""
    n, width = height.shape
    i8 = np.clip(np.rint(inten), 0, 255).astype(np.uint8)
    if cam.generation == "float":
        base = float(rng.uniform(30, 90))
        r = (height + base).astype(np.float32)
        miss = {"nan": np.nan, "-1e6": -1e6, "0": 0.0}[cam.float_missing]
        r[~np.isfinite(height)] = miss
        xs = (x_mm + rng.uniform(100, 400)).astype(np.float32)
        fl = {"Range X": xs, "Range R": r, "Mark": _mark(n, 5, rng), "Intensity": i8}
        traits = {"lower bound x": "0", "lower bound r": "0", "upper bound x": f"{xs.max():.2f}",
                  "upper bound r": f"{np.nanmax(np.where(r > -1e5, r, np.nan)):.2f}",
                  "coordinate unit": ""}
        write_scan(dat, fl, component_name="HorMax 1", component_valuetype="",
                   traits_tag="worldrangetraits", traits=traits)
        return {"height_offset_mm": base}
    rng_v, traits, facts = encode_word(height, cam, rng)
    if cam.range_only:
        write_scan(dat, {"Range": rng_v}, component_name="Hi3D 1", component_valuetype="DCM",
                   traits_tag="sensorrangetraits", traits=traits, layout="SCAN")
        return facts
    arrays: dict[str, np.ndarray] = {}
    if cam.generation == "e55":
        if cam.with_mark:
            arrays["Mark"] = _mark(n, 2, rng)
        arrays.update({"Intensity": i8, "Range": rng_v})
    else:
        arrays.update({"Range": rng_v, "Intensity": i8})
        if cam.with_scatter:
            sc = np.clip(rng.normal(20, 6, size=(n, width)), 0, 255).astype(np.uint8)
            arrays["Scatter"] = sc
        if cam.with_mark:
            arrays["Mark"] = _mark(n, 5, rng)
    write_scan(dat, arrays, component_name="Hi3D 1", component_valuetype="DCM",
               traits_tag="sensorrangetraits", traits=traits)
    return facts
