"""Repository over the alerts tables (SQLite embedded default, PostgreSQL in production)."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from cloud.alerts.delivery import Attempt
from cloud.alerts.tables import (
    AlertItemRow,
    AlertRow,
    ConditionRow,
    DeliveryRow,
)
from schemas.errors import StoreError

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the floor


class AlertStore:
    """Transactions and queries on the alerts tables; records delivery attempts."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str, base_dir: Path | None = None) -> AlertStore:
        """Open ``url`` (a relative SQLite path resolves against ``base_dir``)."""
        from cloud.sql.engine import make_engine

        try:
            return cls(make_engine(url, base_dir))
        except (SQLAlchemyError, ValueError) as exc:
            raise StoreError(f"alerts store {url!r}: {exc}", retryable=False) from exc

    def create_schema(self) -> None:
        """Migrate the database to head (core revision 0001 + alerts revision 0002)."""
        from cloud.sql.migrate import upgrade

        try:
            upgrade(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate the alerts tables: {exc}") from exc

    @contextmanager
    def tx(self) -> Iterator[Session]:
        """A session committed on success, rolled back on error (errors -> StoreError)."""
        try:
            with self._sessions.begin() as session:
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"alerts store: {exc}") from exc

    def new_alert_id(self, session: Session) -> str:
        """A fresh 6-character code (easy to type in ``wheel-cloud ack``)."""
        while True:
            code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(6))
            if session.get(AlertRow, code) is None:
                return code

    def record_attempt(self, attempt: Attempt) -> None:
        """Persist one delivery attempt."""
        with self.tx() as s:
            s.add(DeliveryRow(**dataclasses.asdict(attempt)))

    def alert(self, alert_id: str) -> AlertRow | None:
        """One alert by id (case-insensitive), or None."""
        with self.tx() as s:
            return s.get(AlertRow, alert_id.strip().upper())

    def alerts(self, kind: str | None = None) -> list[AlertRow]:
        """All alerts, oldest first (optionally of one kind)."""
        q = select(AlertRow).order_by(AlertRow.created_at, AlertRow.id)
        if kind:
            q = q.where(AlertRow.kind == kind)
        with self.tx() as s:
            return list(s.scalars(q))

    def deliveries(self, alert_id: str | None = None) -> list[DeliveryRow]:
        """Delivery attempts, in order (optionally of one alert)."""
        q = select(DeliveryRow).order_by(DeliveryRow.id)
        if alert_id:
            q = q.where(DeliveryRow.alert_id == alert_id)
        with self.tx() as s:
            return list(s.scalars(q))

    def items(self, alert_id: str) -> list[AlertItemRow]:
        """The wheels / missing files of one alert."""
        q = select(AlertItemRow).where(AlertItemRow.alert_id == alert_id)
        with self.tx() as s:
            return list(s.scalars(q.order_by(AlertItemRow.id)))

    def condition(self, key: str) -> ConditionRow | None:
        """One condition by key."""
        with self.tx() as s:
            return s.get(ConditionRow, key)
