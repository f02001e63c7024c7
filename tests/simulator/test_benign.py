"""Benign variation of good wheels (WHEELS.md "a good wheel") stays benign."""

from __future__ import annotations

import numpy as np
import pytest

from edge.simulator import ScanConditions, WheelSpec, random_conditions, random_wheel
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
