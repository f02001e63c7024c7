"""Scenarios with the simulator on the embedded transport: the whole edge, end to end."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from edge.bootstrap import build_uploader
from edge.simulator.site import PassRecord, SiteSimulator
from edge.tracker import Tracker
from edge.transport import OutMessage
from edge.transport.local import LocalTransport
from schemas.errors import TransportError
from schemas.localqueue import LocalQueue
from schemas.messages import decode_event
from tests.edge.sitekit import drain, make_site, pass_start, reassemble, run_until_idle


class FlakyTransport:
    """A transport that can be switched off (the link is down)."""

    def __init__(self, inner: LocalTransport) -> None:
        self.inner = inner
        self.down = False
        self.calls = 0

    def ensure_topic(self, topic: str) -> None:
        self.inner.ensure_topic(topic)

    def publish(self, topic: str, messages: Sequence[OutMessage],
                ordering_key: str | None = None) -> list[str]:
        self.calls += 1
        if self.down:
            raise TransportError("network unreachable (test)")
        return self.inner.publish(topic, messages, ordering_key)

    def close(self) -> None:
        self.inner.close()


def _simulate(root: Path, cfg: Any) -> list[PassRecord]:
    sim = SiteSimulator.from_config(cfg, seed=7, width=200)
    return [
        sim.run_pass("T1", pass_start(0)),
        sim.run_pass("T2", pass_start(1), drop=["T2-L02"]),
        sim.run_pass("T1", pass_start(2), truncate=["T1-R03"]),
        sim.run_pass("T2", pass_start(3), unknown_tag=True),
        sim.run_pass("T1", pass_start(4)),
    ]


def _events(q: LocalQueue) -> list[Any]:
    return [decode_event(m.data, m.attributes) for m in drain(q, "wheelwatch-events-sub")]


def _delivered(q: LocalQueue) -> dict[str, dict[str, Any]]:
    msgs = drain(q, "wheelwatch-cam-01-sub") + drain(q, "wheelwatch-cam-02-sub")
    return reassemble(msgs)


def test_two_cameras_several_passes(tmp_path: Path) -> None:
    _, cfg = make_site(tmp_path)
    records = _simulate(tmp_path, cfg)
    uploader = build_uploader(cfg)
    run_until_idle(uploader)
    # the last pass closes only after pass_close_s of quiet: close it now
    uploader.closer.close_s = 0.0
    run_until_idle(uploader)
    q = LocalQueue(cfg.path(cfg.transport.local_path))
    files = _delivered(q)
    truth = {(f.camera_id, f.file): (r, f) for r in records for f in r.files if not f.dropped}
    assert len(files) == len(truth) - 1  # the truncated scan is quarantined
    by_name = {f["meta"]["source_dat"]["name"]: f for f in files.values()}
    for (cam, name), (rec, pf) in truth.items():
        if pf.truncated:
            assert name not in by_name
            continue
        got = by_name[name]
        assert not got["dupes"]
        assert got["attrs"]["camera"] == cam
        if rec.known_tag:
            assert (got["attrs"]["wheel_id"], got["attrs"]["train_id"]) == (pf.wheel_id,
                                                                             rec.train_id)
        else:
            assert (got["attrs"]["wheel_id"], got["attrs"]["train_id"]) == ("unassigned",
                                                                             "unknown")
    _check_order(files)
    _check_events(q, records)
    _check_local_files(tmp_path, cfg)


def _check_order(files: dict[str, dict[str, Any]]) -> None:
    """Per camera, message ids grow with capture time (in order per camera)."""
    for cam in ("Cam_01", "Cam_02"):
        mine = sorted((f["attrs"]["capture_time"], f["ids"]) for f in files.values()
                      if f["attrs"]["camera"] == cam)
        ids = [i for _, chunk_ids in mine for i in chunk_ids]
        assert ids == sorted(ids)


def _check_events(q: LocalQueue, records: list[PassRecord]) -> None:
    events = _events(q)
    manifests = {e.run_id: e for e in events if e.kind == "run_manifest"}
    assert len(manifests) == 5
    ordered = sorted(manifests.values(), key=lambda m: m.pass_start)
    assert [m.train_id for m in ordered] == ["T1", "T2", "T1", None, "T1"]
    assert [m.run_count for m in ordered] == [1, 1, 2, None, 3]
    assert ordered[0].problems == [] and ordered[0].cameras["Cam_01"].missing == []
    assert ordered[1].cameras["Cam_01"].missing == ["T2-L02"]
    assert len(ordered[1].cameras["Cam_01"].files) == 3
    assert ordered[2].cameras["Cam_02"].missing == ["T1-R03"]
    assert any("quarantined" in p for p in ordered[2].problems)
    assert any("unknown RFID tag" in p for p in ordered[3].problems)
    quarantine = [e for e in events if e.kind == "quarantine"]
    assert len(quarantine) == 1 and "truncated" in quarantine[0].reason


def _check_local_files(root: Path, cfg: Any) -> None:
    for cam in ("Cam_01", "Cam_02"):
        assert not list((root / cam).glob("*.dat")), "confirmed scans are deleted"
    left = [p for p in cfg.path(cfg.edge.work_dir).rglob("*") if p.is_file()]
    assert left and all(p.name.endswith(".tar.zst") for p in left)  # only kept bundles
    bundles = {str(r[0]) for r in Tracker(cfg.path(cfg.edge.tracker_path)).query(
        "SELECT bundle_path FROM files WHERE state = 'cleaned'")}
    assert {str(p) for p in left} == bundles  # one per delivered file, for republish
    qdir = cfg.path(cfg.edge.quarantine_dir) / "Cam_02"
    names = sorted(p.suffix for p in qdir.iterdir())
    assert names == [".dat", ".txt", ".xml"]
    assert "truncated" in next(qdir.glob("*.reason.txt")).read_text()


def test_transport_down_then_back(tmp_path: Path) -> None:
    _, cfg = make_site(tmp_path)
    sim = SiteSimulator.from_config(cfg, seed=3, width=200)
    sim.run_pass("T1", pass_start(0))
    sim.run_pass("T2", pass_start(1))
    queue = LocalQueue(cfg.path(cfg.transport.local_path))
    flaky = FlakyTransport(LocalTransport(queue))
    uploader = build_uploader(cfg, transport=flaky)
    flaky.down = True  # (topics can still be created: ensure_topic is not cut)
    for _ in range(10):
        uploader.step()
    status = uploader.tracker.status()
    assert all(s["states"]["cleaned"] == 0 for s in status.values())
    assert sum(s["states"]["converted"] for s in status.values()) == 16
    assert "network unreachable" in status["Cam_01"]["last_error"]["message"]
    assert len(list((tmp_path / "Cam_01").glob("*.dat"))) == 8, "nothing deleted while down"
    sim.run_pass("T1", pass_start(2))  # more scans arrive while the link is down
    for _ in range(5):
        uploader.step()
    calls_while_down = flaky.calls
    flaky.down = False
    uploader.retry_at.clear()
    uploader.closer.close_s = 0.0
    run_until_idle(uploader)
    assert flaky.calls > calls_while_down
    files = _delivered(queue)
    assert len(files) == 24
    assert all(not f["dupes"] for f in files.values())
    _check_order(files)


def test_disk_low_stops_accepting_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, cfg = make_site(tmp_path)
    SiteSimulator.from_config(cfg, seed=3, width=200).run_pass("T1", pass_start(0))
    uploader = build_uploader(cfg)
    monkeypatch.setattr("edge.uploader.free_mb", lambda _p: 0)
    for _ in range(3):
        uploader.step()
    status = uploader.tracker.status()
    assert sum(s["states"]["converted"] + s["states"]["cleaned"] for s in status.values()) == 0
    assert "disk low" in status["Cam_01"]["last_error"]["message"]
    monkeypatch.setattr("edge.uploader.free_mb", lambda _p: 10_000)
    run_until_idle(uploader)
    assert sum(s["states"]["cleaned"] for s in uploader.tracker.status().values()) == 8


def test_converter_bug_quarantines_after_retries_and_others_go_on(tmp_path: Path) -> None:
    from edge.bootstrap import build_converter

    _, cfg = make_site(tmp_path)
    SiteSimulator.from_config(cfg, seed=4, width=200).run_pass("T1", pass_start(0))
    real = build_converter(cfg)
    victim: list[str] = []

    def converter(row: Any, out_dir: Path) -> Any:
        if row.wheel_id == "T1-L02":
            victim.append(row.key)
            raise RuntimeError("converter bug")
        return real(row, out_dir)

    uploader = build_uploader(cfg, converter=converter)
    run_until_idle(uploader)
    status = uploader.tracker.status()
    assert len(victim) == 3  # tried 3 times, then quarantined
    assert status["Cam_01"]["states"]["quarantined"] == 1
    assert status["Cam_01"]["states"]["cleaned"] == 3 and status["Cam_02"]["states"]["cleaned"] == 4


def test_lost_bundle_is_converted_again(tmp_path: Path) -> None:
    _, cfg = make_site(tmp_path)
    SiteSimulator.from_config(cfg, seed=4, width=200).run_pass("T1", pass_start(0))
    queue = LocalQueue(cfg.path(cfg.transport.local_path))
    flaky = FlakyTransport(LocalTransport(queue))
    flaky.down = True
    uploader = build_uploader(cfg, transport=flaky)
    uploader.step()
    lost = uploader.tracker.files("state = 'converted'")[0]
    assert lost.bundle_path is not None
    lost.bundle_path.unlink()
    flaky.down = False
    uploader.retry_at.clear()
    # by the clock, not a step count: the publisher's own backoff (0.1 s) can outlast
    # 200 quick steps on an idle machine
    run_until_idle(uploader, budget_s=30, pause_s=0.01)
    assert len(_delivered(queue)) == 8
    assert any("bundle lost" in (d or "") for _, _, d in uploader.tracker.history(lost.key))


def test_heartbeats_and_orphans(tmp_path: Path) -> None:
    import os
    import time as _time

    _, cfg = make_site(tmp_path, edge={"heartbeat_s": 0.01, "orphan_s": 60.0})
    lone = tmp_path / "Cam_01" / "Cam_01_20261127_140000_000.dat"
    lone.parent.mkdir(parents=True)
    lone.write_bytes(b"half a pair")
    old = _time.time() - 3600
    os.utime(lone, (old, old))
    queue = LocalQueue(cfg.path(cfg.transport.local_path))
    flaky = FlakyTransport(LocalTransport(queue))
    uploader = build_uploader(cfg, transport=flaky)
    uploader.step()
    _time.sleep(0.02)
    uploader.step()
    events = _events(queue)
    beats = [e for e in events if e.kind == "heartbeat"]
    assert len(beats) == 2 and beats[0].backlog == {"Cam_01": 0, "Cam_02": 0}
    assert beats[0].free_disk_mb is not None and beats[0].free_disk_mb > 0
    [orphan] = [e for e in events if e.kind == "quarantine"]
    assert orphan.files == [lone.name] and "no matching .xml" in orphan.reason
    assert not lone.exists() and (tmp_path / "quarantine" / "Cam_01" / lone.name).exists()
    flaky.down = True
    SiteSimulator.from_config(cfg, seed=4, width=200).run_pass("T1", pass_start(0))
    for _ in range(3):
        _time.sleep(0.02)
        uploader.step()
    flaky.down = False
    assert [e for e in _events(queue) if e.kind == "heartbeat"] == []  # skipped while down
