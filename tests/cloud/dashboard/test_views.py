"""The dashboard views: one file for DuckDB and BigQuery (GoogleSQL) alike."""

from __future__ import annotations

import duckdb
import sqlglot

from cloud.dashboard.views import view_statements

NAMES = ["dash_position_latest", "dash_wheel_daily", "dash_fleet_daily", "dash_pass_files",
         "dash_camera_last"]


def test_every_view_parses_as_bigquery_sql() -> None:
    stmts = view_statements("`my-project.wheelwatch`")
    assert len(stmts) == len(NAMES)
    for stmt, name in zip(stmts, NAMES, strict=True):
        tree = sqlglot.parse_one(stmt, read="bigquery")
        assert tree.key == "create" and f"`my-project.wheelwatch`.{name}" in stmt


def test_views_create_on_duckdb_over_the_warehouse_tables() -> None:
    from schemas.warehouse import duckdb_ddl, load_tables

    con = duckdb.connect()
    con.execute("CREATE SCHEMA wh")
    for table in load_tables().values():
        con.execute(duckdb_ddl(table, "wh"))
    for stmt in view_statements("wh"):
        con.execute(stmt)
    got = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW'").fetchall()}
    assert set(NAMES) <= got
    assert con.execute("SELECT count(*) FROM wh.dash_wheel_daily").fetchone() == (0,)
