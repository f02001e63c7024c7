"""Retries with backoff, fallback channel, recorded attempts, undeliverable reports,
acknowledgement and escalation (fake channels, manual clock, no sleeps)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cloud.alerts.bootstrap import build_service
from cloud.alerts.channels.outbox import read_outbox
from cloud.alerts.model import Rendered
from cloud.alerts.service import AlertService, UnknownAlertError
from cloud.alerts.store import AlertStore
from schemas.config.alerts import RecipientConfig
from schemas.errors import NotifierError
from tests.cloud.alerts.conftest import make_cfg
from tests.cloud.alerts.helpers import FakeChannel, ManualClock, Sleeps, a_pass, complete, scored

E429 = NotifierError("twilio: HTTP 429 code 20429: Too Many Requests", retryable=True)
E500 = NotifierError("twilio: HTTP 500: oops", retryable=True)
E400 = NotifierError("twilio: HTTP 400 code 21211: invalid 'To'", retryable=False)


def test_retries_with_backoff_then_success_all_attempts_recorded(
    service: AlertService, channels: dict[str, FakeChannel], store: AlertStore, sleeps: Sleeps
) -> None:
    channels["sms"].failures = [E429, E500]
    for ev in a_pass():
        service.handle(ev)
    rows = [(d.recipient, d.channel, d.attempt, d.ok, d.provider_id) for d in
            store.deliveries() if d.channel == "sms"]
    assert rows == [("ann", "sms", 1, False, None), ("ann", "sms", 2, False, None),
                    ("ann", "sms", 3, True, "sms-3"), ("bob", "sms", 1, True, "sms-4")]
    assert sleeps.delays == [1.0, 2.0]
    first = store.deliveries()[0]
    assert "429" in (first.error or "") and first.retryable is True
    assert store.alerts("undeliverable") == []


def test_backoff_is_capped(store: AlertStore, clock: ManualClock, tmp_path: Path) -> None:
    cfg = make_cfg(delivery={"max_attempts": 6, "backoff_s": 5, "backoff_factor": 3,
                             "backoff_max_s": 40})
    channels = {n: FakeChannel(n) for n in ("sms", "email", "outbox")}
    channels["sms"].failures = [E500] * 5
    sleeps = Sleeps()
    svc = build_service(cfg, store, outbox_path=tmp_path / "o.jsonl", clock=clock,
                        sleep=sleeps, channels=channels)  # type: ignore[arg-type]
    for ev in a_pass():
        svc.handle(ev)
    assert sleeps.delays == [5, 15, 40, 40, 40]


def test_non_retryable_error_falls_back_to_the_other_channel(
    store: AlertStore, clock: ManualClock, tmp_path: Path
) -> None:
    cfg = make_cfg(recipients=[{"name": "ann", "phone": "+15551230001",
                                "email": "ann@example.com", "channels": ["sms"]}])
    channels = {n: FakeChannel(n) for n in ("sms", "email", "outbox")}
    channels["sms"].failures = [E400]
    sleeps = Sleeps()
    svc = build_service(cfg, store, outbox_path=tmp_path / "o.jsonl", clock=clock,
                        sleep=sleeps, channels=channels)  # type: ignore[arg-type]
    for ev in a_pass():
        svc.handle(ev)
    assert sleeps.delays == []  # 400 is not retried
    assert [s.recipient for s in channels["email"].sent] == ["ann"]
    rows = [(d.channel, d.ok) for d in store.deliveries()]
    assert rows == [("sms", False), ("email", True)]
    assert store.alerts("pass")[0].dispatch == "sent"


def test_undeliverable_alert_is_reported_to_the_others_and_the_outbox(
    store: AlertStore, clock: ManualClock, tmp_path: Path
) -> None:
    cfg = make_cfg(recipients=[
        {"name": "ann", "phone": "+15551230001", "channels": ["sms"]},
        {"name": "bob", "email": "bob@example.com", "channels": ["email"]},
    ], delivery={"max_attempts": 2, "fallback": {}})
    outbox = tmp_path / "o.jsonl"
    from cloud.alerts.channels.outbox import OutboxChannel

    channels = {"sms": FakeChannel("sms", failures=[E500, E500]),
                "email": FakeChannel("email"), "outbox": OutboxChannel(outbox, "outbox", clock)}
    svc = build_service(cfg, store, outbox_path=outbox, clock=clock, sleep=Sleeps(),
                        channels=channels)  # type: ignore[arg-type]
    for ev in a_pass():
        svc.handle(ev)
    alert = store.alerts("pass")[0]
    assert alert.dispatch == "failed"
    [report] = store.alerts("undeliverable")
    assert report.parent_id == alert.id
    assert f"alert {alert.id} (alert) NOT delivered to ann" in report.title
    assert "HTTP 500" in report.title
    bob_mail = [s.message for s in channels["email"].sent]
    assert bob_mail[-1].subject.startswith("[WheelWatch UNDELIVERED STOP]")
    lines = read_outbox(outbox)
    assert lines[-1]["alert_id"] == report.id and lines[-1]["recipient"] == "undeliverable-log"
    assert report.dispatch == "sent"


def test_escalates_when_not_acknowledged_then_stops_at_top_level(
    service: AlertService, channels: dict[str, FakeChannel], clock: ManualClock,
    store: AlertStore,
) -> None:
    for ev in a_pass():
        service.handle(ev)
    clock.advance(minutes=29, seconds=59)
    service.tick()
    assert [s.recipient for s in channels["sms"].sent] == ["ann", "bob"]
    clock.advance(seconds=1)
    service.tick()
    assert [s.recipient for s in channels["sms"].sent] == ["ann", "bob", "chief"]
    esc = channels["sms"].sent[-1].message.sms
    assert esc.startswith("ESCALATED STOP Thunder T2:") and len(esc) <= 160
    assert channels["email"].sent[-1].message.subject.startswith("[WheelWatch ESCALATED STOP]")
    alert = store.alerts("pass")[0]
    assert alert.level == 2
    assert [d.purpose for d in store.deliveries() if d.recipient == "chief"] == \
        ["escalation", "escalation"]
    clock.advance(hours=3)
    service.tick()
    assert len(channels["sms"].sent) == 3  # no level above 2


def test_acknowledged_alert_does_not_escalate(
    service: AlertService, channels: dict[str, FakeChannel], clock: ManualClock,
    store: AlertStore,
) -> None:
    for ev in a_pass():
        service.handle(ev)
    alert_id = store.alerts("pass")[0].id
    clock.advance(minutes=10)
    acked = service.ack(alert_id.lower(), "ann")
    assert acked.status == "acked" and acked.acked_by == "ann"
    clock.advance(minutes=5)
    again = service.ack(alert_id, "bob")
    assert again.acked_by == "ann"  # first acknowledgement kept
    clock.advance(hours=1)
    service.tick()
    assert all(s.recipient != "chief" for s in channels["sms"].sent)
    with pytest.raises(UnknownAlertError):
        service.ack("NOPE99", "ann")


def test_escalation_only_for_alerts_not_for_resolutions(
    service: AlertService, channels: dict[str, FakeChannel], clock: ManualClock
) -> None:
    service.handle(scored("T2-L03", 40.0))
    service.handle(complete())
    clock.advance(minutes=5)
    service.handle(scored("T2-L03", 95.0, run="run-18", at=clock.now))
    service.handle(complete(run="run-18", at=clock.now))
    clock.advance(hours=2)
    service.tick()
    assert all(s.recipient != "chief" for s in channels["sms"].sent)
    assert channels["sms"].sent[-1].message.sms.startswith("RESOLVED")


def test_handling_events_also_runs_due_escalations_as_a_safety_net(
    service: AlertService, channels: dict[str, FakeChannel], clock: ManualClock
) -> None:
    for ev in a_pass():
        service.handle(ev)
    clock.advance(minutes=31)
    service.handle(scored("T2-L01", 99.0, run="run-18", pos=1, at=clock.now))  # no tick() call
    assert [s.recipient for s in channels["sms"].sent] == ["ann", "bob", "chief"]



class HookedChannel(FakeChannel):
    """Runs ``hook`` (once) in the middle of its first send: another worker acting then."""

    hook: Any = None

    def send(self, recipient: RecipientConfig, message: Rendered) -> str:
        hook, self.hook = self.hook, None
        if hook is not None:
            hook()
        return super().send(recipient, message)


def test_a_second_worker_does_not_resend_an_alert_being_sent(
    store: AlertStore, clock: ManualClock, tmp_path: Path
) -> None:
    channels: dict[str, FakeChannel] = {n: FakeChannel(n) for n in ("email", "outbox")}
    channels["sms"] = HookedChannel("sms")
    workers = [build_service(make_cfg(), AlertStore.from_url(str(store.engine.url)),
                             outbox_path=tmp_path / "o.jsonl", clock=clock, sleep=Sleeps(),
                             channels=channels) for _ in range(2)]  # type: ignore[arg-type]
    channels["sms"].hook = workers[1].tick  # worker 2 wakes while worker 1 is sending
    for ev in a_pass():
        workers[0].handle(ev)
    assert sorted(s.recipient for s in channels["sms"].sent) == ["ann", "bob"]
    assert sorted(s.recipient for s in channels["email"].sent) == ["ann", "bob"]
    clock.advance(minutes=30)
    for w in workers:
        w.tick()
    assert sorted(s.recipient for s in channels["sms"].sent) == ["ann", "bob", "chief"]


def test_background_ticker_flushes_and_escalates_without_events(
    service: AlertService, channels: dict[str, FakeChannel], clock: ManualClock
) -> None:
    import time

    for ev in a_pass()[:-1]:  # no RunComplete
        service.handle(ev)
    clock.advance(minutes=10)
    service.start_ticker(0.02)
    try:
        deadline = time.monotonic() + 10
        while len(channels["sms"].sent) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [s.recipient for s in channels["sms"].sent] == ["ann", "bob"]
        clock.advance(minutes=30)
        while len(channels["sms"].sent) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [s.recipient for s in channels["sms"].sent] == ["ann", "bob", "chief"]
    finally:
        service.stop_ticker()
