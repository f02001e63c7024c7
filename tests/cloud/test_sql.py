"""Relational model: migrations, wheel replacement history, concurrent chunk recording
(SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import sessionmaker

from cloud.sql import repository as repo
from cloud.sql.engine import make_engine
from cloud.sql.migrate import upgrade
from cloud.sql.models import Wheel
from cloud.tracker import Tracker
from tests.cloud.support import T0, make_file, make_sample


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    url = (request.getfixturevalue("pg_url") if request.param == "postgresql"
           else f"sqlite:///{tmp_path / 'db.sqlite'}")
    engine = make_engine(url)
    upgrade(engine)
    upgrade(engine)  # idempotent
    assert {"tracked_files", "file_chunks", "wheels", "scores"} <= set(
        inspect(engine).get_table_names())
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def test_new_wheel_on_same_position_replaces_the_old_one(sessions: Any) -> None:
    with sessions.begin() as s:
        repo.ensure_site(s, "p", "Cam_01", "T1", T0)
        old = repo.wheel_at(s, "p", "T1", "Cam_01", 3, "W03", T0)
        assert repo.wheel_at(s, "p", "T1", "Cam_01", 3, "W03", T0) == old
        new = repo.wheel_at(s, "p", "T1", "Cam_01", 3, "W03b", T0 + timedelta(days=2))
        assert new != old
    with sessions() as s:
        rows = s.scalars(select(Wheel).order_by(Wheel.id)).all()
        assert [(w.wheel_id, w.replaced_at is not None) for w in rows] == [
            ("W03", True), ("W03b", False)]


def test_concurrent_chunks_complete_the_file_exactly_once(sessions: Any,
                                                          tmp_path: Path) -> None:
    f = make_file(*make_sample(tmp_path), chunk_bytes=2000)
    tracker = Tracker(sessions, lambda: T0)
    msgs = f.messages() * 2
    complete: list[bool] = []
    lock = threading.Lock()

    def record(part: list[tuple[bytes, dict[str, str]]]) -> None:
        from schemas.messages import ChunkAttributes
        for data, attrs in part:
            r = tracker.record_chunk(ChunkAttributes.from_attributes(attrs), data)
            with lock:
                complete.append(r.complete and r.new_chunk)

    threads = [threading.Thread(target=record, args=(msgs[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(complete) == 1  # exactly one recorder saw the last missing chunk land
    assert tracker.payload(f.file_id) == b"".join(f.chunks)
    assert tracker.claim(f.file_id, "a", 60) is not None
    assert tracker.claim(f.file_id, "b", 60) is None


def test_the_completing_chunk_leases_the_file_unless_another_holds_it(
        sessions: Any, tmp_path: Path) -> None:
    from schemas.messages import ChunkAttributes
    f = make_file(*make_sample(tmp_path), chunk_bytes=2000)
    now = [T0]
    tracker = Tracker(sessions, lambda: now[0])
    msgs = [(ChunkAttributes.from_attributes(a), d) for d, a in f.messages()]
    first = [tracker.record_chunk(a, d, ("me", 60)) for a, d in msgs[:-1]]
    assert [r.claimed for r in first] == [None] * len(first)  # not complete yet
    assert tracker.claim(f.file_id, "other", 60) is not None  # e.g. a sweep holds it
    last = tracker.record_chunk(*msgs[-1], ("me", 60))
    assert last.complete and last.claimed is None
    assert tracker.get(f.file_id).lease_owner == "other"
    now[0] = T0 + timedelta(seconds=61)  # the other lease expired: a redelivery takes it
    again = tracker.record_chunk(*msgs[-1], ("me", 60))
    assert again.claimed is not None and again.claimed.lease_owner == "me"
    held = tracker.get(f.file_id)
    assert (held.lease_owner, held.attempts) == ("me", 2)
    assert tracker.claim(f.file_id, "third", 60) is None
