"""Defect geometry on a flat mm grid (camera-independent): magnitudes and shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.simulator import (
    RANGES,
    Blister,
    Chunking,
    Crack,
    FlatSpot,
    WheelSpec,
    apply_defect,
    random_defect,
)

PITCH_ALONG = 0.25
PITCH_ACROSS = 0.1


def flat_grid(lines: int = 800, width: int = 800) -> tuple[np.ndarray, ...]:
    along = np.arange(lines) * PITCH_ALONG
    across = np.arange(width) * PITCH_ACROSS
    return (np.zeros((lines, width), np.float32), np.full((lines, width), 100.0, np.float32),
            along, across)


def test_chunk_has_depth_steep_walls_dropouts_and_brighter_floor() -> None:
    h, it, al, ac = flat_grid()
    d = Chunking(100.0, 40.0, 10.0, 8.0, depth_mm=3.0, dropout_frac=0.2, brighten=40.0)
    t = apply_defect(h, it, al, ac, d, np.random.default_rng(1))
    da, dc = (al - 100.0)[:, None], (ac - 40.0)[None, :]
    r = np.sqrt((da / 10.0) ** 2 + (dc / 8.0) ** 2)
    core = r < 0.3
    assert np.nanmedian(h[core]) == pytest.approx(-3.0, abs=0.15)
    assert np.nanmin(h) > -3.0 - 0.5
    assert np.all(h[r > 1.3] == 0.0)  # untouched outside (wobble ≤ 13 %)
    ring = (r > 0.7) & (r < 0.8)  # steep walls: nearly full depth close to the rim
    assert np.nanmedian(h[ring]) < -2.5
    nan = np.isnan(h)
    assert nan.any() and not nan[r > 1.3].any()
    assert 0.02 < nan[r < 0.9].mean() < 0.4
    assert it[core].mean() > 130 and np.all(it[r > 1.3] == 100.0)
    assert t.kind == "chunking" and t.line == 400 and t.column == 400
    assert t.observed_mm == pytest.approx(3.0, abs=0.3) and t.affected_points > 1000
    assert t.params["depth_mm"] == 3.0


@pytest.mark.parametrize("angle", [0.0, 30.0, 90.0, -60.0])
def test_crack_depth_and_darker_line_at_any_angle(angle: float) -> None:
    h, it, al, ac = flat_grid()
    d = Crack(100.0, 40.0, length_mm=30.0, width_mm=1.2, depth_mm=2.0, angle_deg=angle)
    apply_defect(h, it, al, ac, d, np.random.default_rng(2))
    assert np.nanmin(h) == pytest.approx(-2.0, abs=0.2)
    deep = h < -1.0
    rows, cols = np.nonzero(deep)
    # the deep points lie on the segment: along the crack direction, within its length
    a = math.radians(angle)
    p = (al[rows] - 100.0) * math.sin(a) + (ac[cols] - 40.0) * math.cos(a)
    n = -(al[rows] - 100.0) * math.cos(a) + (ac[cols] - 40.0) * math.sin(a)
    assert np.abs(p).max() <= 15.0 and np.abs(n).max() <= 1.2
    assert np.abs(p).max() > 10.0  # it is long, not a pit
    assert it[deep].mean() < 80 and it[np.abs(h) == 0].mean() > 99.5


def test_crack_narrower_than_a_line_pitch_still_shows_shallower() -> None:
    h, it, al, ac = flat_grid()
    along_crack = Crack(100.0, 40.0, 30.0, width_mm=0.3, depth_mm=2.0, angle_deg=0.0)
    t = apply_defect(h, it, al, ac, along_crack, np.random.default_rng(3))
    expected = 2.0 * 0.3 / PITCH_ALONG if PITCH_ALONG > 0.3 else 2.0
    assert np.nanmin(h) == pytest.approx(-min(2.0, expected), abs=0.1)
    assert t.observed_mm == pytest.approx(-np.nanmin(h), abs=1e-5)
    coarse = np.arange(200) * 2.5  # 2.5 mm line pitch: the same crack nearly vanishes
    h2, it2 = np.zeros((200, 800), np.float32), np.full((200, 800), 100.0, np.float32)
    t2 = apply_defect(h2, it2, coarse, ac, along_crack, np.random.default_rng(3))
    assert t2.observed_mm < 0.3 < t.observed_mm
    assert (h < -0.2).sum() > 100


def test_flat_spot_depth_is_chord_sagitta() -> None:
    h, it, al, ac = flat_grid(lines=2000, width=100)
    d = FlatSpot(250.0, length_mm=50.0, radius_mm=140.0, across_min_mm=2.0, across_max_mm=8.0)
    apply_defect(h, it, al, ac, d, np.random.default_rng(4))
    depth = 50.0**2 / (8 * 140.0)
    assert d.depth_mm == pytest.approx(depth)
    mid = h[int(250 / PITCH_ALONG)]
    assert mid[30:70].mean() == pytest.approx(-depth, rel=0.01)
    assert np.all(mid[:15] == 0) and np.all(mid[85:] == 0)  # only the given tread span
    assert np.all(h[np.abs(al - 250.0) > 25.5] == 0)
    assert it[int(250 / PITCH_ALONG), 50] > 100


def test_blister_height_and_radius() -> None:
    h, it, al, ac = flat_grid()
    apply_defect(h, it, al, ac, Blister(100.0, 40.0, radius_mm=10.0, height_mm=1.2),
                 np.random.default_rng(5))
    assert h.max() == pytest.approx(1.2, abs=0.01)
    r = np.hypot((al - 100.0)[:, None], (ac - 40.0)[None, :])
    assert np.all(h[r > 10.0] == 0) and h.min() == 0


def test_defect_wraps_around_the_revolution() -> None:
    h, it, al, ac = flat_grid(lines=400)
    circ = 400 * PITCH_ALONG
    apply_defect(h, it, al, ac, Blister(1.0, 40.0, 6.0, 1.0), np.random.default_rng(6),
                 circumference_mm=circ)
    assert h[0].max() > 0.9 and h[-5].max() > 0.1


def test_grid_mismatch_is_rejected() -> None:
    h, it, al, ac = flat_grid()
    with pytest.raises(ValueError, match="grid mismatch"):
        apply_defect(h, it, al[:-1], ac, Blister(1.0, 4.0, 6.0, 1.0), np.random.default_rng(0))
    with pytest.raises(TypeError):
        apply_defect(h.astype(np.int32), it, al, ac, Blister(1.0, 4.0, 6.0, 1.0),
                     np.random.default_rng(0))


@pytest.mark.parametrize("kind", ["chunking", "crack", "flat_spot", "blister"])
def test_catalogue_draws_cover_and_respect_the_ranges(kind: str) -> None:
    wheel = WheelSpec(diameter_mm=300, tread_width_mm=100)
    rng = np.random.default_rng(7)
    any_ = [random_defect(kind, rng, wheel) for _ in range(300)]  # type: ignore[arg-type]
    small = [random_defect(kind, rng, wheel, size="small") for _ in range(100)]  # type: ignore[arg-type]
    key = {"chunking": "depth_mm", "crack": "depth_mm", "flat_spot": "length_mm",
           "blister": "height_mm"}[kind]
    lo, hi = RANGES[kind][key]
    vals = np.array([getattr(d, key) for d in any_])
    assert vals.min() >= lo and vals.max() <= hi
    assert vals.min() < lo + 0.1 * (hi - lo) and vals.max() > hi - 0.1 * (hi - lo)
    svals = np.array([getattr(d, key) for d in small])
    assert svals.max() <= lo + 0.2 * (hi - lo) + 1e-9
    if kind == "chunking":  # both semi-axes stay small
        semis = [max(d.semi_along_mm, d.semi_across_mm) for d in small]  # type: ignore[union-attr]
        assert max(semis) <= 2.0 + 0.2 * 23.0 + 1e-9
    for d in any_:
        assert 0 <= d.along_mm < wheel.circumference_mm
        assert 0 <= d.across_mm <= wheel.tread_width_mm


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["chunking", "crack", "flat_spot", "blister"]),
       size=st.sampled_from(["any", "small", "large"]), seed=st.integers(0, 2**32 - 1),
       pitch_along=st.floats(0.15, 3.0), pitch_across=st.floats(0.05, 0.2))
def test_any_catalogue_defect_on_any_grid_changes_height_one_way_only(
    kind: str, size: str, seed: int, pitch_along: float, pitch_across: float
) -> None:
    rng = np.random.default_rng(seed)
    wheel = WheelSpec(diameter_mm=float(rng.uniform(150, 360)),
                      tread_width_mm=float(rng.uniform(50, 110)))
    d = random_defect(kind, rng, wheel, size=size)  # type: ignore[arg-type]
    lines = int(wheel.circumference_mm / pitch_along)
    along = np.arange(lines) * pitch_along
    across = np.arange(int(wheel.tread_width_mm / pitch_across)) * pitch_across
    h = np.zeros((along.size, across.size), np.float32)
    it = np.full(h.shape, 100.0, np.float32)
    t = apply_defect(h, it, along, across, d, rng, circumference_mm=lines * pitch_along)
    if kind == "blister":
        assert np.nanmin(h) >= 0 and not np.isnan(h).any()
    else:
        assert np.nanmax(h) <= 0
    assert 0 <= t.line < along.size and 0 <= t.column < across.size
    assert t.observed_mm <= 8.5 + 1e-6
