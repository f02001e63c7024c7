"""Unit tests: scan names and stability, RFID log, tracker, bundles, error translation."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from google.api_core import exceptions as gexc

from edge.bundle import ChunkContext, chunk_messages, make_bundle, read_bundle
from edge.rfid import RfidLog, parse_line
from edge.scanfiles import FolderState, capture_time, capture_time_from_name
from edge.tracker import Found, StateChange, Tracker
from edge.transport.pubsub import translate
from schemas.errors import StoreError
from schemas.messages import ChunkAttributes
from tests.edge.sitekit import T0


def test_capture_time_from_name_and_mtime_fallback(tmp_path: Path, caplog: object) -> None:
    assert capture_time_from_name("Cam_01_20261127_142301_512") == datetime(
        2026, 11, 27, 14, 23, 1, 512000, tzinfo=UTC)
    assert capture_time_from_name("Cam_01_20261327_142301_512") is None  # month 13
    odd = tmp_path / "scan.dat"
    odd.write_bytes(b"x")
    when, source = capture_time(odd)
    assert source == "mtime" and abs(when.timestamp() - odd.stat().st_mtime) < 1e-3


def test_pair_must_be_complete_and_stable(tmp_path: Path) -> None:
    folder = FolderState("Cam_01", tmp_path)
    stem = "Cam_01_20261127_142301_512"
    dat, xml = tmp_path / f"{stem}.dat", tmp_path / f"{stem}.xml"
    dat.write_bytes(b"1234")
    now = time.time()
    assert folder.rescan(now, 2.0, 600) == ([], [])  # no .xml yet
    xml.write_text("<x/>")
    assert folder.rescan(now, 2.0, 600)[0] == []  # just written
    assert folder.rescan(now + 3, 2.0, 600)[0][0].stem == dat.stem  # unchanged for 3 s
    with dat.open("ab") as fh:
        fh.write(b"more")  # still growing
    assert folder.rescan(time.time(), 2.0, 600)[0] == []


def test_old_lone_file_is_an_orphan(tmp_path: Path) -> None:
    lone = tmp_path / "Cam_01_20261127_142301_512.dat"
    lone.write_bytes(b"x")
    old = time.time() - 1000
    os.utime(lone, (old, old))
    ready, orphans = FolderState("Cam_01", tmp_path).rescan(time.time(), 2.0, 600)
    assert ready == [] and orphans[0][0] == lone and ".xml" in orphans[0][1]


def test_rfid_log_incremental_and_tag_choice(tmp_path: Path) -> None:
    log = tmp_path / "rfid_20261127.csv"
    log.write_text("timestamp,reader_id,tag\n2026-11-27T14:00:00.000Z,R1,TAG1\ngarbage\n")
    rfid = RfidLog(tmp_path)
    rfid.refresh()
    with log.open("a") as fh:
        fh.write("2026-11-27T14:05:00.000Z,R1,TAG2\n2026-11-27T14:06:00")  # partial line
    rfid.refresh()
    assert [r.tag for r in rfid.reads_between(T0, T0 + timedelta(hours=1))] == ["TAG1", "TAG2"]
    tag, problems = rfid.tag_for_pass(T0 + timedelta(seconds=3), T0 + timedelta(seconds=9), 60)
    assert (tag, problems) == ("TAG1", [])
    tag, problems = rfid.tag_for_pass(T0 + timedelta(minutes=20), T0 + timedelta(minutes=21), 60)
    assert tag is None and "no RFID tag" in problems[0]
    assert parse_line("2026-11-27T14:00:00,R1,") is None


def test_tracker_states_history_restart_and_status(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    t = Tracker(path)
    assert t.discover("Cam_01", "s1", tmp_path / "s1.dat", tmp_path / "s1.xml", 10, T0, "name")
    assert not t.discover("Cam_01", "s1", tmp_path / "s1.dat", tmp_path / "s1.xml", 10, T0, "name")
    t.set_state("Cam_01/s1", "converted", file_id="f" * 32)
    t.note_error("Cam_01", "boom", "Cam_01/s1", next_attempt=5.0)
    t.close()
    t2 = Tracker(path)  # a restart sees everything
    row = t2.get("Cam_01/s1")
    assert row is not None and row.state == "converted" and row.attempts == 1
    assert [h[0] for h in t2.history("Cam_01/s1")] == ["discovered", "converted"]
    st = t2.status()["Cam_01"]
    assert st["backlog"] == 1 and st["last_error"]["message"] == "boom"
    assert st["oldest_unpublished"]["stem"] == "s1"
    t2.set_state("Cam_01/s1", "cleaned")
    assert t2.prune(time.time() + 1) == 1 and t2.get("Cam_01/s1") is None


def test_tracker_batches_are_one_transaction(tmp_path: Path) -> None:
    t = Tracker(tmp_path / "t.sqlite")
    found = [Found("Cam_01", s, tmp_path / f"{s}.dat", tmp_path / f"{s}.xml", 10, T0, "name")
             for s in ("s1", "s2")]
    assert t.discover_many(found) == 2
    assert t.discover_many([*found, found[0]._replace(stem="s3")]) == 1  # only s3 is new
    assert [h[0] for h in t.history("Cam_01/s3")] == ["discovered"]
    t.set_states([StateChange("Cam_01/s1", "converted", "c", {"file_id": "f" * 32}),
                  StateChange("Cam_01/s1", "published", "p"),
                  StateChange("Cam_01/s2", "converted")])
    row = t.get("Cam_01/s1")
    assert row is not None and row.state == "published" and row.file_id == "f" * 32
    assert [h[0] for h in t.history("Cam_01/s1")] == ["discovered", "converted", "published"]
    with pytest.raises(StoreError):  # a failing move rolls back the ones before it
        t.set_states([StateChange("Cam_01/s2", "published"),
                      StateChange("Cam_01/s3", "converted", None, {"no_such_column": 1})])
    with pytest.raises(ValueError):
        t.set_states([StateChange("Cam_01/s2", "published"), StateChange("Cam_01/s3", "gone")])
    assert [t.get(f"Cam_01/{s}").state for s in ("s2", "s3")] == ["converted", "discovered"]
    assert [h[0] for h in t.history("Cam_01/s2")] == ["discovered", "converted"]


def test_tracker_status_of_a_camera_with_an_error_but_no_files(tmp_path: Path) -> None:
    t = Tracker(tmp_path / "t.sqlite")
    t.discover("Cam_01", "s1", tmp_path / "s1.dat", tmp_path / "s1.xml", 10, T0, "name")
    t.note_error("Cam_02", "folder unreadable")
    status = t.status()
    assert status["Cam_01"]["last_error"] is None and status["Cam_01"]["backlog"] == 1
    cam2 = status["Cam_02"]
    assert cam2["backlog"] == 0 and cam2["oldest_unpublished"] is None
    assert set(cam2["states"].values()) == {0}
    assert cam2["last_error"]["message"] == "folder unreadable"


def test_bundle_roundtrip_deterministic_and_chunked(tmp_path: Path) -> None:
    csv, meta = tmp_path / "w.csv", tmp_path / "w.meta.json"
    csv.write_bytes(os.urandom(50_000))
    meta.write_text('{"a": 1}')
    b1 = make_bundle(csv, meta, tmp_path / "1.tar.zst")
    b2 = make_bundle(csv, meta, tmp_path / "2.tar.zst")
    assert b1.sha256 == b2.sha256
    ctx = ChunkContext("s", "Cam_01", "a" * 32, "W1", "T1", "r1", T0)
    msgs = chunk_messages(b1, ctx, 20_000)
    assert len(msgs) == -(-b1.payload_bytes // 20_000)
    attrs = [ChunkAttributes.from_attributes(m.attributes) for m in msgs]
    assert [a.chunk_index for a in attrs] == list(range(len(msgs)))
    payload = b"".join(m.data for m in msgs)
    assert read_bundle(payload, b1.raw_bytes) == (csv.read_bytes(), meta.read_bytes())


def test_bundle_from_bytes_equals_bundle_from_files(tmp_path: Path) -> None:
    csv, meta = tmp_path / "w.csv", tmp_path / "w.meta.json"
    rows = "".join(f"{i // 300},{i % 300},{(i * 7919) % 65536},{i % 256}\n"
                   for i in range(60_000))  # over a MiB: several tar records and writes
    csv.write_text("line,x,range,intensity\n" + rows)
    meta.write_text('{"a": 1}')
    from_files = make_bundle(csv, meta, tmp_path / "f.tar.zst")
    in_memory = make_bundle(csv.read_bytes(), meta.read_bytes(), tmp_path / "m.tar.zst")
    data = from_files.path.read_bytes()
    assert in_memory.path.read_bytes() == data
    assert from_files.sha256 == in_memory.sha256 == hashlib.sha256(data).hexdigest()
    assert from_files.payload_bytes == in_memory.payload_bytes == len(data)
    assert from_files.raw_bytes == in_memory.raw_bytes
    assert read_bundle(data, from_files.raw_bytes) == (csv.read_bytes(), meta.read_bytes())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_translate_google_errors() -> None:
    assert translate(gexc.ServiceUnavailable("down"), "x").retryable
    assert translate(gexc.TooManyRequests("quota"), "x").retryable
    assert translate(TimeoutError(), "x").retryable
    assert not translate(gexc.PermissionDenied("no"), "x").retryable
    assert not translate(gexc.NotFound("no topic"), "x").retryable
    assert not translate(ValueError("too large"), "x").retryable
