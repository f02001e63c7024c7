"""Trend reads of the dashboard from the DuckDB warehouse (tables of
``schemas/warehouse/tables.json`` plus the views of ``views_dashboard.sql``).

DuckDB lets one process hold a database file at a time, so the reader opens the file on
demand (retrying while a worker holds it), shares that connection between the queries
of concurrent requests (a cursor each) and closes it after ``idle_close_s`` without
queries, so a worker can write between page views. Queries are bounded and
parameterised.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

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
from cloud.dashboard.summary import DailySummary
from cloud.dashboard.views import view_statements
from cloud.warehouse.duckdb import connect_when_free
from schemas.errors import StoreError

_TILE = ("train_id, wheel_id, camera, side, position, last_score, last_defect, last_capture, "
         "last_run")
_POS_KEY = "coalesce(CAST(position AS VARCHAR), 'wheel:' || wheel_id)"  # no position: by wheel
_WINDOW = timedelta(days=7)  # heatmaps and per-camera "last file" look this far back
_RANGE = """SELECT min(day), max(day), min(before) FROM (
    SELECT day, sum(runs) OVER (ORDER BY day DESC) - runs AS before, runs FROM (
      SELECT day, sum(runs) AS runs FROM {t} WHERE site_id = ? AND {where} GROUP BY day))
  WHERE before < ? AND before + runs > ?"""


def _midnight(d: date) -> datetime:
    return datetime.combine(d, datetime.min.time(), tzinfo=UTC)


class DuckDBTrends:
    """Fleet and wheel trends from the DuckDB warehouse of one site."""

    def __init__(self, path: Path, site: str, ds: str = "wheelwatch",
                 lock_wait_s: float = 10.0, refresh_every_s: float = 30.0,
                 idle_close_s: float = 0.5) -> None:
        self.path = Path(path)
        self._site = site
        self._ds = ds
        self._wait = lock_wait_s
        self.summary = DailySummary(ds, site, every_s=refresh_every_s)
        self._t = self.summary.table
        self._idle_s = idle_close_s
        self._mu = threading.Lock()
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._users = 0
        self._timer: threading.Timer | None = None

    def install_views(self) -> None:
        """Create (or replace) the dashboard views and build the daily summary table."""
        with self._connect(refresh=False) as c:
            c.execute(f"CREATE SCHEMA IF NOT EXISTS {self._ds}")
            for stmt in view_statements(self._ds):
                c.execute(stmt)
            self.summary.refresh(c, force=True)

    @contextmanager
    def _connect(self, refresh: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the shared connection (opened on demand, closed when idle)."""
        cur = self._acquire().cursor()
        try:
            cur.execute("SET TimeZone = 'UTC'")
            if refresh:
                self.summary.refresh(cur)
            yield cur
        except duckdb.Error as exc:
            raise StoreError(f"warehouse query failed: {exc}", retryable=False) from exc
        finally:
            cur.close()
            self._release()

    def _acquire(self) -> duckdb.DuckDBPyConnection:
        with self._mu:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._conn is None:
                self._conn = self._open()
            self._users += 1
            return self._conn

    def _open(self) -> duckdb.DuckDBPyConnection:
        return connect_when_free(self.path, self._wait)

    def _release(self) -> None:
        with self._mu:
            self._users -= 1
            if self._users == 0:
                self._timer = threading.Timer(self._idle_s, self.close_if_idle)
                self._timer.daemon = True
                self._timer.start()

    def close_if_idle(self) -> None:
        """Close the file (so a worker may write) once no query is running."""
        with self._mu:
            if self._users == 0 and self._conn is not None:
                self._conn.close()
                self._conn = None

    def _q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._connect() as c:
            return c.execute(sql.replace("{ds}", self._ds).replace("{t}", self._t),
                             list(params)).fetchall()

    def fleet(self) -> list[WheelTile]:
        """The current wheel on every position with its latest score."""
        rows = self._q(f"""SELECT {_TILE} FROM {{t}} WHERE site_id = ?
            QUALIFY row_number() OVER (PARTITION BY train_id, camera, {_POS_KEY}
                                       ORDER BY last_capture DESC) = 1
            ORDER BY train_id, side, position, wheel_id LIMIT 5000""", [self._site])
        return [WheelTile(*r) for r in rows]

    def heatmaps(self, runs: int) -> list[Heatmap]:
        """Per train: scores on its positions over its latest ``runs`` runs."""
        with self._connect() as c:
            row = c.execute(f"SELECT max(last_capture) FROM {self._t} WHERE site_id = ?",
                            [self._site]).fetchone()
            if not row or row[0] is None:
                return []
            since = row[0] - _WINDOW
            rows = c.execute(
                f"""WITH r AS (
                     SELECT train_id, run_id, min(capture_time) AS t
                     FROM {self._ds}.wheel_scores WHERE site_id = ? AND capture_time >= ?
                     GROUP BY train_id, run_id
                     QUALIFY row_number() OVER (PARTITION BY train_id ORDER BY t DESC) <= ?)
                   SELECT s.train_id, s.camera, s.side, s.position, s.run_id, r.t, s.score,
                          s.wheel_id
                   FROM {self._ds}.wheel_scores s
                   JOIN r ON s.run_id = r.run_id AND s.train_id = r.train_id
                   WHERE s.site_id = ? AND s.capture_time >= ?
                   ORDER BY s.train_id, r.t""",
                [self._site, since, runs, self._site, since]).fetchall()
        return pivot_heatmaps(rows)

    def under_threshold_by_day(self, threshold: float, days: int) -> list[DayCount]:
        """Per day: wheels whose lowest score that day was under ``threshold``."""
        rows = self._q(
            """SELECT day, count(DISTINCT CASE WHEN score_min < ? THEN wheel_id END),
                      count(DISTINCT wheel_id)
               FROM {t} WHERE site_id = ? AND day >= (
                 SELECT max(day) FROM {t} WHERE site_id = ?) - CAST(? AS INTEGER)
               GROUP BY day ORDER BY day""", [threshold, self._site, self._site, days])
        return [DayCount(r[0], int(r[1]), int(r[2])) for r in rows]

    def wheel(self, wheel_id: str) -> WheelTile | None:
        """The wheel's latest scan, or None."""
        rows = self._q(f"SELECT {_TILE} FROM {{t}} WHERE site_id = ? AND wheel_id = ? "
                       "ORDER BY last_capture DESC LIMIT 1", [self._site, wheel_id])
        return WheelTile(*rows[0]) if rows else None

    def _day_range(self, c: duckdb.DuckDBPyConnection, where: str, params: list[Any],
                   offset: int, limit: int) -> tuple[date, date, int] | None:
        """Days holding rows ``offset .. offset+limit`` (newest first) and rows before."""
        row = c.execute(_RANGE.format(t=self._t, where=where),
                        [self._site, *params, offset + limit, offset]
                        ).fetchone()
        if not row or row[0] is None:
            return None
        return row[0], row[1], int(row[2] or 0)

    def _position(self, c: duckdb.DuckDBPyConnection, wheel_id: str
                  ) -> tuple[str, list[Any]] | None:
        """WHERE clause + params selecting the wheel's position (or the wheel alone)."""
        row = c.execute(f"SELECT train_id, camera, position FROM {self._t} WHERE site_id = ? "
                        "AND wheel_id = ? LIMIT 1", [self._site, wheel_id]).fetchone()
        if not row:
            return None
        if row[2] is None:
            return "wheel_id = ?", [wheel_id]
        return "train_id = ? AND camera = ? AND position = ?", list(row)

    def wheel_runs(self, wheel_id: str, limit: int) -> list[WheelRun]:
        """The latest ``limit`` scans on the wheel's position, oldest first."""
        with self._connect() as c:
            pos = self._position(c, wheel_id)
            rng = self._day_range(c, pos[0], pos[1], 0, limit) if pos else None
            if pos is None or rng is None:
                return []
            rows = c.execute(
                f"""SELECT run_id, file_id, capture_time, score, defect, wheel_id, height_mean,
                           height_p05, height_p95, intensity_mean
                    FROM {self._ds}.wheel_scores WHERE site_id = ? AND {pos[0]}
                    AND capture_time >= ? ORDER BY capture_time DESC LIMIT ?""",
                [self._site, *pos[1], _midnight(rng[0]), limit]).fetchall()
        return [WheelRun(*r) for r in reversed(rows)]

    def wheel_days(self, wheel_id: str, days: int) -> list[WheelDay]:
        """Daily aggregates on the wheel's position, oldest first."""
        with self._connect() as c:
            pos = self._position(c, wheel_id)
            if pos is None:
                return []
            rows = c.execute(
                f"""SELECT day, sum(runs), min(score_min), sum(score_mean * runs) / sum(runs),
                          avg(height_mean), min(height_p05_min), max(depth_below_mean_max),
                          avg(intensity_mean)
                   FROM {self._t} WHERE site_id = ? AND {pos[0]}
                   AND day >= (SELECT max(day) FROM {self._t}
                               WHERE site_id = ?) - CAST(? AS INTEGER)
                   GROUP BY day ORDER BY day""",
                [self._site, *pos[1], self._site, days]).fetchall()
        return [WheelDay(*r) for r in rows]

    def scans(self, wheel_id: str, offset: int, limit: int) -> tuple[list[Scan], int]:
        """A page of the wheel's scans (newest first) and the wheel's number of scans."""
        with self._connect() as c:
            total = c.execute(f"SELECT sum(runs) FROM {self._t} WHERE site_id = ? AND "
                              "wheel_id = ?", [self._site, wheel_id]).fetchone()
            rng = self._day_range(c, "wheel_id = ?", [wheel_id], offset, limit)
            rows = [] if rng is None else c.execute(
                f"""SELECT file_id, run_id, camera, capture_time, scored_at, score,
                           model_version, defect, loc_line, loc_column, loc_along_mm,
                           loc_across_mm
                    FROM {self._ds}.wheel_scores WHERE site_id = ? AND wheel_id = ?
                    AND capture_time >= ? AND capture_time < ?
                    ORDER BY capture_time DESC LIMIT ? OFFSET ?""",
                [self._site, wheel_id, _midnight(rng[0]),
                 _midnight(rng[1]) + timedelta(days=1), limit, offset - rng[2]]).fetchall()
        return [scan_from_row(r) for r in rows], int(total[0] or 0) if total else 0

    def camera_last(self) -> list[CameraLast]:
        """Last file per camera (searched in the latest week of files)."""
        rows = self._q(
            """SELECT camera, max(capture_time), max(last_chunk_at) FROM {ds}.files
               WHERE site_id = ? AND capture_time >= (
                 SELECT max(capture_time) FROM {ds}.files WHERE site_id = ?) - INTERVAL 7 DAY
               GROUP BY camera ORDER BY camera""", [self._site, self._site])
        return [CameraLast(*r) for r in rows]

    def scan_keys(self, file_ids: list[str]) -> dict[str, tuple[str, datetime, str]]:
        """(camera, capture time, wheel id) of scans that have a stored CSV."""
        if not file_ids:
            return {}
        rows = self._q("SELECT file_id, camera, capture_time, wheel_id FROM {ds}.wheel_scores "
                       "WHERE site_id = ? AND list_contains(?, file_id) AND csv_uri IS NOT NULL",
                       [self._site, file_ids])
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def files_per_run(self, run_ids: list[str]) -> dict[str, tuple[int, int]]:
        """(received, written) files of each run (runs of the latest week)."""
        if not run_ids:
            return {}
        rows = self._q(
            """SELECT run_id, count(*), sum(CASE WHEN state = 'written' THEN 1 ELSE 0 END)
               FROM {ds}.files WHERE site_id = ? AND list_contains(?, run_id)
               AND capture_time >= (SELECT max(capture_time) FROM {ds}.files
                                    WHERE site_id = ?) - INTERVAL 7 DAY
               GROUP BY run_id""", [self._site, run_ids, self._site])
        return {r[0]: (int(r[1]), int(r[2] or 0)) for r in rows}
