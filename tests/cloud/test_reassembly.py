"""Hostile bundles: corruption, lies about sizes, inflation bombs, foreign members."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import tarfile
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud import reassembly
from cloud.reassembly import build_bundle, unpack
from schemas.errors import ContractError
from schemas.messages import ChunkAttributes
from schemas.wheel_csv import WheelMetadata, read_wheel_csv
from tests.cloud.support import make_sample, sidecar_of

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


# -- the binary array sidecar (arrays/<subcomponent>.npy) --------------------------------

@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict[str, Any]]:
    """A converted scan's CSV and a metadata that matches the attributes of ``attrs``."""
    csv, meta = make_sample(tmp_path_factory.mktemp("s"), lines=12, width=10)
    return csv, dict(meta, file_id="0" * 32, site="s", camera="Cam_01", wheel_id="W1")


def _npy(a: np.ndarray, **kw: Any) -> bytes:
    out = io.BytesIO()
    np.save(out, a, **kw)
    return out.getvalue()


def _unpack_with(csv: bytes, meta: dict[str, Any], extra: dict[str, bytes]) -> Any:
    payload, raw = build_bundle(csv, meta, extra=extra)
    return unpack(payload, attrs(payload, raw), 10**9)


def test_sidecar_is_unpacked_and_checked(real: tuple[bytes, dict[str, Any]]) -> None:
    csv, meta = real
    sidecar = sidecar_of(csv, meta)
    assert list(sidecar) == ["arrays/Intensity.npy", "arrays/Range.npy"]
    b = _unpack_with(csv, meta, sidecar)
    want = read_wheel_csv(io.BytesIO(csv), WheelMetadata.model_validate(meta)).arrays
    assert b.arrays is not None and list(b.arrays) == list(want)
    for name, a in want.items():
        np.testing.assert_array_equal(b.arrays[name], a)
        assert b.arrays[name].dtype == a.dtype
    assert _unpack_with(csv, meta, {}).arrays is None  # no sidecar: the CSV only


def test_sidecar_disagreeing_with_metadata_is_refused(
        real: tuple[bytes, dict[str, Any]]) -> None:
    csv, meta = real
    good = sidecar_of(csv, meta)
    rng = np.zeros((12, 10), np.uint16)
    cases = [
        ({"arrays/Range.npy": _npy(rng.astype(np.float32))}, "'arrays/Range.npy' is <f4"),
        ({"arrays/Range.npy": _npy(rng[:, :9])}, "'arrays/Range.npy' has shape (12, 9)"),
        ({"arrays/Scatter.npy": _npy(rng)}, "unexpected array member 'arrays/Scatter.npy'"),
        ({"arrays/range.npy": good["arrays/Range.npy"]}, "unexpected array member"),
        ({"arrays/x/Range.npy": _npy(rng)}, "bad array member name 'arrays/x/Range.npy'"),
        ({"arrays/Range.npy": _npy(np.empty((12, 10), object), allow_pickle=True)},
         "'arrays/Range.npy' holds Python objects"),
        ({"arrays/Range.npy": pickle.dumps(rng)}, "'arrays/Range.npy' is not a .npy"),
    ]
    for change, words in cases:
        with pytest.raises(ContractError) as exc:
            _unpack_with(csv, meta, {**good, **change})
        assert words in str(exc.value) and "file " + "0" * 32 in str(exc.value), exc.value
    with pytest.raises(ContractError, match=r"\['arrays/Range.npy'\] missing"):
        _unpack_with(csv, meta, {"arrays/Intensity.npy": good["arrays/Intensity.npy"]})
    with pytest.raises(ContractError, match=r"wheel\.json: bad metadata"):
        _unpack_with(csv, {k: v for k, v in meta.items() if k != "lines"}, good)


def _tar(*members: tuple[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_duplicate_members_are_refused(real: tuple[bytes, dict[str, Any]]) -> None:
    csv, meta = real
    js = json.dumps(meta).encode()
    npy = sidecar_of(csv, meta)
    for dup in (("wheel.csv", csv), ("wheel.json", js),
                ("arrays/Range.npy", npy["arrays/Range.npy"])):
        raw = _tar(("wheel.csv", csv), ("wheel.json", js), *npy.items(), dup)
        payload = zstandard.ZstdCompressor().compress(raw)
        with pytest.raises(ContractError, match=f"duplicate bundle member '{dup[0]}'"):
            unpack(payload, attrs(payload, len(raw)), 10**9)
    payload = zstandard.ZstdCompressor().compress(
        raw := _tar(("wheel.csv", csv), ("wheel.json", js), ("arrays", b"")))
    with pytest.raises(ContractError, match="unexpected bundle member 'arrays'"):
        unpack(payload, attrs(payload, len(raw)), 10**9)


# -- inflating: one-shot decompress, bounded ------------------------------------------

def _streamed(data: bytes) -> bytes:
    """Compressed as the edge does (stream writer): no content size in the frame."""
    buf = io.BytesIO()
    with zstandard.ZstdCompressor(level=1).stream_writer(buf, closefd=False) as w:
        w.write(data)
    return buf.getvalue()


def test_streamed_bundle_inflates_in_one_shot(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _tar(("wheel.csv", CSV), ("wheel.json", json.dumps(META).encode()))
    payload = _streamed(raw)
    assert zstandard.frame_content_size(payload) == -1

    def no_stream(*_a: Any) -> bytes:
        raise AssertionError("the stream reader was used for a good bundle")
    monkeypatch.setattr(reassembly, "_stream_inflate", no_stream)
    assert unpack(payload, attrs(payload, len(raw)), 10**9).csv == CSV


def test_bombs_and_garbage_keep_their_reasons() -> None:
    bomb = _streamed(b"\0" * 20_000_000)  # no content size: max_output_size must hold
    with pytest.raises(ContractError, match="inflates beyond declared 1000 bytes"):
        unpack(bomb, attrs(bomb, 1000), 10**9)
    # a frame header claiming 1 TiB, then a raw block of 5000 bytes (more would follow):
    # one-shot decompress would size its buffer by that claim (MemoryError), so it is
    # not used; the bounded stream reader stops past the cap
    liar = (b"\x28\xb5\x2f\xfd" + b"\xc0" + b"\x58" + (2**40).to_bytes(8, "little")
            + (5000 << 3).to_bytes(3, "little") + b"x" * 5000)
    assert zstandard.frame_content_size(liar) == 2**40
    with pytest.raises(ContractError, match="inflates beyond declared 1000 bytes"):
        unpack(liar, attrs(liar, 1000), 10**9)
    with pytest.raises(ContractError, match="inflates beyond declared 4999 bytes"):
        unpack(liar, attrs(liar, 4999), 10**9)
    junk = b"definitely not zstd"
    with pytest.raises(ContractError, match="not a zstd stream"):
        unpack(junk, attrs(junk, 1000), 10**9)
