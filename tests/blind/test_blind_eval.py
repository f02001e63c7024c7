"""The product's classifier on the independent generator's scans.

``test_smoke_*`` (fast): the product's CLI trains, scores and evaluates these files and
its own AUROC agrees with the one computed here from the score lines.
``test_quality_target`` (slow): issue 5's target on a ~325-wheel blind test set.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.blind.evaluate import BIN, build_sets, run, score, train
from tests.blind.gen import CameraSpec, make_dataset
from tests.blind.metrics import auroc, summarise

SMOKE_CAM = CameraSpec("smoke", "e55", 0.2, 0.05, 1.15, 300, 512, (150.0, 160.0), (50.0, 54.0))
SMOKE_TEST_CAM = CameraSpec("smoke_r3", "ranger3", 0.2, 0.04, 1.15, 300, 1024, (150.0, 160.0),
                            (50.0, 54.0))


def test_smoke_train_score_evaluate_agree(tmp_path: Path) -> None:
    train_dir, test_dir = tmp_path / "train", tmp_path / "test"
    make_dataset(train_dir, 6, 2, SMOKE_CAM, seed=11, size_mix=0.0)
    make_dataset(test_dir / "smoke_r3", 2, 2, SMOKE_TEST_CAM, seed=12, size_mix=0.0)
    model = tmp_path / "model"
    res = run([str(BIN / "wheel-model"), "train", "--data", str(train_dir), "--labels",
               str(train_dir / "labels.csv"), "--out", str(model), "--calibration",
               SMOKE_CAM.calibration, "-q"], tmp_path / "train.log")
    assert res.returncode == 0, res.stderr[-2000:]
    rows = score(model, tmp_path, "smoke")
    assert all(r["out"] is not None and 0 <= r["out"]["score"] <= 100 for r in rows)
    again = score(model, tmp_path, "again")
    assert [r["out"]["score"] for r in rows] == [r["out"]["score"] for r in again]
    cam_dir = test_dir / "smoke_r3"
    dest = tmp_path / "metrics.json"
    res = run([str(BIN / "wheel-model"), "evaluate", "--model", str(model), "--data",
               str(cam_dir), "--labels", str(cam_dir / "labels.csv"), "--calibration",
               SMOKE_TEST_CAM.calibration, "--out", str(dest), "-q"], tmp_path / "eval.log")
    assert res.returncode == 0, res.stderr[-2000:]
    theirs = json.loads(dest.read_text())
    labels = {r["file"]: r["label"] for r in csv.DictReader((cam_dir / "labels.csv").open())}
    s = {Path(r["out"]["file"]).name: r["out"]["score"] for r in rows}
    mine = auroc(np.array([s[f] for f, lab in labels.items() if lab == "bad"]),
                 np.array([s[f] for f, lab in labels.items() if lab == "good"]))
    assert theirs["auroc"] == pytest.approx(mine, abs=1e-6)
    assert summarise(rows)["overall"]["n"] == 4


@pytest.mark.slow
def test_quality_target(tmp_path: Path) -> None:
    work = Path(os.environ.get("BLIND_WORK", tmp_path))
    build_sets(work)
    model = train(work)
    report = summarise(score(model, work, "trained"))
    (work / "report_trained.json").write_text(json.dumps(report, indent=1))
    overall = report["overall"]
    assert overall["failed"] == 0, report["failed_files"]
    assert overall["auroc"] >= 0.995, overall
    assert overall["recall_at_1pct_fa"] >= 0.99, overall
