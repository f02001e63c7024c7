"""The pub tracker: a SQLite ledger of every scan file and every state it went through.

States: ``discovered`` → ``converted`` → ``published`` (some chunks have message ids)
→ ``confirmed`` (every chunk has one) → ``cleaned``; or ``quarantined`` with a reason.
Every transition is also appended to ``history`` with its time. The ledger is the
uploader's memory: after a crash or restart it resumes from it (WAL journal,
``synchronous=FULL``: a recorded state survives a power cut). A durable ``outbox``
holds events (run manifests, quarantine events) until the transport took them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.tracker_rows import SCHEMA, FileRow, Found, StateChange, file_row
from schemas.errors import StoreError

STATES = ("discovered", "converted", "published", "confirmed", "cleaned", "quarantined")
OPEN_STATES = ("discovered", "converted", "published")
__all__ = ["OPEN_STATES", "STATES", "FileRow", "Found", "StateChange", "Tracker",
           "empty_camera_status"]


class Tracker:
    """The pub tracker stored in the SQLite file ``path``."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            if readonly:
                uri = f"file:{self.path}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, isolation_level=None,
                                           check_same_thread=False)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None,
                                           check_same_thread=False)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.executescript(SCHEMA)
            self._db.row_factory = sqlite3.Row
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open pub tracker {self.path}: {exc}",
                             retryable=False) from exc

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise StoreError(f"pub tracker {self.path}: {exc}") from exc
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Read rows."""
        with self._lock:
            try:
                return list(self._db.execute(sql, args).fetchall())
            except sqlite3.Error as exc:
                raise StoreError(f"pub tracker {self.path}: {exc}") from exc

    @staticmethod
    def _history(db: sqlite3.Connection, key: str, state: str, detail: str | None = None
                 ) -> None:
        db.execute("INSERT INTO history (key, state, at, detail) VALUES (?, ?, ?, ?)",
                   (key, state, time.time(), detail))

    def set_state(self, key: str, state: str, detail: str | None = None, **fields: Any) -> None:
        """Move a file to ``state`` (recorded in history) and update columns."""
        self.set_states([StateChange(key, state, detail, fields)])

    def set_states(self, changes: Sequence[StateChange]) -> None:
        """Several :meth:`set_state` moves in one transaction (all or none), in order."""
        for change in changes:
            if change.state not in STATES:
                raise ValueError(f"unknown state {change.state!r}")
        if not changes:
            return
        with self.tx() as db:
            for key, state, detail, fields in changes:
                cols = {"state": state, "updated_at": time.time(), **fields}
                sets = ", ".join(f"{c} = ?" for c in cols)
                db.execute(f"UPDATE files SET {sets} WHERE key = ?", (*cols.values(), key))
                self._history(db, key, state, detail)

    def record(self, key: str, detail: str) -> str | None:
        """Append an action (``detail``) to a file's history under its current state,
        which stays as it is; returns that state (None: no such file)."""
        with self.tx() as db:
            found = db.execute("SELECT state FROM files WHERE key = ?", (key,)).fetchone()
            if found is None:
                return None
            self._history(db, key, found[0], detail)
            return str(found[0])

    # -- discovery ------------------------------------------------------------------
    def discover(self, camera: str, stem: str, dat: Path, xml: Path, size: int,
                 capture_time: datetime, source: str, appeared_at: float | None = None
                 ) -> bool:
        """Record a newly found scan pair; False if it is already known."""
        return bool(self.discover_many([
            Found(camera, stem, dat, xml, size, capture_time, source, appeared_at)]))

    def discover_many(self, found: Sequence[Found]) -> int:
        """Record newly found scan pairs in one transaction; how many were not known yet."""
        if not found:
            return 0
        now = time.time()
        new = 0
        with self.tx() as db:
            for f in found:
                key = f"{f.camera}/{f.stem}"
                cur = db.execute(
                    "INSERT OR IGNORE INTO files (key, camera, stem, dat_path, xml_path, size,"
                    " capture_time, time_source, state, discovered_at, updated_at, appeared_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'discovered', ?, ?, ?)",
                    (key, f.camera, f.stem, str(f.dat), str(f.xml), f.size,
                     f.capture_time.astimezone(UTC).isoformat(), f.source, now, now,
                     f.appeared_at if f.appeared_at is not None else now),
                )
                if cur.rowcount:
                    self._history(db, key, "discovered", f"capture time from {f.source}")
                    new += 1
        return new

    def files(self, where: str = "1", args: tuple[Any, ...] = ()) -> list[FileRow]:
        """Tracked files matching an SQL condition, by capture time."""
        rows = self.query(f"SELECT * FROM files WHERE {where} ORDER BY capture_time, key", args)
        return [file_row(r) for r in rows]

    def get(self, key: str) -> FileRow | None:
        """One file by key."""
        rows = self.files("key = ?", (key,))
        return rows[0] if rows else None

    def history(self, key: str) -> list[tuple[str, float, str | None]]:
        """(state, time, detail) of a file, oldest first."""
        return [(r["state"], r["at"], r["detail"]) for r in self.query(
            "SELECT state, at, detail FROM history WHERE key = ? ORDER BY id", (key,))]

    # -- runs -----------------------------------------------------------------------
    def record_run(
        self, run_id: str, train_id: str | None, tag: str | None, pass_start: datetime,
        pass_end: datetime, wheel_of: dict[str, str | None], mapping: dict[str, Any],
        problems: list[str],
    ) -> int | None:
        """Atomically store a closed pass, bump the train's run count, map its files."""
        with self.tx() as db:
            count: int | None = None
            if train_id is not None:
                db.execute("INSERT INTO run_counts VALUES (?, 1) ON CONFLICT(train_id)"
                           " DO UPDATE SET count = count + 1", (train_id,))
                count = int(db.execute("SELECT count FROM run_counts WHERE train_id = ?",
                                       (train_id,)).fetchone()[0])
            db.execute(
                "INSERT INTO runs (run_id, train_id, tag, run_count, pass_start, pass_end,"
                " mapping, problems, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, train_id, tag, count, pass_start.isoformat(), pass_end.isoformat(),
                 json.dumps(mapping), json.dumps(problems), time.time()),
            )
            for key, wheel in wheel_of.items():
                db.execute("UPDATE files SET run_id = ?, wheel_id = ?, train_id = ?,"
                           " run_count = ? WHERE key = ?", (run_id, wheel, train_id, count, key))
                self._history(db, key, "discovered", f"mapped to run {run_id} wheel {wheel}")
            return count

    def last_pass_end(self) -> datetime | None:
        """End of the newest recorded pass."""
        rows = self.query("SELECT MAX(pass_end) FROM runs")
        return datetime.fromisoformat(rows[0][0]) if rows and rows[0][0] else None

    def unreported_runs(self) -> list[sqlite3.Row]:
        """Runs whose manifest has not been queued yet."""
        return self.query("SELECT * FROM runs WHERE reported = 0 ORDER BY pass_start")

    # -- outbox ---------------------------------------------------------------------
    def enqueue(self, topic: str, data: bytes, attributes: dict[str, str],
                run_id: str | None = None) -> None:
        """Queue an event durably (optionally marking a run as reported)."""
        with self.tx() as db:
            db.execute("INSERT INTO outbox (topic, data, attributes, created_at)"
                       " VALUES (?, ?, ?, ?)", (topic, data, json.dumps(attributes), time.time()))
            if run_id is not None:
                db.execute("UPDATE runs SET reported = 1 WHERE run_id = ?", (run_id,))

    def outbox_pending(self, limit: int = 50) -> list[sqlite3.Row]:
        """Events not yet taken by the transport, oldest first."""
        return self.query("SELECT * FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?",
                          (limit,))

    def outbox_sent(self, event_id: int, message_id: str) -> None:
        """Mark an event as taken by the transport."""
        with self.tx() as db:
            db.execute("UPDATE outbox SET sent_at = ?, message_id = ? WHERE id = ?",
                       (time.time(), message_id, event_id))

    def prune(self, older_than: float) -> int:
        """Forget cleaned files (and their history) and sent events older than a time.

        Quarantined and unfinished files are kept whatever their age. Returns the number
        of file rows removed.
        """
        with self.tx() as db:
            keys = [r[0] for r in db.execute(
                "SELECT key FROM files WHERE state = 'cleaned' AND updated_at < ?",
                (older_than,))]
            db.executemany("DELETE FROM history WHERE key = ?", [(k,) for k in keys])
            db.executemany("DELETE FROM files WHERE key = ?", [(k,) for k in keys])
            db.execute("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?",
                       (older_than,))
            db.execute("DELETE FROM runs WHERE reported = 1 AND created_at < ?", (older_than,))
        return len(keys)

    # -- errors and status ----------------------------------------------------------
    def note_error(self, camera: str, message: str, key: str | None = None,
                   next_attempt: float | None = None) -> None:
        """Remember the last error of a camera (and of a file, with its retry time)."""
        with self.tx() as db:
            db.execute("INSERT INTO errors VALUES (?, ?, ?) ON CONFLICT(camera) DO UPDATE"
                       " SET at = excluded.at, message = excluded.message",
                       (camera, time.time(), message))
            if key is not None:
                db.execute("UPDATE files SET attempts = attempts + 1, last_error = ?,"
                           " next_attempt = ? WHERE key = ?", (message, next_attempt or 0, key))

    def status(self) -> dict[str, dict[str, Any]]:
        """Per camera: counts per state, backlog, oldest unpublished, last error."""
        out: dict[str, dict[str, Any]] = {}
        for r in self.query("SELECT camera, state, COUNT(*) n FROM files GROUP BY camera, state"):
            out.setdefault(r["camera"], empty_camera_status())["states"][r["state"]] = r["n"]
        for cam, info in out.items():
            info["backlog"] = sum(info["states"][s] for s in OPEN_STATES)
            rows = self.query(
                "SELECT stem, capture_time, discovered_at FROM files WHERE camera = ? AND state"
                " IN ('discovered','converted','published') ORDER BY capture_time LIMIT 1",
                (cam,))
            info["oldest_unpublished"] = (
                {"stem": rows[0]["stem"], "capture_time": rows[0]["capture_time"],
                 "waiting_s": round(time.time() - rows[0]["discovered_at"], 1)}
                if rows else None)
        for r in self.query("SELECT camera, at, message FROM errors"):
            out.setdefault(r["camera"], empty_camera_status())["last_error"] = {
                "at": datetime.fromtimestamp(r["at"], UTC).isoformat(), "message": r["message"]}
        return out


def empty_camera_status() -> dict[str, Any]:
    """The :meth:`Tracker.status` entry of a camera without files or errors."""
    return {"states": dict.fromkeys(STATES, 0), "backlog": 0, "oldest_unpublished": None,
            "last_error": None}
