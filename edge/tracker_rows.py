"""The pub tracker's SQLite tables and its file rows (see :mod:`edge.tracker`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    key TEXT PRIMARY KEY, camera TEXT NOT NULL, stem TEXT NOT NULL,
    dat_path TEXT NOT NULL, xml_path TEXT NOT NULL, size INTEGER NOT NULL,
    capture_time TEXT NOT NULL, time_source TEXT NOT NULL,
    state TEXT NOT NULL, discovered_at REAL NOT NULL, updated_at REAL NOT NULL,
    run_id TEXT, wheel_id TEXT, train_id TEXT, run_count INTEGER,
    file_id TEXT, csv_path TEXT, meta_path TEXT, bundle_path TEXT,
    chunk_count INTEGER, payload_bytes INTEGER, sha256 TEXT, raw_bytes INTEGER,
    appeared_at REAL, message_ids TEXT NOT NULL DEFAULT '[]',
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL DEFAULT 0,
    last_error TEXT, reason TEXT, published_at REAL, confirmed_at REAL
);
CREATE INDEX IF NOT EXISTS files_cam ON files (camera, state, capture_time);
CREATE INDEX IF NOT EXISTS files_state ON files (state, capture_time);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, state TEXT NOT NULL,
    at REAL NOT NULL, detail TEXT
);
CREATE INDEX IF NOT EXISTS history_key ON history (key);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, train_id TEXT, tag TEXT, run_count INTEGER,
    pass_start TEXT NOT NULL, pass_end TEXT NOT NULL, mapping TEXT NOT NULL,
    problems TEXT NOT NULL, reported INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS run_counts (train_id TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, data BLOB NOT NULL,
    attributes TEXT NOT NULL, created_at REAL NOT NULL, sent_at REAL, message_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT
);
CREATE TABLE IF NOT EXISTS errors (
    camera TEXT PRIMARY KEY, at REAL NOT NULL, message TEXT NOT NULL
);
"""


class StateChange(NamedTuple):
    """One move of :meth:`edge.tracker.Tracker.set_states`: file, new state, history
    detail, and the columns to update with it."""

    key: str
    state: str
    detail: str | None = None
    fields: Mapping[str, Any] = MappingProxyType({})


class Found(NamedTuple):
    """A scan pair for :meth:`edge.tracker.Tracker.discover_many`."""

    camera: str
    stem: str
    dat: Path
    xml: Path
    size: int
    capture_time: datetime
    source: str
    appeared_at: float | None = None


@dataclass(frozen=True)
class FileRow:
    """One tracked scan file (a row of ``files``)."""

    key: str
    camera: str
    stem: str
    dat_path: Path
    xml_path: Path
    capture_time: datetime
    state: str
    discovered_at: float
    run_id: str | None
    wheel_id: str | None
    train_id: str | None
    run_count: int | None
    file_id: str | None
    csv_path: Path | None
    meta_path: Path | None
    bundle_path: Path | None
    chunk_count: int | None
    payload_bytes: int | None
    sha256: str | None
    raw_bytes: int | None
    message_ids: list[str]
    attempts: int
    next_attempt: float


def file_row(r: sqlite3.Row) -> FileRow:
    """A ``files`` row as a :class:`FileRow`."""
    def p(v: Any) -> Path | None:
        return None if v is None else Path(v)

    return FileRow(
        key=r["key"], camera=r["camera"], stem=r["stem"], dat_path=Path(r["dat_path"]),
        xml_path=Path(r["xml_path"]), capture_time=datetime.fromisoformat(r["capture_time"]),
        state=r["state"], discovered_at=r["discovered_at"], run_id=r["run_id"],
        wheel_id=r["wheel_id"], train_id=r["train_id"], run_count=r["run_count"],
        file_id=r["file_id"], csv_path=p(r["csv_path"]), meta_path=p(r["meta_path"]),
        bundle_path=p(r["bundle_path"]), chunk_count=r["chunk_count"],
        payload_bytes=r["payload_bytes"], sha256=r["sha256"], raw_bytes=r["raw_bytes"],
        message_ids=json.loads(r["message_ids"]), attempts=r["attempts"],
        next_attempt=r["next_attempt"],
    )
