"""Warehouse table and view definitions, one source for DuckDB and BigQuery.

``tables.json`` lists each table's fields (BigQuery types), key (idempotency: row id),
day partition field and clustering; ``views/*.sql`` are views written in the SQL both
engines accept, with ``{ds}`` standing for the dataset reference. Views are listed in
dependency order by :data:`VIEW_ORDER`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
VIEW_ORDER = ["v_wheel_scores", "v_wheel_trend", "v_run_summary", "v_looker_latest"]
DUCKDB_TYPES = {
    "STRING": "VARCHAR", "INT64": "BIGINT", "FLOAT64": "DOUBLE", "TIMESTAMP": "TIMESTAMPTZ",
    "DATE": "DATE", "BOOL": "BOOLEAN",
}


@dataclass(frozen=True)
class TableDef:
    """One warehouse table."""

    name: str
    description: str
    key: list[str]
    partition_field: str
    clustering: list[str]
    fields: list[dict[str, Any]]

    @property
    def field_names(self) -> list[str]:
        """Column names in order."""
        return [f["name"] for f in self.fields]


def load_tables() -> dict[str, TableDef]:
    """All table definitions by name."""
    raw = json.loads((HERE / "tables.json").read_text(encoding="utf-8"))
    return {name: TableDef(name=name, **spec) for name, spec in raw["tables"].items()}


def view_sql(name: str, ds: str) -> str:
    """The SELECT of view ``name`` with ``{ds}`` replaced."""
    return (HERE / "views" / f"{name}.sql").read_text(encoding="utf-8").replace("{ds}", ds)


def duckdb_ddl(table: TableDef, ds: str) -> str:
    """CREATE TABLE for DuckDB (the key becomes the primary key)."""
    cols = []
    for f in table.fields:
        null = " NOT NULL" if f.get("mode") == "REQUIRED" else ""
        cols.append(f"  {f['name']} {DUCKDB_TYPES[f['type']]}{null}")
    cols.append(f"  PRIMARY KEY ({', '.join(table.key)})")
    return f"CREATE TABLE IF NOT EXISTS {ds}.{table.name} (\n" + ",\n".join(cols) + "\n)"
