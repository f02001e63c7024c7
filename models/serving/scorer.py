"""Score one wheel with an exported model directory (ONNX Runtime, no TensorFlow).

    scorer = Scorer.load("models/default")
    ws = scorer.score(arrays, traits, calibration)   # what read_wheel_csv / read_scan give
    ws.score, ws.defect, ws.location, ws.heatmap_png()

The directory holds ``metadata.json`` (preprocessing parameters, score calibration,
threshold, version) and ``model.onnx``; the preprocessing code is this package's, the
same the training imported.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.serving.features import FEATURE_NAMES
from models.serving.heatmap import png_bytes
from models.serving.kind import refine
from models.serving.pipeline import PREPROCESSING_VERSION, Prepared, PreprocessParams, prepare
from models.serving.robust import percentile
from models.serving.scoring import (
    CLASSES,
    MODEL_FEATURES,
    THRESHOLD,
    Calibration,
    anomaly,
    bad_logit,
    badness,
    standardise,
    to_score,
    transform,
)
from schemas.errors import ScoringError

log = logging.getLogger(__name__)
METADATA = "metadata.json"
ONNX_FILE = "model.onnx"
_DETECTOR = {"flat_spot": "flat", "blister": "bulge2.5", "crack": "crack",
             "chunking": "dep2.5", "other": "dep2.5"}


@dataclass(frozen=True)
class Location:
    """Where the strongest evidence is: scan line/column and mm on the wheel."""

    line: int
    column: int
    along_mm: float  # along the circumference from the scan's first line
    across_mm: float  # across the tread from its first edge


@dataclass
class WheelScore:
    """The verdict on one wheel (score 0-100 = confidence the wheel is good)."""

    score: float
    defect: str  # chunking|crack|flat_spot|blister|other|none
    location: Location
    is_bad: bool
    model_version: str
    mean_height_mm: float
    min_height_mm: float
    max_defect_depth_mm: float
    max_bulge_mm: float
    mean_intensity: float
    class_probs: dict[str, float] = field(default_factory=dict)
    _evidence: np.ndarray | None = field(default=None, repr=False)

    def heatmap_png(self) -> bytes:
        """PNG of where the model looked (circumference left to right)."""
        if self._evidence is None:
            raise ScoringError("no evidence map kept for this score")
        loc = (self.location.along_mm, self.location.across_mm)
        return png_bytes(self._evidence, loc if self.is_bad else None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no heatmap)."""
        d = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        d["location"] = asdict(self.location)
        return d


class Scorer:
    """An exported model directory, loaded for scoring."""

    def __init__(self, meta: dict[str, Any], session: Any, model_dir: Path) -> None:
        self.meta = meta
        self._session = session
        self._input = session.get_inputs()[0].name
        self.model_dir = model_dir
        self.params = PreprocessParams.from_dict(meta["preprocessing"])
        self.calibration = Calibration.from_dict(meta["calibration"])

    @classmethod
    def load(cls, model_dir: str | Path) -> Scorer:
        """Load ``metadata.json`` + ``model.onnx`` (ScoringError if missing or invalid)."""
        d = Path(model_dir)
        try:
            meta = json.loads((d / METADATA).read_text())
        except (OSError, ValueError) as exc:
            raise ScoringError(f"{d / METADATA}: cannot load model metadata: {exc}") from exc
        try:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            session = ort.InferenceSession(str(d / meta.get("onnx", ONNX_FILE)), opts,
                                           providers=["CPUExecutionProvider"])
        except Exception as exc:  # vendor errors of any kind -> typed
            raise ScoringError(f"{d}: cannot load ONNX model: {exc}") from exc
        _check_contract(d, meta, session)
        return cls(meta, session, d)

    @property
    def version(self) -> str:
        """Model version string from the metadata."""
        return str(self.meta["version"])

    @property
    def threshold(self) -> float:
        """Score below which a wheel is bad (70)."""
        return float(self.meta.get("threshold", THRESHOLD))

    def probs(self, t: np.ndarray) -> np.ndarray:
        """Class probabilities of transformed features (rows = wheels)."""
        x = standardise(t, self.calibration)
        return np.asarray(self._session.run(None, {self._input: x})[0])

    def score_prepared(self, prep: Prepared) -> WheelScore:
        """Score a wheel already through the preprocessing."""
        t = transform(prep.features.values[None, :])
        probs = self.probs(t)
        b = badness(bad_logit(probs), anomaly(t, self.calibration.good_median,
                                               self.calibration.good_scale), self.calibration)
        score = float(np.round(to_score(b)[0], 3))
        is_bad = score < self.threshold
        kind = CLASSES[1 + int(np.argmax(probs[0, 1:]))]
        if is_bad:  # only a flagged wheel's class is reported: no cost on good ones
            g = prep.grid.params
            kind = refine(kind, prep.res, prep.features.detections, g.along_mm, g.across_mm)
        return WheelScore(
            score=score, defect=kind if is_bad else "none",
            location=self._location(prep, kind), is_bad=is_bad, model_version=self.version,
            **_stats(prep), class_probs={c: float(p) for c, p in zip(CLASSES, probs[0],
                                                                      strict=True)},
            _evidence=prep.features.evidence)

    def score(self, arrays: Mapping[str, np.ndarray], traits: Mapping[str, str] | None,
              calibration: Any, diameter_mm: float | None = None) -> WheelScore:
        """Score one scan from its raw arrays, traits and calibration."""
        prep = prepare(arrays, traits, calibration, self.params, diameter_mm, intensity=False)
        return self.score_prepared(prep)

    def score_wheel_data(self, data: Any) -> WheelScore:
        """Score what ``schemas.wheel_csv.read_wheel_csv`` returns (arrays + metadata)."""
        meta = data.meta
        return self.score(data.arrays, meta.traits, meta.calibration)

    def _location(self, prep: Prepared, kind: str) -> Location:
        dets = prep.features.detections
        det = dets[_DETECTOR[kind]]
        if kind == "crack" and dets["crack_low"].z > det.z:
            det = dets["crack_low"]
        g = prep.grid
        row = int(np.clip(det.row, 0, g.line_of_row.size - 1))
        col = int(np.clip(det.col, 0, g.col_of_col.size - 1))
        return Location(int(g.line_of_row[row]), int(g.col_of_col[col]),
                        round(row * g.params.along_mm, 1), round(col * g.params.across_mm, 1))


def _check_contract(d: Path, meta: dict[str, Any], session: Any) -> None:
    """The directory must match this runtime's features (ScoringError otherwise)."""
    names = meta.get("preprocessing", {}).get("features")
    width = session.get_inputs()[0].shape[-1]
    if names != list(FEATURE_NAMES) or width != len(MODEL_FEATURES):
        raise ScoringError(
            f"{d}: model was exported for other features ({width} inputs, preprocessing "
            f"{meta.get('preprocessing', {}).get('version')}); this runtime computes "
            f"{len(MODEL_FEATURES)} — retrain or use a matching release")
    version = meta.get("preprocessing", {}).get("version")
    if version != PREPROCESSING_VERSION:  # same names, other computation: other scores
        raise ScoringError(
            f"{d}: model was exported for preprocessing {version}; this runtime computes "
            f"{PREPROCESSING_VERSION} — retrain or use a matching release")


def _stats(prep: Prepared) -> dict[str, float]:
    h = prep.grid.height
    known = h[np.isfinite(h)]
    det = prep.features.detections
    return {
        "mean_height_mm": round(float(known.mean()), 4) if known.size else float("nan"),
        "min_height_mm": round(float(percentile(known, 0.5)), 4) if known.size else float("nan"),
        "max_defect_depth_mm": round(max(0.0, det["dep1"].mm, det["flat"].mm), 4),
        "max_bulge_mm": round(max(0.0, det["bulge2.5"].mm), 4),
        "mean_intensity": round(prep.grid.mean_intensity, 3),
    }
