"""What the demo produced, read back from the cloud's stores, and its printed summary.

Everything comes from the backends the config names (warehouse: DuckDB or BigQuery;
relational store: SQLite or PostgreSQL), so the same report works for the embedded run
and for the Google Cloud run against emulators. The simulator's ground truth
(``truth/passes.jsonl``) says which wheels really carry a defect.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloud.alerts.tables import AlertRow, DeliveryRow
from cloud.ports import Warehouse
from cloud.sql.models import ExpectedWheel, Run

THRESHOLD = 70.0


@dataclass(frozen=True)
class ScoreRow:
    """One scored scan from the warehouse."""

    file_id: str
    camera: str
    wheel_id: str
    train_id: str
    run_id: str
    position: int | None
    score: float
    defect: str
    along_mm: float | None
    across_mm: float | None
    model_version: str


@dataclass(frozen=True)
class AlertInfo:
    """One message to the crew and where it went."""

    alert_id: str
    kind: str
    severity: int
    title: str
    sms: str
    dispatch: str
    delivered: list[str]  # "channel:recipient" of successful deliveries


@dataclass
class DemoReport:
    """Everything the summary shows (also written to ``demo/summary.json``)."""

    mode: str
    backends: str
    seconds: float = 0.0
    runs: list[dict[str, Any]] = field(default_factory=list)
    scores: list[ScoreRow] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)
    alerts: list[AlertInfo] = field(default_factory=list)
    truth_bad: dict[str, str] = field(default_factory=dict)  # wheel -> defect kinds
    truth_dropped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def bad_scans(self) -> list[ScoreRow]:
        """Scans under the alert limit, lowest score first."""
        return sorted((r for r in self.scores if r.score < THRESHOLD), key=lambda r: r.score)

    def to_json(self) -> str:
        """JSON form (for the e2e comparison and for people)."""
        return json.dumps(asdict(self), indent=1, default=str)


def _utc(t: Any) -> datetime:
    if isinstance(t, str):
        t = datetime.fromisoformat(t.replace("Z", "+00:00"))
    assert isinstance(t, datetime)
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _opt(v: Any) -> float | None:
    return None if v is None else float(v)


def read_scores(warehouse: Warehouse, since: datetime) -> list[ScoreRow]:
    """Warehouse ``wheel_scores`` rows captured at or after ``since``."""
    rows = warehouse.query(
        "SELECT file_id, camera, wheel_id, train_id, run_id, position, capture_time, score, "
        "defect, loc_along_mm, loc_across_mm, model_version FROM {ds}.wheel_scores")
    out = [ScoreRow(str(r["file_id"]), str(r["camera"]), str(r["wheel_id"]),
                    str(r["train_id"]), str(r["run_id"]),
                    None if r["position"] is None else int(r["position"]),
                    float(r["score"]), str(r["defect"]), _opt(r["loc_along_mm"]),
                    _opt(r["loc_across_mm"]), str(r["model_version"]))
           for r in rows if _utc(r["capture_time"]) >= since]
    return sorted(out, key=lambda r: (r.run_id, r.camera, r.position or 0, r.file_id))


def read_sql(sessions: sessionmaker[Session], since: datetime, wall_start: datetime
             ) -> tuple[list[dict[str, Any]], list[dict[str, str]], list[AlertInfo]]:
    """Runs, missing files and alerts of this demo run from the relational store."""
    with sessions() as s:
        runs = [{"run_id": r.run_id, "train_id": r.train_id, "run_count": r.run_count,
                 "complete": r.completed_at is not None, "problems": json.loads(r.problems)}
                for r in s.scalars(select(Run).where(Run.pass_start >= since)
                                   .order_by(Run.pass_start))]
        missing = [{"run_id": w.run_id, "camera": w.camera, "wheel_id": w.wheel_id,
                    "reason": w.missing_reason or ""}
                   for w in s.scalars(select(ExpectedWheel).join(
                       Run, (Run.run_id == ExpectedWheel.run_id)
                       & (Run.site_id == ExpectedWheel.site_id))
                       .where(Run.pass_start >= since, ExpectedWheel.state == "missing")
                       .order_by(ExpectedWheel.run_id, ExpectedWheel.camera,
                                 ExpectedWheel.position))]
        alerts = []
        for a in s.scalars(select(AlertRow).where(AlertRow.created_at >= wall_start)
                           .order_by(AlertRow.created_at, AlertRow.id)):
            ok = s.scalars(select(DeliveryRow).where(DeliveryRow.alert_id == a.id,
                                                     DeliveryRow.ok.is_(True))).all()
            alerts.append(AlertInfo(a.id, a.kind, a.severity, a.title, a.sms_text, a.dispatch,
                                    sorted({f"{d.channel}:{d.recipient}" for d in ok})))
    return runs, missing, alerts


def read_truth(truth_file: Path, since: datetime) -> tuple[dict[str, str], list[str]]:
    """Wheels that really carry defects, and the files the cameras did not write."""
    bad: dict[str, set[str]] = {}
    dropped: list[str] = []
    if not truth_file.exists():
        return {}, []
    for line in truth_file.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if _utc(rec["rfid_time"]) < since:
            continue
        for f in rec["files"]:
            if f.get("dropped"):
                dropped.append(f"{f['wheel_id']} ({f['camera_id']}, pass {rec['pass_no']})")
            for d in f.get("defects") or []:
                bad.setdefault(f["wheel_id"], set()).add(str(d.get("kind", "?")))
    return {w: "+".join(sorted(k)) for w, k in sorted(bad.items())}, dropped


def _loc(r: ScoreRow) -> str:
    if r.along_mm is None and r.across_mm is None:
        return "location n/a"
    along = "?" if r.along_mm is None else f"{r.along_mm:.0f}"
    across = "?" if r.across_mm is None else f"{r.across_mm:.0f}"
    return f"at {along} mm around, {across} mm across the tread"


def _minutes(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"


def _n(count: int, word: str) -> str:
    """``1 wheel``, ``2 wheels``, ``2 passes``."""
    plural = word + ("es" if word.endswith("s") else "s")
    return f"{count} {word if count == 1 else plural}"


def _bad_lines(rep: DemoReport) -> list[str]:
    worst: dict[str, ScoreRow] = {}
    kinds: dict[str, list[str]] = {}
    for r in rep.bad_scans():
        worst.setdefault(r.wheel_id, r)
        if r.defect not in kinds.setdefault(r.wheel_id, []):
            kinds[r.wheel_id].append(r.defect)
    lines = [f"  wheels under {THRESHOLD:.0f}: {_n(len(worst), 'wheel')} "
             f"({_n(len(rep.bad_scans()), 'scan')})"]
    for w, r in worst.items():
        n = sum(x.wheel_id == w for x in rep.bad_scans())
        lines.append(f"    {w:<8} {r.camera} pos {r.position or '?':>2}  score {r.score:5.1f}  "
                     f"{'/'.join(kinds[w])} {_loc(r)}  (under {THRESHOLD:.0f} in {_n(n, 'pass')})")
    return lines


def _truth_lines(rep: DemoReport) -> list[str]:
    flagged = {r.wheel_id for r in rep.bad_scans()}
    bad = set(rep.truth_bad)
    found, missed, false = bad & flagged, sorted(bad - flagged), sorted(flagged - bad)
    kinds = ", ".join(f"{k} {w}" for w, k in rep.truth_bad.items())
    line = (f"  ground truth:    {_n(len(bad), 'wheel')} with a defect ({kinds}): "
            f"{len(found)} flagged, {len(missed)} missed{f' {missed}' if missed else ''}; "
            f"{_n(len(false), 'good wheel')} flagged{f' {false}' if false else ''}")
    return [line]


def _alert_lines(rep: DemoReport) -> list[str]:
    lines = [f"  alerts sent:     {sum(a.dispatch == 'sent' for a in rep.alerts)} "
             f"of {len(rep.alerts)}"]
    for a in rep.alerts:
        to = ", ".join(a.delivered) or "not delivered"
        lines.append(f"    [{a.alert_id}] {a.kind} ({a.dispatch}) → {to}")
        if a.sms:
            lines += [f"      SMS: {t}" for t in a.sms.splitlines()]
    return lines


def format_report(rep: DemoReport, config: Path, dashboard_cmd: str) -> str:
    """The summary the demo prints at the end."""
    trains = Counter(str(r["train_id"]) for r in rep.runs)
    complete = sum(bool(r["complete"]) for r in rep.runs)
    wheels = {r.wheel_id for r in rep.scores}
    models = sorted({r.model_version for r in rep.scores}) or ["-"]
    out = [
        f"WheelWatch demo summary ({rep.mode}; {rep.backends} backends; config {config})",
        f"  passes:          {len(rep.runs)} ("
        + ", ".join(f"{t} ×{n}" for t, n in sorted(trains.items())) + f"), {complete} complete",
        f"  wheels scored:   {len(rep.scores)} scans of {len(wheels)} wheels "
        f"(model {', '.join(models)})",
        *_bad_lines(rep),
        *_truth_lines(rep),
        f"  files missing:   {len(rep.missing)}"
        + "".join(f"\n    {m['wheel_id']} ({m['camera']}) in {m['run_id']}: {m['reason']}"
                  for m in rep.missing)
        + (f"\n    (simulator dropped: {', '.join(rep.truth_dropped)})"
           if rep.truth_dropped else ""),
        *_alert_lines(rep),
        f"  time taken:      {_minutes(rep.seconds)}",
        f"  dashboard:       {dashboard_cmd}",
    ]
    if rep.problems:
        out.append("  PROBLEMS:")
        out += [f"    - {p}" for p in rep.problems]
    return "\n".join(out)
