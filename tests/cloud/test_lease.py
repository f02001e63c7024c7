"""File leases: one holder per processing attempt, renewed while the work goes on, and a
worker that lost its lease neither finishes nor purges the file (the race of issue 4:
a second attempt read the chunks after the first had purged them and rejected a good
file as "reassembled 0 bytes")."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cloud.domain_events import PipelineError, WheelScored
from cloud.lease import LeaseKeeper
from cloud.sql.models import DeadLetter, FileChunk, Score
from tests.cloud.support import DataScorer, FakeClock, Settled, delivery, make_file, make_rig
from tests.cloud.support import make_sample as _make_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict[str, Any]]:
    return _make_sample(tmp_path_factory.mktemp("sample"))


def count(rig: Any, model: Any) -> int:
    with rig.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


class HookScorer(DataScorer):
    """Runs ``hook`` once, in the middle of the first scoring call."""

    def __init__(self) -> None:
        super().__init__()
        self.hook: Any = None

    def score(self, csv_path: Path, meta_path: Path) -> Any:
        hook, self.hook = self.hook, None
        if hook is not None:
            hook()
        return super().score(csv_path, meta_path)


class Renewals:
    """Fake tracker for the keeper: counts renewals, answers ``held``."""

    def __init__(self, held: bool = True) -> None:
        self.calls = 0
        self.held = held

    def renew(self, file_id: str, owner: str, lease_s: float) -> bool:
        self.calls += 1
        return self.held


def test_keeper_renews_until_the_work_ends() -> None:
    fake = Renewals()
    with LeaseKeeper(fake, "f1", "w1/abc", lease_s=0.06) as keeper:
        time.sleep(0.3)
    after = fake.calls
    time.sleep(0.1)
    assert after >= 3 and fake.calls == after and not keeper.lost


def test_keeper_stops_and_says_so_when_the_lease_is_gone() -> None:
    fake = Renewals(held=False)
    with LeaseKeeper(fake, "f1", "w1/abc", lease_s=0.03) as keeper:
        time.sleep(0.2)
    assert keeper.lost and fake.calls == 1


def test_renew_extends_only_the_holders_lease(tmp_path: Path,
                                              sample: tuple[bytes, dict[str, Any]]) -> None:
    rig = make_rig(tmp_path)
    f = make_file(*sample, chunk_bytes=5000)
    rig.chunk_handler()(delivery(*f.messages()[0], "m0", settled=Settled()))
    tracker = rig.worker.tracker
    assert tracker.claim(f.file_id, "w1/a", 10) is not None
    rig.clock.advance(9)
    assert tracker.renew(f.file_id, "w1/a", 10)
    rig.clock.advance(9)  # 18 s after the claim: expired without the renewal
    assert tracker.claim(f.file_id, "w2/b", 10) is None
    assert not tracker.renew(f.file_id, "w2/b", 10)


def test_same_worker_second_attempt_mid_file_is_busy(
        tmp_path: Path, sample: tuple[bytes, dict[str, Any]]) -> None:
    """Two callback threads of one worker (the last chunk and its duplicate) must not
    both work on the file."""
    scorer = HookScorer()
    rig = make_rig(tmp_path, scorer=scorer)
    f = make_file(*sample, chunk_bytes=5000)
    msgs = f.messages()
    inner: list[str] = []
    scorer.hook = lambda: inner.append(rig.worker.pipeline.process(f.file_id))
    settled = Settled()
    for i, m in enumerate(msgs):
        rig.chunk_handler()(delivery(*m, f"m{i}", settled=settled))
    assert inner == ["busy"]
    assert scorer.calls == 1 and settled.nacks == 0
    assert rig.worker.tracker.get(f.file_id).state == "written"
    assert count(rig, DeadLetter) == 0 and count(rig, Score) == 1


class StallingWarehouse:
    """Proxy of a warehouse that runs ``hook`` once, before the first score row."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.hook: Any = None

    def insert_rows(self, table: str, rows: Any, ids: Any) -> Any:
        hook, self.hook = (self.hook, None) if table == "wheel_scores" else (None, self.hook)
        if hook is not None:
            hook()
        return self._inner.insert_rows(table, rows, ids)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_worker_that_lost_its_lease_neither_writes_nor_purges(
        tmp_path: Path, sample: tuple[bytes, dict[str, Any]]) -> None:
    clock = FakeClock()
    a = make_rig(tmp_path, owner="a", clock=clock, lease_s=8)
    b = make_rig(tmp_path, owner="b", clock=clock, lease_s=8)
    stall = StallingWarehouse(a.worker.pipeline._wh)
    a.worker.pipeline._wh = stall
    f = make_file(*sample, chunk_bytes=5000)
    taken: list[Any] = []

    def stall_past_the_lease() -> None:  # A stalls (stopped VM, swap) past its lease
        clock.advance(60)
        taken.append(b.worker.tracker.claim(f.file_id, "b/x", 8))

    stall.hook = stall_past_the_lease
    msgs = f.messages()
    settled = Settled()
    for i, m in enumerate(msgs):  # A processes the file on the last chunk; B takes over
        a.chunk_handler()(delivery(*m, f"m{i}", settled=settled))
    assert taken and taken[0] is not None and settled.nacks == 0
    assert a.worker.tracker.get(f.file_id).state == "scored"  # A gave up: not its file now
    assert count(a, FileChunk) == len(msgs)  # and did not purge the chunks
    clock.advance(60)  # B's attempt died too; its lease expires; B's sweep resumes
    assert b.worker.monitor.resume_stuck() == 1
    assert b.worker.tracker.get(f.file_id).state == "written"
    assert count(b, FileChunk) == 0 and count(b, Score) == 1 and count(b, DeadLetter) == 0
    assert len(b.warehouse_rows("wheel_scores")) == 1
    a.worker.dispatcher.dispatch()
    b.worker.dispatcher.dispatch()
    assert len(a.sink.of(WheelScored)) + len(b.sink.of(WheelScored)) == 1
    assert not a.sink.of(PipelineError) and not b.sink.of(PipelineError)
