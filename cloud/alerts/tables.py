"""ORM tables of alerting, registered on the cloud's declarative :class:`Base`.

- ``alerts``             one row per message sent to the crew (grouped pass alert, source or
                         pipeline alert, resolution, undeliverable report), with its texts,
                         escalation level and acknowledgement.
- ``alert_items``        the wheels / missing files of a pass, pending until the group is
                         flushed, then linked to their alert (or marked suppressed).
- ``alert_conditions``   one row per condition (bad wheel, missing file, silent source, pipeline
                         error): active or resolved, and when it was last sent (repeat interval).
- ``alert_deliveries``   every delivery attempt with its channel and provider response id.
- ``alert_events_seen``  digests of events already handled (idempotency, at-least-once input).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column

from cloud.sql.base import Base


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store as UTC; naive values are taken to be UTC already."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read back as an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class AlertRow(Base):
    """One message to the crew."""

    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # pass|source|pipeline|resolution|undeliverable
    run_id: Mapped[str | None] = mapped_column(String(128))
    train_id: Mapped[str | None] = mapped_column(String(64))
    severity: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    level: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|acked|resolved|info
    acked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    acked_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_escalation_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    dispatch: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|failed
    parent_id: Mapped[str | None] = mapped_column(String(16))
    sms_text: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")


class AlertItemRow(Base):
    """A bad wheel, a missing file or a wheel good again, within one pass group."""

    __tablename__ = "alert_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    group_key: Mapped[str] = mapped_column(String(300), index=True)
    run_id: Mapped[str] = mapped_column(String(128))
    train_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # wheel|missing|wheel_ok
    cond_key: Mapped[str] = mapped_column(String(300))
    camera: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8), default="")
    wheel_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)
    defect: Mapped[str] = mapped_column(String(32), default="")
    severity: Mapped[int] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    heatmap_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    heatmap_uri: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    alert_id: Mapped[str | None] = mapped_column(ForeignKey("alerts.id"))


class ConditionRow(Base):
    """A condition the crew was (or will be) told about."""

    __tablename__ = "alert_conditions"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # wheel|missing|source|pipeline
    summary: Mapped[str] = mapped_column(String(300), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    last_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_alert_id: Mapped[str | None] = mapped_column(String(16))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DeliveryRow(Base):
    """One delivery attempt of one alert to one recipient through one channel."""

    __tablename__ = "alert_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # alert|escalation|resolution|undeliverable
    level: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(200), default="")
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    ok: Mapped[bool] = mapped_column(Boolean)
    provider_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    retryable: Mapped[bool | None] = mapped_column(Boolean)


class SeenEventRow(Base):
    """An event already handled (its content digest)."""

    __tablename__ = "alert_events_seen"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
