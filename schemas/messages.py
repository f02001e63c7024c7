"""Message contract between edge and cloud (schema version 1).

Data topics (one per camera) carry one per-wheel *file bundle* split into chunks. A
bundle is a zstd-compressed tar archive with two members, ``wheel.csv`` (the per-wheel
CSV, see ``schemas.wheel_csv``) and ``wheel.json`` (its metadata). Each chunk is one
message whose data is a byte slice of the compressed bundle and whose attributes are
:class:`ChunkAttributes`. ``sha256`` and ``payload_bytes`` describe the whole compressed
bundle; ``raw_bytes`` is its uncompressed size (the receiver refuses to inflate beyond it).

The events topic carries JSON messages (:class:`RunManifest`, :class:`Heartbeat`,
:class:`QuarantineEvent`) with attributes ``schema_version``, ``kind`` and ``site``.
Pub/Sub limits: 10 MB per message, 100 attributes, 1024 bytes per attribute value.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.errors import ContractError, first_error

SCHEMA_VERSION = "1"
MAX_MESSAGE_BYTES = 10_000_000
DEFAULT_CHUNK_BYTES = 8_000_000
BUNDLE_CSV_NAME = "wheel.csv"
BUNDLE_META_NAME = "wheel.json"
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
SAFE_ID = re.compile(_ID)


def make_file_id(site: str, camera: str, source_name: str, source_sha256: str) -> str:
    """Stable id of one scan file: the same scan always gets the same id (idempotency key)."""
    key = f"{site}\x1f{camera}\x1f{source_name}\x1f{source_sha256}".encode()
    return hashlib.sha256(key).hexdigest()[:32]


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChunkAttributes(_Contract):
    """Attributes of one data message (all sent as strings)."""

    schema_version: Literal["1"] = "1"
    kind: Literal["wheel_chunk"] = "wheel_chunk"
    site: str = Field(pattern=_ID)
    camera: str = Field(pattern=_ID)
    file_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    wheel_id: str = Field(pattern=_ID)
    train_id: str = Field(pattern=_ID)
    run_id: str = Field(pattern=_ID)
    capture_time: datetime
    chunk_index: int = Field(ge=0)
    chunk_count: int = Field(ge=1, le=1000)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    payload_bytes: int = Field(gt=0)
    raw_bytes: int = Field(gt=0)
    encoding: Literal["tar+zstd"] = "tar+zstd"

    @model_validator(mode="after")
    def _index_in_range(self) -> ChunkAttributes:
        if self.chunk_index >= self.chunk_count:
            raise ValueError(f"chunk_index {self.chunk_index} >= chunk_count {self.chunk_count}")
        return self

    def to_attributes(self) -> dict[str, str]:
        """Pub/Sub attributes (str -> str)."""
        data = self.model_dump(mode="json")
        return {k: str(v) for k, v in data.items()}

    @classmethod
    def from_attributes(cls, attrs: dict[str, str]) -> ChunkAttributes:
        """Parse and validate received attributes; ContractError names what is wrong."""
        try:
            return cls.model_validate(dict(attrs))
        except ValidationError as exc:
            where, msg = first_error(exc, "attributes")
            raise ContractError(f"bad chunk attribute {where}: {msg}") from exc


class CameraPass(_Contract):
    """What one camera produced in one pass."""

    expected: list[str] = Field(description="wheel ids in passing order")
    files: dict[str, str] = Field(default_factory=dict, description="wheel id -> file id")
    missing: list[str] = Field(default_factory=list)
    extra_scans: int = 0


class RunManifest(_Contract):
    """Sent on the events topic once a pass is complete (or timed out)."""

    kind: Literal["run_manifest"] = "run_manifest"
    site: str = Field(pattern=_ID)
    run_id: str = Field(pattern=_ID)
    train_id: str | None = None
    tag: str | None = None
    run_count: int | None = None
    pass_start: datetime
    pass_end: datetime
    cameras: dict[str, CameraPass]
    problems: list[str] = Field(default_factory=list, description="no tag, unknown tag, ...")


class Heartbeat(_Contract):
    """Sent on the events topic every ``edge.heartbeat_s`` seconds."""

    kind: Literal["heartbeat"] = "heartbeat"
    site: str = Field(pattern=_ID)
    edge_id: str
    sent_at: datetime
    backlog: dict[str, int] = Field(default_factory=dict, description="camera -> unpublished")
    last_scan: dict[str, datetime | None] = Field(default_factory=dict)
    free_disk_mb: int | None = None


class QuarantineEvent(_Contract):
    """A scan the edge could not read, moved to quarantine with its reason."""

    kind: Literal["quarantine"] = "quarantine"
    site: str = Field(pattern=_ID)
    camera: str
    files: list[str]
    reason: str
    at: datetime


EventKind = Literal["run_manifest", "heartbeat", "quarantine"]
EVENT_MODELS: dict[str, type[_Contract]] = {
    "run_manifest": RunManifest,
    "heartbeat": Heartbeat,
    "quarantine": QuarantineEvent,
}


def event_attributes(event: RunManifest | Heartbeat | QuarantineEvent) -> dict[str, str]:
    """Attributes for an events-topic message."""
    return {"schema_version": SCHEMA_VERSION, "kind": event.kind, "site": event.site}


def encode_event(event: RunManifest | Heartbeat | QuarantineEvent) -> bytes:
    """JSON bytes of an event."""
    return event.model_dump_json().encode()


def decode_event(data: bytes, attrs: dict[str, str]) -> RunManifest | Heartbeat | QuarantineEvent:
    """Parse an events-topic message; ContractError on anything malformed."""
    kind = attrs.get("kind", "")
    model = EVENT_MODELS.get(kind)
    if model is None:
        raise ContractError(f"unknown event kind {kind!r}")
    try:
        event = model.model_validate_json(data)
    except ValidationError as exc:
        raise ContractError(f"bad {kind} event: {exc.errors()[0]['msg']}") from exc
    assert isinstance(event, RunManifest | Heartbeat | QuarantineEvent)
    return event
