"""The physics preprocessing: mm grid, nominal-shape removal, features (no training)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from models.serving.features import FEATURE_NAMES
from models.serving.grid import to_grid
from models.serving.inputs import RawHeights, raw_heights
from models.serving.pipeline import PreprocessParams, prepare
from schemas.errors import ScoringError
from tests.models.indep_gen import Setting, make_wheel

P = PreprocessParams()
SMALL = Setting(tread=(50.0, 60.0), lines=(500, 600), mm_per_col=(0.15, 0.2))


def _feat(w: object) -> dict[str, float]:
    prep = prepare(w.arrays, w.traits, w.calibration, P)  # type: ignore[attr-defined]
    return dict(zip(FEATURE_NAMES, prep.features.values.tolist(), strict=True))


def test_binning_averages_points_and_keeps_missing_as_nan() -> None:
    rng = np.random.default_rng(0)
    h = rng.normal(0, 0.05, (800, 600)).astype(np.float32)
    h[:, :40] = np.nan  # outside the tread: missing
    h[100, 200:260] = np.nan  # a dropout run
    raw = RawHeights(h, None, (np.arange(600) * 0.15).astype(np.float32), 1.07, 800)
    g = to_grid(raw, P.grid)
    assert g.height.shape[1] == pytest.approx((600 - 40) * 0.15 / 0.5 - 6, abs=3)
    # ~3.3 points per cell: the noise of a cell mean is well below the point noise
    assert 0.02 < float(np.nanstd(g.height)) < 0.035
    assert not np.isnan(g.height).all(axis=1).any()


def test_background_beside_the_tread_is_dropped_even_when_wider() -> None:
    h = np.zeros((400, 900), dtype=np.float32)
    h[:, :200] = -10.0  # flat background, lower than the tread, wider on one side
    h[:, 500:] = -10.0
    raw = RawHeights(h, None, (np.arange(900) * 0.2).astype(np.float32), 1.0, 400)
    g = to_grid(raw, P.grid)
    assert g.col_of_col.min() >= 200 and g.col_of_col.max() < 500


def test_calibration_gives_the_same_heights_for_both_camera_generations() -> None:
    feats = []
    for cam in ("e55", "ranger3", "rectified"):
        w = make_wheel(np.random.default_rng(3), Setting(camera=cam, lines=(600, 600)))
        rh = raw_heights(w.arrays, w.traits, w.calibration)
        assert np.isfinite(rh.height).mean() > 0.4
        feats.append(_feat(w))
    for f in feats[1:]:
        assert f["dep2.5_mm"] == pytest.approx(feats[0]["dep2.5_mm"], abs=0.03)


def test_nominal_shape_is_removed_down_to_the_noise() -> None:
    w = make_wheel(np.random.default_rng(5), SMALL)
    prep = prepare(w.arrays, w.traits, w.calibration, P)
    # crown up to 1.5 mm, runout 0.4 mm, wear 1.5 mm are gone: residual ~ cell noise
    assert float(np.nanstd(prep.res.r)) < 0.06
    assert prep.res.sigma < 0.06


@pytest.mark.parametrize("kind", ["chunking", "crack", "flat_spot", "blister"])
def test_small_defects_stand_out_of_the_good_wheel(kind: str) -> None:
    rng = np.random.default_rng(11)
    s = Setting(tread=(50.0, 60.0), lines=(500, 600), small_defects=True,
                diameter=(330.0, 360.0))
    goods = [_feat(make_wheel(rng, s)) for _ in range(3)]
    bad = _feat(make_wheel(rng, s, (kind,)))
    key = {"chunking": "dep2.5_z", "crack": "crack_low_z", "flat_spot": "flat_mm",
           "blister": "bulge6_mm"}[kind]
    assert bad[key] > 1.15 * max(g[key] for g in goods)


def test_intensity_changes_do_not_change_the_features() -> None:
    w = make_wheel(np.random.default_rng(8), SMALL)
    before = _feat(w)
    inten = w.arrays["Intensity"].astype(np.int32)
    inten[:, 100:140] //= 3  # a heat band
    inten[50:60, 200:210] = 5  # a dust speck
    w.arrays["Intensity"] = np.clip(inten, 1, 255).astype(np.uint8)
    assert _feat(w) == before


def test_unusable_scans_raise_a_typed_error() -> None:
    with pytest.raises(ScoringError, match="no range data"):
        raw_heights({"Intensity": np.zeros((10, 10), np.uint8)}, {}, None)
    w = make_wheel(np.random.default_rng(1), SMALL)
    w.arrays["Range"][:] = 0
    with pytest.raises(ScoringError, match="no tread"):
        prepare(w.arrays, w.traits, w.calibration, P)


def test_serving_never_imports_tensorflow_or_edge() -> None:
    code = ("import sys, models.serving.scorer, models.serving.pipeline; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'edge')];"
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
