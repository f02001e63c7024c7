"""Engine factory and portable helpers (SQLite default, PostgreSQL in production).

SQLite: WAL journal, a busy timeout, and every transaction opened with
``BEGIN IMMEDIATE`` so that read-then-write sequences of concurrent workers serialise
(PostgreSQL gets the same effect from ``SELECT … FOR UPDATE``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def make_engine(url: str, base_dir: Path | None = None) -> Engine:
    """Create the engine for ``url`` (a relative SQLite path resolves against base_dir)."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and base_dir:
        rel = url.removeprefix("sqlite:///")
        if rel and rel != ":memory:":
            path = (base_dir / rel).resolve()
            path.parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{path}"
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    db_file = url.removeprefix("sqlite:///")
    if db_file and db_file != ":memory:" and url.startswith("sqlite:///"):
        Path(db_file).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def insert_ignore(session: Session, table: Table, values: dict[str, Any],
                  keys: list[str]) -> bool:
    """INSERT … ON CONFLICT (keys) DO NOTHING; True if a row was inserted."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table).values(**values).on_conflict_do_nothing(
            index_elements=keys)
    else:
        stmt = sqlite.insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
    result = session.execute(stmt.returning(table.c[keys[0]]))
    return result.first() is not None
