"""Outbox delivery: exactly-once creation, at-least-once hand-off, even when the worker
dies between claiming an event and handing it to the alert sink."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cloud.domain_events import PipelineError
from cloud.outbox import CLAIM_S, Dispatcher, add_event
from cloud.sql.models import OutboxEvent
from tests.cloud.support import T0, FakeClock, RecordingSink, make_rig


class Died(BaseException):
    """Stands for the process dying inside the sink (not an Exception: nothing catches it)."""


class DyingSink:
    def handle(self, event: Any) -> None:
        raise Died


class FailingSink:
    def __init__(self) -> None:
        self.calls = 0

    def handle(self, event: Any) -> None:
        self.calls += 1
        raise RuntimeError("provider down")


def _event(rig: Any, key: str = "pipeline:f1:store") -> None:
    with rig.sessions.begin() as s:
        assert add_event(s, key, PipelineError(site="park1", where="store", reason="x",
                                               file_id="f1", detected_at=T0), T0)
        assert not add_event(s, key, PipelineError(site="park1", where="store", reason="x",
                                                   file_id="f1", detected_at=T0), T0)


def pending(rig: Any) -> int:
    with rig.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxEvent)
                            .where(OutboxEvent.delivered_at.is_(None))) or 0)


def test_event_of_a_worker_that_died_mid_delivery_is_delivered_later(tmp_path: Path) -> None:
    clock = FakeClock()
    rig = make_rig(tmp_path, clock=clock)
    _event(rig)
    with pytest.raises(Died):
        Dispatcher(rig.sessions, DyingSink(), clock).dispatch()
    other = RecordingSink()
    survivor = Dispatcher(rig.sessions, other, clock)
    assert survivor.dispatch() == 0 and pending(rig) == 1  # still claimed by the dead one
    clock.advance(CLAIM_S + 1)
    assert survivor.dispatch() == 1 and len(other.of(PipelineError)) == 1
    assert pending(rig) == 0 and survivor.dispatch() == 0


def test_failing_sink_releases_the_claim_at_once(tmp_path: Path) -> None:
    clock = FakeClock()
    rig = make_rig(tmp_path, clock=clock)
    _event(rig)
    failing = FailingSink()
    assert Dispatcher(rig.sessions, failing, clock).dispatch() == 0
    assert failing.calls == 1 and pending(rig) == 1
    ok = RecordingSink()
    assert Dispatcher(rig.sessions, ok, clock).dispatch() == 1  # no wait for the claim
    assert len(ok.of(PipelineError)) == 1 and pending(rig) == 0


def _three_events(rig: Any, clock: FakeClock) -> None:
    """Pipeline errors of files f1, f2, f3, created a second apart."""
    for n in (1, 2, 3):
        with rig.sessions.begin() as s:
            add_event(s, f"pipeline:f{n}:store", PipelineError(
                site="park1", where="store", reason="x", file_id=f"f{n}", detected_at=T0), T0)
        clock.advance(1)


class DiesOnSecond:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def handle(self, event: Any) -> None:
        self.seen.append(event.file_id)
        if len(self.seen) == 2:
            raise Died


def test_a_batch_cut_short_by_a_dying_sink_keeps_what_was_delivered(tmp_path: Path) -> None:
    clock = FakeClock()
    rig = make_rig(tmp_path, clock=clock)
    _three_events(rig, clock)
    dying = DiesOnSecond()
    with pytest.raises(Died):
        Dispatcher(rig.sessions, dying, clock).dispatch()
    assert dying.seen == ["f1", "f2"] and pending(rig) == 2  # f1 settled as delivered
    later = RecordingSink()
    clock.advance(CLAIM_S + 1)
    assert Dispatcher(rig.sessions, later, clock).dispatch() == 2
    assert [e.file_id for e in later.of(PipelineError)] == ["f2", "f3"]


class BatchSink:
    """A batch sink that refuses the event of file f2 (and records every hand-over)."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def handle(self, event: Any) -> None:
        raise AssertionError("a batch sink is handed batches")

    def handle_many(self, events: list[Any]) -> list[Exception | None]:
        self.batches.append([e.file_id for e in events])
        return [RuntimeError("refused") if e.file_id == "f2" else None for e in events]


def test_a_batch_sink_gets_the_batch_at_once_and_only_its_refusals_stay_pending(
        tmp_path: Path) -> None:
    clock = FakeClock()
    rig = make_rig(tmp_path, clock=clock)
    _three_events(rig, clock)
    sink = BatchSink()
    assert Dispatcher(rig.sessions, sink, clock).dispatch() == 2
    assert sink.batches == [["f1", "f2", "f3"]] and pending(rig) == 1
    assert Dispatcher(rig.sessions, sink, clock).dispatch() == 0  # claim released at once
    assert sink.batches[-1] == ["f2"] and pending(rig) == 1
