"""Grouping scans into passes and mapping them to wheel ids (pure logic)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.passes import ScanRef, align, group_passes, map_camera, map_pass
from tests.edge.sitekit import T0

WHEELS = [f"W{i}" for i in range(1, 7)]


def _scans(cam: str, secs: list[float]) -> list[ScanRef]:
    return [ScanRef(f"{cam}/{i}", cam, T0 + timedelta(seconds=s)) for i, s in enumerate(secs)]


def test_group_by_gap() -> None:
    scans = _scans("A", [0, 1, 2, 100, 101]) + _scans("B", [0.01, 1.01, 250])
    groups = group_passes(scans, gap_s=20)
    assert [len(g.scans) for g in groups] == [5, 2, 1]
    assert groups[0].start == T0 and [s.camera for s in groups[0].by_camera("B")] == ["B"] * 2


def test_align_prefers_nearest_monotone() -> None:
    assert align([0, 2, 3], [0, 1, 2, 3]) == [0, 2, 3]
    assert align([0, 0.5, 1, 2], [0, 1, 2]) == [0, -1, 1, 2]


def test_full_count_maps_by_order() -> None:
    m = map_camera("A", _scans("A", [0, 1, 2, 3, 4, 5]), WHEELS, None)
    assert list(m.wheel_of.values()) == WHEELS and not m.missing and not m.problems


def test_missing_wheel_named_from_other_camera() -> None:
    ref = [s.capture_time for s in _scans("B", [0, 1, 2, 3, 4, 5])]
    m = map_camera("A", _scans("A", [0.01, 1.02, 3.01, 4.0, 5.01]), WHEELS, ref)
    assert m.missing == ["W3"]
    assert list(m.wheel_of.values()) == ["W1", "W2", "W4", "W5", "W6"]


def test_first_wheel_missing_found_with_reference() -> None:
    ref = [s.capture_time for s in _scans("B", [0, 1, 2, 3, 4, 5])]
    m = map_camera("A", _scans("A", [1, 2, 3, 4, 5]), WHEELS, ref)
    assert m.missing == ["W1"]


def test_missing_from_regular_spacing_without_reference() -> None:
    m = map_camera("A", _scans("A", [0, 0.8, 2.4, 3.2, 4.0]), WHEELS, None)
    assert m.missing == ["W3"]


def test_ambiguous_missing_is_reported_not_guessed() -> None:
    # first or last wheel missing cannot be told apart without a reference
    m = map_camera("A", _scans("A", [0, 1, 2, 3, 4]), WHEELS, None)
    assert m.missing == [] and set(m.wheel_of.values()) == {None}
    assert "cannot tell which 1 are missing" in m.problems[0]


def test_extra_scan_left_unassigned_with_reference() -> None:
    ref = [s.capture_time for s in _scans("B", [0, 1, 2, 3, 4, 5])]
    m = map_camera("A", _scans("A", [0, 1, 1.5, 2, 3, 4, 5]), WHEELS, ref)
    assert m.extra_scans == 1 and list(m.wheel_of.values()).count(None) == 1
    assert "1 extra" in m.problems[0]


def test_extra_scans_without_reference_unassigned() -> None:
    m = map_camera("A", _scans("A", [0, 1, 2, 3, 4, 5, 6]), WHEELS, None)
    assert set(m.wheel_of.values()) == {None} and m.extra_scans == 1


def test_camera_without_scans_misses_all() -> None:
    m = map_camera("A", [], WHEELS, None)
    assert m.missing == WHEELS


def test_map_pass_without_train_assigns_nothing() -> None:
    group = group_passes(_scans("A", [0, 1]) + _scans("B", [0, 1]), 20)[0]
    out = map_pass(group, ["A", "B"], None)
    assert all(v is None for m in out.values() for v in m.wheel_of.values())


def test_map_pass_uses_complete_camera_as_reference() -> None:
    group = group_passes(_scans("A", [0, 1, 2, 3, 4, 5]) + _scans("B", [0, 1, 2, 4, 5]), 20)[0]
    out = map_pass(group, ["A", "B"], {"A": WHEELS, "B": [w.replace("W", "R") for w in WHEELS]})
    assert out["B"].missing == ["R4"] and out["A"].missing == []


@settings(max_examples=150, deadline=None)
@given(n=st.integers(4, 24), spacing=st.floats(0.3, 3.0), data=st.data())
def test_never_a_wrong_wheel_id(n: int, spacing: float, data: st.DataObject) -> None:
    """Whatever is dropped, a scan either gets its true wheel id or none (reported)."""
    jitter = [data.draw(st.floats(-0.04, 0.04)) * spacing for _ in range(n)]
    times = [i * spacing + j for i, j in enumerate(jitter)]
    wheels = [f"W{i}" for i in range(n)]
    drop_a = set(data.draw(st.lists(st.integers(0, n - 1), max_size=3, unique=True)))
    drop_b = set(data.draw(st.lists(st.integers(0, n - 1), max_size=1, unique=True)))
    keep_a = [i for i in range(n) if i not in drop_a]
    keep_b = [i for i in range(n) if i not in drop_b]
    a = [ScanRef(f"A/{i}", "A", T0 + timedelta(seconds=times[i])) for i in keep_a]
    b = [ScanRef(f"B/{i}", "B", T0 + timedelta(seconds=times[i] + 0.007)) for i in keep_b]
    group = group_passes(a + b, gap_s=10 * spacing)[0]
    out = map_pass(group, ["A", "B"], {"A": wheels, "B": wheels})
    for cam in ("A", "B"):
        m = out[cam]
        for key, wheel in m.wheel_of.items():
            assert wheel is None or wheel == f"W{key.split('/')[1]}"
        dropped = drop_a if cam == "A" else drop_b
        if m.missing or not dropped:
            assert set(m.missing) == {f"W{i}" for i in dropped}
        else:
            assert m.problems  # not named: said so
