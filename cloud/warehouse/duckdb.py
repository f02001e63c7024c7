"""DuckDB warehouse (embedded default).

DuckDB lets one process open a database file at a time. Opening and closing the file
costs ~20 ms each (catalog load, checkpoint), several times a single insert, so a worker
keeps one connection while it is writing and lets go of the file as soon as it is quiet
(``linger_s`` after the last operation) and at least every ``max_hold_s`` under steady
load, then stays away ``yield_s`` so that another worker or the dashboard (polling every
``POLL_S`` in :func:`connect_when_free`) gets its turn. Every statement commits before
the call returns, so nothing written is ever only in memory. The table key is the primary
key; a row whose key is present is skipped (:func:`_insert_new`): a retried row is not
duplicated.
"""

from __future__ import annotations

import logging
import threading
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
POLL_S = 0.025  # how often a process waiting for the file tries again


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
            time.sleep(POLL_S)


def _duplicate_key(exc: duckdb.Error) -> bool:
    """True for DuckDB's primary-key violation (not for NOT NULL or other constraints)."""
    return isinstance(exc, duckdb.ConstraintException) and "Duplicate key" in str(exc)


def _insert_new(c: duckdb.DuckDBPyConnection, sql: str, values: list[list[Any]]) -> None:
    """Run the plain INSERT ``sql`` for each row; a row whose key is present is skipped.

    Idempotency by catching the key violation, not ``INSERT OR IGNORE``: in DuckDB 2.0
    the conflict-handling path costs ~4 ms a row more than a plain insert (6 vs 2 ms),
    and a retried row is rare. Each row commits on its own (autocommit), so after a
    violation in a batch the rows are tried again one by one.
    """
    try:
        if len(values) == 1:  # execute: half the cost of a one-row executemany
            c.execute(sql, values[0])
        else:
            c.executemany(sql, values)
        return
    except duckdb.ConstraintException as exc:
        if not _duplicate_key(exc):
            raise
        if len(values) == 1:
            return
    for row in values:
        try:
            c.execute(sql, row)
        except duckdb.ConstraintException as exc:
            if not _duplicate_key(exc):
                raise


class DuckDbWarehouse:
    """Tables in schema ``dataset`` of the DuckDB file ``path``."""

    def __init__(self, path: Path, dataset: str = "wheelwatch", lock_wait_s: float = 30.0,
                 linger_s: float = 0.5, max_hold_s: float = 2.0,
                 yield_s: float = 2 * POLL_S) -> None:
        self.path = Path(path)
        self.ds = dataset
        self._wait = lock_wait_s
        self._linger, self._max_hold, self._yield = linger_s, max_hold_s, yield_s
        self._tables = load_tables()
        self._mu = threading.Lock()  # one statement at a time on the shared connection
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._opened = self._used = self._away_until = 0.0
        self._closer_on = False  # the background closer runs while a connection is held

    @contextmanager
    def _connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._mu:
            conn = self._open()
            try:
                yield conn
            except duckdb.Error as exc:
                self._close()  # a fresh connection for the next call
                raise StoreError(f"warehouse {self.path}: {exc}") from exc
            finally:
                self._used = time.monotonic()
                if self._conn is not None and self._used - self._opened >= self._max_hold:
                    self._close()
                    self._away_until = self._used + self._yield

    def _open(self) -> duckdb.DuckDBPyConnection:
        """The held connection, opened (after our turn away from the file) if closed."""
        if self._conn is None:
            time.sleep(max(0.0, self._away_until - time.monotonic()))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = connect_when_free(self.path, self._wait)
            self._opened = time.monotonic()
            if not self._closer_on:
                self._closer_on = True
                threading.Thread(target=self._close_when_quiet, daemon=True,
                                 name=f"duckdb-linger-{self.path.name}").start()
        return self._conn

    def _close_when_quiet(self) -> None:
        """Background: close the file once no statement ran for ``linger_s``."""
        while True:
            with self._mu:
                quiet = time.monotonic() - self._used
                if self._conn is not None and quiet >= self._linger:
                    self._close()
                if self._conn is None:
                    self._closer_on = False
                    return
            time.sleep(self._linger - quiet)

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except duckdb.Error as exc:  # committed work is in the WAL; reopen recovers
                log.warning("closing warehouse %s: %s", self.path, exc)

    def close(self) -> None:
        """Let go of the database file now (it is reopened on the next call)."""
        with self._mu:
            self._close()

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
        """Insert rows, skipping those whose key is already present."""
        if not rows:
            return
        cols = self._tables[table].field_names
        sql = (f"INSERT INTO {self.ds}.{table} ({', '.join(cols)}) "
               f"VALUES ({', '.join('?' for _ in cols)})")
        values = [[r.get(k) for k in cols] for r in rows]
        for attempt in range(1, _CONFLICT_RETRIES + 1):
            try:
                with self._connect() as c:
                    _insert_new(c, sql, values)
                return
            except StoreError as exc:
                # Two transactions inserting the same key at once (another connection of
                # this process, e.g. a dashboard cursor): DuckDB's optimistic concurrency
                # fails one. Run it again: the row is then present and is skipped.
                conflict = isinstance(exc.__cause__, duckdb.TransactionException)
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
