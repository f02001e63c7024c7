"""Score math shared by training and serving: feature transform, anomaly, calibration.

badness b combines the classifier's bad-logit and a good-only anomaly score, each
shifted by its threshold and divided by its spread on held-out good wheels; the two
thresholds are set together so that b = 0 sits at the ``GOOD_QUANTILE`` (99.5 %) point of
the cross-validated good wheels' badness (at most ~1 % false alarms; with fewer than
``MIN_FOR_QUANTILE`` good wheels, above all of them). score = 100 / (1 + 3/7 * e^b):
b = 0 gives 70, the site's alert limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from models.serving.features import FEATURE_NAMES

CLASSES = ("none", "chunking", "crack", "flat_spot", "blister", "other")
THRESHOLD = 70.0
GOOD_QUANTILE = 0.995  # share of held-out good wheels scoring >= THRESHOLD
MIN_FOR_QUANTILE = 100  # fewer held-out good wheels: the threshold clears all of them
# features whose large values mean "defect" (the anomaly score looks at these only)
EVIDENCE = tuple(n for n in FEATURE_NAMES if n.endswith(("_z", "_mm", "_area"))
                 and not n.startswith(("log_", "runout")))
# the network sees defect evidence only: noise level, dropout share and runout differ
# between cameras and generators and must not move the verdict
MODEL_FEATURES = EVIDENCE
_MODEL_IDX = [FEATURE_NAMES.index(n) for n in MODEL_FEATURES]


def transform(values: np.ndarray) -> np.ndarray:
    """Signed log compression of raw feature values (rows = wheels)."""
    v = np.asarray(values, dtype=np.float64)
    return (np.sign(v) * np.log1p(np.abs(v))).astype(np.float32)


@dataclass(frozen=True)
class Calibration:
    """Everything needed to turn model outputs into the 0-100 score (metadata.json)."""

    feat_mean: list[float]
    feat_std: list[float]
    good_median: list[float]
    good_scale: list[float]
    mlp_threshold: float
    mlp_scale: float
    anomaly_threshold: float
    anomaly_scale: float
    anomaly_weight: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Calibration:
        """Inverse of :meth:`to_dict`."""
        return cls(**dict(d))


def standardise(t: np.ndarray, cal: Calibration) -> np.ndarray:
    """Transformed features (all of FEATURE_NAMES) -> model input (float32)."""
    x = model_columns(t)
    return ((x - np.asarray(cal.feat_mean)) / np.asarray(cal.feat_std)).astype(np.float32)


def model_columns(t: np.ndarray) -> np.ndarray:
    """The MODEL_FEATURES columns of transformed features."""
    return np.asarray(t)[:, _MODEL_IDX]


def good_stats(t_good: np.ndarray) -> tuple[list[float], list[float]]:
    """Robust per-feature median and spread of transformed good-wheel features."""
    med = np.median(t_good, axis=0)
    mad = 1.4826 * np.median(np.abs(t_good - med), axis=0)
    spread = np.maximum(mad, 0.05 * np.abs(med) + 0.05)
    return med.tolist(), spread.tolist()


def anomaly(t: np.ndarray, median: Sequence[float], scale: Sequence[float]) -> np.ndarray:
    """Good-only anomaly: largest one-sided robust z over the evidence features."""
    idx = [FEATURE_NAMES.index(n) for n in EVIDENCE]
    z = (t[:, idx] - np.asarray(median)[idx]) / np.asarray(scale)[idx]
    return np.asarray(z.max(axis=1), dtype=np.float64)


def bad_logit(probs: np.ndarray) -> np.ndarray:
    """log(P(bad) / P(good)) from the class probabilities (column 0 = none)."""
    p_good = np.clip(probs[:, 0].astype(np.float64), 1e-7, 1 - 1e-7)
    return np.log((1 - p_good) / p_good)


def badness(logit: np.ndarray, anom: np.ndarray, cal: Calibration) -> np.ndarray:
    """Combined badness; 0 at the calibrated threshold."""
    b1 = (logit - cal.mlp_threshold) / cal.mlp_scale
    b2 = (anom - cal.anomaly_threshold) / cal.anomaly_scale
    return np.maximum(b1, cal.anomaly_weight * b2 - (1 - cal.anomaly_weight) * 1e3)


def to_score(b: np.ndarray) -> np.ndarray:
    """Badness -> confidence 0-100 that the wheel is good (70 at b = 0)."""
    k = np.log(THRESHOLD / (100 - THRESHOLD))
    return 100.0 / (1.0 + np.exp(np.clip(b - k, -50, 50)))


def threshold_of(held_out_good: np.ndarray) -> tuple[float, float]:
    """Provisional threshold (median) and spread (q90 - q50) of held-out good values;
    :func:`calibration_offset` then moves the thresholds to the false-alarm target."""
    v = np.asarray(held_out_good, dtype=np.float64)
    q50, q90 = np.quantile(v, [0.5, 0.9])
    return float(q50), max(float(q90 - q50), 1e-3)


def calibration_offset(good_badness: np.ndarray) -> float:
    """Badness shift that puts ``GOOD_QUANTILE`` of held-out good wheels below b = 0."""
    b = np.asarray(good_badness, dtype=np.float64)
    if b.size >= MIN_FOR_QUANTILE:
        return float(np.quantile(b, GOOD_QUANTILE))
    return float(b.max())
