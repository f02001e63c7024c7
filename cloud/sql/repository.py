"""Domain writes and reads on the relational model (sites, wheels, runs, scans, scores,
labels, expected wheels). Functions take an open session; callers own the transaction.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cloud import domain_events as de
from cloud.outbox import add_event, utc
from cloud.sql.engine import insert_ignore
from cloud.sql.models import (
    Camera,
    ExpectedWheel,
    Label,
    Run,
    Scan,
    Score,
    Site,
    TrackedFile,
    Train,
    Wheel,
)
from schemas.messages import RunManifest


def ensure_site(s: Session, site: str, camera: str | None, train: str | None,
                now: datetime, tag: str | None = None) -> None:
    """Create the site, camera and train rows if absent (the camera's last file: now)."""
    insert_ignore(s, Site.__table__, {"id": site, "created_at": now}, ["id"])  # type: ignore[arg-type]
    if camera:
        insert_ignore(s, Camera.__table__, {"site_id": site, "camera_id": camera},  # type: ignore[arg-type]
                      ["site_id", "camera_id"])
        camera_file_at(s, site, camera, now)
    if train:
        insert_ignore(s, Train.__table__, {"site_id": site, "train_id": train, "tag": tag},  # type: ignore[arg-type]
                      ["site_id", "train_id"])


def camera_file_at(s: Session, site: str, camera: str, now: datetime) -> None:
    """Record when the camera's last file arrived (the camera row exists)."""
    s.execute(update(Camera).where(Camera.site_id == site, Camera.camera_id == camera)
              .values(last_file_at=now))


def wheel_at(s: Session, site: str, train: str, camera: str, position: int, wheel_id: str,
             now: datetime) -> int:
    """The wheel row for this position; a different wheel id there replaces the old one."""
    current = s.scalars(select(Wheel).where(
        Wheel.site_id == site, Wheel.train_id == train, Wheel.camera == camera,
        Wheel.position == position, Wheel.replaced_at.is_(None))).all()
    for w in current:
        if w.wheel_id == wheel_id:
            return w.id
        w.replaced_at = now
    insert_ignore(s, Wheel.__table__, {  # type: ignore[arg-type]
        "site_id": site, "train_id": train, "camera": camera, "position": position,
        "wheel_id": wheel_id, "installed_at": now, "replaced_at": None,
    }, ["site_id", "train_id", "camera", "position", "wheel_id"])
    wid = s.scalar(select(Wheel.id).where(
        Wheel.site_id == site, Wheel.train_id == train, Wheel.camera == camera,
        Wheel.position == position, Wheel.wheel_id == wheel_id))
    assert wid is not None
    s.execute(update(Wheel).where(Wheel.id == wid).values(replaced_at=None))
    return wid


def position_of(s: Session, site: str, run_id: str, camera: str, wheel_id: str) -> int | None:
    """The wheel's position in the run manifest, if the manifest arrived."""
    return s.scalar(select(ExpectedWheel.position).where(
        ExpectedWheel.site_id == site, ExpectedWheel.run_id == run_id,
        ExpectedWheel.camera == camera, ExpectedWheel.wheel_id == wheel_id))


def record_manifest(s: Session, m: RunManifest, now: datetime, file_timeout_s: float) -> None:
    """Store a run and its expected wheels; wheels the camera never produced are missing."""
    ensure_site(s, m.site, None, m.train_id, now, m.tag)
    insert_ignore(s, Run.__table__, {  # type: ignore[arg-type]
        "site_id": m.site, "run_id": m.run_id, "train_id": m.train_id, "tag": m.tag,
        "run_count": m.run_count, "pass_start": m.pass_start, "pass_end": m.pass_end,
        "received_at": now, "problems": json.dumps(m.problems), "completed_at": None,
    }, ["site_id", "run_id"])
    deadline = now + timedelta(seconds=file_timeout_s)
    for camera, cp in m.cameras.items():
        for pos, wheel in enumerate(cp.expected, start=1):
            gone = wheel in cp.missing and wheel not in cp.files
            reason = "not produced by camera" if gone else None
            new = insert_ignore(s, ExpectedWheel.__table__, {  # type: ignore[arg-type]
                "site_id": m.site, "run_id": m.run_id, "camera": camera, "wheel_id": wheel,
                "position": pos, "file_id": cp.files.get(wheel),
                "state": "missing" if gone else "expected", "deadline": deadline,
                "missing_reason": reason,
            }, ["site_id", "run_id", "camera", "wheel_id"])
            if new and gone and m.train_id is not None:
                wheel_at(s, m.site, m.train_id, camera, pos, wheel, now)
            if new and gone:
                add_event(s, f"missing:{m.site}:{m.run_id}:{camera}:{wheel}", de.FileMissing(
                    site=m.site, run_id=m.run_id, train_id=m.train_id or "", camera=camera,
                    wheel_id=wheel, reason="not produced by camera", detected_at=now), now)


def file_written(s: Session, site: str, run_id: str, camera: str, wheel_id: str,
                 now: datetime) -> None:
    """A file of an expected wheel was written: resolve a missing report (late arrival)."""
    row = s.scalar(select(ExpectedWheel).where(
        ExpectedWheel.site_id == site, ExpectedWheel.run_id == run_id,
        ExpectedWheel.camera == camera, ExpectedWheel.wheel_id == wheel_id)
        .with_for_update())
    if row is None:
        return
    if row.state == "missing":
        add_event(s, f"late:{site}:{run_id}:{camera}:{wheel_id}", de.FileArrivedLate(
            site=site, run_id=run_id, camera=camera, wheel_id=wheel_id, arrived_at=now), now)
    row.state = "arrived"


def check_run_complete(s: Session, site: str, run_id: str, now: datetime) -> bool:
    """If every expected wheel of the run is written or missing, emit RunComplete once."""
    run = s.scalar(select(Run).where(Run.site_id == site, Run.run_id == run_id)
                   .with_for_update())
    if run is None or run.completed_at is not None:
        return False
    rows = s.execute(select(ExpectedWheel.state, func.count()).where(
        ExpectedWheel.site_id == site, ExpectedWheel.run_id == run_id)
        .group_by(ExpectedWheel.state)).all()
    by_state = {str(k): int(v) for k, v in rows}
    if by_state.get("expected", 0) > 0:
        return False
    run.completed_at = now
    add_event(s, f"run:{site}:{run_id}", de.RunComplete(
        site=site, run_id=run_id, train_id=run.train_id or "", run_count=run.run_count,
        pass_end=utc(run.pass_end), scored=by_state.get("arrived", 0),
        missing=by_state.get("missing", 0)), now)
    return True


def add_scan(s: Session, f: TrackedFile, wheel_pk: int | None, csv_uri: str, meta_uri: str,
             sources: list[str], now: datetime) -> None:
    """Insert the scan row once."""
    insert_ignore(s, Scan.__table__, {  # type: ignore[arg-type]
        "file_id": f.file_id, "site_id": f.site_id, "camera": f.camera, "wheel_pk": wheel_pk,
        "wheel_id": f.wheel_id, "train_id": f.train_id, "run_id": f.run_id,
        "capture_time": f.capture_time, "csv_uri": csv_uri, "meta_uri": meta_uri,
        "sha256": f.sha256, "payload_bytes": f.payload_bytes, "raw_bytes": f.raw_bytes,
        "sources": json.dumps(sources), "stored_at": now,
    }, ["file_id"])


def get_score(s: Session, file_id: str, model_version: str) -> Score | None:
    """The score row of a file for a model version, if any."""
    return s.scalar(select(Score).where(Score.file_id == file_id,
                                        Score.model_version == model_version))


def add_label(s: Session, wheel_id: str, label: str, who: str, note: str,
              file_id: str | None, now: datetime) -> int:
    """Record an inspection label; returns its id."""
    row = Label(wheel_id=wheel_id, file_id=file_id, label=label, who=who, note=note,
                labelled_at=now)
    s.add(row)
    s.flush()
    return row.id


def labels_for_export(s: Session) -> list[tuple[str, str, str, str, str, str]]:
    """(csv_uri, label, wheel_id, file_id, who, labelled_at) for each label with a scan.

    A label without a file id applies to the wheel's latest scan before the label.
    """
    out: list[tuple[str, str, str, str, str, str]] = []
    for lab in s.scalars(select(Label).order_by(Label.labelled_at)).all():
        q = select(Scan).where(Scan.wheel_id == lab.wheel_id)
        if lab.file_id:
            q = select(Scan).where(Scan.file_id == lab.file_id)
        else:
            q = q.where(Scan.capture_time <= lab.labelled_at)
        scan = s.scalar(q.order_by(Scan.capture_time.desc()).limit(1))
        if scan is not None:
            out.append((scan.csv_uri, lab.label, lab.wheel_id, scan.file_id, lab.who,
                        utc(lab.labelled_at).isoformat()))
    return out


def reconcile_run(s: Session, site: str, run_id: str) -> int:
    """Expected wheels whose file is already written become ``arrived``; returns how many."""
    written = select(TrackedFile.wheel_id, TrackedFile.camera).where(
        TrackedFile.site_id == site, TrackedFile.run_id == run_id,
        TrackedFile.state == "written")
    done = {(w, c) for w, c in s.execute(written).all()}
    n = 0
    for row in s.scalars(select(ExpectedWheel).where(
            ExpectedWheel.site_id == site, ExpectedWheel.run_id == run_id,
            ExpectedWheel.state == "expected")).all():
        if (row.wheel_id, row.camera) in done:
            row.state = "arrived"
            n += 1
    return n
