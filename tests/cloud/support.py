"""Shared helpers of the cloud subscriber tests: a real per-wheel CSV, bundles, chunks,
fakes of the ports, and a worker wired to any backend set."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from cloud.ports import ScoreResult
from cloud.reassembly import build_bundle
from schemas.calibration import height_mm, merge_traits
from schemas.messages import ChunkAttributes, make_file_id
from schemas.wheel_csv import read_wheel_csv

SITE = "park1"
T0 = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


def make_sample(
    tmp: Path, seed: int = 7, lines: int = 120, width: int = 64
) -> tuple[bytes, dict[str, Any]]:
    """One simulated scan converted by the edge: (csv bytes, metadata dict)."""
    from edge.convert import convert_scan
    from edge.simulator.camera import random_camera
    from edge.simulator.scan import simulate_scan, write_sim_scan
    from edge.simulator.wheel import random_wheel
    from schemas.wheel_csv import WheelContext

    rng = np.random.default_rng(seed)
    wheel = random_wheel(rng)
    cam = random_camera("ranger_e55", rng, tread_width_mm=wheel.tread_width_mm, width=width,
                        lines_per_rev=lines)
    scan = simulate_scan(wheel, cam, rng)
    paths = write_sim_scan(scan, tmp / "scan", "Cam_01", T0)
    res = convert_scan(paths.dat, tmp / "csv", context=WheelContext(site=SITE, camera="Cam_01"),
                       calibration=scan.calibration)
    return res.csv_path.read_bytes(), json.loads(res.meta_path.read_text())


@dataclass
class WheelFile:
    """One file as the edge would publish it."""

    attrs: ChunkAttributes
    chunks: list[bytes]

    @property
    def file_id(self) -> str:
        return self.attrs.file_id

    def messages(self) -> list[tuple[bytes, dict[str, str]]]:
        """(data, attributes) of every chunk, in order."""
        out = []
        for i, data in enumerate(self.chunks):
            a = self.attrs.model_copy(update={"chunk_index": i})
            out.append((data, a.to_attributes()))
        return out


def make_file(csv: bytes, meta: dict[str, Any], *, camera: str = "Cam_01", wheel: str = "W01",
              run: str = "run-1", train: str = "T1", n: int = 0, chunk_bytes: int = 4000,
              capture: datetime | None = None, extra: dict[str, bytes] | None = None
              ) -> WheelFile:
    """A distinct file (own id) for the given wheel, split into chunks of chunk_bytes;
    ``extra``: bundle members after the CSV and metadata (e.g. :func:`sidecar_of`)."""
    fid = make_file_id(SITE, camera, f"{camera}_{run}_{wheel}_{n}.dat",
                       hashlib.sha256(f"{run}{wheel}{n}".encode()).hexdigest())
    capture = capture or T0 + timedelta(seconds=n)
    m = dict(meta, file_id=fid, site=SITE, camera=camera, wheel_id=wheel, run_id=run,
             train_id=train, capture_time=capture.isoformat())
    payload, raw = build_bundle(csv, m, extra=extra)
    chunks = [payload[i:i + chunk_bytes] for i in range(0, len(payload), chunk_bytes)]
    attrs = ChunkAttributes(site=SITE, camera=camera, file_id=fid, wheel_id=wheel,
                            train_id=train, run_id=run, capture_time=capture, chunk_index=0,
                            chunk_count=len(chunks), sha256=hashlib.sha256(payload).hexdigest(),
                            payload_bytes=len(payload), raw_bytes=raw)
    return WheelFile(attrs, chunks)


def sidecar_of(csv: bytes, meta: dict[str, Any]) -> dict[str, bytes]:
    """The .npy array sidecar of a sample (what the edge bundles beside the CSV)."""
    import io

    from schemas.wheel_arrays import encode_arrays
    from schemas.wheel_csv import WheelMetadata

    wheel = read_wheel_csv(io.BytesIO(csv), WheelMetadata.model_validate(meta))
    return encode_arrays(wheel.arrays)


class DataScorer:
    """Fake of the Scorer port: reads the CSV with the contract reader, score from the data
    (share of valid points and height roughness), so different scans score differently."""

    def __init__(self, version: str = "fake-1", fail: bool = False) -> None:
        self._version = version
        self.calls = 0
        self.fail = fail
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        return self._version

    def score(self, csv_path: Path, meta_path: Path) -> ScoreResult:
        from cloud.scoring import summary_stats
        from schemas.errors import ScoringError
        with self._lock:
            self.calls += 1
        if self.fail:
            raise ScoringError("model refused")
        data = read_wheel_csv(csv_path, meta_path)
        h = height_mm(data.range, merge_traits(data.meta.traits), data.meta.calibration)
        valid = np.isfinite(h)
        rough = float(np.nanstd(np.diff(h, axis=0))) if valid.any() else 0.0
        score = float(np.clip(100 * valid.mean() - 10 * rough, 0, 100))
        return ScoreResult(score, "none" if score > 50 else "other",
                           {"line": float(np.argmax(np.nan_to_num(h).sum(axis=1)))},
                           self._version, summary_stats(data))


@dataclass
class FakeClock:
    """Settable clock."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now = self.now + timedelta(seconds=seconds)


@dataclass
class RecordingSink:
    """AlertSink fake that records events (thread safe)."""

    events: list[Any] = field(default_factory=list)

    def handle(self, event: Any) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def wait_for(cond: Callable[[], bool], timeout: float = 30.0, step: float = 0.05) -> bool:
    """Poll ``cond`` until true or timeout."""
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def shuffled(items: list[Any], seed: int = 1) -> Iterator[Any]:
    """Items in a reproducible random order."""
    rng = np.random.default_rng(seed)
    for i in rng.permutation(len(items)):
        yield items[int(i)]


class RecordingTransport:
    """Transport fake for handler-level tests: records publishes (dead letters)."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, dict[str, str]]] = []

    def publish(self, topic: str, data: bytes, attributes: Any) -> str:
        self.published.append((topic, data, dict(attributes)))
        return str(len(self.published))

    def stream(self, *a: Any, **k: Any) -> Any:
        raise NotImplementedError

    def ensure_topic(self, topic: str) -> bool:
        return False

    def ensure_subscription(self, *a: Any, **k: Any) -> bool:
        return False

    def backlog(self, subscription: str) -> int | None:
        return None

    def close(self) -> None:
        pass


@dataclass
class Settled:
    """How a fake delivery was settled."""

    acks: int = 0
    nacks: int = 0


def delivery(data: bytes, attrs: dict[str, str], msg_id: str, sub: str = "cam1-sub",
             settled: Settled | None = None) -> Any:
    """A Delivery whose ack/nack are counted in ``settled``."""
    from cloud.ports import Delivery
    s = settled if settled is not None else Settled()

    def ack() -> None:
        s.acks += 1

    def nack() -> None:
        s.nacks += 1
    return Delivery(sub, msg_id, data, attrs, T0, 1, ack, nack)


@dataclass
class Rig:
    """A worker on embedded backends (SQLite/PostgreSQL, folder, DuckDB) for direct calls."""

    worker: Any
    transport: RecordingTransport
    sink: RecordingSink
    clock: FakeClock
    root: Path
    scorer: DataScorer
    sessions: Any

    def chunk_handler(self, camera: str = "Cam_01") -> Any:
        return self.worker.handler_for(f"{camera}-data", camera)

    def event_handler(self) -> Any:
        return self.worker.handler_for("events", None)

    def blob_files(self) -> list[Path]:
        return sorted(p for p in (self.root / "blobs").rglob("*") if p.is_file()
                      and not p.name.startswith(".tmp"))

    def warehouse_rows(self, table: str) -> list[dict[str, Any]]:
        return self.worker.p.warehouse.query(f"SELECT * FROM {{ds}}.{table}")  # type: ignore[no-any-return]


def make_rig(root: Path, sql_url: str | None = None, *, owner: str = "w1",
             scorer: DataScorer | None = None, clock: FakeClock | None = None,
             file_timeout_s: float = 60.0, lease_s: float = 30.0,
             disk_low_mb: int | None = None) -> Rig:
    """Wire a Worker on embedded adapters under ``root`` (shared by several rigs)."""
    from sqlalchemy.orm import sessionmaker

    from cloud.blob.local import LocalBlobStore
    from cloud.monitor import MonitorSettings
    from cloud.pipeline import PipelineSettings
    from cloud.ports import FlowControl
    from cloud.sql.engine import make_engine
    from cloud.sql.migrate import upgrade
    from cloud.warehouse.duckdb import DuckDbWarehouse
    from cloud.worker import Topology, Worker, WorkerParts

    engine = make_engine(sql_url or f"sqlite:///{root / 'cloud.sqlite'}")
    upgrade(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    wh = DuckDbWarehouse(root / "wh.duckdb")
    wh.ensure_schema()
    transport = RecordingTransport()
    sink = RecordingSink()
    clock = clock or FakeClock()
    scorer = scorer or DataScorer()
    parts = WorkerParts(
        sessions=sessions, transport=transport, blobs=LocalBlobStore(root / "blobs"),
        warehouse=wh, scorer=scorer, sink=sink, clock=clock,
        pipeline_settings=PipelineSettings(owner=owner, lease_s=lease_s,
                                           work_dir=root / "work"),
        monitor_settings=MonitorSettings(heartbeat_timeout_s=120, camera_silence_s=600),
        flow=FlowControl(), file_timeout_s=file_timeout_s, sides={"Cam_01": "left"},
        disk_low_mb=disk_low_mb)
    worker = Worker(parts, Topology([]))
    return Rig(worker, transport, sink, clock, root, scorer, sessions)
