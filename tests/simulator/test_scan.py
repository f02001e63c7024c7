"""Simulated scans through the cameras, decoded the way the edge decodes them."""

from __future__ import annotations

import time

import numpy as np
import pytest

from edge.simulator import (
    Blister,
    Chunking,
    Crack,
    FlatSpot,
    ScanConditions,
    WheelSpec,
    calibrated,
    decode_height,
    encode_range,
    random_camera,
    random_wheel,
    ranger3,
    ranger_e55,
    simulate_scan,
)
from schemas.calibration import float_missing, height_mm

WHEEL = WHEEL_NOISY = WheelSpec(diameter_mm=300, tread_width_mm=80, crown_mm=0.6, noise_mm=0.05)
QUIET = ScanConditions(dropout_frac=0.0)
CAMERAS = {
    "ranger_e55": ranger_e55(width=1200, lines_per_rev=700, mm_per_col=0.07),
    "ranger3": ranger3(width=1200, lines_per_rev=700, mm_per_col=0.07, scatter=True),
    "calibrated": calibrated(width=1200, lines_per_rev=700, mm_per_col=0.07),
    "rectified": calibrated(width=1200, lines_per_rev=700, mm_per_col=0.07, rectified=True),
}


def decoded(scan) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Height in mm via schemas.calibration, as the edge and the models decode it."""
    name = "Range R" if "Range R" in scan.arrays else "Range"
    return height_mm(scan.arrays[name], scan.traits, scan.calibration).astype(np.float64)


def pair(defect, cam, seed: int = 11):  # type: ignore[no-untyped-def]
    good = simulate_scan(WHEEL, cam, np.random.default_rng(seed), conditions=QUIET)
    bad = simulate_scan(WHEEL, cam, np.random.default_rng(seed), conditions=QUIET,
                        defects=[defect])
    return good, bad


def ring_depth(h: np.ndarray, scan, t: dict, inner: float, outer: float) -> float:  # type: ignore[no-untyped-def]
    """Median height of a ring around the defect centre minus the median of its core."""
    da = scan.along_mm[:, None] - t["along_mm"]
    dc = scan.across_mm[None, :] - t["across_mm"]
    r = np.hypot(da, dc)
    return float(np.nanmedian(h[(r > outer) & (r < outer + 2.0)]) - np.nanmedian(h[r < inner]))


@pytest.mark.parametrize("model", sorted(CAMERAS))
@pytest.mark.parametrize("depth", [1.0, 4.0, 8.0])
def test_chunk_of_depth_d_decodes_as_depression_of_depth_d(model: str, depth: float) -> None:
    cam = CAMERAS[model]
    good, bad = pair(Chunking(400.0, 40.0, 8.0, 8.0, depth, dropout_frac=0.1), cam)
    h = decoded(bad)
    t = bad.truth["defects"][0]
    noise = WHEEL.noise_mm + 0.03 + 0.01 * depth
    assert ring_depth(h, bad, t, 3.0, 9.0) == pytest.approx(depth, abs=3 * noise + 0.1)
    diff = h - decoded(good)
    core = np.hypot(bad.along_mm[:, None] - 400.0, bad.across_mm[None, :] - 40.0) < 5.0
    assert np.nanmedian(diff[core]) == pytest.approx(-depth, abs=noise)
    assert np.isnan(h[core]).any()  # some dropouts inside
    assert bad.label == "bad" and good.label == "good" and t["kind"] == "chunking"
    line, col = t["line"], t["column"]
    assert abs(bad.along_mm[line] - 400.0) < 1.0 and abs(bad.across_mm[col] - 40.0) < 0.1


@pytest.mark.parametrize("model", sorted(CAMERAS))
def test_crack_flat_spot_blister_magnitudes(model: str) -> None:
    cam = CAMERAS[model]
    # a crack narrower than the pixel footprint across it reads shallower (area sampling)
    pitch = WHEEL.circumference_mm / cam.lines_per_rev
    a = np.radians(20.0)
    footprint = np.cos(a) * pitch + np.sin(a) * cam.mm_per_col
    crack_depth = 2.5 * min(1.0, 1.2 / footprint)
    cases = [
        (Crack(400.0, 40.0, 30.0, 1.2, 2.5, angle_deg=20.0), -crack_depth, 0.15),
        (FlatSpot(400.0, 60.0, WHEEL.radius_mm, 0.0, 80.0), -(60.0**2) / (8 * 150.0), 0.05),
        (Blister(400.0, 40.0, 15.0, 1.8), 1.8, 0.05),
    ]
    for defect, extreme, tol in cases:
        good, bad = pair(defect, cam)
        diff = decoded(bad) - decoded(good)
        got = np.nanmin(diff) if extreme < 0 else np.nanmax(diff)
        assert got == pytest.approx(extreme, abs=tol), defect.kind
        far = np.abs(bad.along_mm - 400.0) > 80
        assert np.nanmax(np.abs(diff[far])) < 1e-6, defect.kind  # nothing elsewhere


def _block_means(res: np.ndarray, rows: int, cols: int) -> np.ndarray:
    n, m = res.shape[0] // rows, res.shape[1] // cols
    blocks = res[: n * rows, : m * cols].reshape(n, rows, m, cols)
    valid = np.isfinite(blocks).sum(axis=(1, 3))
    sums = np.nansum(blocks, axis=(1, 3))
    return np.where(valid >= rows * cols / 2, sums / np.maximum(valid, 1), 0.0)


@pytest.mark.parametrize("seed", range(6))
def test_good_wheels_have_no_local_deviation_beyond_noise_and_benign(seed: int) -> None:
    rng = np.random.default_rng(seed)
    wheel = random_wheel(rng)
    cam = random_camera(("ranger_e55", "ranger3", "calibrated")[seed % 3], rng,
                        tread_width_mm=wheel.tread_width_mm, width=1024, lines_per_rev=600)
    scan = simulate_scan(wheel, cam, rng)
    assert scan.label == "good" and scan.truth["defects"] == []
    h = decoded(scan)
    c0, c1 = scan.truth["tread_columns"]
    margin = int((wheel.chamfer_mm + 1.0) / cam.mm_per_col)
    inner = h[:, c0 + margin: c1 - margin]
    res = inner - np.nanmedian(inner, axis=0)[None, :]  # tread profile (crown, wear)
    res -= np.nanmedian(res, axis=1)[:, None]  # runout, axial seams
    assert np.nanmax(np.abs(res)) < 6.5 * wheel.noise_mm + 0.15 + cam.value_step_mm
    pitch = wheel.circumference_mm / cam.lines_per_rev
    local = _block_means(res, max(1, int(2 / pitch)), max(1, int(2 / cam.mm_per_col)))
    assert np.nanmax(np.abs(local)) < 0.15  # no defect-sized blob (smallest: 0.4 mm)


@pytest.mark.parametrize("seed", range(9))
def test_dropouts_stay_within_two_percent_of_tread_points(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    wheel = random_wheel(rng)
    model = ("ranger_e55", "ranger3", "calibrated")[seed % 3]
    cam = random_camera(model, rng, tread_width_mm=wheel.tread_width_mm, width=1024,
                        lines_per_rev=500)
    scan = simulate_scan(wheel, cam, rng)
    c0, c1 = scan.truth["tread_columns"]
    frac = np.isnan(decoded(scan)[:, c0:c1 + 1]).mean()  # incl. out of the window
    assert frac <= 0.02
    assert frac == pytest.approx(scan.conditions.dropout_frac, abs=0.002)


def test_dropouts_come_scattered_and_as_short_runs_along_lines() -> None:
    cond = ScanConditions(dropout_frac=0.02, dropout_run_share=0.5)
    scan = simulate_scan(WHEEL, CAMERAS["ranger_e55"], np.random.default_rng(3), conditions=cond)
    c0, c1 = scan.truth["tread_columns"]
    miss = scan.arrays["Range"][:, c0:c1 + 1] == 0
    pairs = (miss[:, 1:] & miss[:, :-1]).sum()
    assert 0.2 * miss.sum() < pairs < 0.8 * miss.sum()


@pytest.mark.parametrize("model", ["ranger_e55", "ranger3", "calibrated"])
def test_range_is_quantised_to_one_sixteenth_row(model: str) -> None:
    cam = {"ranger_e55": ranger_e55(), "ranger3": ranger3(sensor_rows=512),
           "calibrated": calibrated()}[model]
    h = np.linspace(-cam.window_mm * 1.1, cam.headroom_mm * 0.99, 10001)
    v = encode_range(h, cam)
    ok = v > 0
    assert v.dtype == np.uint16 and v.max() <= cam.fov_z2
    err = decode_height(v, cam)[ok] - h[ok]
    assert np.abs(err).max() <= cam.value_step_mm / 2 + 1e-9
    assert cam.value_step_mm == pytest.approx(cam.mm_per_row / 16)
    assert not ok[0]  # below the measurement window: missing, as the camera reports it
    assert encode_range(np.array([np.nan]), cam)[0] == 0


def test_decoding_matches_schemas_calibration_up_to_a_constant() -> None:
    for cam in CAMERAS.values():
        scan = simulate_scan(WHEEL, cam, np.random.default_rng(1))
        offset = decoded(scan) - scan.height_mm
        assert np.nanmax(offset) - np.nanmin(offset) <= cam.value_step_mm * 1.01


def test_traits_match_the_camera_generation() -> None:
    rng = np.random.default_rng(0)
    e = simulate_scan(WHEEL, ranger_e55(lines_per_rev=400), rng)
    assert (e.component_name, e.component_valuetype, e.traits_tag) == (
        "Hi3D 1", "DCM", "sensorrangetraits")
    assert e.traits["scale z"] == "-0.0625" and e.traits["origin z"] == "510.875"
    assert e.traits["fov z2"] == "8191" and e.traits["fov x1"] == "1535"
    assert list(e.arrays) == ["Mark", "Intensity", "Range"]
    assert e.arrays["Mark"].shape == (e.truth["lines"], 2) and e.arrays["Mark"].dtype == np.int32
    r = simulate_scan(WHEEL, ranger3(width=2560, sensor_rows=832, lines_per_rev=400,
                                     scatter=True), rng)
    assert (r.component_name, r.component_valuetype) == ("Ranger3Range", "Hi3D")
    assert r.traits["scale z"] == "0.0625" and r.traits["fov z2"] == str(832 * 16 - 1)
    assert list(r.arrays) == ["Range", "Intensity", "Scatter", "Mark"]
    assert r.arrays["Mark"].shape[1] == 5 and r.arrays["Range"].shape[1] == 2560
    for missing in ("zero", "nan", "neg1e6"):
        c = simulate_scan(WHEEL, calibrated(float_missing=missing, lines_per_rev=400,
                                            outside="missing", width=1300), rng)
        assert c.traits_tag == "worldrangetraits"
        assert c.arrays["Range R"].dtype == np.float32 and "Range X" in c.arrays
        gone = float_missing(c.arrays["Range R"])
        assert gone.any()
        assert np.all(float_missing(c.arrays["Range X"]) == gone)
        assert np.nanmedian(decoded(c)) == pytest.approx(100.0, abs=2.0)
    rect = simulate_scan(WHEEL, calibrated(rectified=True, lines_per_rev=400), rng)
    assert rect.traits_tag == "genistreamtraits" and list(rect.arrays) == ["Range", "Intensity"]
    assert rect.arrays["Range"].dtype == np.uint16
    assert np.nanmax(np.abs(decoded(rect) - 100.0 - rect.height_mm)) <= 0.01
    with pytest.raises(ValueError):
        ranger_e55(width=2000)
    with pytest.raises(ValueError):
        ranger3(rectified=True)


def test_outside_the_tread_is_missing_or_background() -> None:
    rng = np.random.default_rng(4)
    narrow = WheelSpec(tread_width_mm=60)
    for outside in ("missing", "background"):
        s = simulate_scan(narrow, ranger_e55(outside=outside, lines_per_rev=400), rng)
        c0, c1 = s.truth["tread_columns"]
        side = s.arrays["Range"][:, :c0]
        if outside == "missing":
            assert np.all(side == 0) and np.all(s.arrays["Intensity"][:, :c0] == 0)
        else:
            h = decoded(s)
            assert (side > 0).mean() > 0.9
            assert np.nanmedian(h[:, :c0]) < np.nanmedian(h[:, c0:c1]) - 2.0


def test_mark_encoder_follows_the_line_pitch() -> None:
    from edge.sick import decode_mark

    s = simulate_scan(WHEEL, ranger_e55(lines_per_rev=1000), np.random.default_rng(9),
                      conditions=ScanConditions(pitch_jitter=0.04))
    m = decode_mark(s.arrays["Mark"])
    steps = m.encoder_steps()
    pitch = np.diff(s.along_mm)
    assert np.all(steps >= 0) and m.enable.all()
    assert np.corrcoef(steps, pitch)[0, 1] > 0.5
    assert (pitch.max() - pitch.min()) / pitch.mean() > 0.04  # encoder jitter present


def test_same_seed_same_scan_other_seed_other_scan() -> None:
    cam = ranger3(width=1024, lines_per_rev=400, scatter=True)
    d = [Crack(100.0, 30.0, 20.0, 0.5, 1.0)]
    a = simulate_scan(WHEEL, cam, np.random.default_rng(5), defects=d)
    b = simulate_scan(WHEEL, cam, np.random.default_rng(5), defects=d)
    c = simulate_scan(WHEEL, cam, np.random.default_rng(6), defects=d)
    for name in a.arrays:
        assert np.array_equal(a.arrays[name], b.arrays[name])
    assert not np.array_equal(a.arrays["Range"], c.arrays["Range"])
    assert a.truth == b.truth


def test_a_1536_by_1000_scan_renders_well_under_a_second() -> None:
    rng = np.random.default_rng(0)
    simulate_scan(WHEEL, ranger_e55(lines_per_rev=1000), rng)  # warm-up
    t0 = time.process_time()  # CPU time: robust against other jobs on a shared machine
    for _ in range(3):
        simulate_scan(random_wheel(rng), ranger_e55(lines_per_rev=1000), rng)
    per_scan = (time.process_time() - t0) / 3
    assert per_scan < 0.6, f"{per_scan:.3f} s CPU per scan"
