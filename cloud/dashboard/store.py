"""The dashboard's store: warehouse trends + SQL operations behind the two ports.

:class:`DashboardStore` implements :class:`~cloud.dashboard.ports.DashboardQueries` and
:class:`~cloud.dashboard.ports.DashboardActions` by delegating trends to the warehouse
reader and alerts, labels, replacements and pipeline state to the SQL store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from cloud.dashboard.ports import (
    Alert,
    CameraLast,
    DataHealth,
    DayCount,
    Heatmap,
    Label,
    LabelValue,
    PassFiles,
    Replacement,
    Scan,
    WheelDay,
    WheelRun,
    WheelTile,
)
from cloud.dashboard.sql_ops import SqlOps


class TrendReader(Protocol):
    """What the store needs from a warehouse reader (DuckDB here; BigQuery alike)."""

    def fleet(self) -> list[WheelTile]: ...
    def heatmaps(self, runs: int) -> list[Heatmap]: ...
    def under_threshold_by_day(self, threshold: float, days: int) -> list[DayCount]: ...
    def wheel(self, wheel_id: str) -> WheelTile | None: ...
    def wheel_runs(self, wheel_id: str, limit: int) -> list[WheelRun]: ...
    def wheel_days(self, wheel_id: str, days: int) -> list[WheelDay]: ...
    def scans(self, wheel_id: str, offset: int, limit: int) -> tuple[list[Scan], int]: ...
    def camera_last(self) -> list[CameraLast]: ...
    def files_per_run(self, run_ids: list[str]) -> dict[str, tuple[int, int]]: ...


class DashboardStore:
    """Queries and actions of the dashboard over a warehouse reader and the SQL store."""

    def __init__(self, trends: TrendReader, ops: SqlOps,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.trends = trends
        self.ops = ops
        self._clock = clock

    def fleet(self) -> list[WheelTile]:
        """Every wheel position with its current wheel and latest score."""
        return self.trends.fleet()

    def heatmaps(self, runs: int) -> list[Heatmap]:
        """Per train: score per position over the latest runs."""
        return self.trends.heatmaps(runs)

    def under_threshold_by_day(self, threshold: float, days: int) -> list[DayCount]:
        """Wheels under the threshold per day."""
        return self.trends.under_threshold_by_day(threshold, days)

    def wheel(self, wheel_id: str) -> WheelTile | None:
        """Latest scan of the wheel."""
        return self.trends.wheel(wheel_id)

    def wheel_runs(self, wheel_id: str, limit: int) -> list[WheelRun]:
        """Latest scans on the wheel's position."""
        return self.trends.wheel_runs(wheel_id, limit)

    def wheel_days(self, wheel_id: str, days: int) -> list[WheelDay]:
        """Daily aggregates on the wheel's position."""
        return self.trends.wheel_days(wheel_id, days)

    def scans(self, wheel_id: str, offset: int, limit: int) -> tuple[list[Scan], int]:
        """A page of the wheel's scans."""
        return self.trends.scans(wheel_id, offset, limit)

    def replacements(self, wheel_id: str) -> list[Replacement]:
        """Replacements on the wheel's position."""
        return self.ops.replacements(wheel_id)

    def labels(self, wheel_id: str, limit: int) -> list[Label]:
        """Inspection labels of the wheel."""
        return self.ops.labels(wheel_id, limit)

    def alerts(self, *, open_only: bool, wheel_id: str | None, limit: int) -> list[Alert]:
        """Alerts, newest first."""
        return self.ops.alerts(open_only=open_only, wheel_id=wheel_id, limit=limit)

    def alert(self, alert_id: str) -> Alert | None:
        """One alert."""
        return self.ops.alert(alert_id)

    def data_health(self, passes: int) -> DataHealth:
        """Cameras and passes from the warehouse, pipeline state from the SQL store."""
        runs = self.ops.recent_passes(passes)
        got = self.trends.files_per_run([r[0] for r in runs])
        backlog, dead, recent, beats = self.ops.pipeline()
        return DataHealth(
            now=self._clock(), cameras=self.trends.camera_last(),
            passes=[PassFiles(run_id, train, t, expected, got.get(run_id, (0, 0))[0],
                              got.get(run_id, (0, 0))[1], missing)
                    for run_id, train, t, expected, missing in runs],
            backlog=backlog, dead_letters=dead, recent_dead_letters=recent, heartbeats=beats)

    def acknowledge_alert(self, alert_id: str, user: str) -> bool:
        """Acknowledge an open alert."""
        return self.ops.acknowledge_alert(alert_id, user)

    def record_label(self, wheel_id: str, label: LabelValue, note: str,
                     file_id: str | None, user: str) -> Label:
        """Record an inspection label."""
        return self.ops.record_label(wheel_id, label, note, file_id, user)
