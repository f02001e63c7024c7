"""read_scan / convert on files written by the wheel simulator, all camera models.

Cross-checks the simulator's encoding against schemas.calibration: the decoded height
equals the simulator's exact height map up to one constant offset and the
quantisation step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from edge.convert import convert_scan
from edge.sick import read_scan
from edge.simulator.camera import calibrated, ranger3, ranger_e55
from edge.simulator.scan import simulate_scan, write_sim_scan
from edge.simulator.wheel import WheelSpec
from schemas.calibration import height_mm, merge_traits
from schemas.wheel_csv import read_wheel_csv

CAMERAS = {
    "ranger_e55": lambda: ranger_e55(width=300, lines_per_rev=240, mm_per_col=0.3),
    "ranger3": lambda: ranger3(width=320, lines_per_rev=200, mm_per_col=0.3, scatter=True),
    "calibrated": lambda: calibrated(width=256, lines_per_rev=180, mm_per_col=0.35),
}


@pytest.mark.parametrize("model", sorted(CAMERAS))
def test_simulated_scan_reads_converts_and_decodes(tmp_path: Path, model: str) -> None:
    cam = CAMERAS[model]()
    sim = simulate_scan(WheelSpec(), cam, np.random.default_rng(11))
    when = datetime(2026, 11, 27, 14, 23, 1, 512000, tzinfo=UTC)
    paths = write_sim_scan(sim, tmp_path / "Cam_01", "Cam_01", when)
    scan = read_scan(paths.xml)
    assert scan.lines == sim.truth["lines"] and scan.width == cam.width
    for name, arr in sim.arrays.items():
        np.testing.assert_array_equal(scan[name], arr, err_msg=name)
    if "Mark" in scan:
        assert scan.mark_fields().enable.all()

    res = convert_scan(paths.dat, tmp_path / "out", calibration=sim.calibration)
    assert res.meta.capture_time == when
    back = read_wheel_csv(res.csv_path)
    np.testing.assert_array_equal(back.range, scan[scan.primary_name])

    traits = merge_traits(scan.all_traits)
    decoded = height_mm(back.range, traits, res.meta.calibration)
    valid = np.isfinite(decoded)
    assert 0.5 < valid.mean() < 1.0
    diff = decoded[valid] - sim.height_mm[valid]
    offset = float(np.median(diff))
    # the simulator quantises every model (calibrated too) to 1/16 sensor row
    assert np.abs(diff - offset).max() <= cam.value_step_mm / 2 + 1e-3
