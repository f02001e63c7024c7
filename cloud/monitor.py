"""Missing-file monitor: manifests vs arrivals, heartbeats, silent cameras, stuck files.

Each finding is a conditional state change plus one outbox event under a deterministic
key, so any number of workers may sweep at the same time and each finding becomes
exactly one domain event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from cloud import domain_events as de
from cloud.outbox import add_event, utc
from cloud.pipeline import FilePipeline
from cloud.sql import repository as repo
from cloud.sql.models import ExpectedWheel, Run, Source, TrackedFile
from cloud.tracker import Tracker
from schemas.errors import ContractError, WheelWatchError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonitorSettings:
    """Timeouts in seconds (see ``schemas.config.cloud.MonitorConfig``)."""

    heartbeat_timeout_s: float = 180.0
    camera_silence_s: float = 900.0
    resume_grace_s: float = 30.0


class Monitor:
    """One sweep finds missing files, silent sources and stuck files."""

    def __init__(self, sessions: sessionmaker[Session], tracker: Tracker,
                 pipeline: FilePipeline | None, clock: Callable[[], datetime],
                 settings: MonitorSettings) -> None:
        self._sessions = sessions
        self._tracker = tracker
        self._pipeline = pipeline
        self._clock = clock
        self._cfg = settings

    def sweep(self) -> dict[str, int]:
        """Run every check once; returns counts of what was found/done."""
        out = {"missing": self.missing_files(), "silent": self.silent_sources()}
        out["resumed"] = self.resume_stuck()
        return out

    def _reason(self, s: Session, w: ExpectedWheel) -> str:
        f = s.scalar(select(TrackedFile).where(or_(
            TrackedFile.file_id == (w.file_id or ""),
            (TrackedFile.site_id == w.site_id) & (TrackedFile.run_id == w.run_id)
            & (TrackedFile.camera == w.camera) & (TrackedFile.wheel_id == w.wheel_id))))
        if f is None:
            return "published, not received" if w.file_id else "no file received"
        if f.state == "rejected":
            return f"file rejected: {f.error}"
        return f"file incomplete (state {f.state})"

    def missing_files(self) -> int:
        """Expected wheels past their deadline without a written file → FileMissing."""
        now = self._clock()
        found = 0
        with self._sessions.begin() as s:
            runs = {r for r in s.execute(select(ExpectedWheel.site_id, ExpectedWheel.run_id)
                                         .where(ExpectedWheel.state == "expected",
                                                ExpectedWheel.deadline < now)).all()}
            for site, run_id in runs:
                repo.reconcile_run(s, site, run_id)
                run = s.scalar(select(Run).where(Run.site_id == site, Run.run_id == run_id))
                late = s.scalars(select(ExpectedWheel).where(
                    ExpectedWheel.site_id == site, ExpectedWheel.run_id == run_id,
                    ExpectedWheel.state == "expected", ExpectedWheel.deadline < now)).all()
                for w in late:
                    reason = self._reason(s, w)
                    res = s.execute(update(ExpectedWheel).where(
                        ExpectedWheel.id == w.id, ExpectedWheel.state == "expected")
                        .values(state="missing", missing_reason=reason))
                    if getattr(res, "rowcount", 0):
                        found += add_event(s, f"missing:{site}:{run_id}:{w.camera}:{w.wheel_id}",
                                           de.FileMissing(
                                               site=site, run_id=run_id,
                                               train_id=(run.train_id or "") if run else "",
                                               camera=w.camera, wheel_id=w.wheel_id,
                                               reason=reason, detected_at=now), now)
                repo.check_run_complete(s, site, run_id, now)
        return found

    def _silence(self, s: Session, src: Source, now: datetime) -> bool:
        res = s.execute(update(Source).where(
            Source.site_id == src.site_id, Source.kind == src.kind,
            Source.source == src.source, Source.silent_since.is_(None))
            .values(silent_since=now))
        if not getattr(res, "rowcount", 0):
            return False
        last = utc(src.last_seen)
        return add_event(s, f"silent:{src.kind}:{src.site_id}:{src.source}:{last.isoformat()}",
                         de.SourceSilent(site=src.site_id, source=src.source, kind=src.kind,
                                         last_seen=last, detected_at=now), now)

    def silent_sources(self) -> int:
        """Edges past the heartbeat timeout; cameras silent while another camera scans."""
        now = self._clock()
        hb = now - timedelta(seconds=self._cfg.heartbeat_timeout_s)
        quiet = timedelta(seconds=self._cfg.camera_silence_s)
        found = 0
        with self._sessions.begin() as s:
            for src in s.scalars(select(Source).where(Source.silent_since.is_(None))).all():
                last = utc(src.last_seen)
                if src.kind == "edge" and last < hb:
                    found += self._silence(s, src, now)
                elif src.kind == "camera" and last < now - quiet:
                    others = s.scalars(select(Source.last_seen).where(
                        Source.site_id == src.site_id, Source.kind == "camera",
                        Source.source != src.source)).all()
                    if any(utc(o) > last + quiet and utc(o) > now - quiet for o in others):
                        found += self._silence(s, src, now)
        return found

    def resume_stuck(self) -> int:
        """Finish complete files whose worker died (lease expired)."""
        if self._pipeline is None:
            return 0
        done = 0
        for file_id in self._tracker.stuck(grace_s=self._cfg.resume_grace_s):
            try:
                if self._pipeline.process(file_id) == "written":
                    done += 1
            except ContractError as exc:  # the file is rejected; keep the reason on record
                self._tracker.dead_letter("monitor", f"file:{file_id}", file_id, str(exc), {})
            except (WheelWatchError, SQLAlchemyError) as exc:
                log.warning("resuming %s failed: %s", file_id, exc)
        return done
