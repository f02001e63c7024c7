"""ORM tables of the cloud subscriber (revision 0001 of ``cloud/sql/migrations``).

Domain: sites, cameras, trains, wheels (with replacement history), runs (one per pass,
from the edge's run manifest), expected wheels per run, scans (one stored file), scores
(one per scan and model version), labels (for retraining). Pipeline: tracked files and
their persisted chunks (the sub tracker), dead letters, heard sources (heartbeats and
cameras) and the event outbox (every domain event created exactly once).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cloud.sql.base import Base

TS = DateTime(timezone=True)


class Site(Base):
    """A ride with its edge PC."""

    __tablename__ = "sites"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(TS)


class Camera(Base):
    """A camera of a site."""

    __tablename__ = "cameras"
    __table_args__ = (UniqueConstraint("site_id", "camera_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    camera_id: Mapped[str] = mapped_column(String(64))
    last_file_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class Train(Base):
    """A train of a site with its RFID tag."""

    __tablename__ = "trains"
    __table_args__ = (UniqueConstraint("site_id", "train_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    train_id: Mapped[str] = mapped_column(String(128))
    tag: Mapped[str | None] = mapped_column(String(128), nullable=True)


class Wheel(Base):
    """A physical wheel at a position; a different wheel id on that position replaces it."""

    __tablename__ = "wheels"
    __table_args__ = (UniqueConstraint("site_id", "train_id", "camera", "position", "wheel_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    train_id: Mapped[str] = mapped_column(String(128))
    camera: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    wheel_id: Mapped[str] = mapped_column(String(128), index=True)
    installed_at: Mapped[datetime] = mapped_column(TS)
    replaced_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class Run(Base):
    """One pass of a train (from the run manifest)."""

    __tablename__ = "runs"
    __table_args__ = (UniqueConstraint("site_id", "run_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    run_id: Mapped[str] = mapped_column(String(128))
    train_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    tag: Mapped[str | None] = mapped_column(String(128), nullable=True)
    run_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pass_start: Mapped[datetime] = mapped_column(TS)
    pass_end: Mapped[datetime] = mapped_column(TS)
    received_at: Mapped[datetime] = mapped_column(TS)
    problems: Mapped[str] = mapped_column(Text, default="[]")
    completed_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class ExpectedWheel(Base):
    """A wheel a run manifest expected from one camera, and what became of it."""

    __tablename__ = "expected_wheels"
    __table_args__ = (UniqueConstraint("site_id", "run_id", "camera", "wheel_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(String(128), index=True)
    camera: Mapped[str] = mapped_column(String(64))
    wheel_id: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer)
    file_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    state: Mapped[str] = mapped_column(String(16), default="expected")  # expected|missing
    deadline: Mapped[datetime] = mapped_column(TS)
    missing_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class Scan(Base):
    """One stored per-wheel file."""

    __tablename__ = "scans"
    file_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64))
    camera: Mapped[str] = mapped_column(String(64))
    wheel_pk: Mapped[int | None] = mapped_column(ForeignKey("wheels.id"), nullable=True)
    wheel_id: Mapped[str] = mapped_column(String(128), index=True)
    train_id: Mapped[str] = mapped_column(String(128))
    run_id: Mapped[str] = mapped_column(String(128), index=True)
    capture_time: Mapped[datetime] = mapped_column(TS)
    csv_uri: Mapped[str] = mapped_column(Text)
    meta_uri: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    payload_bytes: Mapped[int] = mapped_column(Integer)
    raw_bytes: Mapped[int] = mapped_column(Integer)
    sources: Mapped[str] = mapped_column(Text, default="[]")
    stored_at: Mapped[datetime] = mapped_column(TS)


class Score(Base):
    """The model's verdict on one scan (one row per scan and model version)."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("file_id", "model_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("scans.file_id"))
    model_version: Mapped[str] = mapped_column(String(128))
    score: Mapped[float] = mapped_column(Float)
    defect: Mapped[str] = mapped_column(String(32))
    location: Mapped[str] = mapped_column(Text, default="{}")
    stats: Mapped[str] = mapped_column(Text, default="{}")
    scored_at: Mapped[datetime] = mapped_column(TS)


class Label(Base):
    """An inspection verdict by a person (ground truth for retraining)."""

    __tablename__ = "labels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    wheel_id: Mapped[str] = mapped_column(String(128), index=True)
    file_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    label: Mapped[str] = mapped_column(String(8))  # good | bad
    who: Mapped[str] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")
    labelled_at: Mapped[datetime] = mapped_column(TS)


class TrackedFile(Base):
    """Sub tracker: one file and its state (receiving → assembled → stored → scored → written)."""

    __tablename__ = "tracked_files"
    file_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64))
    camera: Mapped[str] = mapped_column(String(64), index=True)
    wheel_id: Mapped[str] = mapped_column(String(128))
    train_id: Mapped[str] = mapped_column(String(128))
    run_id: Mapped[str] = mapped_column(String(128), index=True)
    capture_time: Mapped[datetime] = mapped_column(TS)
    chunk_count: Mapped[int] = mapped_column(Integer)
    payload_bytes: Mapped[int] = mapped_column(Integer)
    raw_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)
    first_chunk_at: Mapped[datetime] = mapped_column(TS)
    last_chunk_at: Mapped[datetime] = mapped_column(TS)
    assembled_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    stored_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    scored_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    written_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class FileChunk(Base):
    """A received chunk, persisted so a partial file survives a restart of any worker."""

    __tablename__ = "file_chunks"
    file_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    chunk_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(TS)


class DeadLetter(Base):
    """A message rejected with its reason (also republished to the dead-letter topic)."""

    __tablename__ = "dead_letters"
    __table_args__ = (UniqueConstraint("subscription", "message_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[str] = mapped_column(String(128))
    file_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    reason: Mapped[str] = mapped_column(Text)
    attributes: Mapped[str] = mapped_column(Text, default="{}")
    received_at: Mapped[datetime] = mapped_column(TS)


class Source(Base):
    """An edge (heartbeats) or camera (files) and when it was last heard."""

    __tablename__ = "sources"
    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # edge | camera
    source: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_seen: Mapped[datetime] = mapped_column(TS)
    silent_since: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class OutboxEvent(Base):
    """A domain event, created once (unique key) and delivered at least once to the sink."""

    __tablename__ = "event_outbox"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS)
    delivered_at: Mapped[datetime | None] = mapped_column(TS, nullable=True, index=True)
    #: a dispatcher's claim; an undelivered event whose claim expired is retried
    claimed_until: Mapped[datetime | None] = mapped_column(TS, nullable=True)
