"""Benchmark: cloud subscriber throughput and last-chunk-received → score-written latency.

Case ``embedded``: N per-wheel files (simulated Ranger E55 scans converted by the edge,
bundled and chunked by ``edge.bundle``) are published to the local queue, then one worker
(``cloud.worker.Worker``, flow control 8 messages) drains the backlog through SQLite,
the local blob folder and DuckDB. Sustained wheels/s = N / (worker start → last file
written); latency per file = ``written_at - last_chunk_at`` from the sub tracker.
Case ``paced``: the same worker while files arrive at a fixed rate below capacity (the
latency a wheel sees in normal operation, no backlog). Case ``emulators`` (unless
``WHEELWATCH_BENCH_CLOUD_REAL=0``): the backlog case on the real adapters against the
Pub/Sub emulator, fake-gcs-server, PostgreSQL and bqemulator (emulator speed, not GCP's).

Scorer: the exported model (``WHEELWATCH_MODEL_DIR`` or ``models/default``); without one,
the adapter's own work only (contract CSV reader + summary stats), said in the note.
Bundles carry the edge's .npy array sidecar (scored without parsing the CSV) unless
``WHEELWATCH_BENCH_CLOUD_SIDECAR=0``.
Baseline: the same per-wheel work done in one plain loop (verify sha256, inflate,
untar, write the CSV, score) with no queue, SQL, blob store or warehouse: ratio =
pipeline wheels/s / baseline wheels/s (the share of the floor the pipeline reaches).
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

N_FILES = int(os.environ.get("WHEELWATCH_BENCH_CLOUD_FILES", "16"))
#: Bundles carry the .npy array sidecar, as the edge makes them by default
#: (``edge.bundle_arrays``); ``WHEELWATCH_BENCH_CLOUD_SIDECAR=0``: CSV-only bundles.
SIDECAR = os.environ.get("WHEELWATCH_BENCH_CLOUD_SIDECAR", "1") != "0"
LINES, WIDTH = 1000, 1536
CHUNK = 2_000_000
Msgs = list[tuple[bytes, dict[str, str]]]


class _ReaderScorer:
    """Stand-in when no model directory exists: the adapter's CSV read + statistics."""

    version = "reader-only"

    def score(self, csv_path: Path, meta_path: Path) -> Any:
        from cloud.ports import ScoreResult
        from cloud.scoring import summary_stats
        from schemas.wheel_csv import read_wheel_csv
        data = read_wheel_csv(csv_path, meta_path)
        stats = summary_stats(data)
        return ScoreResult(100.0 * stats["valid_fraction"], "none", {}, self.version, stats)


def _scorer() -> tuple[Any, str]:
    from cloud.scoring import ModelScorer
    for d in (os.environ.get("WHEELWATCH_MODEL_DIR"), "models/default"):
        if d and (Path(d) / "metadata.json").exists():
            return ModelScorer.load(Path(d)), f"model {d}"
    return _ReaderScorer(), "no model dir: CSV read + stats only"


def _sample(tmp: Path) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    from edge.convert import convert_scan
    from edge.simulator.camera import random_camera
    from edge.simulator.scan import simulate_scan, write_sim_scan
    from edge.simulator.wheel import random_wheel
    from schemas.wheel_csv import WheelContext
    rng = np.random.default_rng(3)
    wheel = random_wheel(rng)
    cam = random_camera("ranger_e55", rng, tread_width_mm=wheel.tread_width_mm, width=WIDTH,
                        lines_per_rev=LINES)
    scan = simulate_scan(wheel, cam, rng)
    paths = write_sim_scan(scan, tmp / "scan", "Cam_01", datetime(2026, 11, 27, tzinfo=UTC))
    res = convert_scan(paths.dat, tmp / "csv", context=WheelContext(site="bench"),
                       calibration=scan.calibration)
    assert res.arrays is not None
    return res.csv_path, json.loads(res.meta_path.read_text()), res.arrays


def _files(tmp: Path, n: int) -> list[tuple[str, Any, list[tuple[bytes, dict[str, str]]]]]:
    from edge.bundle import ChunkContext, chunk_messages, make_bundle
    csv_path, meta, arrays = _sample(tmp)
    sidecar = arrays if SIDECAR else None
    out = []
    for i in range(n):
        fid = hashlib.sha256(f"bench{i}".encode()).hexdigest()[:32]
        cap = datetime(2026, 11, 27, tzinfo=UTC) + timedelta(seconds=i)
        m = dict(meta, file_id=fid, site="bench", camera="Cam_01", wheel_id=f"W{i:03d}",
                 run_id="r1", train_id="T1", capture_time=cap.isoformat())
        mp = tmp / f"m{i}.json"
        mp.write_text(json.dumps(m))
        bundle = make_bundle(csv_path, mp, tmp / f"b{i}.tar.zst", sidecar)
        ctx = ChunkContext("bench", "Cam_01", fid, f"W{i:03d}", "T1", "r1", cap)
        msgs = [(o.data, o.attributes) for o in chunk_messages(bundle, ctx, CHUNK)]
        out.append((fid, bundle, msgs))
    return out


def _worker(root: Path, scorer: Any) -> tuple[Any, Any]:
    from sqlalchemy.orm import sessionmaker

    from cloud.blob.local import LocalBlobStore
    from cloud.domain_events import NullAlertSink
    from cloud.monitor import MonitorSettings
    from cloud.pipeline import PipelineSettings
    from cloud.ports import FlowControl
    from cloud.sql.engine import make_engine
    from cloud.sql.migrate import upgrade
    from cloud.transport.local import LocalTransport
    from cloud.warehouse.duckdb import DuckDbWarehouse
    from cloud.worker import Topology, Worker, WorkerParts
    from schemas.localqueue import LocalQueue

    q = LocalQueue(root / "q.sqlite")
    q.create_topic("cam")
    q.create_topic("cam-dead-letter")
    q.create_subscription("cam-sub", "cam", ack_deadline_s=60,
                          dead_letter_topic="cam-dead-letter")
    engine = make_engine(f"sqlite:///{root / 'db.sqlite'}")
    upgrade(engine)
    wh = DuckDbWarehouse(root / "wh.duckdb")
    wh.ensure_schema()
    parts = WorkerParts(
        sessions=sessionmaker(engine, expire_on_commit=False), transport=LocalTransport(q),
        blobs=LocalBlobStore(root / "blobs"), warehouse=wh, scorer=scorer,
        sink=NullAlertSink(), clock=lambda: datetime.now(UTC),
        pipeline_settings=PipelineSettings(owner="bench", work_dir=root / "work"),
        monitor_settings=MonitorSettings(), flow=FlowControl(max_messages=8),
        monitor_interval_s=5.0)
    return Worker(parts, Topology([("cam-sub", "cam", "Cam_01")])), q


def _latencies(worker: Any, fids: list[str]) -> list[float]:
    from cloud.outbox import utc
    out = []
    for fid in fids:
        f = worker.tracker.get(fid)
        if f is not None and f.written_at is not None:
            out.append((utc(f.written_at) - utc(f.last_chunk_at)).total_seconds())
    return sorted(out)


def _embedded(tmp: Path, scorer: Any) -> tuple[Any, Callable[[Msgs], None], Callable[[], None]]:
    root = Path(tempfile.mkdtemp(dir=tmp))
    worker, q = _worker(root, scorer)
    return worker, lambda msgs: q.publish_batch("cam", msgs), lambda: None


def _run_case(made: tuple[Any, Callable[[Msgs], None], Callable[[], None]], files: list[Any],
              rate: float | None) -> dict[str, Any]:
    worker, publish, close = made
    fids = [f[0] for f in files]
    if rate is None:
        for _, _, msgs in files:
            publish(msgs)
    done = lambda: all((f := worker.tracker.get(x)) is not None and f.state == "written"  # noqa: E731
                       for x in fids)
    t = threading.Thread(target=worker.run, kwargs={"until": done}, daemon=True)
    t0 = time.perf_counter()
    t.start()
    if rate is not None:
        for _, _, msgs in files:
            publish(msgs)
            time.sleep(1.0 / rate)
    t.join(timeout=1800)
    secs = time.perf_counter() - t0
    lat = _latencies(worker, fids)
    close()
    return {"secs": secs, "lat": lat, "n": len(fids)}


@contextmanager
def _real(tmp: Path, scorer: Any) -> Iterator[tuple[Any, Callable[[Msgs], None],
                                                    Callable[[], None]]]:
    """Pub/Sub emulator + fake-gcs-server + PostgreSQL + bqemulator, one worker."""
    from cloud import bootstrap as b
    from cloud.provision import provision
    from schemas.config import load_config
    from tests.cloud.e2e import build_worker, write_config
    from tests.fixtures.bq_emulator import running_bq
    from tests.fixtures.gcs_emulator import running_gcs
    from tests.fixtures.postgres import temp_database
    from tests.fixtures.pubsub_emulator import running_emulator

    keys = ("PUBSUB_EMULATOR_HOST", "STORAGE_EMULATOR_HOST", "BIGQUERY_EMULATOR_HOST",
            "GOOGLE_CLOUD_PROJECT")
    saved = {k: os.environ.get(k) for k in keys}
    with running_emulator(tmp / "ps") as ps, running_gcs(tmp / "gcs") as gcs, \
            running_bq(tmp / "bq") as bq, temp_database() as pg:
        os.environ.update(PUBSUB_EMULATOR_HOST=ps.host, STORAGE_EMULATOR_HOST=gcs,
                          BIGQUERY_EMULATOR_HOST=bq, GOOGLE_CLOUD_PROJECT=ps.project)
        try:
            cfg = load_config(write_config(tmp / "real", "real", pg_url=pg))
            b.build_db(cfg)
            transport = b.build_transport(cfg)
            provision(cfg, transport, b.build_blobs(cfg), b.build_warehouse(cfg))
            topic = cfg.cameras[0].topic

            def publish(msgs: Msgs) -> None:
                for d, a in msgs:
                    transport.publish(topic, d, a)

            worker = build_worker(cfg, "bench", scorer=scorer)
            yield worker, publish, lambda: (worker.p.transport.close(), transport.close())
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _baseline(tmp: Path, files: list[Any], scorer: Any) -> float:
    from cloud.reassembly import unpack
    from schemas.messages import ChunkAttributes
    t0 = time.perf_counter()
    for fid, _, msgs in files:
        payload = b"".join(d for d, _ in msgs)
        b = unpack(payload, ChunkAttributes.from_attributes(msgs[0][1]), 10**10)
        (tmp / f"{fid}.csv").write_bytes(b.csv)
        (tmp / f"{fid}.meta.json").write_bytes(b.meta_json)
        if b.arrays is not None and hasattr(scorer, "score_bytes"):  # as the pipeline does
            scorer.score_bytes(b.csv, b.meta_json, b.arrays)
        else:
            scorer.score(tmp / f"{fid}.csv", tmp / f"{fid}.meta.json")
    return time.perf_counter() - t0


def _rows(case: str, res: dict[str, Any], base_rate: float | None, note: str
          ) -> list[dict[str, Any]]:
    lat = res["lat"]
    rows: list[dict[str, Any]] = []
    if base_rate is not None:
        rate = res["n"] / res["secs"]
        rows.append({"case": case, "metric": "wheels/s sustained", "value": rate,
                     "unit": "1/s", "baseline": base_rate, "ratio": rate / base_rate,
                     "note": note})
    if lat:
        rows += [{"case": case, "metric": "last chunk->written p50",
                  "value": statistics.median(lat), "unit": "s"},
                 {"case": case, "metric": "last chunk->written p95",
                  "value": lat[min(len(lat) - 1, int(0.95 * len(lat)))], "unit": "s",
                  "note": f"{len(lat)} of {res['n']} files written"}]
    return rows


def run() -> list[dict[str, Any]]:
    """Benchmark rows (see module doc)."""
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        scorer, note = _scorer()
        files = _files(tmp, N_FILES)
        try:
            _baseline(tmp, files[:1], scorer)
        except Exception as exc:  # a model that cannot score this scan: measure the rest
            scorer, note = _ReaderScorer(), f"model failed ({str(exc)[:60]}): reader only"
        mb = sum(f[1].payload_bytes for f in files) / 1e6 / len(files)
        base_rate = len(files) / _baseline(tmp, files, scorer)
        drain = _run_case(_embedded(tmp, scorer), files, None)
        paced_rate = max(0.2, 0.5 * drain["n"] / drain["secs"])
        paced = _run_case(_embedded(tmp, scorer), files[: max(4, N_FILES // 2)], paced_rate)
        case = f"{LINES}x{WIDTH} E55 {mb:.1f} MB bundles{'' if SIDECAR else ' (CSV only)'}"
        rows = _rows(f"embedded {case} backlog", drain, base_rate,
                     f"{N_FILES} files, 1 worker; {note}; baseline = plain loop")
        rows += _rows(f"embedded {case} paced {paced_rate:.2f}/s", paced, None, "")
        if os.environ.get("WHEELWATCH_BENCH_CLOUD_REAL", "1") != "0":
            with _real(tmp, scorer) as made:
                real = _run_case(made, files, None)
            rows += _rows(f"emulators {case} backlog", real, base_rate,
                          "Pub/Sub emu + fake-gcs + PostgreSQL + bqemulator, 1 worker")
    return rows
