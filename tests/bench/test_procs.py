"""The memory benchmark's helper measures a child program's own peak RSS, not the
parent's (``ru_maxrss`` of a child of a big process starts at the parent's size)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from bench._procs import wait_peak_mb

ALLOCATES_200MB = ("import time, numpy as np; a = np.ones(200 * 2**20 // 8); "
                   "time.sleep(0.5)")
TRIVIAL = "import time; time.sleep(0.5)"


def _peak(code: str) -> float:
    p = subprocess.Popen([sys.executable, "-c", code])
    return wait_peak_mb(p, timeout=120)


def test_child_peak_is_its_own_even_when_the_parent_is_big() -> None:
    big = np.ones(600 * 2**20 // 8)  # this process holds ~600 MiB while children run
    assert big.sum() > 0
    allocating = _peak(ALLOCATES_200MB)
    trivial = _peak(TRIVIAL)
    assert allocating >= 200
    assert 0 < trivial < 100  # sampled (> 0), and nowhere near the parent's 600 MiB
    assert allocating - trivial >= 190


def test_stop_when_terminates_the_child() -> None:
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) >= 2

    peak = wait_peak_mb(p, timeout=120, stop_when=stop, check_every_s=0.1)
    assert p.returncode == -15 and peak > 0
