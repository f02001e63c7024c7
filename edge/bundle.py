"""File bundles (schemas.messages): tar of ``wheel.csv`` + ``wheel.json``, zstd, in chunks.

Optionally the scan's arrays follow as ``arrays/<subcomponent>.npy`` (the binary sidecar,
``schemas.wheel_arrays``: the cloud then scores without parsing the CSV). The tar is
deterministic (fixed member order, mtime 0, no owner names), so the same per-wheel files
(and arrays) always give the same bundle bytes and ``sha256``.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
import zstandard

from edge.transport import OutMessage
from schemas.messages import BUNDLE_CSV_NAME, BUNDLE_META_NAME, ChunkAttributes
from schemas.wheel_arrays import encode_arrays

#: zstd level 1: ~35% less CPU than level 3 on per-wheel CSVs for ~4% more bytes (the
#: compression was two thirds of the edge's CPU per scan).
ZSTD_LEVEL = 1
IO_BYTES = 1 << 17  # tar records, file reads and compressed writes go in 128 KiB pieces


@dataclass(frozen=True)
class Bundle:
    """A compressed bundle on disk."""

    path: Path
    sha256: str
    payload_bytes: int
    raw_bytes: int


class _Sink(io.RawIOBase):
    """Writes through to ``inner``, counting the bytes and (optionally) hashing them."""

    def __init__(self, inner: BinaryIO, digest: hashlib._Hash | None = None) -> None:
        self.inner = inner
        self.digest = digest
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.inner.write(b)
        if self.digest is not None:
            self.digest.update(b)
        self.count += len(b)
        return len(b)


#: A member's bytes (read from memory) or the file holding them.
Source = bytes | Path


def _add(tar: tarfile.TarFile, name: str, src: Source) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = 0
    info.mode = 0o644
    if isinstance(src, bytes):
        info.size = len(src)
        tar.addfile(info, io.BytesIO(src))
        return
    with src.open("rb") as fh:
        info.size = os.fstat(fh.fileno()).st_size
        tar.addfile(info, fh)


def make_bundle(csv: Source, meta: Source, out: Path,
                arrays: Mapping[str, np.ndarray] | None = None) -> Bundle:
    """Write the bundle of a per-wheel CSV + metadata to ``out`` (atomically, fsynced).

    Either part may be given as the file holding it or as its bytes (same bundle). The
    sha256 and size are of the bytes written (hashed as they go out, not read back).
    ``arrays`` (subcomponent -> array, as ``edge.convert.ConvertResult.arrays``): added
    after them as the ``.npy`` sidecar; None: a CSV-only bundle.
    """
    members = encode_arrays(arrays) if arrays is not None else {}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    digest = hashlib.sha256()
    with tmp.open("wb", buffering=IO_BYTES) as fh:
        payload = _Sink(fh, digest)  # type: ignore[arg-type]
        cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        with cctx.stream_writer(payload, write_size=IO_BYTES,  # type: ignore[arg-type]
                                closefd=False) as zw:
            counter = _Sink(zw)  # type: ignore[arg-type]
            with tarfile.open(fileobj=counter, mode="w|", format=tarfile.PAX_FORMAT,
                              bufsize=IO_BYTES) as tar:
                tar.copybufsize = IO_BYTES  # type: ignore[attr-defined]  # member reads
                _add(tar, BUNDLE_CSV_NAME, csv)
                _add(tar, BUNDLE_META_NAME, meta)
                for name, data in members.items():
                    _add(tar, name, data)
            raw = counter.count
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, out)
    return Bundle(out, digest.hexdigest(), payload.count, raw)


def read_bundle(payload: bytes, max_raw_bytes: int) -> tuple[bytes, bytes]:
    """(csv bytes, metadata bytes) of a bundle (any sidecar is left out); refuses to
    inflate beyond ``max_raw_bytes``."""
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(payload)
    if len(raw) > max_raw_bytes:
        raise ValueError(f"bundle inflates to {len(raw)} > {max_raw_bytes} bytes")
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
        parts = {}
        for name in (BUNDLE_CSV_NAME, BUNDLE_META_NAME):
            member = tar.extractfile(name)
            if member is None:
                raise ValueError(f"bundle lacks {name}")
            parts[name] = member.read()
    return parts[BUNDLE_CSV_NAME], parts[BUNDLE_META_NAME]


@dataclass(frozen=True)
class ChunkContext:
    """What every chunk of one file carries besides its slice."""

    site: str
    camera: str
    file_id: str
    wheel_id: str
    train_id: str
    run_id: str
    capture_time: datetime


def chunk_count(payload_bytes: int, chunk_bytes: int) -> int:
    """How many chunks a payload needs."""
    return max(1, -(-payload_bytes // chunk_bytes))


def chunk_messages(
    bundle: Bundle, ctx: ChunkContext, chunk_bytes: int, indexes: list[int] | None = None
) -> list[OutMessage]:
    """The data messages of a bundle (all chunks, or only ``indexes``)."""
    count = chunk_count(bundle.payload_bytes, chunk_bytes)
    wanted = range(count) if indexes is None else indexes
    out = []
    with bundle.path.open("rb") as fh:
        for i in wanted:
            fh.seek(i * chunk_bytes)
            data = fh.read(chunk_bytes)
            attrs = ChunkAttributes(
                site=ctx.site, camera=ctx.camera, file_id=ctx.file_id, wheel_id=ctx.wheel_id,
                train_id=ctx.train_id, run_id=ctx.run_id, capture_time=ctx.capture_time,
                chunk_index=i, chunk_count=count, sha256=bundle.sha256,
                payload_bytes=bundle.payload_bytes, raw_bytes=bundle.raw_bytes,
            )
            out.append(OutMessage(data, attrs.to_attributes()))
    return out
