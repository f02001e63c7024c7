"""Benchmark: peak resident memory of the edge and cloud workers with a backlog of
``BACKLOG`` scan files, the real programs as child processes (embedded backends).

- edge: ``wheel-edge run --until-idle`` started with ``BACKLOG`` scans already waiting in
  the camera folders (the link was down for hours);
- cloud: ``wheel-cloud run`` started with those files' messages waiting in the queue,
  stopped (SIGTERM) once every file is written to the warehouse.

Peak RSS is each program's own ``VmHWM`` (``/proc/<pid>/status``, sampled until it exits:
:func:`bench._procs.wait_peak_mb`), not ``ru_maxrss``, which on Linux starts from this
(large) benchmark process's own peak. Baseline: the same programs with one pass
(``2 x WHEELS`` files) of backlog, measured in the same run; the ratio is baseline / peak
(1.0 = memory does not grow with the backlog at all).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench._procs import wait_peak_mb
from bench._site import BenchSite
from cloud.demo.plan import DemoPlan

BACKLOG = 1000
WHEELS = 8
WIDTH, LINES = 160, 240


def _measure(root: Path, files: int) -> tuple[float, float, int]:
    """(edge peak MiB, cloud peak MiB, files written) with ``files`` of backlog."""
    plan = DemoPlan(trains=2, wheels_per_side=WHEELS, passes=("T1", "T2"), defects=(),
                    drop=None, lines_per_rev=LINES, width=WIDTH)
    site = BenchSite.create(root, plan)
    per_pass = 2 * WHEELS
    for _ in range(-(-files // per_pass)):
        site.play_pass(0.0)
    n = len(site.released)
    site.provision()
    try:
        edge = site.start("edge.cli", "run", "--until-idle", "3", "--progress-s", "0")
        edge_mb = wait_peak_mb(edge, 1800)
        cloud = site.start("cloud.cli", "run")
        cloud_mb = wait_peak_mb(cloud, 3600, lambda: len(site.written()) >= n)
        written = len(site.written())
    finally:
        site.stop()
    return edge_mb, cloud_mb, written


def run() -> list[dict[str, Any]]:
    """Measure both backlogs (see module doc)."""
    with tempfile.TemporaryDirectory(prefix="bench-mem-") as tmp:
        b_edge, b_cloud, b_n = _measure(Path(tmp) / "one-pass", 2 * WHEELS)
        edge, cloud, n = _measure(Path(tmp) / "backlog", BACKLOG)
    rows = []
    for prog, peak, base in (("wheel-edge run", edge, b_edge),
                             ("wheel-cloud run", cloud, b_cloud)):
        rows.append({"case": f"{prog}, backlog {n} files", "metric": "peak RSS",
                     "value": peak, "unit": "MiB", "baseline": base,
                     "ratio": base / peak if peak else None,
                     "note": f"baseline: backlog of one pass ({b_n} files); scans "
                             f"{WIDTH}x{LINES}"})
    return rows
