"""The performance rewrites in models/serving give exactly the straightforward results.

Each fast path is compared bit for bit with the plain NumPy/SciPy formulation it
replaced, on random inputs with the awkward cases (ties, NaN, tiny arrays, short bins).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import ndimage

from models.serving.features import ANGLES, CRACK_MM, LINE_STEP_MM, _line_filter
from models.serving.grid import _bin_index, _counts, _tread_t
from models.serving.residual import _running_median, _upsample
from models.serving.robust import mad, median, nanmedian

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 10, 101, 20000, 20001])
def test_median_and_mad_are_numpys(dtype: type, n: int) -> None:
    for _ in range(5):
        v = (RNG.standard_normal(n) * RNG.uniform(1e-3, 1e3)).astype(dtype)
        v[RNG.random(n) < 0.3] = np.round(v[0], 1)  # ties
        got, ref = median(v), np.median(v)
        assert got.dtype == ref.dtype and got == ref
        assert mad(v) == 1.4826 * float(np.median(np.abs(v - np.median(v)))) + 1e-6
    v[n // 2] = np.nan
    assert np.isnan(median(v)) and np.isnan(np.median(v))


@pytest.mark.parametrize("axis", [0, 1])
def test_nanmedian_is_numpys(axis: int) -> None:
    a = RNG.standard_normal((37, 23)).astype(np.float32)
    a[RNG.random(a.shape) < 0.3] = np.nan
    a[:, 3] = np.nan
    a[5, :] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices
        for sub in (a, a[::2], a[:, ::3]):
            np.testing.assert_array_equal(nanmedian(sub, axis), np.nanmedian(sub, axis))


@pytest.mark.parametrize("rows", [1, 4, 9, 19, 20, 109])
@pytest.mark.parametrize("win", [3, 5, 19])
def test_running_median_is_the_median_filter(rows: int, win: int) -> None:
    c = RNG.standard_normal((rows, 6)).astype(np.float32)
    c[RNG.random(c.shape) < 0.2] = 0.0  # ties
    ref = ndimage.median_filter(c, size=(win, 1), mode="wrap")
    np.testing.assert_array_equal(_running_median(c, win), ref)


def test_upsample_is_the_plain_bilinear_formula() -> None:
    c = RNG.standard_normal((13, 5)).astype(np.float32)
    shape, br, bc = (101, 37), 8, 8
    ri = (np.arange(shape[0]) + 0.5) / br - 0.5
    i0 = np.floor(ri).astype(int)
    fr = (ri - i0)[:, None].astype(c.dtype)  # weights in the map's precision
    i0 %= c.shape[0]
    i1 = (i0 + 1) % c.shape[0]
    ci = np.clip((np.arange(shape[1]) + 0.5) / bc - 0.5, 0, c.shape[1] - 1)
    j0 = np.floor(ci).astype(int)
    fc = (ci - j0)[None, :].astype(c.dtype)
    j1 = np.minimum(j0 + 1, c.shape[1] - 1)
    top = c[i0][:, j0] * (1 - fc) + c[i0][:, j1] * fc
    bot = c[i1][:, j0] * (1 - fc) + c[i1][:, j1] * fc
    np.testing.assert_array_equal(_upsample(c, shape, br, bc), top * (1 - fr) + bot * fr)


def _line_filter_2d(f: np.ndarray, along_mm: float, across_mm: float) -> np.ndarray:
    """The original formulation: shifted 2-D windows of the padded map."""
    rows, cols = f.shape
    steps = np.arange(-CRACK_MM / 2, CRACK_MM / 2 + 1e-9, LINE_STEP_MM)
    pr = int(np.ceil(CRACK_MM / 2 / along_mm)) + 1
    pc = int(np.ceil(CRACK_MM / 2 / across_mm)) + 1
    pad = np.pad(f, ((pr, pr), (pc, pc)), mode="constant")
    best = np.full(f.shape, np.inf, dtype=np.float32)
    for ang in ANGLES:
        a = np.deg2rad(ang)
        offs = {(round(t * np.cos(a) / along_mm), round(t * np.sin(a) / across_mm))
                for t in steps}
        acc = np.zeros(f.shape, dtype=np.float32)
        for dr, dc in offs:
            acc += pad[pr + dr : pr + dr + rows, pc + dc : pc + dc + cols]
        np.minimum(best, acc / len(offs), out=best)
    return best


@pytest.mark.parametrize("band", [100, 65536])
@pytest.mark.parametrize(("along", "across"), [(1.0, 0.5), (0.7, 0.3), (2.0, 1.0)])
def test_line_filter_is_the_2d_formulation(along: float, across: float, band: int,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import models.serving.features as features

    monkeypatch.setattr(features, "LINE_BAND", band)  # several bands of rows, or one
    f = (RNG.standard_normal((61, 29)) * 0.05).astype(np.float32)
    f[RNG.random(f.shape) < 0.1] = 0.0
    got = _line_filter(f, along, across)
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, _line_filter_2d(f, along, across))


def test_counts_and_tread_gather_match_plain_indexing() -> None:
    h = RNG.standard_normal((50, 40)).astype(np.float32)
    h[RNG.random(h.shape) < 0.3] = np.nan
    cols = np.arange(5, 33)
    t = _tread_t(h, 44, cols)
    np.testing.assert_array_equal(t[:-1], h[:44].T[cols])
    ok = np.isfinite(t)
    cidx, nc = _bin_index(np.arange(cols.size) * 0.15, 0.5)
    ridx, nr = _bin_index(np.arange(44) * 1.3, 1.0)
    got = _counts(ok, cidx, nc, ridx, nr)
    assert got.dtype == np.float32
    ref = np.zeros((nr, nc), dtype=np.float32)
    np.add.at(ref, (ridx[None, :], cidx[:, None]), ok[:-1].astype(np.float32))
    # cells without source points repeat their next source line/column (as the sums do)
    filled = np.flatnonzero(np.bincount(ridx, minlength=nr))
    np.testing.assert_array_equal(got[filled][:, np.unique(cidx)], ref[filled][:, np.unique(cidx)])


def test_lowest_point_binning_ignores_missing_points() -> None:
    from models.serving.grid import _bin2d

    v = RNG.standard_normal((120, 90)).astype(np.float32)
    v[RNG.random(v.shape) < 0.4] = np.nan
    v[:, 7] = np.nan  # a column without data
    cidx, nc = _bin_index(np.arange(90) * 0.15, 0.5)
    ridx, nr = _bin_index(np.arange(120) * 0.6, 1.0)
    got = _bin2d(v, cidx, nc, ridx, nr, np.fmin)
    ref = _bin2d(np.where(np.isfinite(v), v, np.inf), cidx, nc, ridx, nr, np.minimum)
    np.testing.assert_array_equal(got, np.where(np.isfinite(ref), ref, np.nan))
    assert np.isnan(got).any()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32])
def test_integer_intensity_sums_equal_the_float32_sums(dtype: type) -> None:
    from models.serving.grid import _bin2d_t, _intensity_sums

    lines, width = 70, 60
    h = RNG.standard_normal((lines, width)).astype(np.float32)
    h[RNG.random(h.shape) < 0.2] = np.nan
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "ui" else None
    lo, hi = (int(info.min), int(info.max)) if info else (-1e3, 1e3)
    inten = RNG.uniform(lo, hi, size=h.shape).astype(dtype)
    cols = np.arange(3, 50)
    ok = np.isfinite(_tread_t(h, lines, cols))
    bins = (*_bin_index(np.arange(cols.size) * 0.12, 0.5), *_bin_index(np.arange(lines) * 0.4,
                                                                         1.0))
    ref_in = np.where(ok, _tread_t(inten, lines, cols), np.float32(0))
    ref = _bin2d_t(ref_in, bins[0], bins[1], bins[2], bins[3], np.add)
    got = _intensity_sums(inten, lines, cols, ok, bins)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, ref)


def test_valid_fraction_is_the_mean_of_finite_points() -> None:
    from models.serving.grid import _valid_fraction

    h = RNG.standard_normal((301, 77)).astype(np.float32)
    h[RNG.random(h.shape) < 0.45] = np.nan
    h[:, 5] = np.inf
    np.testing.assert_array_equal(_valid_fraction(h), np.isfinite(h).mean(axis=0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 5, 199, 200, 201, 20001, 105000])
@pytest.mark.parametrize("q", [0.0, 0.5, 1.0, 50.0, 99.5, 100.0])
def test_percentile_is_numpys(dtype: type, n: int, q: float) -> None:
    from models.serving.robust import percentile

    v = (RNG.standard_normal(n) * 3 + 40).astype(dtype)
    v[RNG.random(n) < 0.2] = np.round(v[0], 1)  # ties
    got, ref = percentile(v, q), np.percentile(v, q)
    assert got == ref and np.asarray(got).dtype == np.asarray(ref).dtype
