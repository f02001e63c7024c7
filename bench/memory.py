"""Benchmark: peak resident memory of the edge and cloud workers with a backlog of
``BACKLOG`` scan files, the real programs as child processes (embedded backends).

- edge: ``wheel-edge run --until-idle`` started with ``BACKLOG`` scans already waiting in
  the camera folders (the link was down for hours);
- cloud: ``wheel-cloud run`` started with those files' messages waiting in the queue,
  stopped (SIGTERM) once every file is written to the warehouse.

Peak RSS is the kernel's ``ru_maxrss`` of each child (``os.wait4``). Baseline: the same
programs with one pass (``2 x WHEELS`` files) of backlog, measured in the same run; the
ratio is baseline / peak (1.0 = memory does not grow with the backlog at all).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._site import BenchSite
from cloud.demo.plan import DemoPlan

BACKLOG = 1000
WHEELS = 8
WIDTH, LINES = 160, 240


def _peak_mb(p: subprocess.Popen[bytes], timeout: float, stop_when: Any = None) -> float:
    """Wait for ``p`` (SIGTERM it once ``stop_when()`` is true); its peak RSS in MiB."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            p.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_maxrss / 1024
        if stop_when is not None and stop_when():
            p.send_signal(signal.SIGTERM)
            stop_when = None
        time.sleep(0.3)
    p.kill()
    _pid, _status, usage = os.wait4(p.pid, 0)
    raise RuntimeError(f"{p.args!r} did not finish in {timeout:.0f} s "
                       f"(peak so far {usage.ru_maxrss / 1024:.0f} MiB)")


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
        edge_mb = _peak_mb(edge, 1800)
        cloud = site.start("cloud.cli", "run")
        cloud_mb = _peak_mb(cloud, 3600, lambda: len(site.written()) >= n)
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
