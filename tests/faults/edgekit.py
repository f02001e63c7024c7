"""In-process edge (the real uploader code) over a transport we can break, with an
injected clock: ten minutes of passes go by in seconds."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from edge.bootstrap import build_transport, build_uploader
from edge.transport import OutMessage, Transport
from edge.uploader import Uploader
from schemas.config import SiteConfig
from schemas.errors import TransportError


@dataclass
class FakeClock:
    """Seconds since the epoch, moved by the test."""

    now: float

    def __call__(self) -> float:
        return self.now


class BrokenLink:
    """A transport that can be cut (``down``) and that records what went through.

    With ``dup``/``swap``/``drop`` it also duplicates, reorders and drops chunks (seeded)."""

    def __init__(self, inner: Transport, seed: int = 0) -> None:
        self.inner = inner
        self.down = False
        self.calls = 0
        self.sent: list[OutMessage] = []
        self.dup = 0.0
        self.swap = 0.0
        self.drop_file: tuple[str, int] | None = None  # (camera, n): chunk 1 of its n-th file
        self._seen: dict[str, list[str]] = {}
        self.dropped: list[tuple[str, OutMessage]] = []
        self.rng = np.random.default_rng(seed)

    def ensure_topic(self, topic: str) -> None:
        self.inner.ensure_topic(topic)

    def publish(self, topic: str, messages: Sequence[OutMessage],
                ordering_key: str | None = None) -> list[str]:
        self.calls += 1
        if self.down:
            raise TransportError("network unreachable (fault injected)")
        out: list[OutMessage] = []
        for m in messages:
            if self._drop(m):
                self.dropped.append((topic, m))
                continue
            out.append(m)
            if self.rng.random() < self.dup:
                out.append(m)
        for i in range(len(out) - 1):
            if self.rng.random() < self.swap:
                out[i], out[i + 1] = out[i + 1], out[i]
        ids = self.inner.publish(topic, out, ordering_key) if out else []
        self.sent += out
        # the uploader expects one id per message it asked for
        return (ids + ["0"] * len(messages))[:len(messages)]

    def _drop(self, m: OutMessage) -> bool:
        a = m.attributes
        if self.drop_file is None or a.get("kind") != "wheel_chunk":
            return False
        seen = self._seen.setdefault(a["camera"], [])
        if a["file_id"] not in seen:
            seen.append(a["file_id"])
        cam, n = self.drop_file
        if a["camera"] == cam and seen.index(a["file_id"]) == n and a["chunk_index"] == "1":
            self.drop_file = None
            return True
        return False

    def close(self) -> None:
        self.inner.close()


@dataclass
class Edge:
    """The uploader, its link and its clock."""

    uploader: Uploader
    link: BrokenLink
    clock: FakeClock
    steps: int = 0
    log: list[str] = field(default_factory=list)

    def step(self, n: int = 1, advance_s: float = 5.0) -> None:
        """``n`` uploader rounds, the clock ``advance_s`` further each."""
        for _ in range(n):
            self.clock.now = max(self.clock.now, time.time())  # never behind the files
            self.uploader.step()
            self.clock.now += advance_s
            self.steps += 1

    def idle(self, files: int, max_steps: int = 400) -> None:
        """Step (retries due at once) until ``files`` scans are cleaned or quarantined
        and the outbox is empty."""
        t = self.uploader.tracker
        for _ in range(max_steps):
            self.uploader.retry_at.clear()
            self.step()
            done = t.query("SELECT COUNT(*) FROM files WHERE state IN "
                           "('cleaned','quarantined')")[0][0]
            if done >= files and not t.outbox_pending(limit=1):
                return
        raise AssertionError("edge did not become idle")


def edge_in_process(cfg: SiteConfig, start: float, seed: int = 0) -> Edge:
    """The real uploader wired by edge.bootstrap, with a breakable link and a fake clock."""
    link = BrokenLink(build_transport(cfg), seed)
    clock = FakeClock(start)
    uploader = build_uploader(cfg, transport=link)
    uploader.clock = clock
    return Edge(uploader, link, clock)
