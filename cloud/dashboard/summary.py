"""The pre-aggregated per-wheel-per-day table of the DuckDB dashboard (``dash_wheel_day``).

Same columns as the ``dash_wheel_daily`` view of ``views_dashboard.sql``; kept as a table
so that fleet and trend queries read ~100 rows a day instead of every scan. Refreshed
incrementally (at most every ``every_s`` seconds): the latest ``overlap_days`` days are
recomputed from ``wheel_scores``, which also picks up scans that arrive late.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import duckdb

_SELECT = """
SELECT site_id, train_id, camera, side, position, wheel_id,
       CAST(capture_time AS DATE) AS day, COUNT(*) AS runs, MIN(score) AS score_min,
       AVG(score) AS score_mean, AVG(height_mean) AS height_mean,
       MIN(height_p05) AS height_p05_min, MAX(height_mean - height_p05) AS depth_below_mean_max,
       AVG(intensity_mean) AS intensity_mean, MAX(capture_time) AS last_capture,
       arg_max(score, capture_time) AS last_score, arg_max(defect, capture_time) AS last_defect,
       arg_max(run_id, capture_time) AS last_run
FROM {ds}.wheel_scores WHERE site_id = ? AND capture_time >= ?
GROUP BY site_id, train_id, camera, side, position, wheel_id, CAST(capture_time AS DATE)
"""


class DailySummary:
    """Maintains ``{ds}.dash_wheel_day`` for one site."""

    def __init__(self, ds: str, site: str, every_s: float = 30.0, overlap_days: int = 2):
        self.table = f"{ds}.dash_wheel_day"
        self._ds = ds
        self._site = site
        self._every = every_s
        self._overlap = overlap_days
        self._last = -1e18
        self._lock = threading.Lock()

    def refresh(self, c: duckdb.DuckDBPyConnection, *, force: bool = False) -> bool:
        """Recompute the latest days if due; True if it ran."""
        with self._lock:
            if not force and time.monotonic() - self._last < self._every:
                return False
            select = _SELECT.replace("{ds}", self._ds)
            c.execute(f"CREATE TABLE IF NOT EXISTS {self.table} AS "
                      f"SELECT * FROM ({select}) WHERE FALSE",
                      [self._site, datetime(1970, 1, 1, tzinfo=UTC)])
            row = c.execute(f"SELECT max(day) FROM {self.table} WHERE site_id = ?",
                            [self._site]).fetchone()
            last: date | None = row[0] if row else None
            since = (datetime.combine(last - timedelta(days=self._overlap), datetime.min.time(),
                                      tzinfo=UTC) if last else datetime(1970, 1, 1, tzinfo=UTC))
            c.execute("BEGIN TRANSACTION")
            try:
                c.execute(f"DELETE FROM {self.table} WHERE site_id = ? AND day >= ?",
                          [self._site, since.date()])
                c.execute(f"INSERT INTO {self.table} {select}", [self._site, since])
                c.execute("COMMIT")
            except duckdb.Error:
                c.execute("ROLLBACK")
                raise
            self._last = time.monotonic()
            return True
