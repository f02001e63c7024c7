"""The DuckDB reads (summary table, day-range paging) agree with brute-force SQL."""

from __future__ import annotations

import duckdb
import pytest

from tests.cloud.dashboard.conftest import SPEC, Site


def _brute(site: Site, sql: str, params: list) -> list[tuple]:
    con = duckdb.connect(str(site.warehouse))
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def test_summary_table_equals_the_view(site: Site) -> None:
    cols = "wheel_id, day, runs, round(score_min, 6), round(score_mean, 6), last_run"
    table = _brute(site, f"SELECT {cols} FROM wheelwatch.dash_wheel_day ORDER BY 1, 2", [])
    view = _brute(site, f"SELECT {cols} FROM wheelwatch.dash_wheel_daily ORDER BY 1, 2", [])
    assert table == view and len(table) > SPEC.wheels * (SPEC.days - 1)


@pytest.mark.parametrize("offset,limit", [(0, 12), (5, 12), (60, 12), (71, 3), (2000, 12)])
def test_scan_pages_match_brute_force(site: Site, offset: int, limit: int) -> None:
    wheel = site.store.fleet()[0].wheel_id
    got, total = site.store.trends.scans(wheel, offset, limit)
    want = _brute(site, """SELECT file_id FROM wheelwatch.wheel_scores WHERE wheel_id = ?
                           ORDER BY capture_time DESC LIMIT ? OFFSET ?""", [wheel, limit, offset])
    assert [s.file_id for s in got] == [w[0] for w in want]
    count = _brute(site, "SELECT count(*) FROM wheelwatch.wheel_scores WHERE wheel_id = ?",
                   [wheel])
    assert total == count[0][0]


def test_position_history_spans_replacements(site: Site) -> None:
    tile = next(t for t in site.store.fleet() if site.store.replacements(t.wheel_id))
    runs = site.store.wheel_runs(tile.wheel_id, 400)
    want = _brute(site, """SELECT file_id FROM wheelwatch.wheel_scores WHERE train_id = ? AND
                           camera = ? AND position = ? ORDER BY capture_time DESC LIMIT 400""",
                  [tile.train_id, tile.camera, tile.position])
    assert [r.file_id for r in runs] == [w[0] for w in reversed(want)]
    assert len({r.wheel_id for r in runs}) >= 1
    days = site.store.wheel_days(tile.wheel_id, 400)
    assert sum(d.runs for d in days) == _brute(
        site, "SELECT count(*) FROM wheelwatch.wheel_scores WHERE train_id = ? AND camera = ? "
        "AND position = ?", [tile.train_id, tile.camera, tile.position])[0][0]


def test_fleet_is_the_latest_scan_per_position(site: Site) -> None:
    want = _brute(site, """SELECT wheel_id, score FROM wheelwatch.wheel_scores
        QUALIFY row_number() OVER (PARTITION BY train_id, camera, position
                                   ORDER BY capture_time DESC) = 1 ORDER BY wheel_id""", [])
    got = sorted((t.wheel_id, t.score) for t in site.store.fleet())
    assert got == [(w, pytest.approx(s)) for w, s in want]


def test_late_scan_is_picked_up_by_the_refresh(site: Site) -> None:
    trends = site.store.trends
    tile = site.store.fleet()[0]
    con = duckdb.connect(str(site.warehouse))
    con.execute("SET TimeZone = 'UTC'")
    con.execute("""INSERT INTO wheelwatch.wheel_scores SELECT * REPLACE (
                     file_id || '-late' AS file_id, score - 50 AS score,
                     capture_time + INTERVAL 1 MINUTE AS capture_time)
                   FROM wheelwatch.wheel_scores WHERE wheel_id = ?
                   ORDER BY capture_time DESC LIMIT 1""", [tile.wheel_id])
    con.close()
    with trends._connect(refresh=False) as c:
        assert trends.summary.refresh(c, force=True)
    now = next(t for t in site.store.fleet() if t.wheel_id == tile.wheel_id)
    assert now.score == pytest.approx(tile.score - 50)


def test_file_is_released_when_idle_so_a_worker_can_write(site: Site) -> None:
    import subprocess
    import sys
    import time

    trends = site.store.trends
    assert trends.fleet()
    time.sleep(1.0)  # idle_close_s = 0.5
    writer = subprocess.run(
        [sys.executable, "-c", "import duckdb,sys; c = duckdb.connect(sys.argv[1]); "
         "c.execute('CREATE TABLE wheelwatch.worker_was_here (x INT)'); c.close()",
         str(site.warehouse)], capture_output=True, text=True, timeout=60)
    assert writer.returncode == 0, writer.stderr
    assert trends.fleet()  # and the dashboard opens it again afterwards
