"""Domain events, created exactly once and delivered at least once.

An event is added to ``event_outbox`` under a deterministic key in the same transaction
as the state change that causes it (a second worker making the same change adds
nothing). :class:`Dispatcher` claims undelivered events for ``CLAIM_S`` (one worker
wins each; up to ``BATCH`` per transaction), hands them to the :class:`AlertSink` in
order, then marks them delivered; if the sink fails the claim is dropped at once, and
if the worker dies the claim expires, so either way the event is handed over again
(the alert service ignores an event it has already applied).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from cloud import domain_events as de
from cloud.sql.engine import insert_ignore
from cloud.sql.models import OutboxEvent, Source

log = logging.getLogger(__name__)
CLAIM_S = 60.0  # a dispatcher's hold on an event it is handing to the sink
BATCH = 20  # events claimed and settled together (one transaction each)
KINDS: dict[str, type[Any]] = {
    c.__name__: c for c in (de.WheelScored, de.RunComplete, de.FileMissing,
                            de.FileArrivedLate, de.SourceSilent, de.SourceBack,
                            de.PipelineError)
}


def utc(dt: datetime) -> datetime:
    """Aware UTC datetime (SQLite returns naive ones)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def encode(event: de.DomainEvent) -> str:
    """JSON of an event (datetimes as ISO strings)."""
    data = {k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in dataclasses.asdict(event).items()}
    return json.dumps(data, sort_keys=True)


def decode(kind: str, payload: str) -> de.DomainEvent:
    """Rebuild an event from :func:`encode` output."""
    cls = KINDS[kind]
    data = json.loads(payload)
    for f in dataclasses.fields(cls):
        if "datetime" in str(f.type) and isinstance(data.get(f.name), str):
            data[f.name] = datetime.fromisoformat(data[f.name])
    event: de.DomainEvent = cls(**data)
    return event


def add_event(session: Session, key: str, event: de.DomainEvent, now: datetime) -> bool:
    """Record ``event`` under ``key`` unless it exists; True if this call created it."""
    return insert_ignore(session, OutboxEvent.__table__, {  # type: ignore[arg-type]
        "key": key[:255], "kind": type(event).__name__, "payload": encode(event),
        "created_at": now, "delivered_at": None,
    }, ["key"])


def heard(session: Session, site: str, kind: str, source: str, now: datetime) -> None:
    """Note that an edge/camera was heard; a silent one becomes a SourceBack event."""
    row = session.get(Source, (site, kind, source), with_for_update=True)
    if row is None:
        insert_ignore(session, Source.__table__, {  # type: ignore[arg-type]
            "site_id": site, "kind": kind, "source": source, "last_seen": now,
            "silent_since": None}, ["site_id", "kind", "source"])
        return
    if row.silent_since is not None:
        add_event(session, f"back:{kind}:{site}:{source}:{utc(row.silent_since).isoformat()}",
                  de.SourceBack(site=site, source=source, kind=kind, seen_at=now), now)
        row.silent_since = None
    if utc(row.last_seen) < now:
        row.last_seen = now


class Dispatcher:
    """Delivers undelivered outbox events to the sink."""

    def __init__(self, sessions: sessionmaker[Session], sink: de.AlertSink,
                 clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._sink = sink
        self._clock = clock

    def dispatch(self, limit: int = 200) -> int:
        """Deliver up to ``limit`` pending events; returns how many were delivered."""
        now = self._clock()
        with self._sessions() as s:
            rows = s.execute(
                select(OutboxEvent.key, OutboxEvent.kind, OutboxEvent.payload)
                .where(OutboxEvent.delivered_at.is_(None), _claim_free(now))
                .order_by(OutboxEvent.created_at).limit(limit)
            ).all()
        done = 0
        for i in range(0, len(rows), BATCH):
            done += self._deliver([(r[0], r[1], r[2]) for r in rows[i:i + BATCH]])
        return done

    def _deliver(self, rows: list[tuple[str, str, str]]) -> int:
        """Claim a batch (one transaction), hand each claimed event to the sink in order,
        then settle the batch (one transaction), also when the sink raised."""
        claimed = self._claim([key for key, _, _ in rows])
        mine = [row for row in rows if row[0] in claimed]  # others: another worker's
        delivered: list[str] = []
        failed: list[str] = []
        try:
            if isinstance(self._sink, de.BatchAlertSink):
                self._hand_batch(self._sink, mine, delivered, failed)
            else:
                for key, kind, payload in mine:
                    try:
                        self._sink.handle(decode(kind, payload))
                    except Exception:  # a failing sink must not stop the pipeline
                        log.exception("alert sink failed on event %s", key)
                        failed.append(key)
                        continue
                    delivered.append(key)
        finally:
            self._settle(delivered, failed)
        return len(delivered)

    @staticmethod
    def _hand_batch(sink: de.BatchAlertSink, rows: list[tuple[str, str, str]],
                    delivered: list[str], failed: list[str]) -> None:
        """Hand the decodable events to ``sink`` at once; sort keys by outcome."""
        keys, events = [], []
        for key, kind, payload in rows:
            try:
                events.append(decode(kind, payload))
            except Exception:  # an unreadable event is retried (and logged) each round
                log.exception("outbox event %s cannot be decoded", key)
                failed.append(key)
                continue
            keys.append(key)
        try:
            errors = sink.handle_many(events)
        except Exception:  # a failing sink must not stop the pipeline; retried later
            log.exception("alert sink failed on %d events", len(events))
            failed.extend(keys)
            return
        for key, error in zip(keys, errors, strict=True):
            if error is not None:
                log.error("alert sink failed on event %s: %s", key, error)
            (failed if error is not None else delivered).append(key)

    def _claim(self, keys: list[str]) -> set[str]:
        """The keys this dispatcher now holds (others are held or done elsewhere)."""
        now = self._clock()
        with self._sessions.begin() as s:
            got = s.execute(update(OutboxEvent).where(
                OutboxEvent.key.in_(keys), OutboxEvent.delivered_at.is_(None),
                _claim_free(now)).values(claimed_until=now + timedelta(seconds=CLAIM_S))
                .returning(OutboxEvent.key)
                .execution_options(synchronize_session=False)).scalars().all()
        return set(got)

    def _settle(self, delivered: list[str], failed: list[str]) -> None:
        """Mark handed-over events delivered; drop the claim of those the sink refused."""
        if not delivered and not failed:
            return
        with self._sessions.begin() as s:
            for keys, at in ((delivered, self._clock()), (failed, None)):
                if keys:
                    s.execute(update(OutboxEvent).where(OutboxEvent.key.in_(keys))
                              .values(delivered_at=at, claimed_until=None)
                              .execution_options(synchronize_session=False))


def _claim_free(now: datetime) -> Any:
    """SQL condition: nobody holds a live claim on the event."""
    return or_(OutboxEvent.claimed_until.is_(None), OutboxEvent.claimed_until < now)
