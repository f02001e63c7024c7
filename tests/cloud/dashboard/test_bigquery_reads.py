"""The BigQuery trend reader gives the same answers as the DuckDB one (bqemulator)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cloud.dashboard.bigquery_reads import BigQueryTrends
from cloud.dashboard.synth import SynthSpec, generate_warehouse
from cloud.dashboard.warehouse_reads import DuckDBTrends

pytestmark = pytest.mark.integration
SPEC = SynthSpec(site="bqsite", trains=1, wheels_per_side=3, days=3, run_every_min=60,
                 cycle_min_days=2, cycle_span_days=2)


@pytest.fixture(scope="module")
def both(bq_emulator: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    from cloud.warehouse.bigquery import BigQueryWarehouse

    root: Path = tmp_path_factory.mktemp("bqdash")
    con = duckdb.connect(str(root / "w.duckdb"))
    generate_warehouse(con, SPEC)
    tables = {}
    for t in ("wheel_scores", "files"):
        cur = con.execute(f"SELECT * FROM wheelwatch.{t}")
        names = [d[0] for d in cur.description]
        tables[t] = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    con.close()
    duck = DuckDBTrends(root / "w.duckdb", SPEC.site)
    duck.install_views()

    client = bigquery.Client(project="test-project", credentials=AnonymousCredentials(),
                             client_options=ClientOptions(api_endpoint=bq_emulator))
    dataset = f"dash_{int(time.time() * 1000)}"
    wh = BigQueryWarehouse(client, dataset, timeout_s=30)
    wh.ensure_schema()
    for t, rows in tables.items():
        wh.insert_rows(t, rows, [r["file_id"] for r in rows])
    bq = BigQueryTrends(client, dataset, SPEC.site)
    bq.install_views()
    yield duck, bq
    duck.close_if_idle()


def test_fleet_and_days_agree(both: tuple[Any, Any]) -> None:
    duck, bq = both
    d, b = duck.fleet(), bq.fleet()
    assert [(t.wheel_id, round(t.score, 6)) for t in b] == [
        (t.wheel_id, round(t.score, 6)) for t in d]
    assert bq.under_threshold_by_day(70, 30) == duck.under_threshold_by_day(70, 30)


def test_wheel_history_and_scans_agree(both: tuple[Any, Any]) -> None:
    duck, bq = both
    wheel = duck.fleet()[1].wheel_id
    assert bq.wheel(wheel).run_id == duck.wheel(wheel).run_id
    assert [r.file_id for r in bq.wheel_runs(wheel, 20)] == [
        r.file_id for r in duck.wheel_runs(wheel, 20)]
    assert [(d.day, d.runs) for d in bq.wheel_days(wheel, 30)] == [
        (d.day, d.runs) for d in duck.wheel_days(wheel, 30)]
    bs, bt = bq.scans(wheel, 2, 5)
    ds, dt_ = duck.scans(wheel, 2, 5)
    assert bt == dt_ and [s.file_id for s in bs] == [s.file_id for s in ds]
    runs = [r.run_id for r in duck.wheel_runs(wheel, 3)]
    assert bq.files_per_run(runs) == duck.files_per_run(runs)
    assert [c.camera for c in bq.camera_last()] == ["Cam_01", "Cam_02"]


def test_heatmaps_agree(both: tuple[Any, Any]) -> None:
    duck, bq = both
    d, b = duck.heatmaps(10), bq.heatmaps(10)
    assert [(h.train_id, h.wheels, h.runs, h.z) for h in b] == [
        (h.train_id, h.wheels, h.runs, h.z) for h in d]
