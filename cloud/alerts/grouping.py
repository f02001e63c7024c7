"""Grouping and de-duplication: ONE alert per pass and train, nothing twice per interval.

A pass group (site, run, train) collects pending items until it is flushed: on
RunComplete, or by :func:`due_groups` once its oldest item is ``grace_s`` old. On flush,
items whose condition was already sent within the repeat interval are suppressed; the
rest become one "pass" alert; "wheel_ok" items resolve their conditions and become one
short "resolution" alert.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud.alerts.rules import RuleContext, due, touch_condition
from cloud.alerts.severity import Severity
from cloud.alerts.tables import AlertItemRow, AlertRow, ConditionRow
from cloud.alerts.texts import Line

NewId = Callable[[Session], str]


def line_of(item: AlertItemRow, with_image: bool) -> Line:
    """The text row of an item (``image_cid`` set when a heatmap will be attached)."""
    detail = json.loads(item.detail or "{}")
    has_img = with_image and (item.heatmap_png is not None or item.heatmap_uri is not None)
    return Line(
        kind=item.kind, wheel_id=item.wheel_id, camera=item.camera, side=item.side,
        position=item.position, score=item.score, defect=item.defect,
        severity=Severity(item.severity), location=detail.get("location") or {},
        note=str(detail.get("reason", "")), image_cid=f"heatmap-{item.id}" if has_img else None,
        file_id=str(detail.get("file_id") or ""),
    )


def headline(items: Sequence[AlertItemRow]) -> str:
    """``2 bad wheels, 1 missing file`` style summary."""
    bad = sum(1 for i in items if i.kind == "wheel")
    missing = sum(1 for i in items if i.kind == "missing")
    ok = sum(1 for i in items if i.kind == "wheel_ok")
    parts = []
    if bad:
        parts.append(f"{bad} bad wheel{'s' if bad > 1 else ''}")
    if missing:
        parts.append(f"{missing} missing file{'s' if missing > 1 else ''}")
    if ok:
        parts.append(f"{ok} wheel{'s' if ok > 1 else ''} OK again")
    return ", ".join(parts) or "no wheels"


def new_alert(
    s: Session, new_id: NewId, *, site: str, kind: str, severity: Severity, title: str,
    now: datetime, run_id: str | None = None, train_id: str | None = None,
    parent_id: str | None = None, escalate_after: timedelta | None = None,
) -> AlertRow:
    """Insert an alert row (texts are filled in by the service before dispatch)."""
    informative = kind in ("resolution", "undeliverable")
    row = AlertRow(
        id=new_id(s), site=site, kind=kind, run_id=run_id, train_id=train_id,
        severity=int(severity), title=title[:300], created_at=now, level=1,
        status="info" if informative else "open", dispatch="pending", parent_id=parent_id,
        next_escalation_at=None if informative or escalate_after is None else now + escalate_after,
    )
    s.add(row)
    s.flush()
    return row


def flush_group(s: Session, gk: str, ctx: RuleContext, new_id: NewId, now: datetime
                ) -> list[str]:
    """Turn the pending items of one pass group into at most one alert + one resolution."""
    items = list(s.scalars(select(AlertItemRow).where(
        AlertItemRow.group_key == gk, AlertItemRow.state == "pending").order_by(AlertItemRow.id)))
    if not items:
        return []
    first = items[0]
    created: list[str] = []
    send: list[AlertItemRow] = []
    for item in (i for i in items if i.kind != "wheel_ok"):
        cond = touch_condition(s, item.cond_key, site=item.site, kind=item.kind,
                               summary=f"{item.kind} {item.wheel_id}", now=now)
        if due(cond, now, ctx.repeat):
            send.append(item)
        else:
            item.state = "suppressed"
    if send:
        worst = max(Severity(i.severity) for i in send)
        alert = new_alert(
            s, new_id, site=first.site, kind="pass", severity=worst,
            title=headline(send), now=now, run_id=first.run_id, train_id=first.train_id,
            escalate_after=timedelta(seconds=ctx.cfg.escalate_after_s),
        )
        for item in send:
            item.state, item.alert_id = "sent", alert.id
            sent = s.get(ConditionRow, item.cond_key)
            assert sent is not None
            sent.active, sent.last_sent_at, sent.last_alert_id = True, now, alert.id
            sent.resolved_at = None
        created.append(alert.id)
    oks = [i for i in items if i.kind == "wheel_ok"]
    if oks:
        created.extend(_resolve_items(s, oks, new_id, now))
    return created


def _resolve_items(s: Session, oks: list[AlertItemRow], new_id: NewId, now: datetime
                   ) -> list[str]:
    parents: list[str] = []
    for item in oks:
        cond = s.get(ConditionRow, item.cond_key)
        if cond is not None and cond.active:
            resolve_condition(s, cond, now)
            if cond.last_alert_id:
                parents.append(cond.last_alert_id)
    first = oks[0]
    alert = new_alert(s, new_id, site=first.site, kind="resolution", severity=Severity.WATCH,
                      title=headline(oks), now=now, run_id=first.run_id,
                      train_id=first.train_id, parent_id=parents[0] if parents else None)
    for item in oks:
        item.state, item.alert_id = "sent", alert.id
    return [alert.id]


def resolve_condition(s: Session, cond: ConditionRow, now: datetime) -> None:
    """Mark a condition resolved; an alert whose conditions are all resolved is resolved."""
    cond.active, cond.resolved_at = False, now
    if not cond.last_alert_id:
        return
    alert = s.get(AlertRow, cond.last_alert_id)
    if alert is None or alert.status not in ("open", "acked"):
        return
    keys = set(s.scalars(select(AlertItemRow.cond_key).where(
        AlertItemRow.alert_id == alert.id)))
    still = [k for k in keys if (c := s.get(ConditionRow, k)) is not None and c.active]
    if not still:
        alert.status, alert.resolved_at, alert.next_escalation_at = "resolved", now, None


def due_groups(s: Session, now: datetime, grace: timedelta) -> list[str]:
    """Pass groups whose oldest pending item waited ``grace`` without a RunComplete."""
    q = (select(AlertItemRow.group_key, func.min(AlertItemRow.created_at))
         .where(AlertItemRow.state == "pending").group_by(AlertItemRow.group_key))
    out = []
    for gk, oldest in s.execute(q):
        if not isinstance(oldest, datetime):  # func.min bypasses the column type on SQLite
            oldest = datetime.fromisoformat(str(oldest))
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=now.tzinfo)
        if now - oldest >= grace:
            out.append(gk)
    return out
