"""More performance rewrites in models/serving, compared bit for bit with the plain
formulation they replaced (the awkward cases included: ties, NaN, edges, tiny inputs).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from models.serving.blocks import block_mean, mostly_valid
from models.serving.heatmap import _ANCHORS, _BINS, colourise
from models.serving.robust import PARTITION_MIN, mad, median, nanmedian

RNG = np.random.default_rng(11)


def _colourise_ref(z: np.ndarray, vmax: float = 12.0) -> np.ndarray:
    """The original per-value float64 interpolation."""
    u = np.clip(np.nan_to_num(z) / vmax, 0, 1) * (len(_ANCHORS) - 1)
    i = np.minimum(u.astype(int), len(_ANCHORS) - 2)
    f = (u - i)[..., None]
    return (_ANCHORS[i] * (1 - f) + _ANCHORS[i + 1] * f).astype(np.uint8)


def test_colour_table_is_the_interpolation() -> None:
    # every bin edge of the table (in evidence units) and its float32 neighbours
    edges = (np.arange((len(_ANCHORS) - 1) * _BINS + 1) / _BINS * 3).astype(np.float32)
    near, up, down = [edges], edges, edges
    for _ in range(3):
        up, down = np.nextafter(up, np.float32(np.inf)), np.nextafter(down, np.float32(0))
        near += [up, down]
    special = np.array([0, -0.0, 1e-45, 1e-38, 1e-20, -1, np.nan, np.inf, -np.inf, 12, 12.5,
                        3e38], dtype=np.float32)
    spread = (np.abs(RNG.standard_normal(200_000)) * 4).astype(np.float32)
    z = np.concatenate([*near, special, spread])
    np.testing.assert_array_equal(colourise(z), _colourise_ref(z))
    img = z[: 300 * 137].reshape(300, 137).T  # a transposed (non-contiguous) map
    got = colourise(img)
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, _colourise_ref(img))
    for dtype in (np.float64, np.int64):
        v = (spread[:1000] * 3).astype(dtype)
        np.testing.assert_array_equal(colourise(v, 7.3), _colourise_ref(v, 7.3))


@pytest.mark.parametrize(("shape", "axis"), [((9, 7, 64), 2), ((9, 7, 64), 1), ((40, 300), 1),
                                             ((300, 40), 0), ((5, 3), -1)])
def test_nanmedian_is_numpys_on_any_axis(shape: tuple[int, ...], axis: int) -> None:
    a = RNG.standard_normal(shape)
    a[RNG.random(shape) < 0.3] = np.nan
    a[(0,) * (len(shape) - 1)] = np.nan  # a slice without values (for axis -1)
    for dtype in (np.float32, np.float64):
        v = a.astype(dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices
            ref = np.nanmedian(v, axis)
        for arr in (v, np.asfortranarray(v)):  # (a moved axis may be a contiguous view)
            before = arr.copy()
            got = nanmedian(arr, axis)
            assert got.dtype == ref.dtype
            np.testing.assert_array_equal(got, ref)
            np.testing.assert_array_equal(arr, before)  # left alone
        np.testing.assert_array_equal(nanmedian(v.copy(), axis, overwrite=True), ref)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [PARTITION_MIN - 1, PARTITION_MIN, PARTITION_MIN + 1, 50001])
def test_partitioned_median_is_numpys(dtype: type, n: int) -> None:
    for ties in (0.0, 0.5, 0.9):
        v = (RNG.standard_normal(n) * 0.01).astype(dtype)
        v[RNG.random(n) < ties] = v[1]  # many equal values about the middle
        before = v.copy()
        got, ref = median(v), np.median(v)
        assert got.dtype == ref.dtype and got == ref
        np.testing.assert_array_equal(v, before)  # left alone
        assert median(v.copy(), overwrite=True) == ref
        assert median(v[::-1][:100]) == np.median(v[::-1][:100])  # a strided view
        assert mad(v) == 1.4826 * float(np.median(np.abs(v - np.median(v)))) + 1e-6
    v[RNG.integers(n)] = np.nan  # anywhere: the median is NaN
    assert np.isnan(median(v)) and np.isnan(np.median(v))


def _block_mean_ref(m: np.ndarray, br: int, bc: int) -> np.ndarray:
    """The original formulation: a zero pad, rows then columns added in place."""
    rows, cols = m.shape
    nr, nc = -(-rows // br), -(-cols // bc)
    pad = np.zeros((nr * br, nc * bc), dtype=np.float32)
    pad[:rows, :cols] = m
    if nr * br > rows:
        pad[rows:, :cols] = m[: nr * br - rows]
    rsum = pad[::br].copy()
    for i in range(1, br):
        rsum += pad[i::br]
    out = rsum[:, ::bc].copy()
    for j in range(1, bc):
        out += rsum[:, j::bc]
    out *= np.float32(1 / (br * bc))
    return out


@pytest.mark.parametrize(("rows", "cols"), [(60, 48), (61, 47), (17, 5)])
@pytest.mark.parametrize(("br", "bc"), [(1, 1), (1, 2), (2, 1), (3, 6), (4, 4), (16, 20)])
def test_block_means_and_valid_blocks_are_the_original(rows: int, cols: int, br: int,
                                                        bc: int) -> None:
    m = RNG.standard_normal((rows, cols)).astype(np.float32)
    before = m.copy()
    got = block_mean(m, br, bc)
    np.testing.assert_array_equal(got, _block_mean_ref(m, br, bc))
    np.testing.assert_array_equal(m, before)  # the input is left alone
    for frac in (0.1, 0.5, 0.9):
        valid = RNG.random((rows, cols)) < frac
        ref = _block_mean_ref(valid.astype(np.float32), br, bc) >= 0.5
        np.testing.assert_array_equal(mostly_valid(valid, br, bc), ref)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32])
def test_mean_intensity_is_the_float64_sum(dtype: type) -> None:
    from models.serving.grid import _mean_intensity, _tread_t

    lines, width = 90, 70
    h = RNG.standard_normal((lines + 5, width)).astype(np.float32)
    h[RNG.random(h.shape) < 0.3] = np.nan
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "ui" else None
    lo, hi = (int(info.min), int(info.max)) if info else (0, 4e3)
    inten = RNG.uniform(lo, hi, size=h.shape).astype(dtype)
    if info is None:
        inten[RNG.random(h.shape) < 0.05] = np.nan
    cols = np.arange(4, 61)
    ok = np.isfinite(_tread_t(h, lines, cols))
    sel = np.take(inten[:lines], cols, axis=1)
    okt = ok[:-1].T
    ref = float(np.sum(sel, where=okt & np.isfinite(sel), dtype=np.float64)) / np.count_nonzero(okt)
    before = inten.copy()
    assert _mean_intensity(inten, lines, cols, ok) == ref
    np.testing.assert_array_equal(inten, before)
    assert _mean_intensity(inten, lines, cols, np.zeros_like(ok)) == 0.0


def _shifted_ref(profile: np.ndarray, shift: np.ndarray, dtype: type) -> np.ndarray:
    """The original formulation: one fancy-indexed block of rows per integer offset."""
    n = profile.size
    k = np.floor(-shift).astype(np.int64)
    f = (-shift - k)[:, None]
    pad = int(np.abs(k).max()) + 2
    steps = np.arange(1, pad + 1)
    ext = np.concatenate([profile[0] - (profile[1] - profile[0]) * steps[::-1], profile,
                          profile[-1] + (profile[-1] - profile[-2]) * steps])
    diff = np.diff(ext)
    out = np.empty((shift.size, n), dtype=dtype)
    for kk in np.unique(k):
        rows = np.flatnonzero(k == kk)
        lo = pad + int(kk)
        out[rows] = ext[lo : lo + n][None, :] + f[rows] * diff[lo : lo + n][None, :]
    return out


@pytest.mark.parametrize("amp", [0.0, 0.3, 2.5, 9.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shifted_profile_is_the_original(amp: float, dtype: type) -> None:
    from models.serving.register import shifted

    profile = np.cumsum(RNG.standard_normal(57))
    t = 2 * np.pi * np.arange(300) / 300
    shift = amp * np.sin(t + RNG.uniform(0, 6)) + 0.3 * amp * np.cos(3 * t)
    shift[::7] = np.round(shift[::7])  # whole columns
    got = shifted(profile, shift, dtype)
    ref = _shifted_ref(profile, shift, dtype)
    assert got.dtype == ref.dtype
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("shape", [(300, 70), (40, 9), (5, 3)])
@pytest.mark.parametrize("sigma", [(1.0, 2.0), (2.5, 2.487), (1.98, 0.5), (0.0, 1.3), (0.0, 0.0)])
def test_gaussian_is_scipys(shape: tuple[int, int], sigma: tuple[float, float]) -> None:
    from scipy import ndimage

    from models.serving.gauss import gaussian

    f = (RNG.standard_normal(shape) * 0.05).astype(np.float32)
    for truncate in (3.0, 4.0):
        ref = ndimage.gaussian_filter(f, sigma, mode="wrap", truncate=truncate,
                                      output=np.float32)
        got = gaussian(f, sigma, truncate, dtype=np.float32)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, ref)
    for v in (f, f.astype(np.float64), f[::2, ::-1]):  # output dtype of the input
        ref = ndimage.gaussian_filter(v, sigma, mode="nearest")
        got = gaussian(v, sigma, 4.0, "nearest")
        assert got.dtype == ref.dtype
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("shape", [(101, 40), (9, 1), (8, 2)])
def test_fine_noise_is_the_rolled_box_formulation(shape: tuple[int, int]) -> None:
    from models.serving.residual import _fine_noise

    r = (RNG.standard_normal(shape) * 0.03).astype(np.float32)
    r[RNG.random(shape) < 0.2] = np.nan
    filled = np.where(np.isfinite(r), r, np.float32(0))
    idx = np.arange(0, shape[0], 4)
    mid = filled[idx]
    s3 = filled[idx - 1] + mid + filled[(idx + 1) % shape[0]]
    box = (s3 + np.roll(s3, 1, axis=1) + np.roll(s3, -1, axis=1)) / np.float32(9)
    ok = np.isfinite(r[idx])
    ref = 1.4826 * float(np.median(np.abs((mid - box)[ok]))) / 0.943 if ok.any() else 1.0
    assert _fine_noise(r, filled) == ref


@pytest.mark.parametrize("fill", [0.0, -0.0, 0.3, np.nan])
@pytest.mark.parametrize("spread", [True, False])
def test_extremes_without_a_copy_are_the_original(fill: float, spread: bool) -> None:
    from models.serving.features import SD_FLOOR_MM, _Cells, _detections, _extremes

    m = (RNG.standard_normal((70, 30)) * 0.02).astype(np.float32)
    valid = RNG.random(m.shape) > 0.1
    valid[:, :2] = False
    m[~valid] = fill
    cells = _Cells(valid)
    lo = m.copy()
    lo.flat[cells.invalid] = 0.0
    sd = max(mad(m.ravel()[cells.sample]), SD_FLOOR_MM) if spread else 1.0
    i, j = int(np.argmin(lo)), int(np.argmax(lo))
    ref = (*_detections((i, lo.flat[i]), (j, lo.flat[j]), sd, m.shape[1]), sd)
    before = m.copy()
    assert repr(_extremes(m, cells, spread=spread)) == repr(ref)
    np.testing.assert_array_equal(m.view(np.uint32), before.view(np.uint32))
    assert repr(_extremes(m.copy(), cells, spread=spread, scratch=True)) == repr(ref)


@pytest.mark.parametrize("n", [7, 400, 862, 1131])
def test_cached_circle_basis_is_the_harmonic_basis(n: int) -> None:
    from models.serving.register import _harmonic_basis, circle_basis

    t = 2 * np.pi * np.arange(n) / n
    for k in (4, 3, 1):
        got = circle_basis(n, k)
        np.testing.assert_array_equal(got, _harmonic_basis(t, k))
        got[:] = 0  # a new array each time: the cached columns are untouched
        np.testing.assert_array_equal(circle_basis(n, k), _harmonic_basis(t, k))


def test_missing_share_is_one_minus_the_mean_of_valid() -> None:
    for frac in (0.0, 0.013, 0.3, 0.999):
        for shape in ((862, 137), (1131, 219), (3, 5)):
            valid = RNG.random(shape) > frac
            assert 1.0 - np.count_nonzero(valid) / valid.size == float(1.0 - valid.mean())
