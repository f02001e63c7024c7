"""Unit tests: run manifests, missing files, late arrivals, silent sources, labels."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cloud.domain_events import (
    FileArrivedLate,
    FileMissing,
    PipelineError,
    RunComplete,
    SourceBack,
    SourceSilent,
)
from schemas.messages import (
    CameraPass,
    Heartbeat,
    RunManifest,
    encode_event,
    event_attributes,
)
from tests.cloud.support import SITE, T0, Settled, delivery, make_file, make_rig, make_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict[str, Any]]:
    return make_sample(tmp_path_factory.mktemp("sample"))


def send_event(rig: Any, ev: Any, msg_id: str) -> Settled:
    st = Settled()
    rig.event_handler()(delivery(encode_event(ev), event_attributes(ev), msg_id, "ev-sub", st))
    return st


def manifest(files: dict[str, str], expected: list[str], missing: list[str] | None = None,
             run: str = "run-1") -> RunManifest:
    return RunManifest(site=SITE, run_id=run, train_id="T1", tag="TAG1", run_count=3,
                       pass_start=T0, pass_end=T0 + timedelta(seconds=30),
                       cameras={"Cam_01": CameraPass(expected=expected, files=files,
                                                     missing=missing or [])})


def deliver_file(rig: Any, f: Any) -> None:
    h = rig.chunk_handler(f.attrs.camera)
    for i, (data, attrs) in enumerate(f.messages()):
        h(delivery(data, attrs, f"{f.file_id}-{i}"))


def test_manifest_wheel_that_never_comes_is_missing_exactly_once(
        tmp_path: Path, sample: tuple[bytes, dict[str, Any]]) -> None:
    a = make_rig(tmp_path, owner="a", file_timeout_s=60)
    b = make_rig(tmp_path, owner="b", clock=a.clock, file_timeout_s=60)
    f1 = make_file(*sample, wheel="W01")
    lost = make_file(*sample, wheel="W02", n=1)  # published, never received
    deliver_file(a, f1)
    m = manifest({"W01": f1.file_id, "W02": lost.file_id}, ["W01", "W02", "W03"],
                 missing=["W03"])
    assert send_event(a, m, "e1").acks == 1
    send_event(b, m, "e1-dup")  # duplicated manifest
    a.worker.monitor.sweep()
    assert a.worker.monitor.missing_files() == 0  # not before the deadline
    a.clock.advance(61)
    a.worker.monitor.sweep()
    b.worker.monitor.sweep()
    a.worker.dispatcher.dispatch()
    missing = a.sink.of(FileMissing)
    assert sorted((e.wheel_id, e.reason) for e in missing) == [
        ("W02", "published, not received"), ("W03", "not produced by camera")]
    done = a.sink.of(RunComplete)
    assert len(done) == 1 and (done[0].scored, done[0].missing) == (1, 2)
    assert done[0].run_count == 3
    deliver_file(a, lost)  # arrives after all
    a.worker.dispatcher.dispatch()
    late = a.sink.of(FileArrivedLate)
    assert [e.wheel_id for e in late] == ["W02"]
    assert len(a.sink.of(FileMissing)) == 2 and len(a.sink.of(RunComplete)) == 1


def test_run_completes_when_all_files_arrive_before_the_manifest(
        tmp_path: Path, sample: tuple[bytes, dict[str, Any]]) -> None:
    rig = make_rig(tmp_path)
    files = [make_file(*sample, wheel=f"W0{i}", n=i) for i in range(1, 3)]
    for f in files:
        deliver_file(rig, f)
    send_event(rig, manifest({f.attrs.wheel_id: f.file_id for f in files}, ["W01", "W02"]),
               "e1")
    rig.worker.dispatcher.dispatch()
    done = rig.sink.of(RunComplete)
    assert len(done) == 1 and (done[0].scored, done[0].missing) == (2, 0)


def test_edge_heartbeat_silence_and_return(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    hb = Heartbeat(site=SITE, edge_id="edge-1", sent_at=T0)
    send_event(rig, hb, "h1")
    rig.clock.advance(100)
    assert rig.worker.monitor.silent_sources() == 0
    rig.clock.advance(30)
    assert rig.worker.monitor.silent_sources() == 1
    assert rig.worker.monitor.silent_sources() == 0  # reported once
    send_event(rig, hb, "h2")
    rig.worker.dispatcher.dispatch()
    assert [e.source for e in rig.sink.of(SourceSilent)] == ["edge-1"]
    assert [e.source for e in rig.sink.of(SourceBack)] == ["edge-1"]


def test_edge_reporting_low_disk_raises_one_pipeline_event_a_day(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, disk_low_mb=2000)
    send_event(rig, Heartbeat(site=SITE, edge_id="edge-1", sent_at=T0, free_disk_mb=5000), "h0")
    for i in range(3):  # low, repeated: one event
        st = send_event(rig, Heartbeat(site=SITE, edge_id="edge-1", sent_at=T0,
                                       free_disk_mb=450 - i), f"h{i + 1}")
        assert st.acks == 1
    rig.worker.dispatcher.dispatch()
    errors = rig.sink.of(PipelineError)
    assert [(e.where, e.site) for e in errors] == [("edge-disk", SITE)]
    assert "edge edge-1: only 450 MB disk free" in errors[0].reason
    rig.clock.advance(24 * 3600)
    send_event(rig, Heartbeat(site=SITE, edge_id="edge-1", sent_at=T0, free_disk_mb=400), "h9")
    rig.worker.dispatcher.dispatch()
    assert len(rig.sink.of(PipelineError)) == 2  # still low the next day: said again


def test_camera_silent_while_other_scans(
        tmp_path: Path, sample: tuple[bytes, dict[str, Any]]) -> None:
    rig = make_rig(tmp_path)
    deliver_file(rig, make_file(*sample, camera="Cam_01", n=0))
    deliver_file(rig, make_file(*sample, camera="Cam_02", n=0))
    for k in range(1, 4):  # only Cam_02 keeps scanning
        rig.clock.advance(300)
        deliver_file(rig, make_file(*sample, camera="Cam_02", n=k))
    rig.worker.monitor.silent_sources()
    rig.worker.dispatcher.dispatch()
    assert [(e.source, e.kind) for e in rig.sink.of(SourceSilent)] == [("Cam_01", "camera")]
    rig.clock.advance(10)
    deliver_file(rig, make_file(*sample, camera="Cam_01", n=9))
    rig.worker.dispatcher.dispatch()
    assert [e.source for e in rig.sink.of(SourceBack)] == ["Cam_01"]


def test_bad_event_is_dead_lettered(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    st = Settled()
    rig.event_handler()(delivery(b"{not json", {"kind": "run_manifest"}, "bad", "ev", st))
    rig.event_handler()(delivery(b"{}", {"kind": "mystery"}, "bad2", "ev", st))
    assert st.acks == 2
    reasons = [p[2]["dead_letter_reason"] for p in rig.transport.published]
    assert "bad run_manifest event" in reasons[0] and "unknown event kind" in reasons[1]
