"""Helpers of the end-to-end and memory benchmarks (and the fault suite): resident
memory of running programs from ``/proc``, sampled in the background."""

from __future__ import annotations

import threading
import time
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
