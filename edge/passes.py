"""Group scans into passes by time and map them to wheel ids (pure functions).

A *pass* is the train going past the station once: all scans of all cameras whose
capture times are closer than ``gap_s`` to a neighbour. Within a pass each camera's
scans are in passing order and map to the train's wheel ids for that camera.

When a camera has exactly as many scans as the train has wheels on its side, the
mapping is by order. Otherwise the scans are aligned by capture time — against the
times of a camera that saw every wheel (left and right wheels pass together), else
against the regular wheel spacing — so the missing or extra wheels are named exactly.
When neither tells for sure, no wheel id is guessed: the scans stay unassigned and the
problem is reported.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ScanRef:
    """A scan waiting for its pass: tracker key, camera and capture time."""

    key: str
    camera: str
    capture_time: datetime


@dataclass
class PassGroup:
    """Scans of one pass, sorted by capture time."""

    scans: list[ScanRef]

    @property
    def start(self) -> datetime:
        """First capture time."""
        return self.scans[0].capture_time

    @property
    def end(self) -> datetime:
        """Last capture time."""
        return self.scans[-1].capture_time

    def by_camera(self, camera: str) -> list[ScanRef]:
        """This camera's scans in passing order."""
        return [s for s in self.scans if s.camera == camera]


@dataclass
class CameraMapping:
    """The outcome for one camera of a pass."""

    expected: list[str]
    wheel_of: dict[str, str | None] = field(default_factory=dict)  # scan key -> wheel id
    missing: list[str] = field(default_factory=list)
    extra_scans: int = 0
    problems: list[str] = field(default_factory=list)


def group_passes(scans: Sequence[ScanRef], gap_s: float) -> list[PassGroup]:
    """Split scans (any order) into passes separated by more than ``gap_s`` seconds."""
    ordered = sorted(scans, key=lambda s: (s.capture_time, s.camera, s.key))
    groups: list[PassGroup] = []
    for scan in ordered:
        if groups and (scan.capture_time - groups[-1].end).total_seconds() <= gap_s:
            groups[-1].scans.append(scan)
        else:
            groups.append(PassGroup([scan]))
    return groups


def _secs(times: Sequence[datetime], t0: datetime) -> list[float]:
    return [(t - t0).total_seconds() for t in times]


def align(a: Sequence[float], b: Sequence[float]) -> list[int]:
    """Monotone alignment of ``a`` onto ``b`` with least total |a_i - b_j|.

    Every element of the shorter sequence is matched once; returns, for each ``a_i``,
    the index in ``b`` it matches, or -1 if ``a_i`` is left out (when ``a`` is longer).
    """
    n, m = len(a), len(b)
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    move = [[0] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            if i == j == 0:
                continue
            best, how = inf, 0
            if i and j and cost[i - 1][j - 1] + abs(a[i - 1] - b[j - 1]) < best:
                best, how = cost[i - 1][j - 1] + abs(a[i - 1] - b[j - 1]), 1
            if n > m and i and cost[i - 1][j] < best:
                best, how = cost[i - 1][j], 2  # skip a_i
            if m > n and j and cost[i][j - 1] < best:
                best, how = cost[i][j - 1], 3  # skip b_j
            cost[i][j], move[i][j] = best, how
    out = [-1] * n
    i, j = n, m
    while i or j:
        how = move[i][j]
        if how == 1:
            out[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif how == 2:
            i -= 1
        else:
            j -= 1
    return out


def _slots_by_spacing(t: Sequence[float], n_expected: int) -> list[int] | None:
    """Slot index of each scan from the regular wheel spacing, or None when unsure."""
    if len(t) < 3:
        return None
    d = statistics.median(b - a for a, b in itertools.pairwise(t))
    if d <= 0:
        return None
    slots = [round((x - t[0]) / d) for x in t]
    residual_ok = all(abs((x - t[0]) / d - s) < 0.25 for x, s in zip(t, slots, strict=True))
    increasing = all(b > a for a, b in itertools.pairwise(slots))
    # only sure when the holes account for every missing wheel (first and last seen)
    if residual_ok and increasing and slots[-1] == n_expected - 1:
        return slots
    return None


def map_camera(
    camera: str,
    scans: Sequence[ScanRef],
    expected: Sequence[str],
    reference: Sequence[datetime] | None,
) -> CameraMapping:
    """Map one camera's scans of a pass to wheel ids (see the module doc)."""
    out = CameraMapping(expected=list(expected))
    n, m = len(scans), len(expected)
    if n == 0 and m:
        out.missing = list(expected)
        out.problems.append(f"{camera}: no scans, missing wheels {out.missing}")
        return out
    if n == m:
        out.wheel_of = {s.key: w for s, w in zip(scans, expected, strict=True)}
        return out
    slots = _slots_for(scans, expected, reference)
    if n > m:
        out.extra_scans = n - m
        out.problems.append(f"{camera}: {n} scans for {m} wheels ({n - m} extra)")
    if slots is None:
        out.wheel_of = {s.key: None for s in scans}
        if n < m:
            out.problems.append(
                f"{camera}: {n} scans for {m} wheels; cannot tell which {m - n} are missing"
            )
            out.missing = []
        return out
    out.wheel_of = {s.key: (expected[j] if j >= 0 else None) for s, j in zip(scans, slots,
                                                                            strict=True)}
    seen = {j for j in slots if j >= 0}
    out.missing = [w for j, w in enumerate(expected) if j not in seen]
    if out.missing:
        out.problems.append(f"{camera}: missing wheels {out.missing}")
    return out


def _slots_for(scans: Sequence[ScanRef], expected: Sequence[str],
               reference: Sequence[datetime] | None) -> list[int] | None:
    """Wheel slot of each scan (-1: none) from the other camera's times or the spacing;
    None when it cannot be told."""
    n, m = len(scans), len(expected)
    t0 = scans[0].capture_time if scans else datetime.min
    times = _secs([s.capture_time for s in scans], t0)
    if reference is not None and len(reference) == m and m:
        return align(times, _secs(reference, t0))
    if n < m:
        return _slots_by_spacing(times, m)
    return None


def map_pass(
    group: PassGroup, cameras: Sequence[str], wheels: dict[str, list[str]] | None
) -> dict[str, CameraMapping]:
    """Map every camera of a pass; ``wheels`` is the train's wheel map (None: no train)."""
    result: dict[str, CameraMapping] = {}
    full: list[datetime] | None = None
    if wheels is not None:
        for cam in cameras:
            scans = group.by_camera(cam)
            if scans and len(scans) == len(wheels.get(cam, [])):
                full = [s.capture_time for s in scans]
                break
    for cam in cameras:
        scans = group.by_camera(cam)
        if wheels is None:
            result[cam] = CameraMapping(expected=[], wheel_of={s.key: None for s in scans})
            continue
        expected = wheels.get(cam, [])
        ref = full if full is not None and len(full) == len(expected) else None
        result[cam] = map_camera(cam, scans, expected, ref)
    return result
