"""End to end, on both backend sets: files published as the edge does (edge.bundle
chunks) end as stored objects, SQL rows and warehouse scores exactly once, with two
workers on the same subscriptions, chunks out of order and duplicated, a corrupted chunk,
a manifest naming a wheel whose file never comes, and a worker SIGKILLed mid-file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from cloud import bootstrap as b
from cloud.cli import main as cli_main
from cloud.domain_events import FileMissing, RunComplete, WheelScored
from cloud.sql.models import DeadLetter, Scan, Score
from schemas.config import SiteConfig, load_config
from schemas.messages import CameraPass, RunManifest, encode_event, event_attributes
from tests.cloud.e2e import build_worker, write_config
from tests.cloud.support import SITE, T0, RecordingSink, make_sample, wait_for

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict[str, Any]]:
    return make_sample(tmp_path_factory.mktemp("sample"), lines=240, width=96)


@pytest.fixture(params=["embedded", pytest.param("real", marks=pytest.mark.integration)])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[SiteConfig, Path]]:
    pg = None
    if request.param == "real":
        request.getfixturevalue("pubsub_env")
        request.getfixturevalue("gcs_env")
        request.getfixturevalue("bq_env")
        pg = request.getfixturevalue("pg_url")
    path = write_config(tmp_path, request.param, pg_url=pg)
    assert cli_main(["provision", "--config", str(path)]) == 0
    assert cli_main(["provision", "--config", str(path)]) == 0  # idempotent
    yield load_config(path), path


Msgs = list[tuple[bytes, dict[str, str]]]


def edge_messages(tmp: Path, csv: bytes, meta: dict[str, Any], camera: str, wheel: str,
                  n: int, chunk_bytes: int = 9000) -> tuple[str, Msgs]:
    """Chunks of one file built by the edge's own bundle code."""
    from edge.bundle import ChunkContext, chunk_messages, make_bundle
    from schemas.messages import make_file_id
    fid = make_file_id(SITE, camera, f"{camera}_{wheel}_{n}.dat", f"{n:064x}")
    capture = T0 + timedelta(seconds=n)
    m = dict(meta, file_id=fid, camera=camera, wheel_id=wheel, run_id="run-1", train_id="T1",
             capture_time=capture.isoformat())
    d = tmp / fid
    d.mkdir(parents=True)
    (d / "w.csv").write_bytes(csv)
    (d / "w.meta.json").write_text(json.dumps(m))
    bundle = make_bundle(d / "w.csv", d / "w.meta.json", d / "bundle.tar.zst")
    ctx = ChunkContext(SITE, camera, fid, wheel, "T1", "run-1", capture)
    return fid, [(o.data, o.attributes) for o in chunk_messages(bundle, ctx, chunk_bytes)]


def count(sessions: Any, model: Any) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def blob_count(cfg: SiteConfig, file_id: str) -> int:
    if cfg.cloud.blob_kind == "local":
        return sum(1 for p in cfg.path(cfg.cloud.blob_dir).rglob(f"*{file_id}*"))
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage
    client = storage.Client(project="test", credentials=AnonymousCredentials())
    return sum(1 for o in client.list_blobs(cfg.cloud.bucket) if file_id in o.name)


def publish_all(cfg: SiteConfig, msgs: list[tuple[str, bytes, dict[str, str]]]) -> None:
    t = b.build_transport(cfg)
    try:
        for topic, data, attrs in msgs:
            t.publish(topic, data, attrs)
    finally:
        t.close()


def run_workers(workers: list[Any]) -> list[threading.Thread]:
    threads = [threading.Thread(target=w.run, daemon=True) for w in workers]
    for t in threads:
        t.start()
    return threads


def stop_workers(workers: list[Any], threads: list[threading.Thread]) -> None:
    for w in workers:
        w.stop()
    for t in threads:
        t.join(timeout=60)
    for w in workers:
        w.p.transport.close()


def test_two_workers_exactly_once_with_faults(site: tuple[SiteConfig, Path], tmp_path: Path,
                                              sample: tuple[bytes, dict[str, Any]]) -> None:
    cfg, _ = site
    topic = {c.id: c.topic for c in cfg.cameras}
    good: list[str] = []
    msgs: list[tuple[str, bytes, dict[str, str]]] = []
    files: dict[str, dict[str, str]] = {"Cam_01": {}, "Cam_02": {}}
    for cam in ("Cam_01", "Cam_02"):
        for i, wheel in enumerate(("W01", "W02", "W03")):
            fid, chunks = edge_messages(tmp_path, *sample, cam, wheel, n=10 * i + len(cam))
            good.append(fid)
            files[cam][wheel] = fid
            msgs += [(topic[cam], d, a) for d, a in chunks]
    bad_id, bad = edge_messages(tmp_path, *sample, "Cam_01", "W04", n=99)
    files["Cam_01"]["W04"] = bad_id
    files["Cam_01"]["W05"] = "f" * 32  # published (says the edge), never received
    bad[1] = (bytes([bad[1][0][0] ^ 0x55]) + bad[1][0][1:], bad[1][1])
    msgs += [(topic["Cam_01"], d, a) for d, a in bad]
    rng = np.random.default_rng(5)
    dups = [msgs[int(i)] for i in rng.choice(len(msgs), 8, replace=False)]
    msgs = [msgs[int(i)] for i in rng.permutation(len(msgs))] + dups
    manifest = RunManifest(site=SITE, run_id="run-1", train_id="T1", tag="TAG1", run_count=1,
                           pass_start=T0, pass_end=T0 + timedelta(minutes=1), cameras={
                               "Cam_01": CameraPass(expected=["W01", "W02", "W03", "W04", "W05"],
                                                    files=files["Cam_01"]),
                               "Cam_02": CameraPass(expected=["W01", "W02", "W03"],
                                                    files=files["Cam_02"])})
    msgs.append((cfg.transport.events_topic, encode_event(manifest), event_attributes(manifest)))
    sink = RecordingSink()
    workers = [build_worker(cfg, "w-a", sink), build_worker(cfg, "w-b", sink)]
    threads = run_workers(workers)
    try:
        publish_all(cfg, msgs)
        assert wait_for(lambda: len(sink.of(RunComplete)) >= 1, timeout=120), sink.events
    finally:
        stop_workers(workers, threads)
    _, sessions = b.build_db(cfg)
    tracker = workers[0].tracker
    assert {fid: tracker.get(fid).state for fid in good} == dict.fromkeys(good, "written")
    assert tracker.get(bad_id).state == "rejected"
    assert [blob_count(cfg, fid) for fid in good] == [2] * 6
    assert blob_count(cfg, bad_id) == 0
    assert count(sessions, Scan) == 6 and count(sessions, Score) == 6
    with sessions() as s:
        reasons = s.scalars(select(DeadLetter.reason)).all()
    assert reasons and all("sha256 mismatch" in r for r in reasons)
    wh = b.build_warehouse(cfg)
    rows = wh.query("SELECT file_id, score FROM {ds}.v_wheel_scores")
    assert sorted(r["file_id"] for r in rows) == sorted(good)
    raw = wh.query("SELECT file_id FROM {ds}.wheel_scores")
    if cfg.cloud.warehouse_kind == "duckdb":  # BigQuery dedupes insertIds best effort only
        assert len(raw) == 6
    assert all(0 <= r["score"] <= 100 for r in rows)
    assert len(sink.of(WheelScored)) == 6
    missing = sorted((e.wheel_id, e.reason.split(":")[0]) for e in sink.of(FileMissing))
    assert missing == [("W04", "file rejected"), ("W05", "published, not received")]
    done = sink.of(RunComplete)
    assert len(done) == 1 and (done[0].scored, done[0].missing) == (6, 2)


def test_sigkill_mid_file_and_restart(site: tuple[SiteConfig, Path], tmp_path: Path,
                                      sample: tuple[bytes, dict[str, Any]]) -> None:
    cfg, path = site
    cam = cfg.cameras[0]
    fid_a, chunks_a = edge_messages(tmp_path, *sample, cam.id, "W01", n=1)
    fid_b, chunks_b = edge_messages(tmp_path, *sample, cam.id, "W02", n=2)
    assert len(chunks_a) >= 4
    half = len(chunks_a) // 2
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "tests.cloud.e2e", str(path)]
    # worker 1 dies by SIGKILL right after storing file B's CSV (mid-pipeline) while
    # file A is half received
    proc = subprocess.Popen([*cmd, "killed", fid_b], env=env, cwd=REPO)
    try:
        publish_all(cfg, [(cam.topic, d, a) for d, a in chunks_a[:half]])
        _, sessions = b.build_db(cfg)
        tracker = b.tracker(sessions, b.utc_now)
        assert wait_for(lambda: tracker.get(fid_a) is not None, timeout=60)
        publish_all(cfg, [(cam.topic, d, a) for d, a in chunks_b])
        assert proc.wait(timeout=90) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    assert tracker.get(fid_a).state == "receiving"
    assert tracker.get(fid_b).state in ("receiving", "assembled")
    proc2 = subprocess.Popen([*cmd, "restarted"], env=env, cwd=REPO)
    try:
        publish_all(cfg, [(cam.topic, d, a) for d, a in chunks_a[half:]])
        assert wait_for(lambda: all(
            (f := tracker.get(x)) is not None and f.state == "written"
            for x in (fid_a, fid_b)), timeout=120), [tracker.get(x) for x in (fid_a, fid_b)]
    finally:
        proc2.send_signal(signal.SIGTERM)
        proc2.wait(timeout=60)
    assert blob_count(cfg, fid_a) == 2 and blob_count(cfg, fid_b) == 2
    assert count(sessions, Scan) == 2 and count(sessions, Score) == 2
    rows = b.build_warehouse(cfg).query("SELECT file_id FROM {ds}.v_wheel_scores")
    assert sorted(r["file_id"] for r in rows) == sorted([fid_a, fid_b])


def test_two_worker_processes_share_everything(site: tuple[SiteConfig, Path], tmp_path: Path,
                                               sample: tuple[bytes, dict[str, Any]]) -> None:
    """Two OS processes on the same subscriptions, database, blob store and warehouse
    (for the embedded set: one SQLite file, one DuckDB file, one queue file)."""
    cfg, path = site
    cam = cfg.cameras[1]
    made = [edge_messages(tmp_path, *sample, cam.id, f"W0{i}", n=i, chunk_bytes=6000)
            for i in range(1, 7)]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [subprocess.Popen([sys.executable, "-m", "tests.cloud.e2e", str(path), f"p{i}"],
                              env=env, cwd=REPO) for i in range(2)]
    try:
        publish_all(cfg, [(cam.topic, d, a) for _, chunks in made for d, a in chunks])
        _, sessions = b.build_db(cfg)
        tracker = b.tracker(sessions, b.utc_now)
        assert wait_for(lambda: all((f := tracker.get(fid)) is not None and f.state == "written"
                                    for fid, _ in made), timeout=180)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=60) for p in procs]
    assert codes == [0, 0]
    assert [blob_count(cfg, fid) for fid, _ in made] == [2] * 6
    assert count(sessions, Scan) == 6 and count(sessions, Score) == 6
    rows = b.build_warehouse(cfg).query("SELECT file_id FROM {ds}.v_wheel_scores")
    assert sorted(r["file_id"] for r in rows) == sorted(fid for fid, _ in made)
