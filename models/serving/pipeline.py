"""The physics preprocessing shared by training and serving (one implementation).

raw arrays -> heights in mm (calibration) -> physical grid -> residual -> features.
Training implants synthetic defects on ``WheelGrid.height`` between the grid and the
residual stage, so the model learns defects on the site's own wheels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from models.serving.features import FEATURE_NAMES, Features, extract
from models.serving.grid import GridParams, WheelGrid, to_grid
from models.serving.inputs import raw_heights
from models.serving.residual import Residual, ResidualParams, residual

PREPROCESSING_VERSION = "phys-4"


@dataclass(frozen=True)
class PreprocessParams:
    """Every parameter of the preprocessing; saved in metadata.json."""

    grid: GridParams = field(default_factory=GridParams)
    residual: ResidualParams = field(default_factory=ResidualParams)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"version": PREPROCESSING_VERSION, "grid": asdict(self.grid),
                "residual": asdict(self.residual), "features": list(FEATURE_NAMES)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PreprocessParams:
        """Inverse of :meth:`to_dict`."""
        return cls(GridParams(**d.get("grid", {})), ResidualParams(**d.get("residual", {})))


@dataclass
class Prepared:
    """All intermediate products for one wheel."""

    grid: WheelGrid
    res: Residual
    features: Features


def grid_of(arrays: Mapping[str, np.ndarray], traits: Any, calibration: Any,
            params: PreprocessParams, diameter_mm: float | None = None,
            intensity: bool = True) -> WheelGrid:
    """Raw scan arrays -> physical grid (``intensity``: with the intensity grid)."""
    return to_grid(raw_heights(arrays, traits, calibration, diameter_mm), params.grid,
                   intensity)


def prepare_grid(grid: WheelGrid, params: PreprocessParams) -> Prepared:
    """Physical grid -> residual -> features."""
    res = residual(grid, params.residual)
    valid = grid.valid
    missing = 1.0 - np.count_nonzero(valid) / valid.size  # == 1 - mean, without floats
    feats = extract(res, params.grid.along_mm, params.grid.across_mm, missing)
    return Prepared(grid, res, feats)


def prepare(arrays: Mapping[str, np.ndarray], traits: Any, calibration: Any,
            params: PreprocessParams, diameter_mm: float | None = None,
            intensity: bool = True) -> Prepared:
    """Raw scan arrays -> every preprocessing product (the intensity grid if asked)."""
    return prepare_grid(grid_of(arrays, traits, calibration, params, diameter_mm,
                                intensity), params)
