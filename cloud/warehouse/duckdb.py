"""DuckDB warehouse (embedded default).

DuckDB lets one process write a database file at a time, so every operation opens the
file, does its work and closes it, retrying while another worker holds the lock. The
table key is the primary key and inserts are ``INSERT OR IGNORE``: a retried row is not
duplicated.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from schemas.errors import StoreError
from schemas.warehouse import VIEW_ORDER, duckdb_ddl, load_tables, view_sql

log = logging.getLogger(__name__)
_CONFLICT_RETRIES = 5


def connect_when_free(path: Path, wait_s: float) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file, retrying while another process holds its lock (StoreError
    once ``wait_s`` has passed)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if time.monotonic() > deadline:
                raise StoreError(f"warehouse {path} stays locked: {exc}") from exc
            time.sleep(0.05)


class DuckDbWarehouse:
    """Tables in schema ``dataset`` of the DuckDB file ``path``."""

    def __init__(self, path: Path, dataset: str = "wheelwatch", lock_wait_s: float = 30.0):
        self.path = Path(path)
        self.ds = dataset
        self._wait = lock_wait_s
        self._tables = load_tables()

    @contextmanager
    def _connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect_when_free(self.path, self._wait)
        try:
            yield conn
        except duckdb.Error as exc:
            raise StoreError(f"warehouse {self.path}: {exc}") from exc
        finally:
            conn.close()

    def ensure_schema(self) -> list[str]:
        """Create the schema, tables and views if absent."""
        created: list[str] = []
        with self._connect() as c:
            c.execute(f"CREATE SCHEMA IF NOT EXISTS {self.ds}")
            have = {r[0] for r in c.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                [self.ds]).fetchall()}
            for t in self._tables.values():
                if t.name not in have:
                    c.execute(duckdb_ddl(t, self.ds))
                    created.append(t.name)
            for v in VIEW_ORDER:
                if v not in have:
                    c.execute(f"CREATE VIEW IF NOT EXISTS {self.ds}.{v} AS {view_sql(v, self.ds)}")
                    created.append(v)
        return created

    def insert_rows(
        self, table: str, rows: Sequence[Mapping[str, Any]], row_ids: Sequence[str]
    ) -> None:
        """Insert rows, ignoring those whose key is already present."""
        if not rows:
            return
        cols = self._tables[table].field_names
        sql = (f"INSERT OR IGNORE INTO {self.ds}.{table} ({', '.join(cols)}) "
               f"VALUES ({', '.join('?' for _ in cols)})")
        values = [[r.get(k) for k in cols] for r in rows]
        for attempt in range(1, _CONFLICT_RETRIES + 1):
            try:
                with self._connect() as c:
                    c.executemany(sql, values)
                return
            except StoreError as exc:
                # Two connections inserting the same key at once: DuckDB's optimistic
                # concurrency fails one transaction instead of ignoring the row. Run it
                # again: the row is then present and INSERT OR IGNORE skips it.
                conflict = isinstance(exc.__cause__, duckdb.TransactionException
                                      | duckdb.ConstraintException)
                if not conflict or attempt == _CONFLICT_RETRIES:
                    raise
                log.info("warehouse insert into %s conflicted (attempt %d), retrying",
                         table, attempt)
                time.sleep(0.01 * attempt)

    def query(self, sql: str) -> list[dict[str, Any]]:
        """Run a query (``{ds}`` = the schema name) and return dict rows."""
        with self._connect() as c:
            cur = c.execute(sql.replace("{ds}", self.ds))
            names = [d[0] for d in cur.description or []]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
