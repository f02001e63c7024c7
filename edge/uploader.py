"""The edge uploader: watch → map to wheels → convert → bundle → publish → clean up.

One :meth:`Uploader.step` does a full round over every stage; :meth:`Uploader.run` loops
until stopped, woken early by filesystem events. Every stage reads its work from the
pub tracker, so a restart (or a crash at any point) resumes where the ledger says.
Per camera, files are published strictly in capture-time order (ordering key = camera
id); a failed publish backs off exponentially and blocks only that camera.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from edge import retention
from edge.converting import Converted, Converter, convert_and_bundle
from edge.files import free_mb, quarantine_files
from edge.publishing import UNASSIGNED, UNKNOWN_TRAIN, Publisher
from edge.rfid import RfidLog
from edge.runs import PassCloser, build_manifest
from edge.scanfiles import FolderState, capture_time
from edge.tracker import FileRow, Found, Tracker
from edge.transport import OutMessage, Transport
from schemas.config import SiteConfig
from schemas.errors import ScanFormatError, TransportError
from schemas.messages import (
    Heartbeat,
    QuarantineEvent,
    RunManifest,
    encode_event,
    event_attributes,
)

log = logging.getLogger(__name__)
__all__ = ["UNASSIGNED", "UNKNOWN_TRAIN", "Converted", "Converter", "Uploader"]
MAX_CONVERT_ATTEMPTS = 3
CONVERT_BATCH = 4  # scans converted between two publish rounds
CONVERT_ROUNDS = 25  # rounds per step (then the loop rescans the folders)


class Uploader:
    """The long-running edge service (see the module doc)."""

    def __init__(self, cfg: SiteConfig, tracker: Tracker, transport: Transport,
                 converter: Converter, *, clock: Callable[[], float] = time.time) -> None:
        self.cfg, self.tracker, self.transport = cfg, tracker, transport
        self.converter, self.clock = converter, clock
        self.folders = {c.id: FolderState(c.id, cfg.path(c.folder)) for c in cfg.cameras}
        for folder in [*(f.folder for f in self.folders.values()), cfg.path(cfg.rfid.folder)]:
            folder.mkdir(parents=True, exist_ok=True)
        self.closer = PassCloser(cfg, tracker, RfidLog(cfg.path(cfg.rfid.folder)))
        self.work_dir = cfg.path(cfg.edge.work_dir)
        self.known: set[tuple[str, str]] = set()  # stems seen at the last rescan
        self.next_prune = 0.0
        self.next_bundle_sweep = 0.0
        self.free_mb: int | None = None
        self.publisher = Publisher(cfg, tracker, transport, clock)
        self.topics_ready = False
        self.accepting = True
        self.next_heartbeat = 0.0
        self.wake = threading.Event()

    # -- the loop -------------------------------------------------------------------
    def step(self) -> None:
        """One round over every stage."""
        now = self.clock()
        self._ensure_topics()
        self.discover(now)
        self.closer.close_ready(now)
        self.check_disk()
        for _ in range(CONVERT_ROUNDS):  # convert a few, publish them, repeat: low latency
            converted = self.convert_ready(limit=CONVERT_BATCH) if self.accepting else 0
            self.report_runs()
            if self.topics_ready:
                for cam in self.folders:
                    self.publisher.publish_camera(cam)
                self.publisher.flush_outbox()
            self.clean_confirmed()
            if not converted:
                break
        if now >= self.next_heartbeat:
            self.heartbeat()
            self.next_heartbeat = now + self.cfg.edge.heartbeat_s
        if now >= self.next_prune and self.cfg.edge.retention != "keep":
            # with 'keep' the scans stay in the folders: their rows must stay too
            self.tracker.prune(now - self.cfg.edge.tracker_keep_days * 86400)
            self.next_prune = now + 3600
        if now >= self.next_bundle_sweep or self.disk_low():
            self.drop_kept_bundles(now)
            self.next_bundle_sweep = now + 60

    def run(self, stop: threading.Event, after_step: Callable[[], bool] | None = None) -> None:
        """Loop until ``stop`` is set; errors are logged and the loop goes on.

        ``after_step`` runs after every round (progress, idle checks); True ends the loop.
        """
        while not stop.is_set():
            try:
                self.step()
            except Exception:  # the service must outlive any single failure
                log.exception("uploader step failed; retrying")
            if after_step is not None and after_step():
                break
            self.wake.wait(self._wait_s())
            self.wake.clear()

    @property
    def retry_at(self) -> dict[str, float]:
        """When each backing-off camera (or ``events``) may publish again."""
        return self.publisher.retry_at

    def _wait_s(self) -> float:
        waits = [self.cfg.edge.rescan_s, self.next_heartbeat - self.clock()]
        waits += [t - self.clock() for t in self.retry_at.values()]
        if self.closer.pending()[0]:
            waits.append(min(1.0, self.closer.close_s))
        return max(0.05, min(waits))

    def _ensure_topics(self) -> None:
        if self.topics_ready:
            return
        try:
            for c in self.cfg.cameras:
                self.transport.ensure_topic(c.topic)
            self.transport.ensure_topic(self.cfg.transport.events_topic)
            self.topics_ready = True
        except TransportError as exc:
            log.error("transport not ready (%s); will retry", exc)

    # -- stages ---------------------------------------------------------------------
    def discover(self, now: float) -> int:
        """Find ready pairs in every camera folder; quarantine long-orphaned halves."""
        found: list[Found] = []
        present: set[tuple[str, str]] = set()
        for cam, folder in self.folders.items():
            ready, orphans = folder.rescan(now, self.cfg.edge.stable_s, self.cfg.edge.orphan_s)
            for pair in sorted(ready, key=lambda p: p.stem):
                present.add((cam, pair.stem))
                if (cam, pair.stem) in self.known:
                    continue
                when, source = capture_time(pair.dat)
                found.append(Found(cam, pair.stem, pair.dat, pair.xml, pair.size, when, source,
                                   appeared_at=pair.mtime))
            for path, reason in orphans:
                self._quarantine_paths(cam, [path], reason)
        new = self.tracker.discover_many(found)  # one transaction for the whole rescan
        self.known = present  # bounded by what the folders hold
        return new

    def convert_ready(self, limit: int = 50) -> int:
        """Convert and bundle mapped scans, oldest first; returns how many were done."""
        rows = self.tracker.files("state = 'discovered' AND run_id IS NOT NULL"
                                  " AND next_attempt <= ?", (self.clock(),))[:limit]
        done = 0
        for row in rows:
            done += 1
            try:
                convert_and_bundle(self.cfg, self.tracker, self.converter, row, self.work_dir)
            except ScanFormatError as exc:
                self.quarantine(row, exc.reason)
            except FileNotFoundError as exc:
                self.quarantine(row, f"source file vanished before conversion: {exc}")
            except OSError as exc:  # disk full, permissions: retry later, keep the scan
                log.error("cannot convert %s: %s", row.key, exc)
                self.tracker.note_error(row.camera, f"convert {row.stem}: {exc}", row.key)
                return 0
            except Exception as exc:  # a bug or a contract break: other files go on
                log.exception("conversion of %s failed", row.key)
                if row.attempts + 1 >= MAX_CONVERT_ATTEMPTS:
                    self.quarantine(row, f"conversion failed {MAX_CONVERT_ATTEMPTS} times: "
                                         f"{type(exc).__name__}: {exc}")
                else:
                    retry = self.cfg.edge.retry_initial_s * 2 ** row.attempts
                    self.tracker.note_error(row.camera, f"convert {row.stem}: {exc}", row.key,
                                            next_attempt=self.clock() + retry)
                done -= 1
        return done

    def quarantine(self, row: FileRow, reason: str) -> None:
        """Move an unreadable scan aside with its reason; report it; go on."""
        self._quarantine_paths(row.camera, [row.dat_path, row.xml_path], reason, key=row.key)

    def _quarantine_paths(self, camera: str, paths: list[Path], reason: str,
                          key: str | None = None) -> None:
        """Move files aside, mark the tracked file (``key``) quarantined, queue the event."""
        dest = self.cfg.path(self.cfg.edge.quarantine_dir) / camera
        quarantine_files(paths, dest, reason)
        if key is not None:
            self.tracker.set_state(key, "quarantined", reason, reason=reason)
        self._enqueue_event(QuarantineEvent(
            site=self.cfg.site_id, camera=camera, files=[p.name for p in paths],
            reason=reason, at=datetime.now(UTC)))

    def _enqueue_event(self, event: QuarantineEvent | RunManifest,
                       run_id: str | None = None) -> None:
        self.tracker.enqueue(self.cfg.transport.events_topic, encode_event(event),
                             event_attributes(event), run_id=run_id)

    def report_runs(self) -> None:
        """Queue the manifest of every run whose files are all converted or quarantined."""
        for run in self.tracker.unreported_runs():
            manifest = build_manifest(self.cfg, self.tracker, run)
            if manifest is not None:
                self._enqueue_event(manifest, run_id=run["run_id"])

    def clean_confirmed(self) -> None:
        """Apply the retention setting to every confirmed file (see :mod:`edge.retention`)."""
        retention.clean_confirmed(self.cfg, self.tracker, keep_bundles=not self.disk_low())

    def drop_kept_bundles(self, now: float) -> int:
        """Remove bundles kept past ``edge.keep_bundles_s`` (all of them on a low disk)."""
        return retention.drop_kept_bundles(self.cfg, self.tracker, now, all_=self.disk_low())

    def disk_low(self) -> bool:
        """True once free disk (at the last check) is below ``edge.warn_free_mb``."""
        return self.free_mb is not None and self.free_mb < self.cfg.edge.warn_free_mb

    # -- health ---------------------------------------------------------------------
    def check_disk(self) -> int:
        """Stop accepting new work below ``min_free_mb``; warn below ``warn_free_mb``."""
        free = self.free_mb = free_mb(self.work_dir)
        edge = self.cfg.edge
        accepting = free >= edge.min_free_mb
        if accepting != self.accepting:
            msg = (f"disk low: {free} MB free < min_free_mb {edge.min_free_mb}; "
                   "not converting new scans (nothing is deleted)") if not accepting else \
                f"disk space back: {free} MB free; converting again"
            (log.error if not accepting else log.info)(msg)
            for cam in self.folders:
                self.tracker.note_error(cam, msg)
        elif free < edge.warn_free_mb:
            log.warning("disk space getting low: %d MB free (warn_free_mb %d)", free,
                        edge.warn_free_mb)
        self.accepting = accepting
        return free

    def heartbeat(self) -> None:
        """Send a heartbeat now (best effort: a missed heartbeat is itself the signal).

        Skipped while a publish is backing off: the link is known to be down, and a
        heartbeat would only queue up (and block) behind it.
        """
        if self.retry_at:
            log.info("heartbeat skipped: transport backing off")
            return
        status = self.tracker.status()
        last = {}
        for cam in self.folders:
            rows = self.tracker.query("SELECT MAX(capture_time) FROM files WHERE camera = ?",
                                      (cam,))
            last[cam] = datetime.fromisoformat(rows[0][0]) if rows[0][0] else None
        hb = Heartbeat(site=self.cfg.site_id, edge_id=self.cfg.edge.edge_id,
                       sent_at=datetime.now(UTC),
                       backlog={c: status.get(c, {}).get("backlog", 0) for c in self.folders},
                       last_scan=last, free_disk_mb=free_mb(self.work_dir))
        try:
            self.transport.publish(self.cfg.transport.events_topic,
                                   [OutMessage(encode_event(hb), event_attributes(hb))])
        except TransportError as exc:
            log.warning("heartbeat not sent: %s", exc)

