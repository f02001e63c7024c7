"""The blind generator follows WHEELS.md: encodings decode to the heights it meant."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from edge.sick import read_scan
from schemas.calibration import Calibration, height_mm
from tests.blind.gen import CAMERAS, make_dataset
from tests.blind.gen import camera as cam_mod
from tests.blind.gen.defects import chunk_stamp, flat_stamp
from tests.blind.gen.params import CATALOGUE, WHEEL_RANGES, sample_wheel
from tests.blind.gen.surface import clean_height, make_grid


def _decode(dat: Path, cam: cam_mod.CameraSpec) -> np.ndarray:
    scan = read_scan(dat)
    name = "Range R" if "Range R" in scan.arrays else "Range"
    cal = Calibration(mm_per_col=cam.mm_per_col, mm_per_row=max(cam.mm_per_row, 1e-3),
                      mm_per_line=cam.mm_per_line)
    return height_mm(np.asarray(scan.arrays[name]), scan.traits, cal)


def _wheel(cam: cam_mod.CameraSpec, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    w = sample_wheel(rng, cam.diameter, cam.tread)
    g = make_grid(rng, w, cam.mm_per_line, cam.width, cam.mm_per_col)
    h, _ = clean_height(rng, w, g)
    return rng, w, g, h


@pytest.mark.parametrize("name", ["e55_site", "r3_site", "float_nan", "float_zero"])
@pytest.mark.parametrize("depth", [1.0, 3.0])
def test_chunk_depth_decodes_to_a_depression_of_that_depth(tmp_path: Path, name: str,
                                                            depth: float) -> None:
    cam = CAMERAS[name]
    rng, w, g, h = _wheel(cam, 7)
    st = chunk_stamp(rng, {"a_mm": 8.0, "b_mm": 6.0, "depth_mm": depth}, g, w, h)
    h1 = h.copy()
    h1[st.rows] += st.dh
    inten = np.full(h.shape, 120.0)
    for tag, hh in (("a", h), ("b", h1)):
        cam_mod.write(tmp_path / f"{tag}.dat", cam, hh, inten, g.x, np.random.default_rng(1))
    diff = _decode(tmp_path / "b.dat", cam) - _decode(tmp_path / "a.dat", cam)
    floor = np.zeros(h.shape, bool)
    floor[st.rows] = st.dh < -0.95 * depth
    assert floor.sum() > 20
    got = float(np.nanmedian(diff[floor]))
    assert got == pytest.approx(-depth, abs=0.12 * depth + 0.01)


def test_flat_spot_depth_is_chord_squared_over_8r() -> None:
    cam = CAMERAS["e55_coarse"]
    rng, w, g, h = _wheel(cam, 3)
    chord = 40.0
    st = flat_stamp(rng, {"chord_mm": chord}, g, w, h)
    want = chord**2 / (8 * w.radius_mm)
    assert st.extra["depth_mm"] == pytest.approx(want)
    assert float(-st.dh.min()) == pytest.approx(want, rel=0.25, abs=0.05)


def _in(v: float, lo: float, hi: float) -> bool:
    return lo - 1e-9 <= v <= hi + 1e-9


@pytest.fixture(scope="module")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("blind")
    recs: list[dict] = []
    for i, name in enumerate(["e55_fine", "r3_fine", "float_neg", "e55_rangeonly"]):
        recs += make_dataset(out / name, 2, 3, name, seed=i, size_mix=0.5)
    return out, recs


def test_dataset_files_labels_and_truth(small_set: tuple[Path, list[dict]]) -> None:
    out = small_set[0]
    for name in ["e55_fine", "r3_fine", "float_neg", "e55_rangeonly"]:
        rows = list(csv.DictReader((out / name / "labels.csv").open()))
        assert [r["label"] for r in rows].count("bad") == 3
        for r in rows:
            scan = read_scan(out / name / r["file"])
            truth = json.loads((out / name / r["file"].replace(".dat", ".blind.json")).read_text())
            assert truth["label"] == r["label"]
            assert (r["label"] == "bad") == bool(truth["defects"])
            assert 400 <= scan.lines <= 3000
    e55 = read_scan(next((out / "e55_fine").glob("*.dat"))).traits
    r3 = read_scan(next((out / "r3_fine").glob("*.dat"))).traits
    assert (e55["scale z"], e55["fov z2"]) == ("-0.0625", "8191")
    assert (r3["scale z"], r3["fov z2"]) == ("0.0625", str(1024 * 16 - 1))


def test_parameters_within_wheels_md(small_set: tuple[Path, list[dict]]) -> None:
    _, recs = small_set
    for rec in recs:
        wheel = rec["wheel"]
        for key, (lo, hi) in WHEEL_RANGES.items():
            if key in wheel:
                assert _in(wheel[key], lo, hi), (key, wheel[key])
        assert all(_in(s[2], 0.0, 0.15) for s in wheel["seams"])
        for d in rec["defects"]:
            for key, val in d["params"].items():
                assert _in(val, *CATALOGUE[d["type"]][key]), (d["type"], key, val)
            assert d["visible_points"] >= 6


def test_benign_dropouts_at_most_two_percent(small_set: tuple[Path, list[dict]]) -> None:
    out, recs = small_set
    for rec in recs:
        assert rec["benign_dropout_frac"] <= 0.02
        if rec["label"] != "good":
            continue
        cam = CAMERAS[rec["camera"]]
        h = _decode(out / rec["camera"] / rec["file"], cam)
        # tread columns: seen on most lines; missing fraction there stays within 2 %
        seen = np.mean(np.isfinite(h), axis=0)
        tread_cols = seen > 0.9
        assert tread_cols.sum() > 0.5 * rec["wheel"]["tread_mm"] / cam.mm_per_col
        assert float(np.mean(~np.isfinite(h[:, tread_cols]))) <= 0.02


def test_harsh_wheels_stay_inside_wheels_md() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        w = sample_wheel(rng, (150.0, 360.0), (50.0, 110.0), harsh=True)
        for key, (lo, hi) in WHEEL_RANGES.items():
            if hasattr(w, key):
                assert _in(getattr(w, key), lo, hi), key
        assert w.runout_mm >= 0.3 and w.noise_mm >= 0.065 and w.dropout_frac >= 0.015
        assert all(_in(s[2], 0.0, 0.15) for s in w.seams)


def test_wobble_knob_changes_only_the_lateral_runout(tmp_path: Path) -> None:
    a = make_dataset(tmp_path / "a", 1, 1, "r3_fine", seed=4)
    b = make_dataset(tmp_path / "b", 1, 1, "r3_fine", seed=4, wobble_mm=0.0)
    for ra, rb in zip(a, b, strict=True):
        assert rb["wheel"]["lateral_wobble_mm"] == 0.0
        assert ra["wheel"]["diameter_mm"] == rb["wheel"]["diameter_mm"]
        assert [d["type"] for d in ra["defects"]] == [d["type"] for d in rb["defects"]]
