"""The dashboard's ports: what it reads (:class:`DashboardQueries`), what it changes
(:class:`DashboardActions`) and where scan images come from (:class:`ScanImages`).

The read model is deliberately small and pre-aggregated: every method returns a bounded
number of rows whatever the size of the warehouse, so a page costs a fixed handful of
queries (no N+1). Adapters: ``cloud.dashboard.duckdb_store`` (DuckDB warehouse views,
the default) and in-memory fakes in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol

LabelValue = Literal["good", "bad"]
ImageKind = Literal["heatmap", "range", "intensity"]
IMAGE_KINDS: tuple[ImageKind, ...] = ("heatmap", "range", "intensity")


@dataclass(frozen=True)
class WheelTile:
    """One wheel of the fleet with its latest score."""

    train_id: str
    wheel_id: str
    camera: str
    side: str
    position: int
    score: float
    defect: str
    capture_time: datetime
    run_id: str


@dataclass(frozen=True)
class Heatmap:
    """Scores of one train's wheels (rows) over its runs (columns); None = not scanned."""

    train_id: str
    wheels: list[str]
    runs: list[str]
    run_times: list[datetime]
    z: list[list[float | None]]


@dataclass(frozen=True)
class DayCount:
    """Wheels under the threshold on one day (min score of the day) and wheels scanned."""

    day: date
    under: int
    scanned: int


@dataclass(frozen=True)
class WheelRun:
    """One scan on a wheel position: score and the scan's height (mm) / intensity stats."""

    run_id: str
    file_id: str
    capture_time: datetime
    score: float
    defect: str
    wheel_id: str
    height_mean: float | None
    height_p05: float | None
    height_p95: float | None
    intensity_mean: float | None


@dataclass(frozen=True)
class WheelDay:
    """Daily aggregate on one wheel position (for trends over a whole year)."""

    day: date
    runs: int
    score_min: float
    score_mean: float
    height_mean: float | None
    height_p05_min: float | None
    depth_below_mean_max: float | None
    intensity_mean: float | None


@dataclass(frozen=True)
class Scan:
    """A scan of a wheel as listed on the wheel page."""

    file_id: str
    run_id: str
    camera: str
    capture_time: datetime
    scored_at: datetime | None
    score: float
    model_version: str
    defect: str
    location: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Replacement:
    """A wheel installed on the position at ``at``, replacing ``replaced``."""

    wheel_id: str
    at: datetime
    replaced: str


@dataclass(frozen=True)
class Label:
    """An inspection label recorded by the crew."""

    wheel_id: str
    label: LabelValue
    note: str
    file_id: str | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class Alert:
    """An alert as the dashboard lists it."""

    alert_id: str
    kind: str
    severity: str
    train_id: str | None
    run_id: str | None
    wheel_ids: list[str]
    message: str
    created_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    status: str = "open"


@dataclass(frozen=True)
class CameraLast:
    """Last file received from one camera."""

    camera: str
    last_capture: datetime | None
    last_received: datetime | None


@dataclass(frozen=True)
class PassFiles:
    """Files expected vs received for one pass (run)."""

    run_id: str
    train_id: str
    pass_time: datetime | None
    expected: int
    received: int
    written: int
    missing: int


@dataclass(frozen=True)
class Heartbeat:
    """Last heartbeat of one edge (or camera) source."""

    source: str
    kind: str
    last_seen: datetime


@dataclass(frozen=True)
class DataHealth:
    """Everything the data-health page shows."""

    now: datetime
    cameras: list[CameraLast]
    passes: list[PassFiles]
    backlog: int
    dead_letters: int
    recent_dead_letters: list[tuple[str, str, datetime | None]]  # file id, reason, when
    heartbeats: list[Heartbeat]


class DashboardQueries(Protocol):
    """The dashboard's read model (bounded, pre-aggregated queries)."""

    def fleet(self) -> list[WheelTile]:
        """Every wheel of every train with its latest score."""
        ...

    def heatmaps(self, runs: int) -> list[Heatmap]:
        """Per train: scores of its wheels over its latest ``runs`` runs."""
        ...

    def under_threshold_by_day(self, threshold: float, days: int) -> list[DayCount]:
        """Per day (latest ``days``): wheels whose lowest score that day was under threshold."""
        ...

    def wheel(self, wheel_id: str) -> WheelTile | None:
        """The wheel's latest state, or None if it was never scanned."""
        ...

    def wheel_runs(self, wheel_id: str, limit: int) -> list[WheelRun]:
        """The latest ``limit`` scans on the wheel's position (all its wheels), oldest first."""
        ...

    def wheel_days(self, wheel_id: str, days: int) -> list[WheelDay]:
        """Daily aggregates on the wheel's position over the latest ``days`` days."""
        ...

    def scans(self, wheel_id: str, offset: int, limit: int) -> tuple[list[Scan], int]:
        """A page of the wheel's scans (newest first) and the total number of scans."""
        ...

    def replacements(self, wheel_id: str) -> list[Replacement]:
        """Replacements on the wheel's position (train, camera, position), oldest first."""
        ...

    def labels(self, wheel_id: str, limit: int) -> list[Label]:
        """Inspection labels of the wheel, newest first."""
        ...

    def alerts(self, *, open_only: bool, wheel_id: str | None, limit: int) -> list[Alert]:
        """Alerts (newest first), optionally only open ones or only those naming a wheel."""
        ...

    def alert(self, alert_id: str) -> Alert | None:
        """One alert by id."""
        ...

    def data_health(self, passes: int) -> DataHealth:
        """Pipeline health: cameras, the latest ``passes`` passes, backlog, dead letters."""
        ...


class DashboardActions(Protocol):
    """What crew members may change from the dashboard."""

    def acknowledge_alert(self, alert_id: str, user: str) -> bool:
        """Acknowledge an open alert; False if there is no such open alert."""
        ...

    def record_label(
        self, wheel_id: str, label: LabelValue, note: str, file_id: str | None, user: str
    ) -> Label:
        """Record an inspection label for a wheel (optionally for one scan)."""
        ...


class ScanImages(Protocol):
    """Rendered images of a scan (model heatmap, range and intensity), PNG bytes."""

    def image(self, file_id: str, kind: ImageKind) -> bytes | None:
        """The PNG, or None if there is none for this scan."""
        ...

    def available(self, file_ids: list[str]) -> set[str]:
        """The scans among ``file_ids`` that have images."""
        ...
