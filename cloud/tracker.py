"""Sub tracker: every file, its persisted chunks and its state, in the relational store.

States: ``receiving`` (chunks received) → ``assembled`` → ``stored`` → ``scored`` →
``written``; or ``rejected`` (bad bundle, with the reason). Chunks are rows, so a partial
file survives the restart of any worker and any worker can finish it. A worker processes
a complete file only while it holds the file's lease (:meth:`Tracker.claim`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from cloud.outbox import heard, utc
from cloud.sql.engine import insert_ignore
from cloud.sql.models import DeadLetter, FileChunk, TrackedFile
from schemas.errors import ContractError, StoreError
from schemas.messages import ChunkAttributes

STATES = ("receiving", "assembled", "stored", "scored", "written", "rejected")
FINAL = ("written", "rejected")


class LeaseLost(StoreError):
    """Another worker took over a file whose lease expired; stop working on it."""


@dataclass(frozen=True)
class ChunkReceipt:
    """What recording one chunk found (``claimed``: the file, leased to the caller)."""

    state: str
    new_chunk: bool
    complete: bool
    claimed: TrackedFile | None = None


class Tracker:
    """Tracker operations; every method is one short transaction."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]):
        self._sessions = sessions
        self._clock = clock

    def record_chunk(self, a: ChunkAttributes, data: bytes,
                     claim_as: tuple[str, float] | None = None) -> ChunkReceipt:
        """Persist one chunk (duplicates ignored); ContractError if it contradicts the file.

        ``claim_as`` (owner, lease seconds): if this chunk completes the file, lease it to
        ``owner`` in the same transaction (as :meth:`claim`), when its lease is free.
        """
        now = self._clock()
        with self._sessions.begin() as s:
            insert_ignore(s, TrackedFile.__table__, {  # type: ignore[arg-type]
                "file_id": a.file_id, "site_id": a.site, "camera": a.camera,
                "wheel_id": a.wheel_id, "train_id": a.train_id, "run_id": a.run_id,
                "capture_time": a.capture_time, "chunk_count": a.chunk_count,
                "payload_bytes": a.payload_bytes, "raw_bytes": a.raw_bytes,
                "sha256": a.sha256, "state": "receiving", "first_chunk_at": now,
                "last_chunk_at": now, "attempts": 0,
            }, ["file_id"])
            f = s.get(TrackedFile, a.file_id, with_for_update=True)
            assert f is not None
            if (f.sha256, f.chunk_count, f.payload_bytes) != (
                    a.sha256, a.chunk_count, a.payload_bytes):
                raise ContractError(
                    f"file {a.file_id}: chunk {a.chunk_index} contradicts earlier chunks "
                    "(sha256/chunk_count/payload_bytes differ)")
            if f.state != "receiving":
                return ChunkReceipt(f.state, False, True)
            new = insert_ignore(s, FileChunk.__table__, {  # type: ignore[arg-type]
                "file_id": a.file_id, "chunk_index": a.chunk_index, "size": len(data),
                "data": data, "received_at": now}, ["file_id", "chunk_index"])
            if new and utc(f.last_chunk_at) < now:
                f.last_chunk_at = now
            have = s.scalar(select(func.count()).select_from(FileChunk)
                            .where(FileChunk.file_id == a.file_id)) or 0
            heard(s, a.site, "camera", a.camera, now)
            complete = have >= f.chunk_count
            claimed = _lease(s, f, claim_as, now) if complete and claim_as else None
            return ChunkReceipt(f.state, new, complete, claimed)

    def claim(self, file_id: str, owner: str, lease_s: float) -> TrackedFile | None:
        """Take the file's lease if it is free/expired/ours and the file is unfinished."""
        now = self._clock()
        with self._sessions.begin() as s:
            res = s.execute(
                update(TrackedFile)
                .where(TrackedFile.file_id == file_id, TrackedFile.state.notin_(FINAL),
                       or_(TrackedFile.lease_until.is_(None), TrackedFile.lease_until < now,
                           TrackedFile.lease_owner == owner))
                .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_s),
                        attempts=TrackedFile.attempts + 1)
            )
            if not getattr(res, "rowcount", 0):
                return None
            f = s.get(TrackedFile, file_id)
            assert f is not None
            s.expunge(f)
            return f

    def payload(self, file_id: str) -> bytes:
        """The persisted chunks of a file, concatenated in index order."""
        with self._sessions() as s:
            parts = s.scalars(select(FileChunk.data).where(FileChunk.file_id == file_id)
                              .order_by(FileChunk.chunk_index)).all()
        return b"".join(parts)

    def advance(self, file_id: str, owner: str, state: str, lease_s: float) -> datetime:
        """Move a leased file to ``state``, stamp ``<state>_at`` and renew the lease.

        LeaseLost if another worker took the file over meanwhile (our lease expired).
        """
        now = self._clock()
        with self._sessions.begin() as s:
            res = s.execute(update(TrackedFile).where(TrackedFile.file_id == file_id,
                                                      TrackedFile.lease_owner == owner)
                            .values(state=state, error=None,
                                    lease_until=now + timedelta(seconds=lease_s),
                                    **{f"{state}_at": now}))
            if not getattr(res, "rowcount", 0):
                raise LeaseLost(f"file {file_id}: lease lost to another worker")
        return now

    def renew(self, file_id: str, owner: str, lease_s: float) -> bool:
        """Extend ``owner``'s lease on an unfinished file; False if it holds it no more."""
        now = self._clock()
        with self._sessions.begin() as s:
            res = s.execute(update(TrackedFile).where(TrackedFile.file_id == file_id,
                                                      TrackedFile.lease_owner == owner,
                                                      TrackedFile.state.notin_(FINAL))
                            .values(lease_until=now + timedelta(seconds=lease_s)))
            return bool(getattr(res, "rowcount", 0))

    def release(self, file_id: str, owner: str, error: str | None) -> None:
        """Give the lease back (with the error that stopped the work, if any)."""
        with self._sessions.begin() as s:
            s.execute(update(TrackedFile).where(TrackedFile.file_id == file_id,
                                                TrackedFile.lease_owner == owner)
                      .values(lease_owner=None, lease_until=None, error=error))

    def reject(self, file_id: str, reason: str) -> bool:
        """Mark an unfinished file rejected (its chunks are kept as evidence)."""
        with self._sessions.begin() as s:
            res = s.execute(update(TrackedFile).where(TrackedFile.file_id == file_id,
                                                      TrackedFile.state.notin_(FINAL))
                            .values(state="rejected", error=reason, lease_owner=None,
                                    lease_until=None))
            return bool(getattr(res, "rowcount", 0))

    def purge_chunks(self, file_id: str) -> None:
        """Drop the chunks of a written file (the stored object is the durable copy)."""
        with self._sessions.begin() as s:
            s.execute(delete(FileChunk).where(FileChunk.file_id == file_id))

    def dead_letter(self, subscription: str, message_id: str, file_id: str | None,
                    reason: str, attributes: dict[str, str]) -> bool:
        """Record a rejected message once; True if this call recorded it."""
        with self._sessions.begin() as s:
            return insert_ignore(s, DeadLetter.__table__, {  # type: ignore[arg-type]
                "subscription": subscription, "message_id": message_id, "file_id": file_id,
                "reason": reason, "attributes": json.dumps(attributes, sort_keys=True),
                "received_at": self._clock()}, ["subscription", "message_id"])

    def get(self, file_id: str) -> TrackedFile | None:
        """A detached snapshot of one tracked file."""
        with self._sessions() as s:
            f = s.get(TrackedFile, file_id)
            if f is not None:
                s.expunge(f)
            return f

    def counts(self) -> dict[str, int]:
        """Number of files per state."""
        with self._sessions() as s:
            rows = s.execute(select(TrackedFile.state, func.count())
                             .group_by(TrackedFile.state)).all()
        return {str(k): int(v) for k, v in rows}

    def stuck(self, limit: int = 50, max_attempts: int = 10, grace_s: float = 30.0
              ) -> list[str]:
        """Complete, unfinished files whose lease is free or expired (to be resumed).

        A file whose last chunk came less than ``grace_s`` ago is left to the worker that
        received it (it processes the file right after recording the chunk).
        """
        now = self._clock()
        quiet = now - timedelta(seconds=grace_s)
        have = (select(func.count()).select_from(FileChunk)
                .where(FileChunk.file_id == TrackedFile.file_id).scalar_subquery())
        with self._sessions() as s:
            return list(s.scalars(
                select(TrackedFile.file_id).where(
                    TrackedFile.state.notin_(FINAL), TrackedFile.attempts < max_attempts,
                    or_(TrackedFile.lease_until.is_(None), TrackedFile.lease_until < now),
                    TrackedFile.last_chunk_at < quiet,
                    or_(TrackedFile.state != "receiving",
                        and_(TrackedFile.state == "receiving",
                             have >= TrackedFile.chunk_count)),
                ).limit(limit)).all())


def _lease(s: Session, f: TrackedFile, claim_as: tuple[str, float], now: datetime
           ) -> TrackedFile | None:
    """Lease the row-locked file ``f`` to ``claim_as[0]`` if its lease is free, expired or
    already that owner's (the rule of :meth:`Tracker.claim`); the detached snapshot."""
    owner, lease_s = claim_as
    if not (f.lease_until is None or utc(f.lease_until) < now or f.lease_owner == owner):
        return None
    f.lease_owner = owner
    f.lease_until = now + timedelta(seconds=lease_s)
    f.attempts = f.attempts + 1
    s.flush()
    s.expunge(f)
    return f
