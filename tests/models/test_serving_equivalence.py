"""Serving equivalence: performance rewrites of models/serving must not change results.

Eight simulated scans (fixed seeds; good and bad; Ranger E55, Ranger3, calibrated; two
sizes) are scored with models/default and compared with the outputs the serving code
produced before the performance work (tests/models/data/serving_reference.json).
Regenerate the reference only on purpose: ``python -m tests.models.test_serving_equivalence``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.simulator.camera import calibrated, ranger3, ranger_e55
from edge.simulator.catalogue import random_defects
from edge.simulator.scan import simulate_scan
from edge.simulator.wheel import random_wheel
from models.serving.pipeline import prepare
from models.serving.scorer import Scorer

ROOT = Path(__file__).resolve().parents[2]
REF = Path(__file__).parent / "data" / "serving_reference.json"
CASES: list[tuple[str, int, bool]] = [
    ("e55_600", 1, False), ("e55_600", 2, True), ("e55_1000", 3, True),
    ("r3_600", 4, False), ("r3_600", 5, True), ("cal_600", 6, False),
    ("cal_600", 7, True), ("e55_1000", 8, False),
]
CAMERAS = {
    "e55_600": lambda: ranger_e55(width=1100, lines_per_rev=600),
    "e55_1000": lambda: ranger_e55(width=1536, lines_per_rev=1000),
    "r3_600": lambda: ranger3(width=1200, lines_per_rev=600, mm_per_col=0.06),
    "cal_600": lambda: calibrated(width=1024, lines_per_rev=600),
}


def _outputs(scorer: Scorer, cam: str, seed: int, bad: bool) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    wheel = random_wheel(rng)
    defects = random_defects(rng, wheel) if bad else []
    scan = simulate_scan(wheel, CAMERAS[cam](), rng, defects=defects)
    prep = prepare(scan.arrays, scan.traits, scan.calibration, scorer.params)
    ws = scorer.score_prepared(prep)
    d = ws.to_dict()
    v = prep.features.values.astype(np.float64)
    d["features"] = v.tolist()
    d["grid_hash"] = hashlib.sha256(np.ascontiguousarray(prep.grid.height).tobytes()).hexdigest()
    d["grid_shape"] = list(prep.grid.height.shape)
    return json.loads(json.dumps(d, default=float))


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer.load(ROOT / "models" / "default")


@pytest.mark.parametrize(("cam", "seed", "bad"), CASES)
def test_scores_match_the_reference(scorer: Scorer, cam: str, seed: int, bad: bool) -> None:
    ref = json.loads(REF.read_text())[f"{cam}-{seed}"]
    got = _outputs(scorer, cam, seed, bad)
    assert got["score"] == pytest.approx(ref["score"], abs=1e-6)
    assert got["defect"] == ref["defect"]
    assert got["location"] == ref["location"]
    assert got["grid_shape"] == ref["grid_shape"]
    np.testing.assert_allclose(got["features"], ref["features"], rtol=1e-9, atol=1e-12)
    for k in ("mean_height_mm", "min_height_mm", "max_defect_depth_mm", "max_bulge_mm",
              "mean_intensity"):
        assert got[k] == pytest.approx(ref[k], rel=1e-9, abs=1e-12), k


if __name__ == "__main__":
    s = Scorer.load(ROOT / "models" / "default")
    REF.write_text(json.dumps({f"{c}-{n}": _outputs(s, c, n, b) for c, n, b in CASES},
                              indent=1, sort_keys=True) + "\n")
    print(f"wrote {REF}")


def _reference_bin(values: np.ndarray, idx: np.ndarray, n: int, op: np.ufunc) -> np.ndarray:
    """The original binning along axis 0: ``op.reduceat``, empty bins from the next source."""
    starts = np.minimum(np.searchsorted(idx, np.arange(n)), idx.size - 1)
    s = op.reduceat(values, starts, axis=0)
    present = np.zeros(n, dtype=bool)
    present[idx] = True
    s[~present] = values[starts][~present]
    return s


@pytest.mark.parametrize(("col_mm", "line_mm"), [(0.08, 1.45), (0.03, 0.05), (0.9, 2.7)])
@pytest.mark.parametrize("op", [np.add, np.minimum])
def test_binning_is_bit_identical_to_reduceat(col_mm: float, line_mm: float,
                                              op: np.ufunc) -> None:
    from models.serving.grid import _bin2d, _bin_index

    v = np.random.default_rng(0).normal(size=(300, 400)).astype(np.float32)
    cidx, nc = _bin_index(np.arange(400) * col_mm, 0.5)
    ridx, nr = _bin_index(np.arange(300) * line_mm, 1.0)
    t = _reference_bin(np.ascontiguousarray(v.T), cidx, nc, op)
    ref = _reference_bin(np.ascontiguousarray(t.T), ridx, nr, op)
    assert np.array_equal(_bin2d(v, cidx, nc, ridx, nr, op), ref)
