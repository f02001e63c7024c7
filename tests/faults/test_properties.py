"""Property-based tests (hypothesis) of chunk reassembly: whatever the payload, the chunk
size, the order of arrival and the duplicates, the cloud rebuilds exactly the bytes the
edge chunked; a missing chunk keeps the file incomplete; a corrupted one is refused.
(The iCon reader's own round-trip property lives in tests/edge/test_sick_roundtrip.py.)"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import sessionmaker

from cloud.reassembly import build_bundle, unpack
from cloud.sql.engine import make_engine
from cloud.sql.migrate import upgrade
from cloud.tracker import Tracker
from edge.bundle import Bundle, ChunkContext, chunk_messages
from schemas.errors import ContractError
from schemas.messages import ChunkAttributes

_ids = itertools.count(1)
T = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def tracker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tracker]:
    root = tmp_path_factory.mktemp("reassembly")
    engine = make_engine(f"sqlite:///{root / 'cloud.sqlite'}")
    upgrade(engine)
    yield Tracker(sessionmaker(engine, expire_on_commit=False), lambda: T)
    engine.dispose()


def _chunks(tmp: Path, csv: bytes, chunk_bytes: int) -> tuple[str, list[Any], bytes]:
    fid = f"{next(_ids):032x}"  # a new file each example; not in the bundle, so that the
    # bundle (and the chunk count the draws depend on) is the same when hypothesis replays
    meta = {"site": "p", "camera": "Cam_01", "wheel_id": "W1"}
    payload, raw = build_bundle(csv, meta)
    path = tmp / f"{fid}.tar.zst"
    path.write_bytes(payload)
    bundle = Bundle(path, hashlib.sha256(payload).hexdigest(), len(payload), raw)
    ctx = ChunkContext("p", "Cam_01", fid, "W1", "T1", "run-1", T)
    return fid, chunk_messages(bundle, ctx, chunk_bytes), payload


csv_bytes = st.binary(min_size=1, max_size=20_000) | st.text(
    alphabet="0123456789,.-\n", min_size=1, max_size=20_000).map(str.encode)


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(csv=csv_bytes, chunk_bytes=st.integers(64, 4096), data=st.data())
def test_any_order_and_duplicates_rebuild_the_exact_bytes(
        tracker: Tracker, tmp_path: Path, csv: bytes, chunk_bytes: int,
        data: st.DataObject) -> None:
    fid, msgs, payload = _chunks(tmp_path, csv, chunk_bytes)
    n = len(msgs)
    order = data.draw(st.permutations(range(n)))
    dups = data.draw(st.lists(st.integers(0, n - 1), max_size=n))
    arrivals = list(order)
    for d in dups:  # a duplicate arrives at some point after the original
        arrivals.insert(data.draw(st.integers(arrivals.index(d) + 1, len(arrivals))), d)
    seen: set[int] = set()
    for i in arrivals:
        m = msgs[i]
        receipt = tracker.record_chunk(ChunkAttributes.from_attributes(m.attributes), m.data)
        assert receipt.new_chunk == (i not in seen)
        seen.add(i)
        assert receipt.complete == (len(seen) == n)
    got = tracker.payload(fid)
    assert got == payload
    f = tracker.get(fid)
    assert f is not None
    bundle = unpack(got, ChunkAttributes.from_attributes(msgs[0].attributes), 10**8)
    assert bundle.csv == csv and json.loads(bundle.meta_json)["wheel_id"] == "W1"


@settings(max_examples=30, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(csv=csv_bytes, chunk_bytes=st.integers(64, 2048), data=st.data())
def test_missing_or_corrupted_chunk_never_yields_a_file(
        tracker: Tracker, tmp_path: Path, csv: bytes, chunk_bytes: int,
        data: st.DataObject) -> None:
    fid, msgs, _payload = _chunks(tmp_path, csv, chunk_bytes)
    n = len(msgs)
    if n < 2:
        return
    gone = data.draw(st.integers(0, n - 1))
    receipts = [tracker.record_chunk(ChunkAttributes.from_attributes(m.attributes), m.data)
                for i, m in enumerate(msgs) if i != gone]
    assert not any(r.complete for r in receipts), "incomplete without the missing chunk"
    m = msgs[gone]
    pos = data.draw(st.integers(0, len(m.data) - 1))
    bad = m.data[:pos] + bytes([m.data[pos] ^ 0xFF]) + m.data[pos + 1:]
    assert tracker.record_chunk(ChunkAttributes.from_attributes(m.attributes), bad).complete
    with pytest.raises(ContractError, match="sha256 mismatch"):
        unpack(tracker.payload(fid), ChunkAttributes.from_attributes(m.attributes), 10**8)
