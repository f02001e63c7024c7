"""Read-only look at the cloud's relational store while the worker runs (any SQL backend).

The demo decides from here when everything it played has gone all the way through:
every expected file written, every pass complete, every domain event handed to alerting
and every alert sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from cloud.alerts.tables import AlertItemRow, AlertRow
from cloud.sql.models import OutboxEvent, Run, TrackedFile


@dataclass(frozen=True)
class Progress:
    """How far the cloud is with the passes that started at or after ``since``."""

    received: int = 0
    written: int = 0
    rejected: int = 0
    runs: int = 0
    runs_complete: int = 0
    events_pending: int = 0
    alerts_sent: int = 0
    alerts_pending: int = 0
    items_pending: int = 0

    def settled(self, files: int, passes: int) -> bool:
        """Everything expected is written, every pass complete, every alert sent."""
        return (self.written + self.rejected >= files and self.runs >= passes
                and self.runs_complete >= passes and self.events_pending == 0
                and self.alerts_pending == 0 and self.items_pending == 0)

    def line(self, files: int, passes: int) -> str:
        """One progress line."""
        return (f"cloud received {self.received}/{files}, scored+written {self.written}"
                f"{f', rejected {self.rejected}' if self.rejected else ''}"
                f" | passes {self.runs_complete}/{passes} complete"
                f" | alerts sent {self.alerts_sent}")


def _count(s: Session, stmt: object) -> int:
    return int(s.scalar(stmt) or 0)  # type: ignore[call-overload]


def progress(sessions: sessionmaker[Session], since: datetime) -> Progress:
    """Counts for runs/files captured at or after ``since`` (a SQL error gives zeros)."""
    try:
        with sessions() as s:
            files = dict(s.execute(
                select(TrackedFile.state, func.count()).where(TrackedFile.capture_time >= since)
                .group_by(TrackedFile.state)).all())
            runs = s.execute(select(Run.completed_at).where(Run.pass_start >= since)).all()
            pending = _count(s, select(func.count()).select_from(OutboxEvent)
                             .where(OutboxEvent.delivered_at.is_(None)))
            alerts = dict(s.execute(select(AlertRow.dispatch, func.count())
                                    .where(AlertRow.created_at >= since)
                                    .group_by(AlertRow.dispatch)).all())
            items = _count(s, select(func.count()).select_from(AlertItemRow)
                           .where(AlertItemRow.state == "pending"))
    except SQLAlchemyError:
        return Progress()
    return Progress(
        received=sum(int(n) for n in files.values()), written=int(files.get("written", 0)),
        rejected=int(files.get("rejected", 0)), runs=len(runs),
        runs_complete=sum(1 for (done,) in runs if done is not None),
        events_pending=pending, alerts_sent=int(alerts.get("sent", 0)),
        alerts_pending=int(alerts.get("pending", 0)) + int(alerts.get("sending", 0)),
        items_pending=items)
