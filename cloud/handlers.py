"""Message handlers: data chunks (per camera) and events (manifests, heartbeats, quarantine).

A message is acked only once its content is durably recorded. A bad or poisoned message
is recorded in ``dead_letters`` with its reason, republished to the subscription's
dead-letter topic with a ``dead_letter_reason`` attribute, and only then acked; a
transient failure nacks it (after ``max_delivery_attempts`` the transport itself moves it
to the dead-letter topic).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from cloud import domain_events as de
from cloud.outbox import add_event, heard
from cloud.pipeline import FilePipeline
from cloud.ports import Delivery, Transport
from cloud.sql import repository as repo
from cloud.tracker import FINAL, Tracker
from schemas.errors import ContractError, WheelWatchError
from schemas.messages import ChunkAttributes, Heartbeat, RunManifest, decode_event

log = logging.getLogger(__name__)


class DeadLetters:
    """Records and republishes rejected messages."""

    def __init__(self, tracker: Tracker, transport: Transport, suffix: str) -> None:
        self._tracker = tracker
        self._transport = transport
        self._suffix = suffix

    def reject(self, d: Delivery, topic: str, file_id: str | None, reason: str) -> None:
        """Dead-letter ``d`` with ``reason`` then ack it (nack if that cannot be done)."""
        log.warning("dead-lettering %s message %s: %s", d.subscription, d.message_id, reason)
        try:
            first = self._tracker.dead_letter(d.subscription, d.message_id, file_id, reason,
                                              d.attributes)
            if first:
                attrs = {**d.attributes, "dead_letter_reason": reason[:1000],
                         "dead_letter_source_subscription": d.subscription,
                         "dead_letter_source_message_id": d.message_id}
                self._transport.publish(topic + self._suffix, d.data, attrs)
        except (WheelWatchError, SQLAlchemyError) as exc:
            log.error("cannot dead-letter %s (%s); will retry", d.message_id, exc)
            d.nack()
            return
        d.ack()


class ChunkHandler:
    """Handles one camera subscription's data messages."""

    def __init__(self, topic: str, tracker: Tracker, pipeline: FilePipeline,
                 dead: DeadLetters, on_written: Callable[[str], None] | None = None,
                 camera: str | None = None) -> None:
        self._topic = topic
        self._camera = camera  # the camera whose topic this is (None: not checked)
        self._tracker = tracker
        self._pipeline = pipeline
        self._dead = dead
        self._on_written = on_written

    def __call__(self, d: Delivery) -> None:
        """Persist the chunk; if its file is now complete, process the file."""
        try:
            a = ChunkAttributes.from_attributes(d.attributes)
            if self._camera is not None and a.camera != self._camera:
                raise ContractError(f"file {a.file_id}: chunk claims camera {a.camera!r} "
                                    f"on the topic of camera {self._camera!r}")
            if not d.data:
                raise ContractError(f"file {a.file_id} chunk {a.chunk_index}: empty data")
            owner = self._pipeline.attempt_owner()  # leased with the completing chunk
            receipt = self._tracker.record_chunk(a, d.data, (owner, self._pipeline.lease_s))
        except ContractError as exc:
            self._dead.reject(d, self._topic, d.attributes.get("file_id"), str(exc))
            return
        except (WheelWatchError, SQLAlchemyError) as exc:
            log.warning("chunk %s not recorded (%s); redelivery", d.message_id, exc)
            d.nack()
            return
        if receipt.complete and receipt.state not in FINAL:
            try:
                whole = d.data if a.chunk_count == 1 else None  # no need to read it back
                claimed = (receipt.claimed, owner) if receipt.claimed else None
                outcome = self._pipeline.process(a.file_id, whole, claimed)
            except ContractError as exc:
                self._dead.reject(d, self._topic, a.file_id, str(exc))
                return
            except (WheelWatchError, SQLAlchemyError) as exc:
                log.warning("file %s not finished (%s); redelivery", a.file_id, exc)
                d.nack()
                return
            if outcome == "written" and self._on_written:
                self._on_written(a.file_id)
        d.ack()


def disk_low_event(hb: Heartbeat, limit_mb: int | None, now: datetime
                   ) -> tuple[str, de.PipelineError] | None:
    """(idempotency key, event) when an edge reports less free disk than ``limit_mb``.

    One event per edge and UTC day: the edge stops accepting scans before its disk is
    full, so the crew must hear of it before scans stop arriving.
    """
    if limit_mb is None or hb.free_disk_mb is None or hb.free_disk_mb >= limit_mb:
        return None
    reason = (f"edge {hb.edge_id}: only {hb.free_disk_mb} MB disk free (warning below"
              f" {limit_mb} MB); it stops taking scans when full")
    key = f"disk-low:{hb.site}:{hb.edge_id}:{now:%Y-%m-%d}"
    return key, de.PipelineError(site=hb.site, where="edge-disk", reason=reason,
                                 file_id=None, detected_at=now)


class EventHandler:
    """Handles the events subscription."""

    def __init__(self, topic: str, sessions: sessionmaker[Session], dead: DeadLetters,
                 clock: Callable[[], datetime], file_timeout_s: float,
                 disk_low_mb: int | None = None) -> None:
        self._topic = topic
        self._disk_low_mb = disk_low_mb
        self._sessions = sessions
        self._dead = dead
        self._clock = clock
        self._timeout = file_timeout_s

    def __call__(self, d: Delivery) -> None:
        """Record a manifest, heartbeat or quarantine event."""
        try:
            ev = decode_event(d.data, d.attributes)
        except ContractError as exc:
            self._dead.reject(d, self._topic, None, f"message {d.message_id}: {exc}")
            return
        now = self._clock()
        try:
            with self._sessions.begin() as s:
                if isinstance(ev, RunManifest):
                    repo.record_manifest(s, ev, now, self._timeout)
                    repo.reconcile_run(s, ev.site, ev.run_id)
                    repo.check_run_complete(s, ev.site, ev.run_id, now)
                elif isinstance(ev, Heartbeat):
                    heard(s, ev.site, "edge", ev.edge_id, now)
                    self._check_disk(s, ev, now)
                else:
                    add_event(s, f"quarantine:{ev.site}:{ev.camera}:{','.join(ev.files)[:150]}",
                              de.PipelineError(site=ev.site, where="edge-quarantine",
                                               reason=f"{', '.join(ev.files)}: {ev.reason}",
                                               file_id=None, detected_at=now), now)
        except (WheelWatchError, SQLAlchemyError) as exc:
            log.warning("event %s not recorded (%s); redelivery", d.message_id, exc)
            d.nack()
            return
        d.ack()

    def _check_disk(self, s: Session, hb: Heartbeat, now: datetime) -> None:
        found = disk_low_event(hb, self._disk_low_mb, now)
        if found is not None:
            add_event(s, found[0], found[1], now)
