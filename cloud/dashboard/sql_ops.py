"""Operational reads and the crew's actions, over the SQL store (SQLAlchemy).

Tables: ``cloud.sql.models`` (wheels with replacement history, labels, runs and
expected wheels, tracked files, dead letters, heard sources) and ``cloud.alerts.tables``
(alerts and their wheel items). Acknowledging does what ``AlertService.ack`` does
(acked time and person, escalation stopped, status open → acked), without needing the
alert dispatcher in the dashboard process.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from itertools import pairwise

from sqlalchemy import Engine, case, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from cloud.alerts.tables import AlertItemRow, AlertRow
from cloud.dashboard.ports import Alert, Heartbeat, Label, LabelValue, Replacement
from cloud.sql.models import DeadLetter, ExpectedWheel, Run, Source, TrackedFile
from cloud.sql.models import Label as LabelRow
from cloud.sql.models import Wheel as WheelRow
from schemas.errors import StoreError

_DONE_STATES = ("written", "rejected")
_SEVERITY = {1: "watch", 2: "inspect", 3: "stop"}


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(t: datetime | None) -> datetime | None:
    if t is None:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


class SqlOps:
    """Alerts, labels, replacements and pipeline state of one site."""

    def __init__(self, engine: Engine, site: str, clock: Callable[[], datetime] = _now):
        self._site = site
        self._clock = clock
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def _session(self) -> Session:
        return self._sessions()

    def replacements(self, wheel_id: str) -> list[Replacement]:
        """Wheels installed on this wheel's position after the first one, oldest first."""
        try:
            with self._session() as s:
                me = s.execute(select(WheelRow).where(
                    WheelRow.site_id == self._site, WheelRow.wheel_id == wheel_id)
                    .limit(1)).scalar_one_or_none()
                if me is None:
                    return []
                rows = s.execute(select(WheelRow.wheel_id, WheelRow.installed_at).where(
                    WheelRow.site_id == self._site, WheelRow.train_id == me.train_id,
                    WheelRow.camera == me.camera, WheelRow.position == me.position)
                    .order_by(WheelRow.installed_at).limit(1000)).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"SQL store: {exc}") from exc
        return [Replacement(cur[0], _utc(cur[1]) or cur[1], prev[0])
                for prev, cur in pairwise(rows)]

    def labels(self, wheel_id: str, limit: int) -> list[Label]:
        """Inspection labels of the wheel, newest first."""
        with self._session() as s:
            rows = s.execute(select(LabelRow).where(LabelRow.wheel_id == wheel_id)
                             .order_by(LabelRow.labelled_at.desc()).limit(limit)).scalars()
            return [Label(r.wheel_id, "bad" if r.label == "bad" else "good", r.note or "",
                          r.file_id, r.who, _utc(r.labelled_at) or r.labelled_at)
                    for r in rows]

    def alerts(self, *, open_only: bool, wheel_id: str | None, limit: int) -> list[Alert]:
        """Alerts of the site (newest first) with the wheels they name."""
        q = select(AlertRow).where(AlertRow.site == self._site)
        if open_only:
            q = q.where(AlertRow.status == "open")
        if wheel_id is not None:
            q = q.where(AlertRow.id.in_(select(AlertItemRow.alert_id).where(
                AlertItemRow.site == self._site, AlertItemRow.wheel_id == wheel_id)))
        with self._session() as s:
            rows = list(s.execute(q.order_by(AlertRow.created_at.desc()).limit(limit))
                        .scalars())
            return self._with_wheels(s, rows)

    def alert(self, alert_id: str) -> Alert | None:
        """One alert by id."""
        with self._session() as s:
            row = s.get(AlertRow, alert_id.upper())
            if row is None or row.site != self._site:
                return None
            return self._with_wheels(s, [row])[0]

    def _with_wheels(self, s: Session, rows: list[AlertRow]) -> list[Alert]:
        wheels: dict[str, list[str]] = {r.id: [] for r in rows}
        if rows:
            items = s.execute(select(AlertItemRow.alert_id, AlertItemRow.wheel_id)
                              .where(AlertItemRow.alert_id.in_(list(wheels)))
                              .order_by(AlertItemRow.wheel_id)).all()
            for aid, wid in items:
                if aid is not None and wid and wid not in wheels[aid]:
                    wheels[aid].append(wid)
        return [Alert(r.id, r.kind, _SEVERITY.get(r.severity, str(r.severity)), r.train_id,
                      r.run_id, wheels[r.id], r.title, _utc(r.created_at) or r.created_at,
                      _utc(r.acked_at), r.acked_by, r.status) for r in rows]

    def recent_passes(self, limit: int) -> list[tuple[str, str, datetime, int, int]]:
        """(run id, train, pass start, expected files, missing files) of the latest runs."""
        with self._session() as s:
            runs = s.execute(select(Run.run_id, Run.train_id, Run.pass_start)
                             .where(Run.site_id == self._site)
                             .order_by(Run.pass_start.desc()).limit(limit)).all()
            ids = [r[0] for r in runs]
            counts = {r[0]: (int(r[1]), int(r[2] or 0)) for r in s.execute(
                select(ExpectedWheel.run_id, func.count(),
                       func.sum(case((ExpectedWheel.state == "missing", 1), else_=0)))
                .where(ExpectedWheel.site_id == self._site, ExpectedWheel.run_id.in_(ids))
                .group_by(ExpectedWheel.run_id)).all()} if ids else {}
        return [(r[0], r[1] or "", _utc(r[2]) or r[2], *counts.get(r[0], (0, 0)))
                for r in runs]

    def pipeline(self) -> tuple[int, int, list[tuple[str, str, datetime | None]],
                                list[Heartbeat]]:
        """(backlog, dead letters, latest dead letters, heartbeats)."""
        with self._session() as s:
            backlog = s.execute(select(func.count()).select_from(TrackedFile).where(
                TrackedFile.site_id == self._site,
                TrackedFile.state.not_in(_DONE_STATES))).scalar_one()
            dead = s.execute(select(func.count()).select_from(DeadLetter)).scalar_one()
            recent = s.execute(select(DeadLetter.file_id, DeadLetter.reason,
                                      DeadLetter.received_at)
                               .order_by(DeadLetter.received_at.desc()).limit(10)).all()
            beats = s.execute(select(Source.source, Source.kind, Source.last_seen)
                              .where(Source.site_id == self._site)
                              .order_by(Source.kind, Source.source)).all()
        return (int(backlog), int(dead),
                [(r[0] or "-", r[1], _utc(r[2])) for r in recent],
                [Heartbeat(r[0], r[1], _utc(r[2]) or r[2]) for r in beats])

    def acknowledge_alert(self, alert_id: str, user: str) -> bool:
        """Acknowledge an open alert of the site; False if there is none."""
        try:
            with self._sessions.begin() as s:
                res = s.execute(update(AlertRow).where(
                    AlertRow.id == alert_id.upper(), AlertRow.site == self._site,
                    AlertRow.acked_at.is_(None)).values(
                    acked_at=self._clock(), acked_by=user, next_escalation_at=None,
                    status="acked").execution_options(synchronize_session=False))
                return bool(getattr(res, "rowcount", 0))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot acknowledge alert {alert_id}: {exc}") from exc

    def record_label(self, wheel_id: str, label: LabelValue, note: str,
                     file_id: str | None, user: str) -> Label:
        """Store an inspection label (used later as training label)."""
        now = self._clock()
        try:
            with self._sessions.begin() as s:
                s.add(LabelRow(wheel_id=wheel_id, file_id=file_id, label=label, who=user,
                               note=note, labelled_at=now))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot record label for {wheel_id}: {exc}") from exc
        return Label(wheel_id, label, note, file_id, user, now)
