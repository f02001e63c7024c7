"""Full quality evaluation (slow): train like a site, test on settings never trained on.

Training: 150 good + 10 bad wheels of one Ranger E55 camera from the independent
generator (tests/models/indep_gen.py). Test: 120 good + 40 bad wheels per held-out
setting (other seeds, Ranger3 high resolution, rectified low resolution, small and big
wheels, defects only at the small end, treads with a lateral runout never trained on) and,
when present, the project's own simulator (a second generator written by someone else).
Target: AUROC >= 0.995 and recall >= 99 % at <= 1 % false alarms.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from models.serving.pipeline import PreprocessParams, grid_of, prepare_grid
from models.serving.scorer import Scorer
from models.training.evaluate import Scored, metrics
from models.training.train import Sample, TrainConfig
from models.training.workflow import train_and_export
from tests.models.indep_gen import SETTINGS, make_set

P = PreprocessParams()
HELD_OUT = ("train_e55", "ranger3_hires", "rectified_lowres", "small_wheels", "big_wheels",
            "small_defects", "lateral_wobble")


@pytest.fixture(scope="module")
def site_model(tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    wheels = make_set(1001, SETTINGS["train_e55"], 150, 10)
    samples = [Sample(f"w{i}", lab, grid_of(w.arrays, w.traits, w.calibration, P))
               for i, (w, lab) in enumerate(wheels)]
    out = tmp_path_factory.mktemp("quality") / "model"
    train_and_export(samples, "f" * 64, out, TrainConfig(seed=5), P, progress=False)
    return Scorer.load(out)


def _report(name: str, m: dict) -> None:
    path = os.environ.get("WHEEL_QUALITY_REPORT")
    if path:
        with Path(path).open("a") as fh:
            fh.write(json.dumps({"setting": name, **m}) + "\n")


@pytest.mark.slow
@pytest.mark.parametrize("setting", HELD_OUT)
def test_held_out_setting_meets_the_target(site_model: Scorer, setting: str) -> None:
    rows = []
    for i, (w, lab) in enumerate(make_set(2000 + HELD_OUT.index(setting), SETTINGS[setting],
                                          120, 40)):
        prep = prepare_grid(grid_of(w.arrays, w.traits, w.calibration, P), P)
        ws = site_model.score_prepared(prep)
        truth = [(t["kind"], "small" if SETTINGS[setting].small_defects else "any")
                 for t in w.truth]
        rows.append(Scored(f"{setting}{i}", lab, ws.score, ws.defect, truth))
    m = metrics(rows)
    _report(setting, m)
    assert m["auroc"] >= 0.995, m
    assert m["recall_at_1pct_fa"] >= 0.99, m
    # the site rule itself: calibrated to ~0.5 % of CV good wheels below 70, on the
    # camera trained on; held out, a camera with a 1.5-2.5x coarser line pitch has more
    # noise per cell (5.8 % false alarms at 70 with phys-2, 1 of 120 since phys-4)
    assert m["recall_at_70"] >= 0.95, m
    assert m["false_alarm_at_70"] <= 0.035, m


@pytest.mark.slow
def test_project_simulator_small_defects(site_model: Scorer) -> None:
    sim = pytest.importorskip("edge.simulator")
    from edge.simulator.wheel import random_wheel

    rng = np.random.default_rng(77)
    rows = []
    for i in range(160):
        lab = int(i >= 120)
        wheel = random_wheel(rng)
        cam = sim.random_camera("ranger3", rng, tread_width_mm=wheel.tread_width_mm,
                                width=1280)
        defects = sim.random_defects(rng, wheel, size="small") if lab else []
        scan = sim.simulate_scan(wheel, cam, rng, defects=defects)
        ws = site_model.score(scan.arrays, scan.traits, scan.calibration, wheel.diameter_mm)
        rows.append(Scored(f"sim{i}", lab, ws.score, ws.defect,
                           [(d["kind"], "small") for d in scan.truth["defects"]]))
    m = metrics(rows)
    _report("project_simulator_ranger3_small", m)
    assert m["auroc"] >= 0.95, m  # second generator, smallest defects: see the report
