"""Benchmark: edge publish throughput and scan-to-published latency.

Cases
- ``transport``: publishing bundles the way the uploader does (chunked at
  ``edge.chunk_bytes``, one file after the other, each confirmed before the next, ordering
  key = camera) over the embedded local queue and over Google's Pub/Sub emulator (started
  here on a free port). Payloads are random bytes (bundles are already zstd-compressed).
  Baselines: local queue — writing the same bytes to a file with fsync per file (the
  disk's ceiling); Pub/Sub — a PublisherClient with the library defaults (no ordering,
  1 MB batches), same loop.
- ``uploader``: the whole edge in-process (watch → pass/RFID mapping → convert → bundle →
  publish → clean up) on the local queue while the simulator writes two passes (2 cameras
  x 8 wheels, 1536 x 1000 Ranger E55 scans, one file every 0.1 s): files/s and MB/s, and
  the time from a scan appearing (its mtime) to its last chunk confirmed. That time
  includes waiting for the pass to complete: a scan is mapped to its wheel once all
  wheels of the pass are there.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from edge.bundle import Bundle, ChunkContext, chunk_messages
from edge.transport import Transport

N_FILES = {1_000_000: 40, 6_000_000: 12}
CHUNK = 8_000_000
WINDOW = 8  # files per call; the uploader's default window is 16 files / 48 MB


def _bundles(folder: Path, size: int, n: int) -> list[Bundle]:
    out = []
    for i in range(n):
        p = folder / f"b{size}-{i}.tar.zst"
        p.write_bytes(os.urandom(size))
        out.append(Bundle(p, "0" * 64, size, size * 4))
    return out


def _publish_all(transport: Transport, topic: str, bundles: list[Bundle], window: int = 1
                 ) -> float:
    """Publish like the uploader: ``window`` files per confirmed call, ordering key."""
    t0 = time.perf_counter()
    for start in range(0, len(bundles), window):
        msgs = []
        for i, b in enumerate(bundles[start:start + window], start):
            ctx = ChunkContext("bench", "Cam_01", f"{i:032x}", "W1", "T1", "r1",
                               datetime(2026, 1, 1))
            msgs += chunk_messages(b, ctx, CHUNK)
        transport.publish(topic, msgs, ordering_key="Cam_01")
    return time.perf_counter() - t0


def _fsync_baseline(folder: Path, bundles: list[Bundle]) -> float:
    t0 = time.perf_counter()
    for b in bundles:
        with open(folder / "copy.bin", "wb") as fh:
            fh.write(b.path.read_bytes())
            fh.flush()
            os.fsync(fh.fileno())
    return time.perf_counter() - t0


def _rows(kind: str, size: int, n: int, secs: float, base: float | None, note: str
          ) -> list[dict[str, Any]]:
    case = f"{kind} {size / 1e6:g} MB bundles x{n}"
    ratio = (base / secs) if base else None
    return [
        {"case": case, "metric": "files/s", "value": n / secs, "unit": "1/s",
         "baseline": (n / base) if base else None, "ratio": ratio, "note": note},
        {"case": case, "metric": "MB/s", "value": n * size / 1e6 / secs, "unit": "MB/s",
         "baseline": (n * size / 1e6 / base) if base else None, "ratio": ratio, "note": note},
    ]


def _local_rows(tmp: Path) -> list[dict[str, Any]]:
    from edge.transport.local import LocalTransport
    from schemas.localqueue import LocalQueue

    rows: list[dict[str, Any]] = []
    for size, n in N_FILES.items():
        bundles = _bundles(tmp, size, n)
        t = LocalTransport(LocalQueue(tmp / f"q{size}.sqlite"))
        t.ensure_topic("bench")
        base = _fsync_baseline(tmp, bundles)
        for window in (1, WINDOW):
            secs = _publish_all(t, "bench", bundles, window)
            rows += _rows(f"local queue window {window}", size, n, secs, base,
                          "baseline: plain file write + fsync per file")
        t.close()
    return rows


def _pubsub_rows(tmp: Path) -> list[dict[str, Any]]:
    from google.cloud import pubsub_v1

    from edge.transport.pubsub import PubsubTransport
    from tests.edge.sitekit import make_site
    from tests.fixtures.pubsub_emulator import running_emulator

    rows: list[dict[str, Any]] = []
    with running_emulator(tmp / "emu") as emu:
        os.environ["PUBSUB_EMULATOR_HOST"] = emu.host
        try:
            from edge.bootstrap import build_pubsub_publisher

            _, cfg = make_site(tmp / "site", transport={"kind": "pubsub",
                                                        "project": emu.project})
            ours = PubsubTransport(build_pubsub_publisher(cfg), emu.project)
            naive = PubsubTransport(pubsub_v1.PublisherClient(), emu.project)
            for size, n in N_FILES.items():
                bundles = _bundles(tmp, size, n)
                topic = f"bench-{size}"
                ours.ensure_topic(topic)
                naive_secs = _publish_all(_NoKey(naive), topic, bundles)
                for window in (1, WINDOW):
                    secs = _publish_all(ours, topic, bundles, window)
                    rows += _rows(f"pubsub emulator window {window}", size, n, secs,
                                  naive_secs, "baseline: PublisherClient defaults, no"
                                  " ordering, one file per confirmed call")
            ours.close()
            naive.close()
            rows += _uploader_rows(tmp, {"kind": "pubsub", "project": emu.project},
                                   "pubsub emulator")
        finally:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
    return rows


class _NoKey:
    """The default client cannot take ordering keys: publish without them."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def publish(self, topic: str, messages: Any, ordering_key: str | None = None) -> list[str]:
        return list(self.inner.publish(topic, messages, None))


def _uploader_rows(tmp: Path, transport: dict[str, Any] | None = None,
                   label: str = "local queue") -> list[dict[str, Any]]:
    from edge.bootstrap import build_uploader
    from edge.simulator.site import SiteSimulator
    from edge.watcher import FolderWatcher
    from tests.edge.sitekit import make_site, pass_start

    _, cfg = make_site(tmp / f"e2e-{label.replace(' ', '-')}", wheels=8, transport=transport,
                       edge={"chunk_bytes": CHUNK, "rescan_s": 1.0})
    sim = SiteSimulator.from_config(cfg, seed=1, width=1536)
    uploader = build_uploader(cfg)
    stop = threading.Event()
    watcher = FolderWatcher([cfg.path(c.folder) for c in cfg.cameras], uploader.wake)
    watcher.start()
    worker = threading.Thread(target=uploader.run, args=(stop,))
    t0 = time.perf_counter()
    worker.start()
    for k in range(2):
        sim.run_pass("T1" if k % 2 == 0 else "T2", pass_start(k), pace_s=0.1)
    while time.perf_counter() - t0 < 300:
        rows = uploader.tracker.query("SELECT COUNT(*) FROM files WHERE state = 'cleaned'")
        if rows[0][0] >= 32:
            break
        time.sleep(0.2)
    secs = time.perf_counter() - t0
    stop.set()
    uploader.wake.set()
    worker.join(30)
    watcher.stop()
    done = uploader.tracker.query(
        "SELECT confirmed_at - appeared_at AS lat, payload_bytes FROM files"
        " WHERE state = 'cleaned'")
    lat = sorted(r["lat"] for r in done)
    after_pass = sorted(r[0] for r in uploader.tracker.query(
        "SELECT f.confirmed_at - p.last FROM files f JOIN (SELECT run_id, MAX(appeared_at)"
        " AS last FROM files GROUP BY run_id) p ON p.run_id = f.run_id"
        " WHERE f.state = 'cleaned'"))
    mb = sum(r["payload_bytes"] for r in done) / 1e6
    uploader.transport.close()
    case = f"uploader {label}, {len(done)} E55 1536x1000 scans"
    note = "simulator writes a file every 0.1 s; includes conversion and pass completion"
    return [
        {"case": case, "metric": "files/s", "value": len(done) / secs, "unit": "1/s",
         "note": note},
        {"case": case, "metric": "MB/s (bundles)", "value": mb / secs, "unit": "MB/s",
         "note": note},
        {"case": case, "metric": "scan->published p50", "value": statistics.median(lat),
         "unit": "s", "note": note},
        {"case": case, "metric": "scan->published max", "value": lat[-1], "unit": "s",
         "note": note},
        {"case": case, "metric": "pass complete->published p50",
         "value": statistics.median(after_pass), "unit": "s",
         "note": "from the last scan of the pass appearing"},
        {"case": case, "metric": "pass complete->published max", "value": after_pass[-1],
         "unit": "s", "note": "from the last scan of the pass appearing"},
    ]


def run() -> list[dict[str, Any]]:
    """All publish benchmark rows."""
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        return _local_rows(tmp) + _pubsub_rows(tmp) + _uploader_rows(tmp)


if __name__ == "__main__":
    for row in run():
        print(row)
