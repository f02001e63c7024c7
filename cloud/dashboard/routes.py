"""Pages, actions and JSON API of the dashboard.

Every id in a URL is checked against a strict pattern (anything else is a 404 before
any query runs); every query takes its values as parameters. Reading needs a signed-in
user; acknowledging and labelling need the crew role and the session's CSRF token.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Form, Header, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from starlette.responses import Response

from cloud.dashboard import charts
from cloud.dashboard.app import DashboardDeps, NeedLogin, current_user, safe_next
from cloud.dashboard.auth import User, csrf_ok
from cloud.dashboard.ports import IMAGE_KINDS, LabelValue

router = APIRouter()

WHEEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
FILE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
ALERT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
NOTE_MAX = 500


def _deps(request: Request) -> DashboardDeps:
    deps: DashboardDeps = request.app.state.deps
    return deps


def _checked(value: str, pattern: re.Pattern[str]) -> str:
    if not pattern.fullmatch(value) or ".." in value:
        raise HTTPException(status_code=404, detail="not found")
    return value


def _user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise NeedLogin()
    return user


def _crew(request: Request, token: str | None) -> User:
    user = _user(request)
    if not user.can_act:
        raise HTTPException(status_code=403, detail="crew role required")
    if not csrf_ok(getattr(request.state, "csrf", ""), token):
        raise HTTPException(status_code=403, detail="bad or missing CSRF token")
    return user


def _render(request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> Response:
    deps = _deps(request)
    base = {"user": current_user(request), "csrf": getattr(request.state, "csrf", ""),
            "site": deps.site, "threshold": deps.threshold,
            "severity": lambda score, defect="none": charts.severity(
                score, defect, deps.threshold, deps.severity)}
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request, name, {**base, **ctx}, status_code=status)


# -- pages ------------------------------------------------------------------------------
@router.get("/")
def fleet_page(request: Request) -> Response:
    """Fleet: every wheel's latest score, wheel × run heatmaps, wheels under 70 per day."""
    _user(request)
    d = _deps(request)
    tiles = d.queries.fleet()
    trains: dict[str, dict[str, list[Any]]] = {}
    for t in tiles:
        trains.setdefault(t.train_id, {}).setdefault(t.side or "-", []).append(t)
    figs = {f"heatmap-{h.train_id}": charts.fleet_heatmap(h, d.threshold)
            for h in d.queries.heatmaps(d.cfg.heatmap_runs)}
    figs["under"] = charts.under_threshold(
        d.queries.under_threshold_by_day(d.threshold, d.cfg.trend_days), d.threshold)
    alerts = d.queries.alerts(open_only=True, wheel_id=None, limit=10)
    under = sum(1 for t in tiles if t.score < d.threshold)
    return _render(request, "fleet.html", {"trains": trains, "figs": figs, "alerts": alerts,
                                           "n_wheels": len(tiles), "n_under": under})


@router.get("/wheels/{wheel_id}")
def wheel_page(request: Request, wheel_id: str, page: int = 1, alert: str = "") -> Response:
    """One wheel: trends, replacements, alerts, labels and its scans with images."""
    _user(request)
    wheel_id = _checked(wheel_id, WHEEL_ID)
    d = _deps(request)
    tile = d.queries.wheel(wheel_id)
    if tile is None:
        raise HTTPException(status_code=404, detail="no such wheel")
    page = max(1, min(page, 100_000))
    per = d.cfg.scans_per_page
    runs = d.queries.wheel_runs(wheel_id, d.cfg.trend_runs)
    days = d.queries.wheel_days(wheel_id, d.cfg.trend_days)
    repl = d.queries.replacements(wheel_id)
    scans, total = d.queries.scans(wheel_id, (page - 1) * per, per)
    figs = {"score-runs": charts.wheel_score_runs(runs, d.threshold, repl),
            "score-days": charts.wheel_score_days(days, d.threshold, repl),
            "heights": charts.wheel_heights(runs, repl),
            "intensity": charts.wheel_intensity(days, runs)}
    focus = alert if ALERT_ID.fullmatch(alert or "") else ""
    return _render(request, "wheel.html", {
        "w": tile, "figs": figs, "replacements": repl, "scans": scans, "total": total,
        "page": page, "pages": max(1, -(-total // per)), "kinds": IMAGE_KINDS,
        "with_images": d.images.available([s.file_id for s in scans]),
        "labels": d.queries.labels(wheel_id, 20), "focus": focus,
        "alerts": d.queries.alerts(open_only=False, wheel_id=wheel_id, limit=20)})


@router.get("/data-health")
def health_page(request: Request) -> Response:
    """Data health: cameras, passes, backlog, dead letters, heartbeats, open alerts."""
    _user(request)
    d = _deps(request)
    return _render(request, "health.html", {
        "h": d.queries.data_health(20),
        "alerts": d.queries.alerts(open_only=True, wheel_id=None, limit=100)})


@router.get("/alerts/{alert_id}")
def open_alert(request: Request, alert_id: str) -> Response:
    """The link in an SMS/email: the first wheel of the alert, or the data-health page."""
    _user(request)
    alert = _deps(request).queries.alert(_checked(alert_id, ALERT_ID))
    if alert is None:
        raise HTTPException(status_code=404, detail="no such alert")
    if alert.wheel_ids and WHEEL_ID.fullmatch(alert.wheel_ids[0]):
        return RedirectResponse(f"/wheels/{alert.wheel_ids[0]}?alert={alert.alert_id}", 303)
    return RedirectResponse(f"/data-health#alert-{alert.alert_id}", 303)


@router.get("/scans/{file_id}/{kind}.png")
def scan_image(request: Request, file_id: str, kind: str) -> Response:
    """A scan's heatmap / range / intensity image."""
    _user(request)
    file_id = _checked(file_id, FILE_ID)
    if kind not in IMAGE_KINDS:
        raise HTTPException(status_code=404, detail="not found")
    png = _deps(request).images.image(file_id, kind)  # type: ignore[arg-type]
    if png is None:
        raise HTTPException(status_code=404, detail="no image")
    return Response(png, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=3600"})


# -- actions (forms) --------------------------------------------------------------------
@router.post("/alerts/{alert_id}/ack")
def ack_form(request: Request, alert_id: str, csrf: str = Form(""),
             next: str = Form("/data-health")) -> Response:
    """Acknowledge an alert (crew), then go back."""
    user = _crew(request, csrf)
    alert_id = _checked(alert_id, ALERT_ID)
    if not _deps(request).actions.acknowledge_alert(alert_id, user.name):
        raise HTTPException(status_code=404, detail="no such open alert")
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/wheels/{wheel_id}/labels")
def label_form(request: Request, wheel_id: str, label: str = Form(""), note: str = Form(""),
               file_id: str = Form(""), csrf: str = Form("")) -> Response:
    """Record an inspection label (crew), then show the wheel again."""
    user = _crew(request, csrf)
    _record(request, _checked(wheel_id, WHEEL_ID), label, note, file_id, user)
    return RedirectResponse(f"/wheels/{wheel_id}#labels", status_code=303)


def _record(request: Request, wheel_id: str, label: str, note: str, file_id: str,
            user: User) -> dict[str, Any]:
    if label not in ("good", "bad"):
        raise HTTPException(status_code=422, detail="label must be good or bad")
    if len(note) > NOTE_MAX:
        raise HTTPException(status_code=422, detail=f"note longer than {NOTE_MAX} characters")
    if file_id and not FILE_ID.fullmatch(file_id):
        raise HTTPException(status_code=422, detail="bad file id")
    d = _deps(request)
    if d.queries.wheel(wheel_id) is None:
        raise HTTPException(status_code=404, detail="no such wheel")
    value: LabelValue = "good" if label == "good" else "bad"
    return asdict(d.actions.record_label(wheel_id, value, note.strip(), file_id or None,
                                         user.name))


# -- JSON API ---------------------------------------------------------------------------
@router.get("/api/fleet")
def api_fleet(request: Request) -> dict[str, Any]:
    """Latest score of every wheel."""
    _user(request)
    return {"wheels": [asdict(t) for t in _deps(request).queries.fleet()]}


@router.get("/api/wheels/{wheel_id}")
def api_wheel(request: Request, wheel_id: str) -> dict[str, Any]:
    """One wheel: latest state, recent runs, replacements, labels, alerts."""
    _user(request)
    wheel_id = _checked(wheel_id, WHEEL_ID)
    q = _deps(request).queries
    tile = q.wheel(wheel_id)
    if tile is None:
        raise HTTPException(status_code=404, detail="no such wheel")
    return {"wheel": asdict(tile),
            "runs": [asdict(r) for r in q.wheel_runs(wheel_id, 100)],
            "replacements": [asdict(r) for r in q.replacements(wheel_id)],
            "labels": [asdict(lb) for lb in q.labels(wheel_id, 20)],
            "alerts": [asdict(a) for a in q.alerts(open_only=False, wheel_id=wheel_id,
                                                   limit=20)]}


@router.get("/api/wheels/{wheel_id}/scans")
def api_scans(request: Request, wheel_id: str, offset: int = 0,
              limit: int = 20) -> dict[str, Any]:
    """A page of a wheel's scans."""
    _user(request)
    scans, total = _deps(request).queries.scans(
        _checked(wheel_id, WHEEL_ID), max(0, offset), max(1, min(limit, 100)))
    return {"total": total, "scans": [asdict(s) for s in scans]}


@router.get("/api/data-health")
def api_health(request: Request) -> dict[str, Any]:
    """Pipeline health."""
    _user(request)
    return asdict(_deps(request).queries.data_health(20))


@router.get("/api/alerts")
def api_alerts(request: Request, open_only: bool = True) -> dict[str, Any]:
    """Alerts, newest first."""
    _user(request)
    return {"alerts": [asdict(a) for a in _deps(request).queries.alerts(
        open_only=open_only, wheel_id=None, limit=200)]}


@router.post("/api/alerts/{alert_id}/ack")
def api_ack(request: Request, alert_id: str,
            x_csrf_token: str | None = Header(default=None)) -> dict[str, Any]:
    """Acknowledge an alert (crew, ``X-CSRF-Token`` header)."""
    user = _crew(request, x_csrf_token)
    alert_id = _checked(alert_id, ALERT_ID)
    if not _deps(request).actions.acknowledge_alert(alert_id, user.name):
        raise HTTPException(status_code=404, detail="no such open alert")
    return {"ok": True, "alert_id": alert_id, "by": user.name}


class LabelIn(BaseModel):
    """Body of a label posted to the API."""

    label: str = Field(pattern="^(good|bad)$")
    note: str = Field(default="", max_length=NOTE_MAX)
    file_id: str = ""


@router.post("/api/wheels/{wheel_id}/labels")
def api_label(request: Request, wheel_id: str, body: LabelIn,
              x_csrf_token: str | None = Header(default=None)) -> dict[str, Any]:
    """Record an inspection label (crew, ``X-CSRF-Token`` header)."""
    user = _crew(request, x_csrf_token)
    return _record(request, _checked(wheel_id, WHEEL_ID), body.label, body.note,
                   body.file_id, user)
