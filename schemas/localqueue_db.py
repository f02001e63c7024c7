"""The SQLite file under :mod:`schemas.localqueue`: its tables, connection and transactions.

Every write runs in ``BEGIN IMMEDIATE`` (one writer at a time, WAL readers never blocked)
with ``synchronous=FULL``; SQLite errors become :class:`TransportError` (``retryable`` for
a locked/busy database).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from schemas.errors import TransportError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (
    name TEXT PRIMARY KEY,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS subscriptions (
    name TEXT PRIMARY KEY,
    topic TEXT NOT NULL REFERENCES topics(name),
    ack_deadline_s REAL NOT NULL,
    max_delivery_attempts INTEGER NOT NULL,
    dead_letter_topic TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    data BLOB NOT NULL,
    attributes TEXT NOT NULL,
    ordering_key TEXT,
    publish_time REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    subscription TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ordering_key TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    lease_until REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (subscription, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_ready ON deliveries (subscription, lease_until, seq);
CREATE INDEX IF NOT EXISTS deliveries_key ON deliveries (subscription, ordering_key, seq);
"""


def make_ack_id(seq: int, attempt: int) -> str:
    """The ack id of one delivery: message sequence number and delivery attempt."""
    return f"{seq}.{attempt}"


def parse_ack_id(ack_id: str) -> tuple[int, int]:
    """(seq, attempt) of an ack id; a non-retryable TransportError if it is malformed."""
    try:
        seq, attempt = ack_id.split(".")
        return int(seq), int(attempt)
    except ValueError as exc:
        raise TransportError(f"malformed ack id {ack_id!r}", retryable=False) from exc


class QueueFile:
    """The queue's SQLite connection: open (tables created), write transactions, reads."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(
                str(self.path), timeout=busy_timeout_s, isolation_level=None,
                check_same_thread=False,
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise TransportError(f"cannot open local queue {self.path}: {exc}") from exc

    # -- plumbing -------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT), errors translated."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise TransportError(f"local queue {self.path} busy: {exc}") from exc
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError):
                    raise TransportError(f"local queue {self.path}: {exc}") from exc
                if isinstance(exc, sqlite3.Error):
                    raise TransportError(
                        f"local queue {self.path}: {exc}", retryable=False
                    ) from exc
                raise

    def _read(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return list(self._db.execute(sql, args).fetchall())
            except sqlite3.Error as exc:
                raise TransportError(f"local queue {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close the connection (the file stays)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
