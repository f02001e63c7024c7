"""Train a tiny model (seconds), export it, and score through ONNX Runtime."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from models.serving.pipeline import PreprocessParams, grid_of, prepare
from models.serving.scorer import Scorer
from models.serving.scoring import transform
from models.training.train import Sample, TrainConfig, predict_raw
from models.training.workflow import train_and_export
from tests.models.indep_gen import Setting, make_set, make_wheel

P = PreprocessParams()
TINY = Setting(tread=(50.0, 60.0), lines=(450, 500), mm_per_col=(0.15, 0.2))
CFG = TrainConfig(seed=3, implants_per_good=2, benign_per_good=1, folds=2, epochs=25)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    wheels = make_set(21, TINY, 14, 0)  # zero bad wheels: implants + anomaly only
    samples = [Sample(f"w{i}", lab, grid_of(w.arrays, w.traits, w.calibration, P))
               for i, (w, lab) in enumerate(wheels)]
    out = tmp_path_factory.mktemp("model")
    path, cv = train_and_export(samples, "0" * 64, out, CFG, P, progress=False)
    return path, cv


def test_export_writes_a_versioned_directory(tiny_model: tuple[Path, dict]) -> None:
    path, cv = tiny_model
    meta = json.loads((path / "metadata.json").read_text())
    assert {"version", "created", "training_data_sha256", "input_contract", "preprocessing",
            "calibration", "threshold", "metrics"} <= set(meta)
    assert meta["threshold"] == 70
    assert meta["onnx_max_abs_diff"] < 1e-4
    assert (path / "model.onnx").stat().st_size > 0 and (path / "model.keras").exists()
    assert 0 <= cv["false_alarm_at_70"] <= 0.1  # held-out good wheels mostly above 70


def test_onnx_scores_match_keras(tiny_model: tuple[Path, dict]) -> None:
    import keras

    path, _ = tiny_model
    scorer = Scorer.load(path)
    model = keras.saving.load_model(path / "model.keras")
    rng = np.random.default_rng(5)
    wheels = [make_wheel(rng, TINY), make_wheel(rng, TINY, ("chunking",))]
    t = transform(np.stack([prepare(w.arrays, w.traits, w.calibration, P).features.values
                            for w in wheels]))
    probs_keras, _, _ = predict_raw(model, scorer.calibration, t)
    assert np.abs(scorer.probs(t) - probs_keras).max() < 1e-4


def test_scores_separate_defects_deterministically(tiny_model: tuple[Path, dict]) -> None:
    path, _ = tiny_model
    scorer = Scorer.load(path)
    rng = np.random.default_rng(77)
    good = make_wheel(rng, TINY)
    bad = make_wheel(rng, TINY, ("chunking",))
    g1 = scorer.score(good.arrays, good.traits, good.calibration)
    g2 = scorer.score(good.arrays, good.traits, good.calibration)
    b = scorer.score(bad.arrays, bad.traits, bad.calibration)
    assert g1.score == g2.score and 0 <= b.score <= 100
    assert g1.score > b.score and b.score < scorer.threshold and b.is_bad
    assert b.defect in ("chunking", "crack", "other", "blister", "flat_spot")
    truth = bad.truth[0]
    assert abs(b.location.across_mm - (truth["across_mm"] + bad.meta["tread_mm"] / 2)) < 20
    assert b.max_defect_depth_mm > 0.5
    png = b.heatmap_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.dumps(b.to_dict())


def test_scorer_loads_fast_and_scores_within_budget(tiny_model: tuple[Path, dict]) -> None:
    path, _ = tiny_model
    t0 = time.perf_counter()
    scorer = Scorer.load(path)
    assert time.perf_counter() - t0 < 1.0
    w = make_wheel(np.random.default_rng(2), TINY)
    scorer.score(w.arrays, w.traits, w.calibration)
    t0 = time.perf_counter()
    for _ in range(3):
        scorer.score(w.arrays, w.traits, w.calibration)
    assert (time.perf_counter() - t0) / 3 < 0.5  # generous on a shared 2-core box


def test_load_errors_are_typed(tmp_path: Path) -> None:
    from schemas.errors import ScoringError

    with pytest.raises(ScoringError, match="metadata"):
        Scorer.load(tmp_path)


def test_a_model_for_other_features_is_refused(tiny_model: tuple[Path, dict],
                                               tmp_path: Path) -> None:
    import shutil

    from schemas.errors import ScoringError

    path, _ = tiny_model
    other = tmp_path / "other"
    shutil.copytree(path, other)
    meta = json.loads((other / "metadata.json").read_text())
    meta["preprocessing"]["features"] = meta["preprocessing"]["features"][:-1]
    (other / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ScoringError, match="other features"):
        Scorer.load(other)


def test_a_model_for_other_preprocessing_is_refused(tiny_model: tuple[Path, dict],
                                                    tmp_path: Path) -> None:
    import shutil

    from schemas.errors import ScoringError

    path, _ = tiny_model
    Scorer.load(path)  # the same version loads
    other = tmp_path / "other"
    shutil.copytree(path, other)
    meta = json.loads((other / "metadata.json").read_text())
    meta["preprocessing"]["version"] = "phys-3"  # same features, computed differently
    (other / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ScoringError, match="preprocessing phys-3"):
        Scorer.load(other)


def _refuse_nan(constant: str) -> None:
    raise ValueError(f"not JSON: {constant}")


def test_metadata_is_strict_json_with_undefined_metrics_as_null(
        tiny_model: tuple[Path, dict]) -> None:
    path, cv = tiny_model
    assert np.isnan(cv["auroc"])  # no bad wheel among the originals: undefined
    meta = json.loads((path / "metadata.json").read_text(), parse_constant=_refuse_nan)
    assert meta["metrics"]["cross_validation"]["auroc"] is None
    assert meta["metrics"]["cross_validation"]["false_alarm_at_70"] == cv["false_alarm_at_70"]


def test_cross_validation_reports_each_defect_kind_of_the_bad_wheels(
        tmp_path: Path) -> None:
    wheels = make_set(23, TINY, 10, 3, kinds=("chunking", "flat_spot"))
    samples = [Sample(f"w{i}", lab, grid_of(w.arrays, w.traits, w.calibration, P),
                      [(t["kind"], "any") for t in w.truth])
               for i, (w, lab) in enumerate(wheels)]
    _, cv = train_and_export(samples, "1" * 64, tmp_path / "m", CFG, P, progress=False)
    kinds = [k for s in samples for k, _ in s.truth]
    assert cv["n_bad"] == 3 and kinds.count("chunking") >= 2
    assert {k for k in cv["per_defect"] if "/" not in k} == set(kinds)
    assert cv["per_defect"]["chunking"]["n"] == kinds.count("chunking")
    assert 0.0 <= cv["per_defect"]["chunking"]["recall_at_70"] <= 1.0
    assert np.isnan(cv["class_accuracy_flagged"])  # held-out runs predict no defect type


def test_strict_json_turns_undefined_numbers_into_null() -> None:
    from models.training.evaluate import strict_json

    got = strict_json({"a": float("nan"), "b": [np.float32(1.5), float("inf")],
                       "c": {"d": np.int64(3), "e": (np.nan, "x")}, "f": np.array([1.0])})
    assert got == {"a": None, "b": [1.5, None], "c": {"d": 3, "e": [None, "x"]},
                   "f": [1.0]}
    assert json.dumps(got, allow_nan=False)
