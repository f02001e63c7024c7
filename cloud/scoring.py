"""Scorer adapter over the exported model (``models.serving``) and scan summary stats.

The cloud never re-implements preprocessing: the per-wheel CSV is read back with the
contract's reader (``schemas.wheel_csv.read_wheel_csv``), or its arrays are taken from the
bundle's sidecar (``schemas.wheel_arrays``: the same values, no CSV parse), and handed as
arrays, traits and calibration to the exported model. The summary statistics written
beside the score (height and intensity, for the trend dashboard) are plain descriptive
numbers.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cloud.ports import ScoreResult
from schemas.calibration import height_mm, merge_traits
from schemas.errors import ContractError, ScoringError, WheelWatchError
from schemas.wheel_arrays import wheel_of
from schemas.wheel_csv import WheelData, parse_metadata, read_wheel_csv

DEFECTS = ("chunking", "crack", "flat_spot", "blister", "other", "none")
MODEL_STATS = ("mean_height_mm", "min_height_mm", "max_defect_depth_mm", "max_bulge_mm",
               "mean_intensity")


def summary_stats(data: WheelData) -> dict[str, float]:
    """Height (mm) and intensity statistics over the valid points of one scan."""
    traits = merge_traits(data.meta.traits)
    try:
        h = height_mm(data.range, traits, data.meta.calibration)
    except ContractError:
        h = np.where(data.range == 0, np.nan, data.range.astype(np.float32))
    valid = np.isfinite(h)
    out: dict[str, float] = {"valid_fraction": float(valid.mean()) if h.size else 0.0}
    if valid.any():
        hv = h[valid].astype(np.float64)
        p05, p95 = np.percentile(hv, [5, 95])
        out.update(height_mean=float(hv.mean()), height_std=float(hv.std()),
                   height_p05=float(p05), height_p95=float(p95))
        inten = data.intensity
        if inten is not None and inten.shape == h.shape:
            iv = inten[valid].astype(np.float64)
            out.update(intensity_mean=float(iv.mean()), intensity_std=float(iv.std()))
    return out


def _field(obj: Any, *names: str, default: Any = None) -> Any:
    for n in names:
        if isinstance(obj, Mapping) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return default


def _location(loc: Any) -> dict[str, float]:
    if loc is None:
        return {}
    if isinstance(loc, Mapping):
        items = loc.items()
    else:
        names = ("line", "column", "along_mm", "across_mm")
        items = ((n, getattr(loc, n, None)) for n in names)  # type: ignore[assignment]
    return {str(k): float(v) for k, v in items if isinstance(v, int | float)}


class ModelScorer:
    """Scorer port over ``models.serving.Scorer`` (a versioned exported model dir)."""

    def __init__(self, model: Any) -> None:
        self._model = model

    @classmethod
    def load(cls, model_dir: Path) -> ModelScorer:
        """Load the exported model; ScoringError if it cannot be."""
        try:
            from models.serving.scorer import Scorer as ServingScorer
        except ImportError as exc:
            raise ScoringError(f"model runtime not installed: {exc}") from exc
        try:
            return cls(ServingScorer.load(model_dir))
        except WheelWatchError:
            raise
        except Exception as exc:  # vendor/runtime errors of the model loader
            raise ScoringError(f"cannot load model {model_dir}: {exc}") from exc

    @property
    def version(self) -> str:
        """The exported model's version."""
        return str(self._model.version)

    def score(self, csv_path: Path, meta_path: Path) -> ScoreResult:
        """Read the CSV with the contract reader and score it with the model."""
        return self._score_data(read_wheel_csv(csv_path, meta_path), csv_path.name)

    def score_bytes(self, csv: bytes, meta_json: bytes,
                    arrays: Mapping[str, np.ndarray] | None = None) -> ScoreResult:
        """Like :meth:`score`, from the CSV and metadata bytes (no files).

        ``arrays``: the wheel's arrays from the bundle's sidecar (checked against the
        metadata again); given, the CSV is not parsed.
        """
        meta = parse_metadata(meta_json, "wheel.meta.json")
        if arrays is not None:
            return self._score_data(wheel_of(meta, arrays), "wheel.csv")
        return self._score_data(read_wheel_csv(io.BytesIO(csv), meta), "wheel.csv")

    def _score_data(self, data: WheelData, name: str) -> ScoreResult:
        traits = merge_traits(data.meta.traits)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                ws = self._model.score(data.arrays, traits, data.meta.calibration)
        except WheelWatchError:
            raise
        except Exception as exc:  # the model runtime's own errors
            raise ScoringError(f"{name}: model failed: {exc}") from exc
        stats = summary_stats(data)
        for name in MODEL_STATS:  # the model's own summary of the tread, when it gives one
            v = _field(ws, name)
            if isinstance(v, int | float) and np.isfinite(v):
                stats[name] = float(v)
        defect = str(_field(ws, "defect", default="none"))
        heat = None
        if _field(ws, "is_bad", default=False) and hasattr(ws, "heatmap_png"):
            try:
                heat = bytes(ws.heatmap_png())
            except WheelWatchError:
                heat = None
        return ScoreResult(
            score=float(np.clip(float(_field(ws, "score")), 0.0, 100.0)),
            defect=defect if defect in DEFECTS else "other",
            location=_location(_field(ws, "location")),
            model_version=self.version, stats=stats, heatmap_png=heat,
        )
