"""Alert rules: what each pipeline event means for the crew.

- a wheel scored below the threshold -> a pending "wheel" item of its pass group
  (severity from score band and defect class); scored good while its condition is
  active -> a "wheel_ok" item (wheel replaced: resolution);
- a missing file -> a pending "missing" item; a late arrival removes it, or resolves it;
- an edge/camera gone silent, a pipeline error that stops scoring -> an immediate alert
  (at most once per repeat interval); the source back -> a resolution.

Pass items stay pending until :mod:`cloud.alerts.grouping` flushes the group.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.alerts.severity import Severity, wheel_severity
from cloud.alerts.tables import AlertItemRow, ConditionRow
from cloud.domain_events import FileArrivedLate, FileMissing, WheelScored
from schemas.config.alerts import AlertsConfig

# (train_id, camera, wheel_id) -> (side, 1-based position) from the site's wheel map
WheelLocator = Callable[[str, str, str], tuple[str, int] | None]
# the scorer's heatmap of a scored wheel: PNG bytes, a blob URI, or None
HeatmapLookup = Callable[[WheelScored], bytes | str | None]


@dataclass(frozen=True)
class RuleContext:
    """Config and collaborators the rules need."""

    cfg: AlertsConfig
    locate: WheelLocator | None = None
    heatmap: HeatmapLookup | None = None

    @property
    def repeat(self) -> timedelta:
        """The repeat interval."""
        return timedelta(seconds=self.cfg.repeat_interval_s)


def group_key(site: str, run_id: str, train_id: str) -> str:
    """Key of one pass of one train (the grouping unit)."""
    return f"{site}|{run_id}|{train_id}"


def wheel_cond(site: str, train_id: str, camera: str, wheel_id: str) -> str:
    """Condition key of a bad wheel (the same wheel across passes)."""
    return f"wheel|{site}|{train_id}|{camera}|{wheel_id}"


def missing_cond(site: str, camera: str, wheel_id: str) -> str:
    """Condition key of a wheel whose file goes missing."""
    return f"missing|{site}|{camera}|{wheel_id}"


def source_cond(site: str, kind: str, source: str) -> str:
    """Condition key of a silent edge or camera."""
    return f"source|{site}|{kind}|{source}"


def pipeline_cond(site: str, where: str) -> str:
    """Condition key of a pipeline stage that stopped scoring."""
    return f"pipeline|{site}|{where}"


def due(cond: ConditionRow | None, now: datetime, repeat: timedelta) -> bool:
    """Whether the condition may be sent now (new, resolved, or repeat interval passed)."""
    if cond is None or not cond.active or cond.last_sent_at is None:
        return True
    return now - cond.last_sent_at >= repeat


def _pending(s: Session, gk: str, camera: str, wheel_id: str, kinds: tuple[str, ...]
             ) -> AlertItemRow | None:
    q = select(AlertItemRow).where(
        AlertItemRow.group_key == gk, AlertItemRow.state == "pending",
        AlertItemRow.camera == camera, AlertItemRow.wheel_id == wheel_id,
        AlertItemRow.kind.in_(kinds),
    )
    return s.scalars(q).first()


def on_wheel_scored(s: Session, ev: WheelScored, ctx: RuleContext, now: datetime) -> None:
    """Bad wheel -> pending item; good wheel with an active condition -> resolution item."""
    gk = group_key(ev.site, ev.run_id, ev.train_id)
    key = wheel_cond(ev.site, ev.train_id, ev.camera, ev.wheel_id)
    item = _pending(s, gk, ev.camera, ev.wheel_id, ("wheel", "wheel_ok"))
    if ev.score >= ctx.cfg.threshold:
        cond = s.get(ConditionRow, key)
        if item is not None and item.kind == "wheel":
            s.delete(item)  # re-scored good within the same pass
            item = None
        if cond is None or not cond.active or item is not None:
            return
        severity = Severity.WATCH
        kind = "wheel_ok"
    else:
        severity = wheel_severity(ev.score, ev.defect, ctx.cfg.severity)
        kind = "wheel"
    if item is None:
        item = AlertItemRow(site=ev.site, group_key=gk, run_id=ev.run_id, train_id=ev.train_id,
                            camera=ev.camera, wheel_id=ev.wheel_id, created_at=now)
        s.add(item)
    heat = ctx.heatmap(ev) if ctx.heatmap and kind == "wheel" else None
    item.kind, item.cond_key, item.severity = kind, key, int(severity)
    item.side, item.position, item.score, item.defect = ev.side, ev.position, ev.score, ev.defect
    item.detail = json.dumps({"location": ev.location, "file_id": ev.file_id,
                              "model_version": ev.model_version,
                              "capture_time": ev.capture_time.isoformat()})
    item.heatmap_png = heat if isinstance(heat, bytes) else None
    item.heatmap_uri = heat if isinstance(heat, str) else None


def on_file_missing(s: Session, ev: FileMissing, ctx: RuleContext, now: datetime) -> None:
    """A file that did not arrive -> pending "missing" item of its pass."""
    gk = group_key(ev.site, ev.run_id, ev.train_id)
    if _pending(s, gk, ev.camera, ev.wheel_id, ("missing",)) is not None:
        return
    where = ctx.locate(ev.train_id, ev.camera, ev.wheel_id) if ctx.locate else None
    side, position = where if where else ("", None)
    s.add(AlertItemRow(
        site=ev.site, group_key=gk, run_id=ev.run_id, train_id=ev.train_id, kind="missing",
        cond_key=missing_cond(ev.site, ev.camera, ev.wheel_id), camera=ev.camera, side=side,
        position=position, wheel_id=ev.wheel_id, defect="",
        severity=int(Severity.parse(ctx.cfg.severity.missing_file)),
        detail=json.dumps({"reason": ev.reason}), created_at=now,
    ))


def on_file_arrived_late(s: Session, ev: FileArrivedLate, now: datetime) -> ConditionRow | None:
    """Drop the pending "missing" item; return the condition to resolve if it was sent."""
    q = select(AlertItemRow).where(
        AlertItemRow.run_id == ev.run_id, AlertItemRow.site == ev.site,
        AlertItemRow.camera == ev.camera, AlertItemRow.wheel_id == ev.wheel_id,
        AlertItemRow.kind == "missing", AlertItemRow.state == "pending",
    )
    for item in s.scalars(q):
        item.state = "dropped"
    cond = s.get(ConditionRow, missing_cond(ev.site, ev.camera, ev.wheel_id))
    return cond if cond is not None and cond.active else None


def touch_condition(
    s: Session, key: str, *, site: str, kind: str, summary: str, now: datetime
) -> ConditionRow:
    """Get or create the condition row and mark it seen now (active)."""
    cond = s.get(ConditionRow, key)
    if cond is None:
        cond = ConditionRow(key=key, site=site, kind=kind, summary=summary, active=False,
                            first_seen=now, last_seen=now)
        s.add(cond)
    cond.last_seen = now
    cond.summary = summary[:300]
    return cond
