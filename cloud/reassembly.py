"""Verify and unpack a reassembled file bundle (see ``schemas.messages``).

The chunks themselves are persisted by :mod:`cloud.tracker` as they arrive (in any
order, any number of times, across restarts); once all are there the payload is checked
against the sender's size and sha256, inflated no further than the declared raw size,
and must hold exactly ``wheel.csv`` and ``wheel.json``, optionally followed by the
binary array sidecar (``arrays/<subcomponent>.npy``, :mod:`schemas.wheel_arrays`),
which must then agree with the metadata. No member may appear twice.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import zstandard

from schemas.errors import ContractError
from schemas.messages import BUNDLE_CSV_NAME, BUNDLE_META_NAME, ChunkAttributes
from schemas.wheel_arrays import is_array_member, wheel_from_arrays
from schemas.wheel_csv import parse_metadata


@dataclass(frozen=True)
class Bundle:
    """The contents of one verified file bundle."""

    csv: bytes
    meta_json: bytes
    meta: dict[str, Any]
    #: The sidecar's arrays (subcomponent -> (lines, width) array), checked against the
    #: metadata; None when the bundle has no sidecar (then only the CSV holds the values).
    arrays: dict[str, np.ndarray] | None = None


def verify_payload(payload: bytes, attrs: ChunkAttributes) -> None:
    """Size and sha256 of the whole compressed bundle must match the attributes."""
    if len(payload) != attrs.payload_bytes:
        raise ContractError(
            f"file {attrs.file_id}: reassembled {len(payload)} bytes, "
            f"expected {attrs.payload_bytes}")
    digest = hashlib.sha256(payload).hexdigest()
    if digest != attrs.sha256:
        raise ContractError(
            f"file {attrs.file_id}: sha256 mismatch (got {digest[:12]}…, "
            f"expected {attrs.sha256[:12]}…): a chunk is corrupted")


def _inflate(payload: bytes, attrs: ChunkAttributes, limit: int) -> bytes:
    """The tar inside ``payload``, never inflated beyond the declared raw size.

    One-shot ``decompress`` (faster than the stream reader) only when the frame does not
    declare a content size above the cap: with a declared size it ignores
    ``max_output_size``. Otherwise, and on any zstd error, the bounded stream reader
    decides (and tells "inflates beyond" from "not a zstd stream").
    """
    cap = min(attrs.raw_bytes, limit)
    if attrs.raw_bytes > limit:
        raise ContractError(f"file {attrs.file_id}: raw size {attrs.raw_bytes} over limit {limit}")
    try:
        declared = zstandard.frame_content_size(payload)  # -1: not in the frame header
    except zstandard.ZstdError:
        declared = cap + 1
    if declared <= cap:
        try:
            raw = zstandard.ZstdDecompressor().decompress(payload, max_output_size=cap + 1)
        except zstandard.ZstdError:
            raw = _stream_inflate(payload, attrs.file_id, cap)
    else:
        raw = _stream_inflate(payload, attrs.file_id, cap)
    if len(raw) > cap:
        raise ContractError(f"file {attrs.file_id}: inflates beyond declared {cap} bytes")
    return raw


def _stream_inflate(payload: bytes, file_id: str, cap: int) -> bytes:
    """At most ``cap + 1`` bytes of the first frame, through the stream reader."""
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(payload))
        return bytes(reader.read(cap + 1))
    except zstandard.ZstdError as exc:
        raise ContractError(f"file {file_id}: not a zstd stream: {exc}") from exc


def _members(raw: bytes, file_id: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            for m in tar.getmembers():
                if not m.isfile() or (m.name not in (BUNDLE_CSV_NAME, BUNDLE_META_NAME)
                                      and not is_array_member(m.name)):
                    raise ContractError(f"file {file_id}: unexpected bundle member {m.name!r}")
                if m.name in out:
                    raise ContractError(f"file {file_id}: duplicate bundle member {m.name!r}")
                f = tar.extractfile(m)
                assert f is not None
                out[m.name] = f.read()
    except tarfile.TarError as exc:
        raise ContractError(f"file {file_id}: bad tar bundle: {exc}") from exc
    missing = {BUNDLE_CSV_NAME, BUNDLE_META_NAME} - set(out)
    if missing:
        raise ContractError(f"file {file_id}: bundle lacks {sorted(missing)}")
    return out


def _sidecar(members: dict[str, bytes], file_id: str) -> dict[str, np.ndarray] | None:
    """The checked arrays of the bundle's sidecar (None without one)."""
    npy = {n: data for n, data in members.items() if is_array_member(n)}
    if not npy:
        return None
    try:
        meta = parse_metadata(members[BUNDLE_META_NAME], BUNDLE_META_NAME)
        return wheel_from_arrays(meta, npy).arrays
    except ContractError as exc:
        raise ContractError(f"file {file_id}: {exc}") from None


def unpack(payload: bytes, attrs: ChunkAttributes, max_raw_bytes: int) -> Bundle:
    """Verify, inflate (bounded) and split a bundle; ContractError names the problem."""
    verify_payload(payload, attrs)
    members = _members(_inflate(payload, attrs, max_raw_bytes), attrs.file_id)
    try:
        meta = json.loads(members[BUNDLE_META_NAME])
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ContractError(f"file {attrs.file_id}: wheel.json is not JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise ContractError(f"file {attrs.file_id}: wheel.json is not an object")
    for key, want in (("file_id", attrs.file_id), ("site", attrs.site),
                      ("camera", attrs.camera), ("wheel_id", attrs.wheel_id)):
        if meta.get(key) is not None and str(meta[key]) != want:
            raise ContractError(
                f"file {attrs.file_id}: metadata {key}={meta[key]!r} but attributes say {want!r}")
    return Bundle(csv=members[BUNDLE_CSV_NAME], meta_json=members[BUNDLE_META_NAME], meta=meta,
                  arrays=_sidecar(members, attrs.file_id))


def build_bundle(csv: bytes, meta: dict[str, Any], level: int = 3,
                 extra: Mapping[str, bytes] | None = None) -> tuple[bytes, int]:
    """Make a bundle (compressed bytes, raw size): for tests, benchmarks and the demo.

    ``extra``: members added after the CSV and metadata, as given (e.g. a sidecar made by
    ``schemas.wheel_arrays.encode_arrays``, or a malformed one)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:") as tar:
        for name, data in ((BUNDLE_CSV_NAME, csv),
                           (BUNDLE_META_NAME, json.dumps(meta).encode()),
                           *(extra or {}).items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    return zstandard.ZstdCompressor(level=level).compress(raw), len(raw)
