"""Events the cloud pipeline raises for the alerting service (and the dashboard).

The subscriber/monitor side produces them; ``cloud.alerts`` consumes them through the
:class:`AlertSink` port. They carry everything a crew message needs, so the alerting
code never queries the pipeline's internals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class WheelScored:
    """One wheel scan scored by the model (score 0-100 = confidence the wheel is good)."""

    site: str
    run_id: str
    train_id: str
    camera: str
    side: str
    wheel_id: str
    position: int  # 1-based position in passing order on that camera
    file_id: str
    capture_time: datetime
    scored_at: datetime
    score: float
    model_version: str
    defect: str  # chunking | crack | flat_spot | blister | other | none
    location: dict[str, float] = field(default_factory=dict)  # line, column, along_mm, across_mm


@dataclass(frozen=True)
class RunComplete:
    """Every file the run manifest expected is scored or declared missing."""

    site: str
    run_id: str
    train_id: str
    run_count: int | None
    pass_end: datetime
    scored: int
    missing: int


@dataclass(frozen=True)
class FileMissing:
    """A wheel the manifest expected but whose file did not arrive in time."""

    site: str
    run_id: str
    train_id: str
    camera: str
    wheel_id: str
    reason: str  # "not produced by camera" | "published, not received" | ...
    detected_at: datetime


@dataclass(frozen=True)
class FileArrivedLate:
    """A file earlier reported missing has arrived (resolves a FileMissing)."""

    site: str
    run_id: str
    camera: str
    wheel_id: str
    arrived_at: datetime


@dataclass(frozen=True)
class SourceSilent:
    """An edge stopped sending heartbeats, or one camera went silent."""

    site: str
    source: str  # edge id or camera id
    kind: str  # "edge" | "camera"
    last_seen: datetime | None
    detected_at: datetime


@dataclass(frozen=True)
class SourceBack:
    """A silent edge or camera is heard again (resolves a SourceSilent)."""

    site: str
    source: str
    kind: str
    seen_at: datetime


@dataclass(frozen=True)
class PipelineError:
    """Scoring or storing stopped for a file: the crew must know the wheel is unchecked."""

    site: str
    where: str  # "scorer" | "blob" | "sql" | "warehouse" | ...
    reason: str
    file_id: str | None
    detected_at: datetime


DomainEvent = (
    WheelScored | RunComplete | FileMissing | FileArrivedLate | SourceSilent | SourceBack
    | PipelineError
)


class AlertSink(Protocol):
    """Port through which the pipeline hands events to alerting."""

    def handle(self, event: DomainEvent) -> None:
        """Take one event; must be idempotent for a redelivered event."""
        ...


@runtime_checkable
class BatchAlertSink(AlertSink, Protocol):
    """A sink that takes several events at once (one transaction for all of them)."""

    def handle_many(self, events: Sequence[DomainEvent]) -> list[Exception | None]:
        """Take ``events`` in order; per event, the error that stopped it (None: taken)."""
        ...


class NullAlertSink:
    """Sink that records events in memory (tests, or a site without alerting)."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def handle(self, event: DomainEvent) -> None:
        """Remember the event."""
        self.events.append(event)
