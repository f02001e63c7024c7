"""Rules, grouping, de-duplication, idempotency and resolutions (fake channels)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cloud.alerts import rules
from cloud.alerts.bootstrap import build_service
from cloud.alerts.service import AlertService
from cloud.alerts.store import AlertStore
from cloud.domain_events import (
    FileArrivedLate,
    PipelineError,
    SourceBack,
    SourceSilent,
)
from tests.cloud.alerts.conftest import make_cfg
from tests.cloud.alerts.helpers import (
    SITE,
    FakeChannel,
    ManualClock,
    Sleeps,
    a_pass,
    complete,
    missing,
    scored,
)


def _sms(channels: dict[str, FakeChannel]) -> list[str]:
    return [f"{s.recipient}: {s.message.sms}" for s in channels["sms"].sent]


def test_one_grouped_message_per_pass_for_each_first_line_recipient(
    service: AlertService, channels: dict[str, FakeChannel], store: AlertStore
) -> None:
    events = a_pass()
    for ev in events[:-1]:
        service.handle(ev)
    assert channels["sms"].sent == []  # nothing before the pass is complete
    service.handle(events[-1])
    assert sorted(s.recipient for s in channels["sms"].sent) == ["ann", "bob"]
    assert sorted(s.recipient for s in channels["email"].sent) == ["ann", "bob"]
    sms = channels["sms"].sent[0].message.sms
    assert "T2-L03" in sms and "T2-R05" in sms and "T2-R07" in sms and "NO FILE" in sms
    assert "T2-L04" not in sms and "T2-R06" not in sms  # good wheels are not listed
    [alert] = store.alerts("pass")
    assert alert.title == "2 bad wheels, 1 missing file"
    assert alert.severity == 3  # the crack at 28 is STOP
    assert alert.sms_text == sms
    assert len(store.items(alert.id)) == 3


def test_redelivered_events_change_nothing(
    service: AlertService, channels: dict[str, FakeChannel], store: AlertStore
) -> None:
    for ev in a_pass():
        service.handle(ev)
    for ev in a_pass() + a_pass():  # at-least-once: the same events again, twice
        service.handle(ev)
    assert len(channels["sms"].sent) == 2
    assert len(store.alerts()) == 1


def test_same_condition_not_resent_within_repeat_interval_then_resent(
    service: AlertService, channels: dict[str, FakeChannel], clock: ManualClock,
    store: AlertStore,
) -> None:
    for ev in a_pass("run-17"):
        service.handle(ev)
    clock.advance(minutes=20)
    for ev in a_pass("run-18", at=clock.now):
        service.handle(ev)
    clock.advance(minutes=20)
    service.tick()
    first_line = [s for s in channels["sms"].sent if s.recipient != "chief"]
    assert len(first_line) == 2  # still only the first pass (chief got the escalation)
    clock.advance(minutes=21)  # 61 min after the first alert
    for ev in a_pass("run-19", at=clock.now):
        service.handle(ev)
    assert len(store.alerts("pass")) == 2
    first_line = [s for s in channels["sms"].sent if s.recipient != "chief"]
    assert len(first_line) == 4
    assert "T2-L03" in first_line[-1].message.sms


def test_a_new_bad_wheel_is_sent_while_known_ones_are_suppressed(
    service: AlertService, channels: dict[str, FakeChannel], clock: ManualClock,
    store: AlertStore,
) -> None:
    for ev in a_pass("run-17"):
        service.handle(ev)
    clock.advance(minutes=10)
    service.handle(scored("T2-L03", 27.0, run="run-18", at=clock.now))
    service.handle(scored("T2-L09", 55.0, run="run-18", pos=9, defect="blister", at=clock.now))
    service.handle(complete(run="run-18", at=clock.now))
    second = store.alerts("pass")[-1]
    assert second.title == "1 bad wheel"
    assert [i.wheel_id for i in store.items(second.id)] == ["T2-L09"]
    assert "T2-L03" not in channels["sms"].sent[-1].message.sms


def test_group_flushes_after_grace_without_run_complete(
    service: AlertService, channels: dict[str, FakeChannel], clock: ManualClock
) -> None:
    for ev in a_pass()[:-1]:
        service.handle(ev)
    clock.advance(seconds=599)
    service.tick()
    assert channels["sms"].sent == []
    clock.advance(seconds=1)
    service.tick()
    assert len(channels["sms"].sent) == 2
    service.tick()
    assert len(channels["sms"].sent) == 2


def test_file_arriving_late_before_flush_is_not_reported(
    service: AlertService, channels: dict[str, FakeChannel], store: AlertStore
) -> None:
    events = a_pass()
    for ev in events[:-1]:
        service.handle(ev)
    service.handle(FileArrivedLate(site=SITE, run_id="run-17", camera="Cam_02",
                                   wheel_id="T2-R07", arrived_at=events[0].scored_at))
    service.handle(events[-1])
    assert "T2-R07" not in channels["sms"].sent[0].message.sms
    assert store.alerts("pass")[0].title == "2 bad wheels"


def test_late_file_after_alert_sends_short_resolution(
    service: AlertService, channels: dict[str, FakeChannel], clock: ManualClock,
    store: AlertStore,
) -> None:
    for ev in a_pass():
        service.handle(ev)
    clock.advance(minutes=5)
    service.handle(FileArrivedLate(site=SITE, run_id="run-17", camera="Cam_02",
                                   wheel_id="T2-R07", arrived_at=clock.now))
    [res] = store.alerts("resolution")
    assert res.parent_id == store.alerts("pass")[0].id
    texts = [s.message.sms for s in channels["sms"].sent[2:]]
    assert len(texts) == 2 and all(t.startswith("RESOLVED Thunder T2:") for t in texts)
    assert "T2-R07" in texts[0] and "arrived" in texts[0]
    assert len(texts[0]) < 100


def test_replaced_wheel_resolves_and_alert_closes_when_all_resolved(
    service: AlertService, channels: dict[str, FakeChannel], clock: ManualClock,
    store: AlertStore,
) -> None:
    for ev in a_pass():
        service.handle(ev)
    first = store.alerts("pass")[0]
    clock.advance(minutes=29)  # before the escalation time
    replaced = (("T2-L03", "Cam_01", "left", 3), ("T2-R05", "Cam_02", "right", 5))
    for wheel, cam, side, pos in replaced:
        service.handle(scored(wheel, 97.0, run="run-18", camera=cam, side=side, pos=pos,
                              at=clock.now))
    service.handle(FileArrivedLate(site=SITE, run_id="run-17", camera="Cam_02",
                                   wheel_id="T2-R07", arrived_at=clock.now))
    service.handle(complete(run="run-18", at=clock.now))
    resolutions = store.alerts("resolution")
    assert len(resolutions) == 2  # late file (immediate) + the pass with two wheels OK again
    assert any(r.title == "2 wheels OK again" for r in resolutions)
    assert store.alert(first.id).status == "resolved"  # type: ignore[union-attr]
    clock.advance(hours=2)
    service.tick()  # resolved: no escalation
    assert all(s.recipient != "chief" for s in channels["sms"].sent)


def test_source_silent_alert_once_then_resolution(
    service: AlertService, channels: dict[str, FakeChannel], clock: ManualClock,
    store: AlertStore,
) -> None:
    ev = SourceSilent(site=SITE, source="Cam_01", kind="camera", last_seen=clock.now,
                      detected_at=clock.now)
    service.handle(ev)
    clock.advance(minutes=5)
    service.handle(SourceSilent(site=SITE, source="Cam_01", kind="camera",
                                last_seen=ev.last_seen, detected_at=clock.now))
    assert len(store.alerts("source")) == 1
    assert "camera Cam_01 silent" in channels["sms"].sent[0].message.sms
    service.handle(SourceBack(site=SITE, source="Cam_01", kind="camera", seen_at=clock.now))
    assert store.alerts("source")[0].status == "resolved"
    assert channels["sms"].sent[-1].message.sms.startswith("RESOLVED")
    service.handle(SourceBack(site=SITE, source="Cam_01", kind="camera",
                              seen_at=clock.advance(seconds=1)))
    assert len(store.alerts("resolution")) == 1  # a second 'back' is not news


def test_pipeline_errors_deduplicated_per_stage(
    service: AlertService, store: AlertStore, clock: ManualClock
) -> None:
    for i in range(5):
        service.handle(PipelineError(site=SITE, where="scorer", reason="model file unreadable",
                                     file_id=f"f{i}", detected_at=clock.advance(seconds=10)))
    service.handle(PipelineError(site=SITE, where="sql", reason="connection refused",
                                 file_id=None, detected_at=clock.now))
    titles = [a.title for a in store.alerts("pipeline")]
    assert len(titles) == 2
    assert titles[0].startswith("scorer error stops scoring (file f0)")


def test_min_severity_filters_recipients(
    store: AlertStore, clock: ManualClock, tmp_path: Path
) -> None:
    cfg = make_cfg(recipients=[
        {"name": "ann", "phone": "+15551230001", "channels": ["sms"]},
        {"name": "boss", "phone": "+15551230003", "channels": ["sms"], "min_severity": "stop"},
    ])
    channels = {n: FakeChannel(n) for n in ("sms", "email", "outbox")}
    svc = build_service(cfg, store, outbox_path=tmp_path / "o.jsonl", clock=clock,
                        sleep=Sleeps(), channels=channels)  # type: ignore[arg-type]
    for ev in (scored("T2-L03", 65.0, defect="flat_spot"), complete()):
        svc.handle(ev)
    assert [s.recipient for s in channels["sms"].sent] == ["ann"]
    for ev in (scored("T2-L05", 10.0, run="run-18", pos=5), complete(run="run-18")):
        svc.handle(ev)
    assert [s.recipient for s in channels["sms"].sent] == ["ann", "ann", "boss"]


def test_disabled_alerts_send_nothing(store: AlertStore, clock: ManualClock,
                                      tmp_path: Path) -> None:
    channels = {n: FakeChannel(n) for n in ("sms", "email", "outbox")}
    svc = build_service(make_cfg(enabled=False), store, outbox_path=tmp_path / "o.jsonl",
                        clock=clock, channels=channels)  # type: ignore[arg-type]
    for ev in a_pass():
        svc.handle(ev)
    assert store.alerts() == [] and channels["sms"].sent == []


def test_missing_file_gets_side_and_position_from_wheel_map(
    store: AlertStore, clock: ManualClock, tmp_path: Path
) -> None:
    channels = {n: FakeChannel(n) for n in ("sms", "email", "outbox")}
    svc = build_service(make_cfg(), store, outbox_path=tmp_path / "o.jsonl", clock=clock,
                        channels=channels,  # type: ignore[arg-type]
                        locate=lambda t, c, w: ("right", 7) if w == "T2-R07" else None)
    svc.handle(missing("T2-R07"))
    svc.handle(complete())
    assert "T2-R07 R7 NO FILE" in channels["sms"].sent[0].message.sms


def test_a_pass_handled_as_one_batch_alerts_as_event_by_event(
    service: AlertService, channels: dict[str, FakeChannel], store: AlertStore
) -> None:
    events = a_pass()
    assert service.handle_many(events + events[:2]) == [None] * (len(events) + 2)
    assert sorted(s.recipient for s in channels["sms"].sent) == ["ann", "bob"]
    [alert] = store.alerts("pass")
    assert alert.title == "2 bad wheels, 1 missing file" and len(store.items(alert.id)) == 3
    assert service.handle_many(events) == [None] * len(events)  # redelivered: nothing new
    assert len(channels["sms"].sent) == 2


def test_a_bad_event_in_a_batch_fails_alone(
    service: AlertService, store: AlertStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = rules.on_wheel_scored

    def broken_on_l04(s: Any, ev: Any, *args: Any) -> None:
        if ev.wheel_id == "T2-L04":
            raise RuntimeError("rule bug")
        real(s, ev, *args)

    monkeypatch.setattr(rules, "on_wheel_scored", broken_on_l04)
    events = a_pass()
    errors = service.handle_many(events)
    assert [type(e).__name__ if e else None for e in errors] == [
        None, "RuntimeError", None, None, None, None]
    [alert] = store.alerts("pass")  # the other events still made the pass message
    assert alert.title == "2 bad wheels, 1 missing file"
    monkeypatch.setattr(rules, "on_wheel_scored", real)
    assert service.handle_many([events[1]]) == [None]  # retried later: now applied
