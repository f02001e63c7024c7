"""Warehouse rows into the dashboard's read model, shared by the DuckDB and BigQuery readers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cloud.dashboard.ports import Heatmap, Scan

_LOCATION = ("line", "column", "along_mm", "across_mm")


def scan_from_row(r: tuple[Any, ...]) -> Scan:
    """A :class:`Scan` of a (file, run, camera, capture, scored, score, model, defect,
    loc_line, loc_column, loc_along_mm, loc_across_mm, ...) row; location rounded to 0.1."""
    loc = {k: round(float(v), 1) for k, v in zip(_LOCATION, r[8:12], strict=True)
           if v is not None}
    return Scan(r[0], r[1], r[2], r[3], r[4], float(r[5]), r[6], r[7], loc)


def _key(r: tuple[Any, ...]) -> tuple[str, int, str]:
    """Heatmap row of a (train, camera, side, position, run, time, score, wheel) row."""
    return (r[2] or "", -1 if r[3] is None else int(r[3]), r[7] if r[3] is None else "")


def pivot_heatmaps(rows: list[tuple[Any, ...]]) -> list[Heatmap]:
    """(train, camera, side, position, run, time, score, wheel) rows -> per-train grids."""
    trains: dict[str, list[tuple[Any, ...]]] = {}
    for r in rows:
        trains.setdefault(r[0], []).append(r)
    out = []
    for train_id, trs in sorted(trains.items()):
        run_times: dict[str, datetime] = {}
        current: dict[tuple[str, int, str], str] = {}
        for r in trs:
            run_times.setdefault(r[4], r[5])
            current[_key(r)] = r[7]  # rows are in time order: the last one wins
        keys = sorted(current)
        ki = {k: i for i, k in enumerate(keys)}
        ri = {run: i for i, run in enumerate(run_times)}
        z: list[list[float | None]] = [[None] * len(ri) for _ in keys]
        for r in trs:
            z[ki[_key(r)]][ri[r[4]]] = round(float(r[6]), 1)
        out.append(Heatmap(train_id, [current[k] for k in keys], list(run_times),
                           list(run_times.values()), z))
    return out
