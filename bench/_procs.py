"""Helpers of the end-to-end and memory benchmarks (and the fault suite): resident
memory of running programs from ``/proc``, sampled in the background.

Why not ``os.wait4``'s ``ru_maxrss``: on Linux a child's maximum RSS starts from the
memory of the process that started it (``fork`` copies the resident pages' counts; with
``vfork``/``posix_spawn``, which :mod:`subprocess` uses, ``exec`` folds the *parent's*
high-water mark into the child's). A child of a 2 GB benchmark process therefore reports
at least 2 GB, whatever it does itself. ``VmHWM`` in ``/proc/<pid>/status`` belongs to the
address space the program got at ``exec``: its own peak. It is gone once the process has
exited, so :func:`wait_peak_mb` samples it until then (VmHWM only grows: the last sample
is the peak up to that moment).
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def rss_mb(pid: int) -> float | None:
    """Resident set size of ``pid`` in MiB (None once it has exited)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def hwm_mb(pid: int) -> float | None:
    """Peak resident set size (``VmHWM``) of ``pid`` in MiB, as the kernel counts it."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def wait_peak_mb(p: subprocess.Popen[bytes], timeout: float,
                 stop_when: Callable[[], bool] | None = None, every_s: float = 0.05,
                 check_every_s: float = 0.3) -> float:
    """Wait for ``p`` to exit; its own peak RSS in MiB (``VmHWM``, sampled every ``every_s``).

    ``stop_when`` (checked every ``check_every_s``) true: ``p`` gets SIGTERM once.
    RuntimeError (after killing ``p``) if it has not exited within ``timeout`` seconds.
    """
    peak = 0.0
    start = time.monotonic()
    next_check = start
    while p.poll() is None:
        now = time.monotonic()
        value = hwm_mb(p.pid)
        if value is not None:
            peak = max(peak, value)
        if now - start > timeout:
            p.kill()
            p.wait()
            raise RuntimeError(f"{p.args!r} did not finish in {timeout:.0f} s "
                               f"(peak so far {peak:.0f} MiB)")
        if stop_when is not None and now >= next_check:
            next_check = now + check_every_s
            if stop_when():
                p.send_signal(signal.SIGTERM)
                stop_when = None
        time.sleep(every_s)
    return peak


@dataclass
class RssSampler:
    """Samples the RSS of named pids every ``every_s`` seconds in a daemon thread."""

    pids: dict[str, int]
    every_s: float = 0.2
    samples: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> RssSampler:
        """Begin sampling."""
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        t0 = time.monotonic()
        while not self._stop.is_set():
            for name, pid in list(self.pids.items()):
                v = rss_mb(pid)
                if v is not None:
                    self.samples.setdefault(name, []).append((time.monotonic() - t0, v))
            self._stop.wait(self.every_s)

    def add(self, name: str, pid: int) -> None:
        """Sample one more process (a restarted program under a new name)."""
        self.pids[name] = pid

    def stop(self) -> None:
        """End sampling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def peak(self, name: str) -> float:
        """Highest sampled RSS of ``name`` (MiB; 0 if never sampled)."""
        return max((v for _, v in self.samples.get(name, [])), default=0.0)

    def at(self, name: str, t: float) -> float:
        """RSS of ``name`` at the first sample at or after ``t`` seconds."""
        return next((v for s, v in self.samples.get(name, []) if s >= t), self.peak(name))
