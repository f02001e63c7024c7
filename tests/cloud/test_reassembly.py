"""Hostile bundles: corruption, lies about sizes, inflation bombs, foreign members."""

from __future__ import annotations

import hashlib
import io
import tarfile
from datetime import UTC, datetime

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.reassembly import build_bundle, unpack
from schemas.errors import ContractError
from schemas.messages import ChunkAttributes

CSV = b"line,x,range,intensity\n" + b"".join(
    b"%d,%d,%d,7\n" % (i // 8, i % 8, i) for i in range(64))
META = {"file_id": "0" * 32, "site": "s", "camera": "Cam_01", "wheel_id": "W1"}


def attrs(payload: bytes, raw: int, **kw: object) -> ChunkAttributes:
    base = {"site": "s", "camera": "Cam_01", "file_id": "0" * 32, "wheel_id": "W1",
            "train_id": "T1", "run_id": "r1", "capture_time": datetime(2026, 1, 1, tzinfo=UTC),
            "chunk_index": 0, "chunk_count": 1, "sha256": hashlib.sha256(payload).hexdigest(),
            "payload_bytes": len(payload), "raw_bytes": raw}
    base.update(kw)
    return ChunkAttributes.model_validate(base)


def test_good_bundle_round_trips() -> None:
    payload, raw = build_bundle(CSV, META)
    b = unpack(payload, attrs(payload, raw), 10**9)
    assert b.csv == CSV and b.meta["wheel_id"] == "W1"


@settings(max_examples=60, deadline=None)
@given(pos=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_is_a_contract_error(pos: int, bit: int) -> None:
    payload, raw = build_bundle(CSV, META)
    a = attrs(payload, raw)
    i = pos % len(payload)
    bad = payload[:i] + bytes([payload[i] ^ (1 << bit)]) + payload[i + 1:]
    with pytest.raises(ContractError, match="sha256 mismatch"):
        unpack(bad, a, 10**9)


def test_inflation_beyond_declared_raw_size_is_refused() -> None:
    bomb = zstandard.ZstdCompressor().compress(b"\0" * 50_000_000)  # tiny, inflates to 50 MB
    with pytest.raises(ContractError, match="inflates beyond"):
        unpack(bomb, attrs(bomb, 1000), 10**9)
    with pytest.raises(ContractError, match="over limit"):
        unpack(bomb, attrs(bomb, 50_000_000), 1_000_000)


def test_foreign_members_and_mismatched_metadata_are_refused() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:") as tar:
        info = tarfile.TarInfo("../../etc/passwd")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    payload = zstandard.ZstdCompressor().compress(buf.getvalue())
    with pytest.raises(ContractError, match="unexpected bundle member"):
        unpack(payload, attrs(payload, len(buf.getvalue())), 10**9)
    payload, raw = build_bundle(CSV, dict(META, wheel_id="W9"))
    with pytest.raises(ContractError, match="wheel_id"):
        unpack(payload, attrs(payload, raw), 10**9)
    payload, raw = build_bundle(CSV, META)
    with pytest.raises(ContractError, match="reassembled"):
        unpack(payload[:-1], attrs(payload, raw), 10**9)
