"""Benign variation of good wheels (WHEELS.md "a good wheel") stays benign."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from edge.simulator import (
    ScanConditions,
    WheelSpec,
    decode_height,
    random_conditions,
    random_wheel,
    ranger_e55,
    simulate_scan,
)
from edge.simulator.surface import render_surface
from edge.simulator.wheel import Seam, Speck, line_positions, runout, tread_profile


def grid(wheel: WheelSpec, lines: int = 1000, cols: int = 800) -> tuple[np.ndarray, np.ndarray]:
    along = np.arange(lines) * wheel.circumference_mm / lines
    across = np.linspace(0, wheel.tread_width_mm, cols)
    return along, across


def test_random_wheels_stay_in_the_documented_ranges() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        w = random_wheel(rng)
        assert 150 <= w.diameter_mm <= 360 and 50 <= w.tread_width_mm <= 110
        assert 0.2 <= w.crown_mm <= 1.5 and 0 <= w.wear_mm <= 1.5
        assert 40 <= w.intensity <= 200 and 0.02 <= w.noise_mm <= 0.08
        assert all(s.height_mm < 0.15 for s in w.seams)
        pos = np.linspace(0, w.circumference_mm, 2000)
        r = runout(w, pos)
        assert r.max() - r.min() <= 0.4 + 1e-9  # total indicated runout
        c = random_conditions(rng, w)
        assert 0 <= c.dropout_frac <= 0.02 and 0 <= c.pitch_jitter <= 0.04
    road = [random_wheel(rng, road=True).diameter_mm for _ in range(100)]
    assert min(road) >= 220 and max(road) <= 330


def test_profile_has_crown_wear_and_chamfers() -> None:
    w = WheelSpec(tread_width_mm=80, crown_mm=1.0, chamfer_mm=2.0, wear_mm=0.0)
    x = np.linspace(0, 80, 801)
    p = tread_profile(w, x)
    assert p[400] == pytest.approx(1.0) and p[100] < p[400]
    assert p[0] == pytest.approx(-2.0, abs=1e-6) and p[-1] == pytest.approx(-2.0, abs=1e-6)
    worn = tread_profile(WheelSpec(tread_width_mm=80, crown_mm=1.0, wear_mm=1.2), x)
    assert worn[400] == pytest.approx(1.0 - 1.2, abs=0.01)
    assert np.isnan(tread_profile(w, np.array([-1.0, 81.0]))).all()


def test_seams_are_low_ridges_and_specks_heat_bands_change_only_intensity() -> None:
    w = WheelSpec(noise_mm=0.02, seams=(Seam(True, 300.0, 0.12, 0.8), Seam(False, 30.0, 0.1, 0.6)))
    plain = WheelSpec(noise_mm=0.02)
    along, across = grid(w)
    quiet = ScanConditions()
    busy = ScanConditions(heat_bands=((40.0, 10.0, 20.0),),
                          specks=(Speck(100.0, 20.0, 0.8, 60.0),))
    a = render_surface(plain, quiet, along, across, np.random.default_rng(1))
    b = render_surface(w, quiet, along, across, np.random.default_rng(1))
    ridge = b.height_mm - a.height_mm
    assert 0.09 < ridge.max() <= 0.12 + 0.1 + 1e-6  # crossing of both seams at most
    assert np.abs(ridge[np.abs(along - 300.0) > 2][:, np.abs(across - 30.0) > 2]).max() == 0
    c = render_surface(plain, busy, along, across, np.random.default_rng(1))
    assert np.array_equal(c.height_mm, a.height_mm)
    li, ci = int(np.argmin(np.abs(along - 100.0))), int(np.argmin(np.abs(across - 20.0)))
    assert c.intensity[li, ci] < a.intensity[li, ci] - 30
    band = int(np.argmin(np.abs(across - 40.0)))
    assert (c.intensity[:, band] - a.intensity[:, band]).mean() > 15


def test_line_pitch_varies_a_few_percent_and_one_revolution_is_the_circumference() -> None:
    along = line_positions(1020, 1000, 900.0, 0.03, np.random.default_rng(2))
    pitch = np.diff(along)
    assert along[1000] == pytest.approx(900.0, rel=1e-9)
    rel = pitch / pitch.mean()
    assert 0.02 < rel.max() - 1 < 0.1 and 0.02 < 1 - rel.min() < 0.1


def test_lateral_runout_moves_the_whole_tread_sideways_line_by_line() -> None:
    w = WheelSpec(noise_mm=0.0, chamfer_mm=2.0, lateral_mm=0.4, lateral_phase=1.0)
    along = np.arange(1000) * w.circumference_mm / 1000
    across = np.arange(-40, 840) * 0.1  # 0.1 mm columns, some beside the tread
    s = render_surface(w, ScanConditions(), along, across, np.random.default_rng(1))
    still = render_surface(replace(w, lateral_mm=0.0), ScanConditions(), along, across,
                           np.random.default_rng(1))
    first = across[np.argmax(np.isfinite(s.height_mm), axis=1)]
    assert 0.3 <= float(np.ptp(first)) <= 0.45  # the tread's edge moves by the runout
    assert np.isfinite(still.height_mm).all(axis=0).sum() > np.isfinite(s.height_mm).all(
        axis=0).sum()
    assert s.off_tread is not None and s.off_tread.any() and still.off_tread is None
    mid = slice(380, 460)  # on the crown the surface barely changes
    assert np.abs(s.height_mm[:, mid] - still.height_mm[:, mid]).max() < 0.02
    runs = [random_wheel(np.random.default_rng(k)).lateral_mm for k in range(50)]
    assert min(runs) >= 0.0 and max(runs) <= 0.5 and np.ptp(runs) > 0.2


def test_points_beside_a_wobbling_tread_show_the_background() -> None:
    w = WheelSpec(tread_width_mm=60.0, lateral_mm=0.5)
    cam = ranger_e55(width=600, mm_per_col=0.12, lines_per_rev=600)
    cam = replace(cam, outside="background")
    scan = simulate_scan(w, cam, np.random.default_rng(4))
    h = decode_height(scan.arrays["Range"], cam)
    cols = np.flatnonzero(np.isnan(h).mean(axis=0) > 0.3)
    assert cols.size == 0  # no column half missing: the background fills the band
