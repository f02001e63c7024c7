"""DuckDB warehouse (embedded default).

DuckDB lets one process open a database file at a time. Opening and closing the file
costs ~20 ms each (catalog load, checkpoint), several times a single insert, so a worker
keeps one connection while it is writing and lets go of the file as soon as it is quiet
(``linger_s`` after the last operation) and at least every ``max_hold_s`` under steady
load, then stays away ``yield_s`` so that another worker or the dashboard (polling every
``POLL_S`` in :func:`connect_when_free`) gets its turn. Every statement commits before
the call returns, so nothing written is ever only in memory. The table key is the primary
key; a row whose key is present is skipped (:func:`_insert_new`): a retried row is not
duplicated. Callers waiting for the connection at the same time are written together,
one statement per table (a DuckDB statement costs ~2 ms whatever its size).

At interpreter exit every warehouse still holding its file closes it (``atexit``), under
its lock: the background closer is a daemon thread, and a daemon thread still inside
DuckDB's C++ close when Python finalizes aborts the whole process (rc 134, "FATAL:
exception not rethrown").
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from schemas.errors import StoreError
from schemas.warehouse import VIEW_ORDER, duckdb_ddl, load_tables, view_sql

log = logging.getLogger(__name__)
_CONFLICT_RETRIES = 5
POLL_S = 0.025  # how often a process waiting for the file tries again
MAX_ROWS_PER_STATEMENT = 200
_LIVE: weakref.WeakSet[DuckDbWarehouse] = weakref.WeakSet()  # closed at exit (module doc)


@atexit.register
def close_all_at_exit(wait_s: float = 5.0) -> None:
    """Close every live warehouse's file, waiting up to ``wait_s`` each for a statement or
    close already under way (a thread stuck holding the connection must not hang exit)."""
    for warehouse in list(_LIVE):
        if not warehouse.close_within(wait_s):
            log.warning("exit: warehouse %s still busy after %.0f s; not closed",
                        warehouse.path, wait_s)


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


def _insert_sql(qualified: str, cols: Sequence[str], n_rows: int) -> str:
    row = f"({', '.join('?' for _ in cols)})"
    return f"INSERT INTO {qualified} ({', '.join(cols)}) VALUES {', '.join([row] * n_rows)}"


def _insert_new(c: duckdb.DuckDBPyConnection, qualified: str, cols: Sequence[str],
                values: list[list[Any]]) -> None:
    """Insert ``values`` into ``qualified`` with one multi-row INSERT; a row whose key is
    present is skipped.

    One statement for the whole batch: a DuckDB statement costs ~2 ms whatever its size
    (8 rows: one statement 5 ms, eight 25 ms). Idempotency by catching the key violation,
    not ``INSERT OR IGNORE`` (its conflict path costs ~4 ms a row more in DuckDB 2.0; a
    retried row is rare): the statement commits all or nothing (autocommit), so after a
    violation the rows are tried again one by one and only the present ones skipped.
    """
    for i in range(0, len(values), MAX_ROWS_PER_STATEMENT):
        part = values[i:i + MAX_ROWS_PER_STATEMENT]
        try:
            c.execute(_insert_sql(qualified, cols, len(part)),
                      [v for row in part for v in row])
            continue
        except duckdb.ConstraintException as exc:
            if not _duplicate_key(exc):
                raise
        one = _insert_sql(qualified, cols, 1)
        for row in part:
            try:
                c.execute(one, row)
            except duckdb.ConstraintException as exc:
                if not _duplicate_key(exc):
                    raise


@dataclass(eq=False)
class _Pending:
    """Rows a caller waits to see committed (written by whichever caller runs first)."""

    table: str
    values: list[list[Any]]
    done: bool = False
    error: StoreError | None = None


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
        self._queue_mu = threading.Lock()
        self._queue: list[_Pending] = []  # rows waiting for the connection (group insert)
        _LIVE.add(self)

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
        self.close_within(-1)

    def close_within(self, wait_s: float) -> bool:
        """:meth:`close`, waiting at most ``wait_s`` (< 0: as long as it takes) for a
        statement under way; False if it was still running and the file stays open."""
        if not self._mu.acquire(timeout=wait_s):
            return False
        try:
            self._close()
        finally:
            self._mu.release()
        return True

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
        """Insert rows, skipping those whose key is already present.

        Group insert: the rows of callers waiting for the connection at the same time
        are written by the first of them, one statement per table (:func:`_insert_new`);
        each caller returns once its own rows are committed, or raises the StoreError of
        the statement that held them.
        """
        if not rows:
            return
        cols = self._tables[table].field_names
        for attempt in range(1, _CONFLICT_RETRIES + 1):
            mine = _Pending(table, [[r.get(k) for k in cols] for r in rows])
            with self._queue_mu:
                self._queue.append(mine)
            self._write_queued(mine)
            if mine.error is None:
                return
            # Two transactions inserting the same key at once (another connection of this
            # process, e.g. a dashboard cursor): DuckDB's optimistic concurrency fails
            # one. Run it again: the row is then present and is skipped.
            if (not isinstance(mine.error.__cause__, duckdb.TransactionException)
                    or attempt == _CONFLICT_RETRIES):
                raise mine.error
            log.info("warehouse insert into %s conflicted (attempt %d), retrying",
                     table, attempt)
            time.sleep(0.01 * attempt)

    def _write_queued(self, mine: _Pending) -> None:
        """Write every queued batch, ``mine`` among them, unless a caller before us did."""
        try:
            with self._connect() as c:
                if not mine.done:
                    with self._queue_mu:
                        batch, self._queue = self._queue, []
                    self._write_batch(c, batch)
        except StoreError as exc:  # the file could not be opened: nothing was taken
            with self._queue_mu:
                if mine in self._queue:
                    self._queue.remove(mine)
            if not mine.done:
                mine.error, mine.done = exc, True

    def _write_batch(self, c: duckdb.DuckDBPyConnection, batch: list[_Pending]) -> None:
        """One statement per table for ``batch``; every request ends done (or failed)."""
        by_table: dict[str, list[_Pending]] = {}
        for p in batch:
            by_table.setdefault(p.table, []).append(p)
        try:
            for table, group in by_table.items():
                c = self._insert_group(c, table, group)
                for p in group:
                    p.done = True
        finally:  # an error escaping (say, the file cannot be reopened) fails the rest
            for p in batch:
                if not p.done:
                    p.error = p.error or StoreError(f"warehouse {self.path}: insert "
                                                    "interrupted before these rows")
                    p.done = True

    def _insert_group(self, c: duckdb.DuckDBPyConnection, table: str,
                      group: list[_Pending]) -> duckdb.DuckDBPyConnection:
        """Insert the rows of ``group``; if the statement fails, each request alone, so
        that one bad row fails only its own caller. Returns the connection to go on with."""
        try:
            _insert_new(c, f"{self.ds}.{table}", self._tables[table].field_names,
                        [row for p in group for row in p.values])
            return c
        except duckdb.Error as exc:
            self._close()  # a fresh connection for the next statement
            c = self._open()
            if len(group) == 1:
                group[0].error = StoreError(f"warehouse {self.path}: {exc}")
                group[0].error.__cause__ = exc
                return c
        for p in group:
            c = self._insert_group(c, table, [p])
        return c

    def query(self, sql: str) -> list[dict[str, Any]]:
        """Run a query (``{ds}`` = the schema name) and return dict rows."""
        with self._connect() as c:
            cur = c.execute(sql.replace("{ds}", self.ds))
            names = [d[0] for d in cur.description or []]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
