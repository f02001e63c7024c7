"""Unit tests: chunk handling, reassembly, idempotency, dead letters (embedded adapters,
fake scorer, handlers called directly)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cloud.domain_events import PipelineError, WheelScored
from cloud.sql.models import DeadLetter, FileChunk, Scan, Score, TrackedFile
from tests.cloud.support import (
    DataScorer,
    Settled,
    delivery,
    make_file,
    make_rig,
    make_sample,
    shuffled,
    sidecar_of,
)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict[str, Any]]:
    return make_sample(tmp_path_factory.mktemp("sample"))


def count(rig: Any, model: Any) -> int:
    with rig.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def feed(rig: Any, msgs: list[tuple[bytes, dict[str, str]]], settled: Settled,
         prefix: str = "m") -> None:
    h = rig.chunk_handler()
    for i, (data, attrs) in enumerate(msgs):
        h(delivery(data, attrs, f"{prefix}{i}", settled=settled))


def test_out_of_order_and_duplicate_chunks_give_one_of_everything(
        tmp_path: Path, sample: tuple[bytes, dict[str, Any]]) -> None:
    rig = make_rig(tmp_path)
    f = make_file(*sample, chunk_bytes=3000)
    assert len(f.chunks) > 5
    msgs = f.messages()
    stream = list(shuffled(msgs + msgs[:3] + msgs[-2:], seed=3))
    settled = Settled()
    feed(rig, stream, settled)
    feed(rig, msgs, settled, prefix="again")  # the whole file redelivered after completion
    assert settled.acks == len(stream) + len(msgs) and settled.nacks == 0
    tf = rig.worker.tracker.get(f.file_id)
    assert tf.state == "written"
    assert None not in (tf.assembled_at, tf.stored_at, tf.scored_at, tf.written_at)
    assert [p.name.split("__")[1] for p in rig.blob_files()] == [
        f"{f.file_id}.csv", f"{f.file_id}.meta.json"]
    assert rig.blob_files()[0].read_bytes() == sample[0]
    assert "Cam_01/date=2026-11-27/" in str(rig.blob_files()[0])
    assert count(rig, Scan) == 1 and count(rig, Score) == 1
    assert count(rig, FileChunk) == 0  # purged once written
    rows = rig.warehouse_rows("wheel_scores")
    assert len(rows) == 1 and rows[0]["file_id"] == f.file_id
    assert 0 <= rows[0]["score"] <= 100 and rows[0]["height_p95"] >= rows[0]["height_p05"]
    assert rig.scorer.calls == 1
    rig.worker.dispatcher.dispatch()
    scored = rig.sink.of(WheelScored)
    assert len(scored) == 1 and scored[0].score == rows[0]["score"] and scored[0].side == "left"


def test_corrupted_chunk_goes_to_dead_letter_with_reason(
        tmp_path: Path, sample: tuple[bytes, dict[str, Any]]) -> None:
    rig = make_rig(tmp_path)
    f = make_file(*sample, chunk_bytes=5000)
    msgs = f.messages()
    data, attrs = msgs[1]
    msgs[1] = (bytes([data[0] ^ 0xFF]) + data[1:], attrs)
    settled = Settled()
    feed(rig, msgs, settled)
    tf = rig.worker.tracker.get(f.file_id)
    assert tf.state == "rejected" and "sha256 mismatch" in tf.error
    assert rig.blob_files() == [] and count(rig, Score) == 0
    with rig.sessions() as s:
        dl = s.scalars(select(DeadLetter)).all()
    assert len(dl) == 1 and "sha256 mismatch" in dl[0].reason and dl[0].file_id == f.file_id
    topic, _, dattrs = rig.transport.published[0]
    assert topic == "Cam_01-data-dead-letter" and "sha256" in dattrs["dead_letter_reason"]
    assert count(rig, FileChunk) == len(msgs)  # evidence kept, nothing silently deleted
    files = rig.warehouse_rows("files")
    assert [(r["file_id"], r["state"]) for r in files] == [(f.file_id, "rejected")]
    feed(rig, msgs[:2], settled, prefix="late")  # more copies: acked, nothing changes
    assert rig.worker.tracker.get(f.file_id).state == "rejected"
    rig.worker.dispatcher.dispatch()
    assert len(rig.sink.of(PipelineError)) == 1


@pytest.mark.parametrize("change,reason", [
    ({"chunk_index": "9", "chunk_count": "3"}, "chunk_index"),
    ({"sha256": "nothex"}, "sha256"),
    ({"schema_version": "2"}, "schema_version"),
])
def test_poison_attributes_are_dead_lettered(
        tmp_path: Path, sample: tuple[bytes, dict[str, Any]], change: dict[str, str],
        reason: str) -> None:
    rig = make_rig(tmp_path)
    data, attrs = make_file(*sample).messages()[0]
    settled = Settled()
    rig.chunk_handler()(delivery(data, {**attrs, **change}, "p1", settled=settled))
    assert settled.acks == 1
    assert count(rig, TrackedFile) == 0
    assert reason in rig.transport.published[0][2]["dead_letter_reason"]


def test_contradicting_chunk_is_dead_lettered(
        tmp_path: Path, sample: tuple[bytes, dict[str, Any]]) -> None:
    rig = make_rig(tmp_path)
    f = make_file(*sample)
    data, attrs = f.messages()[0]
    settled = Settled()
    h = rig.chunk_handler()
    h(delivery(data, attrs, "a", settled=settled))
    h(delivery(data, {**attrs, "payload_bytes": "12345"}, "b", settled=settled))
    assert "contradicts" in rig.transport.published[0][2]["dead_letter_reason"]


def test_restart_mid_file_resumes_from_persisted_chunks(
        tmp_path: Path, sample: tuple[bytes, dict[str, Any]]) -> None:
    f = make_file(*sample, chunk_bytes=3000)
    msgs = f.messages()
    first = make_rig(tmp_path, owner="w1")
    feed(first, msgs[: len(msgs) // 2], Settled())
    del first  # the worker process is gone; only the database and folders remain
    second = make_rig(tmp_path, owner="w2")
    feed(second, msgs[len(msgs) // 2:], Settled(), prefix="r")
    assert second.worker.tracker.get(f.file_id).state == "written"
    assert len(second.blob_files()) == 2 and count(second, Score) == 1


def test_scoring_failure_is_retried_and_reported_once(
        tmp_path: Path, sample: tuple[bytes, dict[str, Any]]) -> None:
    rig = make_rig(tmp_path, scorer=DataScorer(fail=True))
    f = make_file(*sample)
    settled = Settled()
    feed(rig, f.messages(), settled)
    assert settled.nacks == 1  # the completing chunk is redelivered
    tf = rig.worker.tracker.get(f.file_id)
    assert tf.state == "stored" and "model refused" in tf.error
    assert rig.worker.monitor.resume_stuck() == 0  # left to its receiver for a while
    assert rig.scorer.calls == 1
    rig.clock.advance(31)
    assert rig.worker.monitor.resume_stuck() == 0  # still failing
    assert rig.scorer.calls == 2
    rig.scorer.fail = False
    assert rig.worker.monitor.resume_stuck() == 1
    assert rig.worker.tracker.get(f.file_id).state == "written"
    assert len(rig.blob_files()) == 2 and count(rig, Scan) == 1
    rig.worker.dispatcher.dispatch()
    assert len(rig.sink.of(PipelineError)) == 1 and len(rig.sink.of(WheelScored)) == 1


def test_two_workers_same_file_interleaved(
        tmp_path: Path, sample: tuple[bytes, dict[str, Any]]) -> None:
    a = make_rig(tmp_path, owner="a")
    b = make_rig(tmp_path, owner="b")
    f = make_file(*sample, chunk_bytes=3000)
    msgs = f.messages()
    for i, m in enumerate(msgs):  # alternate workers, both see the last chunk
        feed(a if i % 2 else b, [m], Settled(), prefix=f"x{i}")
    feed(a, msgs[-1:], Settled(), prefix="dup")
    assert a.worker.tracker.get(f.file_id).state == "written"
    assert count(a, Score) == 1 and len(a.warehouse_rows("wheel_scores")) == 1
    assert a.scorer.calls + b.scorer.calls == 1


def test_worker_reopens_a_stream_that_died(tmp_path: Path) -> None:
    from cloud.worker import Topology, Worker

    class Dead:
        def __init__(self) -> None:
            self.stopped = False

        def stop(self) -> None:
            self.stopped = True

        def alive(self) -> bool:
            return False

    opened: list[str] = []

    class T:
        def stream(self, sub: str, handler: Any, flow: Any) -> Dead:
            opened.append(sub)
            return Dead()

        def close(self) -> None:
            pass

    rig = make_rig(tmp_path)
    rig.worker.p.transport = T()
    w = Worker(rig.worker.p, Topology([("s1", "t1", "Cam_01"), ("ev", "events", None)]))
    w.start()
    w._revive()
    assert opened == ["s1", "ev", "s1", "ev"]


class BytesScorer(DataScorer):
    """A scorer that takes bytes (as ``cloud.scoring.ModelScorer``); records its inputs."""

    def __init__(self, scratch: Path, fail: bool = False) -> None:
        super().__init__(fail=fail)
        self.scratch = scratch
        self.inputs: list[bytes] = []
        self.arrays: list[list[str] | None] = []  # the sidecar's array names, per call
        self.path_calls = 0

    def score(self, csv_path: Path, meta_path: Path) -> Any:
        self.path_calls += 1
        return super().score(csv_path, meta_path)

    def score_bytes(self, csv: bytes, meta_json: bytes, arrays: Any = None) -> Any:
        self.inputs.append(csv)
        self.arrays.append(None if arrays is None else sorted(arrays))
        self.scratch.mkdir(exist_ok=True)
        (self.scratch / "w.csv").write_bytes(csv)
        (self.scratch / "w.meta.json").write_bytes(meta_json)
        return super().score(self.scratch / "w.csv", self.scratch / "w.meta.json")


def test_bytes_scorer_scores_the_bundle_then_the_stored_object_on_retry(
        tmp_path: Path, sample: tuple[bytes, dict[str, Any]]) -> None:
    scorer = BytesScorer(tmp_path / "scratch", fail=True)
    rig = make_rig(tmp_path / "rig", scorer=scorer)
    f = make_file(*sample, chunk_bytes=3000)
    feed(rig, f.messages(), Settled())  # scored from the unpacked bundle: fails
    assert rig.worker.tracker.get(f.file_id).state == "stored"
    scorer.fail = False
    rig.clock.advance(31)
    assert rig.worker.monitor.resume_stuck() == 1  # scored from the stored CSV object
    assert rig.worker.tracker.get(f.file_id).state == "written"
    assert scorer.inputs == [sample[0], sample[0]] and scorer.path_calls == 0
    assert not (tmp_path / "rig" / "work").exists() or not any(
        (tmp_path / "rig" / "work").iterdir())
    assert count(rig, Score) == 1 and count(rig, FileChunk) == 0


def test_sidecar_arrays_reach_the_scorer_only_from_the_bundle(
        tmp_path: Path, sample: tuple[bytes, dict[str, Any]]) -> None:
    scorer = BytesScorer(tmp_path / "scratch", fail=True)
    rig = make_rig(tmp_path / "rig", scorer=scorer)
    f = make_file(*sample, chunk_bytes=3000, extra=sidecar_of(*sample))
    feed(rig, f.messages(), Settled())  # scored from the unpacked bundle's arrays: fails
    assert rig.worker.tracker.get(f.file_id).state == "stored"
    scorer.fail = False
    rig.clock.advance(31)
    assert rig.worker.monitor.resume_stuck() == 1  # only the CSV is stored: scored from it
    assert rig.worker.tracker.get(f.file_id).state == "written"
    assert scorer.arrays == [["Intensity", "Range"], None]
    assert scorer.inputs == [sample[0], sample[0]] and scorer.path_calls == 0
    assert sorted(p.name.split("__")[1] for p in rig.blob_files()) == [
        f"{f.file_id}.csv", f"{f.file_id}.meta.json"]
    g = make_file(*sample, chunk_bytes=3000, n=1)  # no sidecar: the CSV
    feed(rig, g.messages(), Settled(), prefix="g")
    assert rig.worker.tracker.get(g.file_id).state == "written"
    assert scorer.arrays[-1] is None


def test_a_bad_sidecar_rejects_the_file(tmp_path: Path,
                                        sample: tuple[bytes, dict[str, Any]]) -> None:
    rig = make_rig(tmp_path)
    sidecar = sidecar_of(*sample)
    sidecar["arrays/Range.npy"] = sidecar["arrays/Intensity.npy"]  # uint8 where uint16 is due
    f = make_file(*sample, chunk_bytes=3000, extra=sidecar)
    settled = Settled()
    feed(rig, f.messages(), settled)
    tf = rig.worker.tracker.get(f.file_id)
    assert tf.state == "rejected" and "'arrays/Range.npy' is |u1" in (tf.error or "")
    assert rig.blob_files() == []


@pytest.mark.parametrize("chunk_bytes", [10_000_000, 3000])
def test_a_one_chunk_file_is_processed_from_the_delivered_bytes(
        tmp_path: Path, sample: tuple[bytes, dict[str, Any]], chunk_bytes: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    rig = make_rig(tmp_path)
    f = make_file(*sample, chunk_bytes=chunk_bytes)
    reads: list[str] = []
    real = rig.worker.tracker.payload
    monkeypatch.setattr(rig.worker.tracker, "payload",
                        lambda fid: reads.append(fid) or real(fid))
    feed(rig, f.messages(), Settled())
    tf = rig.worker.tracker.get(f.file_id)
    assert tf.state == "written" and None not in (tf.stored_at, tf.scored_at)
    assert reads == ([] if len(f.chunks) == 1 else [f.file_id])
    assert rig.blob_files()[0].read_bytes() == sample[0]
    row = rig.warehouse_rows("files")[0]
    assert row["state"] == "written" and row["stored_at"] is not None
    assert row["assembled_at"] is not None and row["error"] is None
