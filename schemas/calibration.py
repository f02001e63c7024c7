"""Camera calibration and the conversion of stored range values to heights in mm.

Shared by edge (conversion, metadata) and by ``models.serving`` (which must not
import edge), so this module depends on numpy and pydantic only.

Conventions
-----------
- Integer range data (Ranger E / Ranger3 ``Range``, WORD): ``0`` means missing.
  A value ``v`` lies on sensor row ``v * scale_z + origin_z`` (``scale z``/``origin z``
  of the ``sensorrangetraits``); the height is ``sign * row * mm_per_row`` where
  ``sign`` is ``calibration.height_sign`` or, if unset, the sign of ``scale z``. With
  the default the height grows with the stored value for both camera generations
  (Ranger E ``scale z`` = -1/16, Ranger3 +1/16); only height differences matter to
  the defect models, the absolute offset is the sensor's.
- Rectified WORD data with genistream ``c axis range scale``/``offset``: mm directly.
- Calibrated FLOAT data (``Range R``): millimetres as given; ``0``, ``NaN``, ``±inf`` and
  values ``<= -1e5`` (producers use -1e6) mean missing.
- Missing points become ``NaN`` in every height array returned here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.errors import ContractError

FLOAT_MISSING_BELOW = -1e5


class Calibration(BaseModel):
    """Per-camera calibration of uncalibrated (sensor-coordinate) scans.

    ``mm_per_col``: mm across the tread per column; ``mm_per_row``: mm of height per
    sensor row; the line pitch is ``mm_per_line`` or derived from ``lines_per_rev``
    and the wheel circumference.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mm_per_col: float = Field(gt=0, description="mm per column (axial, across the tread)")
    mm_per_row: float = Field(gt=0, description="mm of height per sensor row")
    mm_per_line: float | None = Field(default=None, gt=0, description="mm per profile")
    lines_per_rev: int | None = Field(default=None, gt=0, description="profiles per turn")
    height_sign: Literal[1, -1] | None = Field(
        default=None, description="+1/-1; default: the sign of the traits' 'scale z'"
    )

    @model_validator(mode="after")
    def _one_line_pitch(self) -> Calibration:
        if (self.mm_per_line is None) == (self.lines_per_rev is None):
            raise ValueError("give exactly one of mm_per_line or lines_per_rev")
        return self

    @classmethod
    def parse(cls, text: str) -> Calibration:
        """Parse ``"mm_per_col,mm_per_row,mm_per_line"`` (the CLI form)."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 3:
            raise ValueError(
                f"expected mm_per_col,mm_per_row,mm_per_line (3 numbers), got {text!r}"
            )
        try:
            col, row, line = (float(p) for p in parts)
        except ValueError:
            raise ValueError(f"not a number in {text!r}") from None
        return cls(mm_per_col=col, mm_per_row=row, mm_per_line=line)

    def line_pitch_mm(self, *, lines: int | None = None, diameter_mm: float | None = None
                      ) -> float | None:
        """mm per line: ``mm_per_line``, else circumference / ``lines_per_rev``."""
        if self.mm_per_line is not None:
            return self.mm_per_line
        if diameter_mm is None:
            return None
        return float(np.pi * diameter_mm / (self.lines_per_rev or lines or 1))


def merge_traits(all_traits: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """Flatten ``{traits tag: {name: value}}`` into one ``{name: value}`` dict."""
    out: dict[str, str] = {}
    for params in all_traits.values():
        out.update(params)
    return out


def _num(traits: Mapping[str, str], key: str, default: float | None = None) -> float:
    raw = traits.get(key)
    if raw is None or raw == "":
        if default is None:
            raise ContractError(f"traits lack '{key}' needed to convert range values")
        return default
    try:
        return float(raw)
    except ValueError:
        raise ContractError(f"trait '{key}' is not a number: {raw!r}") from None


def float_missing(values: np.ndarray) -> np.ndarray:
    """Boolean mask of missing points in calibrated float range data."""
    v = np.asarray(values)
    return ~np.isfinite(v) | (v == 0) | (v <= FLOAT_MISSING_BELOW)


def sensor_rows(range_values: np.ndarray, traits: Mapping[str, str]) -> np.ndarray:
    """Sensor row (float32) of each integer range value; missing (0) -> NaN."""
    v = np.asarray(range_values)
    rows = v.astype(np.float32) * np.float32(_num(traits, "scale z", 1.0)) + np.float32(
        _num(traits, "origin z", 0.0)
    )
    rows[v == 0] = np.nan
    return rows


def _height_sign(traits: Mapping[str, str], calibration: Calibration) -> float:
    if calibration.height_sign is not None:
        return float(calibration.height_sign)
    return -1.0 if _num(traits, "scale z", 1.0) < 0 else 1.0


def height_mm(
    range_values: np.ndarray,
    traits: Mapping[str, str],
    calibration: Calibration | None = None,
) -> np.ndarray:
    """Height in mm (float32, NaN = missing) of a ``Range``/``Range R`` array.

    FLOAT data is returned as given (missing -> NaN). WORD data with genistream
    ``c axis range scale`` is rectified by scale/offset. Other integer data needs
    ``calibration`` (ContractError otherwise).
    """
    v = np.asarray(range_values)
    if v.dtype.kind == "f":
        out = v.astype(np.float32, copy=True)
        out[float_missing(v)] = np.nan
        return out
    if "c axis range scale" in traits:
        scale = np.float32(_num(traits, "c axis range scale"))
        out = v.astype(np.float32) * scale + np.float32(_num(traits, "c axis range offset", 0))
        out[v == 0] = np.nan
        return out
    if calibration is None:
        raise ContractError("integer range data needs a camera calibration to give mm")
    sign = _height_sign(traits, calibration)
    return sensor_rows(v, traits) * np.float32(sign * calibration.mm_per_row)


def range_from_height_mm(
    height: np.ndarray,
    traits: Mapping[str, str],
    calibration: Calibration,
    dtype: np.dtype | type = np.uint16,
) -> np.ndarray:
    """Inverse of :func:`height_mm` for integer sensor data (NaN -> 0 = missing).

    Values are rounded to the nearest step and clipped to ``1 .. fov z2`` (or the
    dtype's maximum) so a valid point never turns into the missing value 0.
    """
    h = np.asarray(height, dtype=np.float64)
    sign = _height_sign(traits, calibration)
    rows = h / (sign * calibration.mm_per_row)
    values = np.rint((rows - _num(traits, "origin z", 0.0)) / _num(traits, "scale z", 1.0))
    top = min(_num(traits, "fov z2", float(np.iinfo(dtype).max)), float(np.iinfo(dtype).max))
    missing = ~np.isfinite(values)
    out = np.clip(np.where(missing, 1, values), 1, top).astype(dtype)
    out[missing] = 0
    return out


def column_mm(width: int, traits: Mapping[str, str], calibration: Calibration) -> np.ndarray:
    """Axial position in mm of each column: ``(col * scale x + origin x) * mm_per_col``."""
    cols = np.arange(width, dtype=np.float64)
    pos = cols * _num(traits, "scale x", 1.0) + _num(traits, "origin x", 0.0)
    return (pos * calibration.mm_per_col).astype(np.float32)
