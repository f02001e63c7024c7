"""Ports of the cloud subscriber: one small Protocol per external service.

Adapters: ``cloud.transport`` (local queue | Pub/Sub), ``cloud.blob`` (local folder |
Cloud Storage), ``cloud.warehouse`` (DuckDB | BigQuery), ``cloud.scoring`` (exported
model). The relational store is SQLAlchemy itself (SQLite | PostgreSQL), used through
``cloud.tracker`` and ``cloud.sql.repository``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np


@dataclass
class Delivery:
    """One delivery of a message from a subscription; settle it exactly once."""

    subscription: str
    message_id: str
    data: bytes
    attributes: dict[str, str]
    publish_time: datetime
    delivery_attempt: int
    _ack: Callable[[], None] = field(repr=False)
    _nack: Callable[[], None] = field(repr=False)

    def ack(self) -> None:
        """Done: never deliver this message again."""
        self._ack()

    def nack(self) -> None:
        """Not done: deliver it again (counts towards the dead-letter policy)."""
        self._nack()


@dataclass(frozen=True)
class FlowControl:
    """Bound on leased, unsettled messages and bytes per subscription stream."""

    max_messages: int = 8
    max_bytes: int = 64_000_000
    #: longest single lease extension; also how long the service waits before it
    #: redelivers the messages of a worker that died (the subscription's ack deadline)
    lease_extension_s: int = 60


class StreamHandle(Protocol):
    """A running streaming pull."""

    def stop(self) -> None:
        """Stop pulling; in-flight callbacks finish."""
        ...

    def alive(self) -> bool:
        """Whether the stream still runs (False after stop or a fatal error)."""
        ...


class Transport(Protocol):
    """Subscriber side of the transport plus the admin calls provisioning needs."""

    def stream(
        self, subscription: str, handler: Callable[[Delivery], None], flow: FlowControl
    ) -> StreamHandle:
        """Start a streaming pull calling ``handler`` for each delivery (bounded by flow)."""
        ...

    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str]) -> str:
        """Publish one message (used for dead letters and by tests)."""
        ...

    def ensure_topic(self, topic: str) -> bool:
        """Create the topic if absent; True if it was created."""
        ...

    def ensure_subscription(
        self, name: str, topic: str, *, ack_deadline_s: int, max_delivery_attempts: int,
        dead_letter_topic: str | None,
    ) -> bool:
        """Create the subscription if absent; True if it was created."""
        ...

    def backlog(self, subscription: str) -> int | None:
        """Unacked messages on the subscription, None when the service cannot tell."""
        ...

    def close(self) -> None:
        """Release clients and threads."""
        ...


class BlobStore(Protocol):
    """Object store with create-only writes."""

    def put_if_absent(self, key: str, data: bytes, content_type: str) -> bool:
        """Write ``key`` unless it exists; True if this call created it."""
        ...

    def get(self, key: str) -> bytes:
        """Read an object (StoreError if absent)."""
        ...

    def uri(self, key: str) -> str:
        """The object's URI (file:// or gs://)."""
        ...

    def ensure_container(self) -> bool:
        """Create the bucket/folder if absent; True if created."""
        ...


class Warehouse(Protocol):
    """Analytical tables (schemas/warehouse) with idempotent row inserts."""

    def ensure_schema(self) -> list[str]:
        """Create dataset, tables and views if absent; names of what was created."""
        ...

    def insert_rows(
        self, table: str, rows: Sequence[Mapping[str, Any]], row_ids: Sequence[str]
    ) -> None:
        """Insert rows; a row whose id was already inserted is not duplicated."""
        ...

    def query(self, sql: str) -> list[dict[str, Any]]:
        """Run a read query; ``{ds}`` in ``sql`` is replaced by the dataset reference."""
        ...


@dataclass(frozen=True)
class ScoreResult:
    """The exported model's verdict on one wheel."""

    score: float
    defect: str
    location: dict[str, float]
    model_version: str
    stats: dict[str, float]
    heatmap_png: bytes | None = field(default=None, repr=False, compare=False)


class Scorer(Protocol):
    """Scores one per-wheel CSV (+ metadata JSON) with the exported model."""

    @property
    def version(self) -> str:
        """Model version string written beside every score."""
        ...

    def score(self, csv_path: Path, meta_path: Path) -> ScoreResult:
        """Score one wheel; ScoringError if the model cannot."""
        ...


@runtime_checkable
class BytesScorer(Protocol):
    """A scorer that reads the CSV and metadata from memory (``cloud.scoring``)."""

    def score_bytes(self, csv: bytes, meta_json: bytes,
                    arrays: Mapping[str, np.ndarray] | None = None) -> ScoreResult:
        """Score one wheel from its CSV and metadata bytes, or from ``arrays`` (the
        bundle's checked sidecar, ``cloud.reassembly.Bundle.arrays``) when given."""
        ...
