"""Trend reads of the dashboard from BigQuery (production), GoogleSQL with query parameters.

Same answers as :class:`~cloud.dashboard.warehouse_reads.DuckDBTrends`; every query is
bounded by a time window on the day-partitioned ``capture_time`` (so it reads days, not
the year) and filtered on the clustering column ``wheel_id`` where it can be.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from cloud.dashboard.ports import (
    CameraLast,
    DayCount,
    Heatmap,
    Scan,
    WheelDay,
    WheelRun,
    WheelTile,
)
from cloud.dashboard.read_rows import pivot_heatmaps, scan_from_row
from cloud.dashboard.views import view_statements
from schemas.errors import StoreError

_TILE = "train_id, wheel_id, camera, side, position, score, defect, capture_time, run_id"


class BigQueryTrends:
    """Fleet and wheel trends from the BigQuery dataset of one site."""

    def __init__(self, client: Any, dataset: str, site: str, *, fleet_days: int = 35,
                 history_days: int = 400, timeout_s: float = 30.0) -> None:
        self._client = client
        self._ds = f"`{client.project}.{dataset}`"
        self._site = site
        self._fleet_days = fleet_days
        self._history_days = history_days
        self._timeout = timeout_s

    def install_views(self) -> None:
        """Create (or replace) the dashboard views in the dataset."""
        for stmt in view_statements(self._ds):
            self._q(stmt, {})

    def _q(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        from google.api_core import exceptions as gexc
        from google.cloud import bigquery

        qp = [_param(bigquery, k, v) for k, v in params.items()]
        try:
            job = self._client.query(
                sql.replace("{ds}", self._ds),
                job_config=bigquery.QueryJobConfig(query_parameters=qp),
                timeout=self._timeout)
            return [tuple(r.values()) for r in job.result(timeout=self._timeout)]
        except gexc.GoogleAPICallError as exc:
            raise StoreError(f"BigQuery dashboard query failed: {exc}") from exc

    def _since(self, days: int) -> dt.datetime:
        return dt.datetime.now(dt.UTC) - dt.timedelta(days=days)

    def fleet(self) -> list[WheelTile]:
        """The current wheel on every position scanned in the last ``fleet_days`` days."""
        rows = self._q(f"""SELECT {_TILE} FROM {{ds}}.wheel_scores
            WHERE site_id = @site AND capture_time >= @since
            QUALIFY ROW_NUMBER() OVER (PARTITION BY train_id, camera,
              COALESCE(CAST(position AS STRING), CONCAT('wheel:', wheel_id))
              ORDER BY capture_time DESC) = 1
            ORDER BY train_id, side, position, wheel_id LIMIT 5000""",
                       {"site": self._site, "since": self._since(self._fleet_days)})
        return [WheelTile(*r) for r in rows]

    def heatmaps(self, runs: int) -> list[Heatmap]:
        """Per train: scores on its positions over its latest ``runs`` runs (last week)."""
        rows = self._q("""WITH r AS (
              SELECT train_id, run_id, MIN(capture_time) AS t FROM {ds}.wheel_scores
              WHERE site_id = @site AND capture_time >= @since GROUP BY train_id, run_id
              QUALIFY ROW_NUMBER() OVER (PARTITION BY train_id ORDER BY t DESC) <= @runs)
            SELECT s.train_id, s.camera, s.side, s.position, s.run_id, r.t, s.score, s.wheel_id
            FROM {ds}.wheel_scores s JOIN r ON s.run_id = r.run_id AND s.train_id = r.train_id
            WHERE s.site_id = @site AND s.capture_time >= @since ORDER BY s.train_id, r.t""",
                       {"site": self._site, "since": self._since(7), "runs": runs})
        return pivot_heatmaps(rows)

    def under_threshold_by_day(self, threshold: float, days: int) -> list[DayCount]:
        """Per day: wheels whose lowest score that day was under ``threshold``."""
        rows = self._q("""SELECT CAST(capture_time AS DATE) AS day,
              COUNT(DISTINCT IF(score < @threshold, wheel_id, NULL)), COUNT(DISTINCT wheel_id)
            FROM {ds}.wheel_scores WHERE site_id = @site AND capture_time >= @since
            GROUP BY day ORDER BY day""",
                       {"site": self._site, "since": self._since(days), "threshold": threshold})
        return [DayCount(r[0], int(r[1]), int(r[2])) for r in rows]

    def wheel(self, wheel_id: str) -> WheelTile | None:
        """The wheel's latest scan, or None."""
        rows = self._q(f"""SELECT {_TILE} FROM {{ds}}.wheel_scores WHERE site_id = @site
            AND wheel_id = @wheel AND capture_time >= @since
            ORDER BY capture_time DESC LIMIT 1""", self._wp(wheel_id))
        return WheelTile(*rows[0]) if rows else None

    def _wp(self, wheel_id: str, **more: Any) -> dict[str, Any]:
        return {"site": self._site, "wheel": wheel_id,
                "since": self._since(self._history_days), **more}

    def _position(self, wheel_id: str) -> tuple[str, dict[str, Any]]:
        """WHERE clause + params selecting the wheel's position (or the wheel alone)."""
        rows = self._q("""SELECT train_id, camera, position FROM {ds}.wheel_scores
            WHERE site_id = @site AND wheel_id = @wheel AND capture_time >= @since
            ORDER BY capture_time DESC LIMIT 1""", self._wp(wheel_id))
        if not rows or rows[0][2] is None:
            return "wheel_id = @wheel", self._wp(wheel_id)
        return ("train_id = @train AND camera = @camera AND position = @pos",
                self._wp(wheel_id, train=rows[0][0], camera=rows[0][1], pos=int(rows[0][2])))

    def wheel_runs(self, wheel_id: str, limit: int) -> list[WheelRun]:
        """The latest ``limit`` scans on the wheel's position, oldest first."""
        where, params = self._position(wheel_id)
        rows = self._q(f"""SELECT run_id, file_id, capture_time, score, defect, wheel_id,
              height_mean, height_p05, height_p95, intensity_mean
            FROM {{ds}}.wheel_scores WHERE site_id = @site AND capture_time >= @since
            AND {where} ORDER BY capture_time DESC LIMIT @lim""", {**params, "lim": limit})
        return [WheelRun(*r) for r in reversed(rows)]

    def wheel_days(self, wheel_id: str, days: int) -> list[WheelDay]:
        """Daily aggregates on the wheel's position, oldest first."""
        where, params = self._position(wheel_id)
        rows = self._q(f"""SELECT CAST(capture_time AS DATE) AS day, COUNT(*), MIN(score),
              AVG(score), AVG(height_mean), MIN(height_p05), MAX(height_mean - height_p05),
              AVG(intensity_mean)
            FROM {{ds}}.wheel_scores WHERE site_id = @site AND capture_time >= @since
            AND {where} GROUP BY day ORDER BY day""",
                       {**params, "since": self._since(min(days, self._history_days))})
        return [WheelDay(*r) for r in rows]

    def scans(self, wheel_id: str, offset: int, limit: int) -> tuple[list[Scan], int]:
        """A page of the wheel's scans (newest first) and the wheel's number of scans."""
        rows = self._q("""SELECT file_id, run_id, camera, capture_time, scored_at, score,
              model_version, defect, loc_line, loc_column, loc_along_mm, loc_across_mm,
              COUNT(*) OVER () AS total
            FROM {ds}.wheel_scores WHERE site_id = @site AND wheel_id = @wheel
            AND capture_time >= @since ORDER BY capture_time DESC LIMIT @lim OFFSET @off""",
                       self._wp(wheel_id, lim=limit, off=offset))
        scans = [scan_from_row(r) for r in rows]
        if rows:
            return scans, int(rows[0][12])
        total = self._q("""SELECT COUNT(*) FROM {ds}.wheel_scores WHERE site_id = @site
            AND wheel_id = @wheel AND capture_time >= @since""", self._wp(wheel_id))
        return scans, int(total[0][0])

    def camera_last(self) -> list[CameraLast]:
        """Last file per camera (in the latest week)."""
        rows = self._q("""SELECT camera, MAX(capture_time), MAX(last_chunk_at) FROM {ds}.files
            WHERE site_id = @site AND capture_time >= @since GROUP BY camera ORDER BY camera""",
                       {"site": self._site, "since": self._since(7)})
        return [CameraLast(*r) for r in rows]

    def files_per_run(self, run_ids: list[str]) -> dict[str, tuple[int, int]]:
        """(received, written) files of each run (runs of the latest week)."""
        if not run_ids:
            return {}
        rows = self._q("""SELECT run_id, COUNT(*), COUNTIF(state = 'written') FROM {ds}.files
            WHERE site_id = @site AND capture_time >= @since AND run_id IN UNNEST(@runs)
            GROUP BY run_id""", {"site": self._site, "since": self._since(7), "runs": run_ids})
        return {r[0]: (int(r[1]), int(r[2] or 0)) for r in rows}

    def scan_keys(self, file_ids: list[str]) -> dict[str, tuple[str, dt.datetime, str]]:
        """(camera, capture time, wheel id) of scans that have a stored CSV."""
        if not file_ids:
            return {}
        rows = self._q("""SELECT file_id, camera, capture_time, wheel_id FROM {ds}.wheel_scores
            WHERE site_id = @site AND capture_time >= @since AND file_id IN UNNEST(@ids)
            AND csv_uri IS NOT NULL""",
                       {"site": self._site, "since": self._since(self._history_days),
                        "ids": file_ids})
        return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _param(bigquery: Any, name: str, value: Any) -> Any:
    """A typed BigQuery query parameter."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return bigquery.ArrayQueryParameter(name, "STRING", list(value))
    kind = {bool: "BOOL", int: "INT64", float: "FLOAT64", str: "STRING",
            dt.datetime: "TIMESTAMP"}[type(value)]
    return bigquery.ScalarQueryParameter(name, kind, value)
