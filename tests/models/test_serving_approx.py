"""The phys-4 shortcuts of models/serving stay close to the computations they replaced.

Coarse-grid smoothing vs the full Gaussian, the sampled noise level vs all cells, the
tread's mean intensity without the intensity grid: same quantity, within stated bounds.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from models.serving.features import SD_FLOOR_MM, _block_mean, _Cells, _extremes, _smoothed
from models.serving.grid import _mean_intensity
from models.serving.residual import _fine_noise

RNG = np.random.default_rng(11)


@pytest.mark.parametrize(("rows", "cols", "br", "bc"), [(50, 40, 2, 4), (53, 41, 3, 6),
                                                        (20, 9, 1, 2)])
def test_block_mean_is_the_mean_of_each_block(rows: int, cols: int, br: int, bc: int) -> None:
    m = RNG.standard_normal((rows, cols)).astype(np.float32)
    got = _block_mean(m, br, bc)
    nr, nc = -(-rows // br), -(-cols // bc)
    assert got.shape == (nr, nc)
    ext = np.concatenate([m, m[: nr * br - rows]])  # rows go round the wheel
    ext = np.pad(ext, ((0, 0), (0, nc * bc - cols)))  # missing columns count as 0
    ref = ext.reshape(nr, br, nc, bc).mean(axis=(1, 3))
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("s", [2.5, 6.0])
@pytest.mark.parametrize("depth", [0.05, 0.5])
def test_coarse_smoothing_finds_what_the_full_gaussian_finds(s: float, depth: float) -> None:
    along, across = 1.0, 0.5
    rows, cols = 400, 120
    f = (RNG.standard_normal((rows, cols)) * 0.02).astype(np.float32)
    r0, c0 = int(RNG.integers(50, 350)), int(RNG.integers(30, 90))
    rr, cc = np.mgrid[:rows, :cols]
    pit = np.exp(-(((rr - r0) * along) ** 2 + ((cc - c0) * across) ** 2) / (2 * s**2))
    f -= (depth * pit).astype(np.float32)
    valid = np.ones(f.shape, dtype=bool)
    valid[:, :3] = False
    f[~valid] = 0.0
    cells = _Cells(valid)
    dep, _, sd, _, co = _smoothed(f, s, along, across, cells)
    assert co.br * co.bc > 1  # really on a coarser grid
    g = ndimage.gaussian_filter(f, (s / along, s / across), mode="wrap", truncate=3.0)
    ref, _, ref_sd = _extremes(g, cells)
    assert dep.mm == pytest.approx(ref.mm, rel=0.06)
    assert sd == pytest.approx(ref_sd, rel=0.1)
    assert abs(dep.row - ref.row) <= co.br and abs(dep.col - ref.col) <= co.bc
    assert max(ref_sd, SD_FLOOR_MM) > 0


def test_sampled_noise_level_is_the_full_one() -> None:
    r = (RNG.standard_normal((600, 100)) * 0.03).astype(np.float32)
    r[RNG.random(r.shape) < 0.05] = np.nan
    filled = np.where(np.isfinite(r), r, 0.0).astype(np.float32)
    fine = filled - ndimage.uniform_filter(filled, size=3, mode="wrap")
    full = 1.4826 * float(np.median(np.abs(fine[np.isfinite(r)]))) / 0.943
    assert _fine_noise(r, filled) == pytest.approx(full, rel=0.03)
    assert _fine_noise(np.full((8, 8), np.nan, np.float32), np.zeros((8, 8), np.float32)) == 1.0


def test_mean_intensity_is_the_mean_of_the_valid_tread_points() -> None:
    inten = RNG.integers(0, 4000, size=(70, 30)).astype(np.uint16)
    cols = np.arange(4, 25)
    ok = np.ones((cols.size + 1, 64), dtype=bool)  # (cols + 1, lines) as binned
    ok[:, ::5] = False
    got = _mean_intensity(inten, 64, cols, ok)
    ref = inten[:64][:, cols][ok[:-1].T].astype(np.float64).mean()
    assert got == pytest.approx(ref, rel=1e-12)
    assert _mean_intensity(inten, 64, cols, np.zeros_like(ok)) == 0.0


def test_leaving_out_the_intensity_grid_changes_no_feature() -> None:
    from edge.simulator.camera import ranger_e55
    from edge.simulator.scan import simulate_scan
    from edge.simulator.wheel import random_wheel
    from models.serving.pipeline import PreprocessParams, prepare

    rng = np.random.default_rng(3)
    scan = simulate_scan(random_wheel(rng), ranger_e55(width=600, lines_per_rev=300), rng)
    p = PreprocessParams()
    full = prepare(scan.arrays, scan.traits, scan.calibration, p)
    lean = prepare(scan.arrays, scan.traits, scan.calibration, p, intensity=False)
    np.testing.assert_array_equal(full.features.values, lean.features.values)
    assert full.grid.mean_intensity == lean.grid.mean_intensity > 0
    assert np.isfinite(full.grid.intensity).any() and np.isnan(lean.grid.intensity).all()
