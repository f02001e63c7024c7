"""Train the wheel classifier from good wheels, a few bad ones and implanted defects.

1. Every labelled wheel goes onto the physical grid (shared preprocessing).
2. Training set: each wheel as is, plus copies with benign variation (label good) and
   copies with catalogue defects implanted (label = defect class). Real bad wheels are
   kept with a soft label spread over the defect classes and a higher weight.
3. A small Keras MLP (features -> 6 classes: none + 5 defect classes).
4. k-fold cross-validation by wheel gives held-out scores of good wheels; they set the
   thresholds of the classifier logit and of the good-only anomaly score, so that
   "score < 70" flags about 1 % of them (the site's false-alarm target).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.serving.grid import WheelGrid
from models.serving.pipeline import PreprocessParams, prepare_grid
from models.serving.scoring import (
    CLASSES,
    Calibration,
    anomaly,
    bad_logit,
    badness,
    calibration_offset,
    good_stats,
    model_columns,
    standardise,
    threshold_of,
    transform,
)
from models.training.implant import KINDS, implant

log = logging.getLogger(__name__)
Progress = Callable[[int], None]


@dataclass
class Sample:
    """One labelled wheel on the physical grid."""

    name: str
    label: int  # 1 = bad
    grid: WheelGrid
    truth: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class TrainConfig:
    """Training knobs (all stored in metadata.json)."""

    seed: int = 0
    implants_per_good: int = 4
    benign_per_good: int = 1
    folds: int = 4
    epochs: int = 60
    hidden: tuple[int, int] = (32, 16)
    bad_weight: float = 3.0


@dataclass
class TrainSet:
    """Transformed features, soft class targets, weights and provenance."""

    t: np.ndarray
    y: np.ndarray
    w: np.ndarray
    group: np.ndarray
    original: np.ndarray  # True for the wheel as scanned
    label: np.ndarray


def _target(kinds: Sequence[str], real_bad: bool) -> np.ndarray:
    y = np.zeros(len(CLASSES), dtype=np.float32)
    if real_bad:
        y[1:] = 1.0 / (len(CLASSES) - 1)
    elif not kinds:
        y[0] = 1.0
    else:
        for k in kinds:
            y[CLASSES.index(k)] += 1.0 / len(kinds)
    return y


def build_set(samples: Sequence[Sample], params: PreprocessParams, cfg: TrainConfig,
              progress: Progress | None = None) -> TrainSet:
    """Features of every wheel and of its augmented / implanted copies."""
    rng = np.random.default_rng(cfg.seed)
    rows: list[tuple[np.ndarray, np.ndarray, float, int, bool, int]] = []
    for gi, s in enumerate(samples):
        f = prepare_grid(s.grid, params).features.values
        rows.append((f, _target([], bool(s.label)), cfg.bad_weight if s.label else 1.0,
                     gi, True, s.label))
        if s.label == 0:
            for _ in range(cfg.benign_per_good):
                g, _t = implant(s.grid, rng, (), benign_prob=1.0)
                rows.append((prepare_grid(g, params).features.values, _target([], False),
                             1.0, gi, False, 0))
            for j in range(cfg.implants_per_good):
                kinds: tuple[str, ...] = (KINDS[(gi + j) % len(KINDS)],)
                if rng.random() < 0.1:
                    kinds += (KINDS[int(rng.integers(len(KINDS)))],)
                g, _t = implant(s.grid, rng, kinds)
                rows.append((prepare_grid(g, params).features.values, _target(kinds, False),
                             1.0, gi, False, 1))
        if progress:
            progress(1)
    t = transform(np.stack([r[0] for r in rows]))
    return TrainSet(t, np.stack([r[1] for r in rows]), np.array([r[2] for r in rows]),
                    np.array([r[3] for r in rows]), np.array([r[4] for r in rows]),
                    np.array([r[5] for r in rows]))


def _fit(ts: TrainSet, idx: np.ndarray, cfg: TrainConfig) -> tuple[Any, Calibration]:
    """Fit the MLP on rows ``idx``; returns the Keras model and its feature stats."""
    from models.training.net import fit_mlp

    t = model_columns(ts.t[idx])
    mean, std = t.mean(axis=0), t.std(axis=0) + 1e-3
    goods = idx[ts.original[idx] & (ts.label[idx] == 0)]
    med, scale = good_stats(ts.t[goods])
    model = fit_mlp((t - mean) / std, ts.y[idx], ts.w[idx], cfg)
    cal = Calibration(mean.tolist(), std.tolist(), med, scale, 0.0, 1.0, 0.0, 1.0)
    return model, cal


def predict_raw(model: Any, cal: Calibration, t: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                       np.ndarray]:
    """(class probabilities, bad logit, anomaly) of transformed features with Keras."""
    x = standardise(t, cal)
    probs = np.asarray(model(x, training=False))
    return probs, bad_logit(probs), anomaly(t, cal.good_median, cal.good_scale)


def cross_validate(ts: TrainSet, cfg: TrainConfig) -> dict[str, np.ndarray]:
    """Held-out bad-logit and anomaly of every original wheel (k folds by wheel)."""
    groups = np.unique(ts.group)
    rng = np.random.default_rng(cfg.seed + 1)
    fold_of = dict(zip(rng.permutation(groups), np.arange(groups.size) % cfg.folds,
                       strict=True))
    fold = np.array([fold_of[g] for g in ts.group])
    logit = np.zeros(ts.t.shape[0])
    anom = np.zeros(ts.t.shape[0])
    for k in range(cfg.folds):
        train_idx, test_idx = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        if test_idx.size == 0:
            continue
        model, cal = _fit(ts, train_idx, cfg)
        _, logit[test_idx], anom[test_idx] = predict_raw(model, cal, ts.t[test_idx])
    return {"logit": logit, "anomaly": anom, "fold": fold}


def calibrate(ts: TrainSet, cv: dict[str, np.ndarray], base: Calibration) -> Calibration:
    """Thresholds from held-out good wheels (as scanned and with benign variation)."""
    good = ts.label == 0
    t1, s1 = threshold_of(cv["logit"][good])
    t2, s2 = threshold_of(cv["anomaly"][good])
    first = Calibration(base.feat_mean, base.feat_std, base.good_median, base.good_scale,
                        t1, s1, t2, s2, anomaly_weight=1.0)
    # one shift of both thresholds (in spread units) moves b of every wheel by the same
    c = calibration_offset(badness(cv["logit"][good], cv["anomaly"][good], first))
    return Calibration(base.feat_mean, base.feat_std, base.good_median, base.good_scale,
                       t1 + c * s1, s1, t2 + c * s2, s2, anomaly_weight=1.0)


def train(samples: Sequence[Sample], params: PreprocessParams, cfg: TrainConfig,
          progress: Progress | None = None) -> tuple[Any, Calibration, dict[str, Any]]:
    """Train on ``samples``; returns (Keras model, calibration, CV report)."""
    n_good = sum(1 for s in samples if s.label == 0)
    if n_good < max(4, cfg.folds):
        raise ValueError(f"need at least {max(4, cfg.folds)} good wheels, got {n_good}")
    ts = build_set(samples, params, cfg, progress)
    cv = cross_validate(ts, cfg)
    model, base = _fit(ts, np.arange(ts.t.shape[0]), cfg)
    cal = calibrate(ts, cv, base)
    from models.serving.scoring import to_score

    score = to_score(badness(cv["logit"], cv["anomaly"], cal))
    report = {"cv_score": score, "label": ts.label, "original": ts.original, "ts": ts}
    return model, cal, report
