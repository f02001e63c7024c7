"""Score calibration at the false-alarm target, and flat spot vs chunking by the walls."""

from __future__ import annotations

import numpy as np
import pytest

from models.serving.features import Detection
from models.serving.kind import refine, wall_steepness
from models.serving.residual import Residual
from models.serving.scoring import Calibration, badness, calibration_offset
from models.training.train import TrainSet, calibrate


def _cv(n_good: int, seed: int = 0) -> tuple[TrainSet, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    label = np.r_[np.zeros(n_good, int), np.ones(40, int)]
    logit = np.r_[rng.normal(-4, 1, n_good), rng.normal(3, 1, 40)]
    anom = np.r_[rng.gamma(2, 1, n_good), rng.normal(12, 2, 40)]
    n = label.size
    ts = TrainSet(np.zeros((n, 1)), np.zeros((n, 6)), np.ones(n), np.arange(n),
                  np.ones(n, bool), label)
    return ts, {"logit": logit, "anomaly": anom}


BASE = Calibration([0.0], [1.0], [0.0], [1.0], 0.0, 1.0, 0.0, 1.0)


@pytest.mark.parametrize("n_good", [400, 2000])
def test_score_70_flags_about_half_a_percent_of_cv_good_wheels(n_good: int) -> None:
    ts, cv = _cv(n_good)
    cal = calibrate(ts, cv, BASE)
    b = badness(cv["logit"], cv["anomaly"], cal)
    good = ts.label == 0
    assert 0.002 <= float(np.mean(b[good] > 0)) <= 0.008  # score < 70 = b > 0
    assert float(np.mean(b[~good] > 0)) > 0.9


def test_few_good_wheels_put_the_threshold_above_all_of_them() -> None:
    ts, cv = _cv(40, seed=1)
    b = badness(cv["logit"], cv["anomaly"], calibrate(ts, cv, BASE))
    assert b[ts.label == 0].max() == pytest.approx(0.0, abs=1e-9)
    assert calibration_offset(np.arange(10.0)) == 9.0


def _res(depth_map: np.ndarray) -> Residual:
    r = depth_map.astype(np.float32)
    return Residual(r, np.nan_to_num(r), 0.03, 0.0, np.zeros(r.shape[1], np.float32),
                    np.nan_to_num(r))


def _scene(kind: str, seed: int = 0) -> tuple[Residual, Detection]:
    rng = np.random.default_rng(seed)
    rows, cols = 600, 140  # 1 mm x 0.5 mm cells
    a = np.arange(rows)[:, None] - 300.0
    x = np.arange(cols)[None, :] * 0.5
    if kind == "flat":  # 40 mm chord on a 120 mm radius, fading out on a crowned tread
        chord = np.clip((20.0**2 - a**2) / 240.0, 0, None)
        crown = 1.0 * (1 - (2 * x / 70 - 1) ** 2)
        m = -np.clip(chord - (1.0 - crown), 0, None) * np.ones((1, cols))
    else:  # chunk: 12 x 8 mm, 2 mm deep, steep wall
        rr = np.sqrt((a / 12) ** 2 + ((x - 35) / 8) ** 2)
        m = -2.0 * np.clip((1 - rr) * 20, 0, 1)
    m = m + 0.03 * rng.standard_normal((rows, cols))
    m[:, :3] = np.nan  # masked chamfer columns
    i = int(np.nanargmin(m))
    return _res(m), Detection(5.0, 1.0, i // cols, i % cols)


@pytest.mark.parametrize("said", ["flat_spot", "chunking"])
def test_steep_walls_make_a_chunk_and_a_gentle_chord_a_flat_spot(said: str) -> None:
    for kind, want in (("flat", "flat_spot"), ("chunk", "chunking")):
        res, det = _scene(kind)
        dets = {"dep6": det}
        assert refine(said, res, dets, 1.0, 0.5) == want, (kind, said)
        assert refine("crack", res, dets, 1.0, 0.5) == "crack"  # other kinds untouched
    assert wall_steepness(*_scene("flat"), 1.0, 0.5) < 0.3 < 0.65 < wall_steepness(
        *_scene("chunk"), 1.0, 0.5)
