"""One complete file through the pipeline: assembled → stored → scored → written.

Every step is idempotent and keyed by the file id, so a crash at any point is resumed
by whichever worker next claims the file: the blob store refuses a second object, the
scan and score rows are insert-once, warehouse rows carry the file id as row id, and
domain events are created once in the outbox.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from cloud import domain_events as de
from cloud.lease import LeaseKeeper
from cloud.outbox import add_event, utc
from cloud.pipeline_rows import attributes_of, file_row, heatmap_key, keys_of, score_row
from cloud.ports import BlobStore, BytesScorer, Scorer, ScoreResult, Warehouse
from cloud.reassembly import Bundle, unpack
from cloud.sql import repository as repo
from cloud.sql.models import FileChunk, Run, Score, TrackedFile
from cloud.tracker import FINAL, LeaseLost, Tracker
from schemas.errors import ContractError, WheelWatchError

log = logging.getLogger(__name__)
PositionLookup = Callable[[str, str, str], int | None]  # (train, camera, wheel) -> position
ORDER = ("receiving", "assembled", "stored", "scored", "written")


@dataclass(frozen=True)
class PipelineSettings:
    """Knobs of the pipeline."""

    owner: str
    lease_s: float = 120.0
    max_raw_bytes: int = 512_000_000
    work_dir: Path = Path("state/cloud_work")


@dataclass(frozen=True)
class Stored:
    """What the store step read and stamped, for the write step of the same attempt."""

    position: int | None
    run_count: int | None
    stamps: dict[str, datetime]


class FilePipeline:
    """Processes complete files (see module doc)."""

    def __init__(self, sessions: sessionmaker[Session], tracker: Tracker, blobs: BlobStore,
                 warehouse: Warehouse, scorer: Scorer, clock: Callable[[], datetime],
                 settings: PipelineSettings, sides: dict[str, str] | None = None,
                 positions: PositionLookup | None = None) -> None:
        self._sessions = sessions
        self._tracker = tracker
        self._blobs = blobs
        self._wh = warehouse
        self._scorer = scorer
        self._clock = clock
        self._cfg = settings
        self._sides = sides or {}
        self._positions = positions or (lambda _t, _c, _w: None)
        self._sites_known: set[tuple[str, str, str]] = set()  # (site, camera, train) rows

    def attempt_owner(self) -> str:
        """A lease owner name for one processing attempt (one holder per attempt)."""
        return f"{self._cfg.owner[:110]}/{uuid.uuid4().hex[:8]}"

    @property
    def lease_s(self) -> float:
        """How long a claimed file's lease lasts (renewed while the work goes on)."""
        return self._cfg.lease_s

    def process(self, file_id: str, payload: bytes | None = None,
                claimed: tuple[TrackedFile, str] | None = None) -> str:
        """Take the file as far as it goes; returns its final state or ``busy``.

        ``payload``: the file's whole bundle when the caller holds it (a one-chunk file
        just received), else it is read from the persisted chunks. ``claimed``: the
        file and its lease owner when the caller already leased it. The lease is renewed
        while the work goes on (:class:`cloud.lease.LeaseKeeper`). ContractError (bad
        bundle) rejects the file; other errors release the lease.
        """
        if claimed is not None:  # leased with its last chunk (Tracker.record_chunk)
            f: TrackedFile | None = claimed[0]
            owner = claimed[1]
        else:
            owner = self.attempt_owner()
            f = self._tracker.claim(file_id, owner, self._cfg.lease_s)
        if f is None:
            return "busy"
        try:
            with LeaseKeeper(self._tracker, file_id, owner, self._cfg.lease_s):
                self._steps(f, owner, payload)
        except LeaseLost:
            log.info("file %s taken over by another worker", file_id)
            return "busy"
        except ContractError as exc:
            if self._taken_over(file_id, owner):
                log.info("file %s finished or taken over elsewhere (%s)", file_id, exc)
                return "busy"
            self._fail(f, owner, "reassembly", str(exc), reject=True)
            raise
        except WheelWatchError as exc:
            self._fail(f, owner, type(exc).__name__, str(exc), reject=False)
            raise
        return "written"

    def _steps(self, f: TrackedFile, owner: str, payload: bytes | None) -> None:
        """Each step's rows and its state change commit together (one transaction).

        A file not yet stored is stored and scored in one transaction (the blobs and the
        score are made first, both idempotent); if scoring fails it is stored alone.
        """
        if ORDER.index(f.state) >= ORDER.index("stored"):
            result, scored_at = self._score(f, owner, None)
            self._write(f, result, scored_at, owner)
            return
        bundle = unpack(payload if payload is not None else self._tracker.payload(f.file_id),
                        attributes_of(f), self._cfg.max_raw_bytes)
        assembled_at = self._clock()
        self._put_objects(f, bundle)
        try:
            result = self._scored_now(f, bundle)
        except WheelWatchError:
            self._store(f, bundle, owner, assembled_at)
            raise
        scored_at = self._clock()
        done = self._store(f, bundle, owner, assembled_at, (result, scored_at))
        self._write(f, result, scored_at, owner, done)

    def _advance(self, s: Session, f: TrackedFile, owner: str, state: str,
                 now: datetime, **stamps: datetime) -> None:
        """Move the leased file to ``state`` in transaction ``s`` (as
        :meth:`Tracker.advance`); LeaseLost, rolling ``s`` back, if it is not ours now."""
        res = s.execute(update(TrackedFile).where(TrackedFile.file_id == f.file_id,
                                                  TrackedFile.lease_owner == owner)
                        .values(state=state, error=None, **{f"{state}_at": now}, **stamps,
                                lease_until=now + timedelta(seconds=self._cfg.lease_s)))
        if not getattr(res, "rowcount", 0):
            raise LeaseLost(f"file {f.file_id}: lease lost to another worker")

    def _taken_over(self, file_id: str, owner: str) -> bool:
        """True if the file was finished, or its lease taken, by another worker."""
        now = self._tracker.get(file_id)
        return now is None or now.state in FINAL or now.lease_owner != owner

    def _fail(self, f: TrackedFile, owner: str, where: str, reason: str, *,
              reject: bool) -> None:
        now = self._clock()
        if reject:
            if self._tracker.reject(f.file_id, reason):
                rejected = self._tracker.get(f.file_id)
                assert rejected is not None
                self._wh.insert_rows("files", [file_row(rejected, None)], [f.file_id])
        else:
            self._tracker.release(f.file_id, owner, reason)
        with self._sessions.begin() as s:
            add_event(s, f"pipeline:{f.file_id}:{where}", de.PipelineError(
                site=f.site_id, where=where, reason=reason, file_id=f.file_id,
                detected_at=now), now)
        log.warning("file %s (%s %s): %s", f.file_id, f.camera, f.wheel_id, reason)

    def _put_objects(self, f: TrackedFile, bundle: Bundle) -> None:
        csv_key, meta_key = keys_of(f)
        self._blobs.put_if_absent(csv_key, bundle.csv, "text/csv")
        self._blobs.put_if_absent(meta_key, bundle.meta_json, "application/json")

    def _store(self, f: TrackedFile, bundle: Bundle, owner: str, assembled_at: datetime,
               scored: tuple[ScoreResult, datetime] | None = None) -> Stored:
        """The scan row (and the score row, if ``scored``) and the state change: one
        transaction. Returns what :meth:`_write` needs, read in the same transaction."""
        csv_key, meta_key = keys_of(f)
        sources = [str(v.get("name")) for k, v in bundle.meta.items()
                   if k.startswith("source_") and isinstance(v, dict)]
        now = self._clock()
        known = (f.site_id, f.camera, f.train_id)
        stamps = {"assembled_at": assembled_at} if f.state == "receiving" else {}
        with self._sessions.begin() as s:
            if known in self._sites_known:  # rows committed before: skip 3 inserts
                repo.camera_file_at(s, f.site_id, f.camera, now)
            else:
                repo.ensure_site(s, f.site_id, f.camera, f.train_id, now)
            pos = self._position(s, f)
            wheel_pk = (repo.wheel_at(s, f.site_id, f.train_id, f.camera, pos, f.wheel_id, now)
                        if pos is not None else None)
            repo.add_scan(s, f, wheel_pk, self._blobs.uri(csv_key), self._blobs.uri(meta_key),
                          sources, now)
            if scored is None:
                self._advance(s, f, owner, "stored", now, **stamps)
            else:
                self._insert_score(s, f, *scored)
                self._advance(s, f, owner, "scored", now, stored_at=now, **stamps)
            run_count = self._run_count(s, f)
        self._sites_known.add(known)
        return Stored(pos, run_count, {"stored_at": now, "scored_at": now, **stamps})

    def _run_count(self, s: Session, f: TrackedFile) -> int | None:
        return s.scalar(select(Run.run_count).where(Run.site_id == f.site_id,
                                                    Run.run_id == f.run_id))

    def _insert_score(self, s: Session, f: TrackedFile, result: ScoreResult,
                      scored_at: datetime) -> None:
        repo.insert_ignore(s, Score.__table__, {  # type: ignore[arg-type]
            "file_id": f.file_id, "model_version": result.model_version,
            "score": result.score, "defect": result.defect,
            "location": json.dumps(result.location), "stats": json.dumps(result.stats),
            "scored_at": scored_at}, ["file_id", "model_version"])

    def _position(self, s: Session, f: TrackedFile) -> int | None:
        pos = repo.position_of(s, f.site_id, f.run_id, f.camera, f.wheel_id)
        return pos if pos is not None else self._positions(f.train_id, f.camera, f.wheel_id)

    def _score(self, f: TrackedFile, owner: str, bundle: Bundle | None
               ) -> tuple[ScoreResult, datetime]:
        """The file's score (scored once per model version) and when it was scored."""
        version, row = self._scorer.version, None
        if f.attempts > 1:  # only an earlier attempt (claim) can have scored the file
            with self._sessions() as s:
                row = repo.get_score(s, f.file_id, version)
        if row is not None:
            result = ScoreResult(row.score, row.defect, json.loads(row.location), version,
                                 json.loads(row.stats))
            scored_at = utc(row.scored_at)
        else:
            result, scored_at = self._scored_now(f, bundle), self._clock()
        if row is not None and f.state == "scored":
            return result, scored_at
        with self._sessions.begin() as s:
            if row is None:
                self._insert_score(s, f, result, scored_at)
            if f.state != "scored":
                self._advance(s, f, owner, "scored", self._clock())
        return result, scored_at

    def _scored_now(self, f: TrackedFile, bundle: Bundle | None) -> ScoreResult:
        """Run the scorer; a bad wheel's heatmap (where the model saw the defect, for the
        crew's message) is stored beside its CSV."""
        result = self._run_scorer(f, bundle)
        if result.heatmap_png:
            self._blobs.put_if_absent(heatmap_key(f), result.heatmap_png, "image/png")
        return result

    def _run_scorer(self, f: TrackedFile, bundle: Bundle | None) -> ScoreResult:
        """Score the stored CSV: the bundle just stored (the same bytes, or its checked
        array sidecar: no CSV parse), else the objects (only the CSV is stored).

        In memory when the scorer takes bytes, else through files in a work folder.
        """
        arrays = None
        if bundle is not None:
            csv, meta, arrays = bundle.csv, bundle.meta_json, bundle.arrays
        else:
            csv_key, meta_key = keys_of(f)
            csv, meta = self._blobs.get(csv_key), self._blobs.get(meta_key)
        if isinstance(self._scorer, BytesScorer):
            return self._scorer.score_bytes(csv, meta, arrays)
        self._cfg.work_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{f.file_id}-", dir=self._cfg.work_dir))
        try:
            (tmp / "wheel.csv").write_bytes(csv)
            (tmp / "wheel.meta.json").write_bytes(meta)
            return self._scorer.score(tmp / "wheel.csv", tmp / "wheel.meta.json")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _write(self, f: TrackedFile, r: ScoreResult, scored_at: datetime, owner: str,
               done: Stored | None = None) -> None:
        """Warehouse rows, then (one transaction, only while the lease is ours) the file
        written, its WheelScored event, the run's progress, and its chunks purged.
        ``done``: what the store step of this attempt read and stamped (else read now)."""
        now = self._clock()
        if done is None:
            with self._sessions() as s:
                fresh = s.get(TrackedFile, f.file_id)
                assert fresh is not None
                s.expunge(fresh)
                done = Stored(self._position(s, f), self._run_count(s, f), {})
            f = fresh
        csv_key, _ = keys_of(f)
        srow = score_row(f, self._sides, self._blobs.uri(csv_key), r, done.position, scored_at)
        srow["run_count"] = done.run_count
        self._wh.insert_rows("wheel_scores", [srow], [f"{f.file_id}:{r.model_version}"])
        self._wh.insert_rows("files", [file_row(f, now, done.stamps)], [f.file_id])
        with self._sessions.begin() as s:
            res = s.execute(update(TrackedFile).where(
                TrackedFile.file_id == f.file_id, TrackedFile.lease_owner == owner)
                .values(state="written", written_at=now, lease_owner=None, lease_until=None,
                        error=None))
            if not getattr(res, "rowcount", 0):
                raise LeaseLost(f"file {f.file_id}: lease lost before it was written")
            add_event(s, f"scored:{f.file_id}:{r.model_version}", de.WheelScored(
                site=f.site_id, run_id=f.run_id, train_id=f.train_id, camera=f.camera,
                side=self._sides.get(f.camera, ""), wheel_id=f.wheel_id,
                position=done.position or 0, file_id=f.file_id,
                capture_time=utc(f.capture_time), scored_at=scored_at, score=r.score,
                model_version=r.model_version, defect=r.defect, location=r.location), now)
            repo.file_written(s, f.site_id, f.run_id, f.camera, f.wheel_id, now)
            repo.check_run_complete(s, f.site_id, f.run_id, now)
            s.execute(delete(FileChunk).where(FileChunk.file_id == f.file_id))
