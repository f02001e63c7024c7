"""Implanting catalogue defects into existing scans (the training helper's use)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.sick import read_scan
from edge.simulator import (
    Chunking,
    WheelSpec,
    calibrated,
    implant_defects,
    implant_random,
    ranger3,
    ranger_e55,
    simulate_scan,
)
from schemas.calibration import Calibration, height_mm

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "sick-samples" / "ranger-e55"


@pytest.mark.parametrize("cam", [ranger_e55(lines_per_rev=500), ranger3(width=1024,
                                 lines_per_rev=500), calibrated(lines_per_rev=500)],
                         ids=lambda c: c.model)
def test_implanted_chunk_has_its_depth_and_leaves_the_rest_bit_identical(cam) -> None:  # type: ignore[no-untyped-def]
    good = simulate_scan(WheelSpec(tread_width_mm=70), cam, np.random.default_rng(2))
    name = "Range R" if "Range R" in good.arrays else "Range"
    along = 200.0
    col0_mm = (good.arrays[name].shape[1] // 2) * cam.mm_per_col  # grid: mm from column 0
    out = implant_defects(good.arrays, good.traits, good.calibration,
                          [Chunking(along, col0_mm, 6.0, 6.0, 3.0, dropout_frac=0.0)],
                          np.random.default_rng(3), diameter_mm=280.0)
    (t,) = out.truths
    before = height_mm(good.arrays[name], good.traits, good.calibration)
    after = height_mm(out.arrays[name], good.traits, good.calibration)
    diff = after - before
    core = (np.abs(out.along_mm - along)[:, None] < 2.0) & (
        np.abs(out.across_mm - col0_mm)[None, :] < 2.0)
    assert np.nanmedian(diff[core]) == pytest.approx(-3.0, abs=0.15)
    far = np.abs(out.along_mm - along)[:, None] > 20.0
    far = np.broadcast_to(far, diff.shape)
    assert np.array_equal(out.arrays[name][far], good.arrays[name][far], equal_nan=True)
    assert out.arrays[name].dtype == good.arrays[name].dtype
    assert out.arrays["Intensity"][core].mean() > good.arrays["Intensity"][core].mean()
    assert t.line == int(np.argmin(np.abs(out.along_mm - along)))
    assert not np.shares_memory(out.arrays[name], good.arrays[name])


def test_implant_random_on_a_real_ranger_e55_sample() -> None:
    scan = read_scan(SAMPLES / "zse_buff.dat")
    cal = Calibration(mm_per_col=0.1, mm_per_row=0.05, lines_per_rev=512)
    out = implant_random(scan.arrays, scan.traits, cal, np.random.default_rng(5),
                         kinds=("blister",), count=1, size="large", diameter_mm=200.0)
    (t,) = out.truths
    diff = (height_mm(out.arrays["Range"], scan.traits, cal)
            - height_mm(scan.arrays["Range"], scan.traits, cal))
    assert np.nanmax(diff) == pytest.approx(t.params["height_mm"], abs=0.01)
    assert np.nanmax(diff) >= 1.45  # large blisters: top half of 0.4–2.5 mm
    assert t.kind == "blister"
    valid_cols = np.flatnonzero((scan.arrays["Range"] > 0).mean(axis=0) >= 0.5)
    assert valid_cols[0] <= t.column <= valid_cols[-1]


def test_implant_random_stays_on_the_tread_when_the_background_is_visible() -> None:
    from edge.simulator import WheelSpec as Wheel

    scan = simulate_scan(Wheel(tread_width_mm=60), ranger_e55(outside="background",
                         lines_per_rev=500), np.random.default_rng(8))
    c0, c1 = scan.truth["tread_columns"]
    assert (scan.arrays["Range"][:, :c0] > 0).mean() > 0.9  # background has data
    for seed in range(5):
        out = implant_random(scan.arrays, scan.traits, scan.calibration,
                             np.random.default_rng(seed), count=2, diameter_mm=280.0)
        for t in out.truths:
            assert c0 <= t.column <= c1
