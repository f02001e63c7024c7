"""Lateral runout: a tread that moves sideways leaves no trace in the residual (issue 5)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from models.serving.grid import GridParams, WheelGrid, to_grid
from models.serving.inputs import RawHeights
from models.serving.pipeline import PreprocessParams, prepare_grid
from models.serving.register import chamfer_columns, lateral_nominal, shifted
from models.serving.residual import residual

P = PreprocessParams()
ACROSS = 0.5
OFF = replace(P.residual, lateral_min_mm=1e9)  # registration off (the old behaviour)


def _profile(x: np.ndarray, width: float, chamfer: float = 2.5) -> np.ndarray:
    """Crown 1 mm + 45 degree chamfers, x in mm from the first edge."""
    crown = 1.0 * (1 - (2 * x / width - 1) ** 2)
    return crown - np.clip(chamfer - np.minimum(x, width - x), 0, None)


def _wobbling_grid(lateral_mm: float, seed: int = 0, crack: bool = False) -> tuple[WheelGrid,
                                                                                  np.ndarray]:
    """A good wheel on the physical grid whose tread moves sideways by ``lateral_mm``
    peak to peak over the revolution (the grid starts 1.5 mm inside the mean edge)."""
    rng = np.random.default_rng(seed)
    rows, width = 700, 60.0
    x = 1.5 + np.arange(int((width - 3.0) / ACROSS)) * ACROSS
    theta = 2 * np.pi * np.arange(rows) / rows
    shift = lateral_mm / 2 * np.sin(theta + 0.7)
    fine = np.linspace(-ACROSS / 2, ACROSS / 2, 6)  # points inside each cell
    pts = x[None, :, None] + fine[None, None, :] - shift[:, None, None]
    h = _profile(pts, width) + 0.04 * rng.standard_normal(pts.shape)  # surface noise
    h += 0.15 * np.cos(theta)[:, None, None]  # radial runout
    if crack:  # a narrow crack running along the circumference, in the middle
        h[100:300, 60, :2] -= 1.0
    low = h.min(axis=2).astype(np.float32)
    height = h.mean(axis=2).astype(np.float32)
    grid = WheelGrid(height, np.ones_like(height), np.arange(rows), np.arange(x.size),
                     GridParams(along_mm=1.0, across_mm=ACROSS), rows, 1.0, low)
    return grid, shift


@pytest.mark.parametrize("lateral_mm", [0.3, 0.5])
def test_a_wobbling_good_wheel_leaves_a_flat_residual(lateral_mm: float) -> None:
    grid, _ = _wobbling_grid(lateral_mm)
    still, _ = _wobbling_grid(0.0)
    flat = residual(still, P.residual)
    res = residual(grid, P.residual)
    old = residual(grid, OFF)
    col_sd = np.nanstd(res.r, axis=0)
    # every column as quiet as on the same wheel without runout ...
    assert np.nanmax(col_sd) < 1.3 * np.nanmax(np.nanstd(flat.r, axis=0))
    assert np.nanmax(np.abs(res.low)) < 0.25
    # ... where the profile found once per scan leaves the chamfer step in the residual
    assert np.nanmax(np.nanstd(old.r, axis=0)) > 2 * np.nanmax(col_sd)


def test_the_sideways_motion_is_measured_line_by_line() -> None:
    grid, truth = _wobbling_grid(0.4, seed=1)
    h = grid.height.astype(np.float64)
    prof = np.nanmedian(h, axis=0)
    nominal, shift = lateral_nominal(h, prof, 3, 0.06)
    assert np.abs(shift * ACROSS - truth).max() < 0.05  # mm
    assert nominal.shape == h.shape
    _, none = lateral_nominal(_wobbling_grid(0.0, seed=1)[0].height.astype(np.float64),
                              prof, 3, 0.06)
    assert not none.any()  # no runout: the plain profile, exactly


def test_the_wobbling_wheel_scores_like_the_still_one() -> None:
    still = prepare_grid(_wobbling_grid(0.0, seed=2)[0], P).features
    wob = prepare_grid(_wobbling_grid(0.5, seed=2)[0], P).features
    for name in ("crack_z", "crack_low_z", "dep1_z", "fine_dep_z", "bulge1_z"):
        i = still.names.index(name)
        assert wob.values[i] < 1.3 * still.values[i] + 1.0, name


def test_a_crack_keeps_its_depth_on_a_wobbling_wheel() -> None:
    grid, _ = _wobbling_grid(0.5, seed=3, crack=True)
    still, _ = _wobbling_grid(0.0, seed=3, crack=True)
    d_wob = prepare_grid(grid, P).features.detections["crack_low"]
    d_still = prepare_grid(still, P).features.detections["crack_low"]
    assert d_wob.mm == pytest.approx(d_still.mm, rel=0.1)
    assert d_wob.col == 60


def test_shifted_profile_extrapolates_the_chamfer_slope() -> None:
    prof = np.array([0.0, 1.0, 2.0, 2.0, 2.0, 1.0, 0.0])
    out = shifted(prof, np.array([0.5, -0.5]))
    assert out[0, 0] == pytest.approx(-0.5) and out[1, -1] == pytest.approx(-0.5)
    assert out[0, 1] == pytest.approx(0.5) and out[1, 4] == pytest.approx(1.5)


def test_chamfer_columns_are_the_steep_edges_only() -> None:
    x = np.arange(120) * ACROSS
    prof = _profile(x + 1.5, 63.0)  # 1 mm of 45 degree chamfer left at each side
    edges = chamfer_columns(prof, ACROSS, 0.2, 3.0, reach=0.6)
    assert edges[:3].all() and edges[-3:].all()
    assert not edges[6:-6].any()
    worn = prof - 1.5 * np.exp(-0.5 * ((x - 30) / 4) ** 2)  # steep wear inside: kept
    assert not chamfer_columns(worn, ACROSS, 0.2, 3.0)[10:-10].any()


def test_background_just_below_the_chamfer_is_not_tread() -> None:
    x = np.arange(800) * 0.15
    prof = np.where((x > 20) & (x < 100), _profile(x - 20, 80.0), -4.0)  # 1.5 mm cliff
    h = np.repeat(prof[None, :], 300, axis=0).astype(np.float32)
    g = to_grid(RawHeights(h, None, x.astype(np.float32), 1.0, 300), P.grid)
    xs = x[g.col_of_col]
    assert xs.min() >= 20 and xs.max() <= 100


def test_the_shipped_model_scores_simulated_wobbling_good_wheels_good() -> None:
    from edge.simulator import random_camera, simulate_scan
    from edge.simulator.wheel import random_wheel
    from models.serving.scorer import Scorer

    scorer = Scorer.load(Path(__file__).parents[2] / "models" / "default")
    rng = np.random.default_rng(5)
    for _ in range(6):
        wheel = random_wheel(rng)
        cam = random_camera("ranger_e55", rng, tread_width_mm=wheel.tread_width_mm,
                            width=600, lines_per_rev=int(rng.integers(600, 1400)))
        state = rng.bit_generator.state
        scores = []
        for lateral in (0.0, 0.5):
            rng.bit_generator.state = state  # the same scan, with and without runout
            scan = simulate_scan(replace(wheel, lateral_mm=lateral), cam, rng)
            ws = scorer.score(scan.arrays, scan.traits, scan.calibration, wheel.diameter_mm)
            scores.append(ws.score)
        assert min(scores) >= 70 and abs(scores[1] - scores[0]) < 6, scores
