"""Synthetic site data for the dashboard's demo, tests and benchmark.

Fills the real stores with their real table definitions:

- the DuckDB warehouse (``schemas/warehouse/tables.json``): ``wheel_scores`` and
  ``files``, generated with set-based SQL (a year of 100 wheels in seconds);
- the SQL store (``cloud.sql.models`` + ``cloud.alerts.tables``): wheels with their
  replacement history, recent runs and expected wheels, a small backlog, dead letters,
  heartbeats, grouped low-score alerts with their wheel items, one earlier label.

Wheels wear along a replacement cycle: the score falls slowly, drops under 70 near the
end of the cycle, the wheel is replaced and the score recovers. Noise is hash-based, so
a given spec gives the same data every time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
from sqlalchemy import Engine, insert

from cloud.alerts.tables import AlertItemRow, AlertRow
from cloud.sql.base import Base
from cloud.sql.models import DeadLetter, ExpectedWheel, Label, Run, Site, Source, TrackedFile
from cloud.sql.models import Wheel as WheelRow
from schemas.warehouse import duckdb_ddl, load_tables


@dataclass(frozen=True)
class SynthSpec:
    """Size and shape of the generated site."""

    site: str = "demo"
    trains: int = 2
    wheels_per_side: int = 8
    days: int = 30
    run_every_min: int = 5
    hours_per_day: int = 12
    end: datetime | None = None  # last operating day (default: today, UTC)
    alert_days: int = 1
    cycle_min_days: int = 60  # a wheel's life: cycle_min_days + (0 .. cycle_span_days)
    cycle_span_days: int = 120

    @property
    def runs_per_day(self) -> int:
        """Runs in one operating day."""
        return self.hours_per_day * 60 // self.run_every_min

    @property
    def wheels(self) -> int:
        """Wheels over all trains and both sides."""
        return self.trains * 2 * self.wheels_per_side

    @property
    def start(self) -> datetime:
        """07:00 UTC of the first operating day (default: the last day that has ended)."""
        end = self.end or datetime.now(UTC) - timedelta(hours=19, minutes=5)
        day0 = end.astimezone(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
        return day0 - timedelta(days=self.days - 1)


_WHEELS_SQL = """
CREATE OR REPLACE TEMP TABLE _w AS
SELECT i AS widx, 'T' || (1 + i // (2 * $wps)) AS train_id,
       CASE WHEN (i // $wps) % 2 = 0 THEN 'Cam_01' ELSE 'Cam_02' END AS camera,
       CASE WHEN (i // $wps) % 2 = 0 THEN 'left' ELSE 'right' END AS side,
       1 + i % $wps AS position,
       'T' || (1 + i // (2 * $wps)) || '-' || CASE WHEN (i // $wps) % 2 = 0 THEN 'L' ELSE 'R'
         END || lpad(CAST(1 + i % $wps AS VARCHAR), 2, '0') AS base_id,
       $cmin + (i * 37) % $cspan AS cycle_days, (i * 53) % 97 AS phase_days,
       60 + (i * 13) % 120 AS intensity_base
FROM range($nwheels) t(i)
"""

_RUNS_SQL = """
CREATE OR REPLACE TEMP TABLE _r AS
SELECT j AS ridx, 'T' || (1 + j % $ntrains) AS train_id,
       'R' || lpad(CAST(j AS VARCHAR), 7, '0') AS run_id,
       $start::TIMESTAMPTZ + to_days(CAST(j // $rpd AS INTEGER))
         + to_minutes(CAST((j % $rpd) * $every AS INTEGER)) AS t,
       j // $rpd AS day_idx
FROM range($nruns) t(j)
"""

_SCORES_SQL = """
INSERT INTO {ds}.wheel_scores BY NAME
SELECT w.camera || '-' || r.run_id || '-' || lpad(CAST(w.position AS VARCHAR), 2, '0')
         AS file_id,
       $site AS site_id, w.camera, w.side, w.train_id, r.run_id, r.ridx AS run_count,
       w.base_id || '-' || lpad(CAST(n.cycle_no AS VARCHAR), 2, '0') AS wheel_id, w.position,
       r.t + to_seconds(CAST(w.position * 2 AS BIGINT)) AS capture_time,
       r.t + to_seconds(CAST(w.position * 2 + 20 AS BIGINT)) AS received_at,
       r.t + to_seconds(CAST(w.position * 2 + 25 AS BIGINT)) AS scored_at,
       s.score, 'v1' AS model_version,
       CASE WHEN s.score < 70 THEN 'chunking' ELSE 'none' END AS defect,
       s.wear * 1000 AS loc_line, 100 + w.position * 3 AS loc_column,
       s.wear * 700 AS loc_along_mm, 20 + w.position AS loc_across_mm,
       45 - 3 * s.wear AS height_mean, 0.05 + s.wear ^ 3 AS height_std,
       44.7 - 3 * s.wear - 4 * s.wear ^ 3 AS height_p05, 45.3 - 3 * s.wear AS height_p95,
       w.intensity_base + 5 * s.noise AS intensity_mean, 12.0 AS intensity_std,
       0.985 AS valid_fraction, NULL AS csv_uri
FROM _r r JOIN _w w USING (train_id),
LATERAL (SELECT ((r.day_idx + w.phase_days) % w.cycle_days) / w.cycle_days AS wear,
                (r.day_idx + w.phase_days) // w.cycle_days AS cycle_no,
                (hash(r.ridx * 1000 + w.widx) % 2000) / 1000.0 - 1 AS noise) n,
LATERAL (SELECT greatest(0.0, least(100.0, 96 - 40 * n.wear ^ 4 + 2.5 * n.noise)) AS score,
                n.wear AS wear, n.noise AS noise) s
ORDER BY r.ridx, w.widx
"""

_FILES_SQL = """
INSERT INTO {ds}.files BY NAME
SELECT file_id, site_id, camera, wheel_id, train_id, run_id, capture_time,
       'written' AS state, 1 AS chunk_count, 2500000 AS payload_bytes,
       received_at AS first_chunk_at, received_at AS last_chunk_at,
       received_at AS assembled_at, received_at AS stored_at, scored_at,
       scored_at AS written_at, NULL AS error
FROM {ds}.wheel_scores WHERE site_id = $site
"""


def generate_warehouse(con: duckdb.DuckDBPyConnection, spec: SynthSpec,
                       ds: str = "wheelwatch") -> int:
    """Create the warehouse tables (if absent) and fill them; returns score rows."""
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {ds}")
    for table in load_tables().values():
        con.execute(duckdb_ddl(table, ds))
    con.execute(_WHEELS_SQL, {"wps": spec.wheels_per_side, "nwheels": spec.wheels,
                              "cmin": spec.cycle_min_days, "cspan": spec.cycle_span_days})
    con.execute(_RUNS_SQL, {"start": spec.start, "ntrains": spec.trains,
                            "rpd": spec.runs_per_day, "every": spec.run_every_min,
                            "nruns": spec.days * spec.runs_per_day})
    con.execute(_SCORES_SQL.replace("{ds}", ds), {"site": spec.site})
    con.execute(_FILES_SQL.replace("{ds}", ds), {"site": spec.site})
    row = con.execute(f"SELECT count(*) FROM {ds}.wheel_scores WHERE site_id = ?",
                      [spec.site]).fetchone()
    return int(row[0]) if row else 0


def _replacements(con: duckdb.DuckDBPyConnection, spec: SynthSpec) -> list[dict[str, Any]]:
    """One wheels row per physical wheel: a new wheel id from each replacement on."""
    rows = con.execute(
        """SELECT w.train_id, w.camera, w.position,
                  w.base_id || '-' || lpad(CAST((d.i + w.phase_days) // w.cycle_days
                                                AS VARCHAR), 2, '0') AS wheel_id,
                  min(d.i) AS first_day, w.widx
           FROM _w w, range($days) d(i)
           GROUP BY ALL ORDER BY w.widx, first_day""", {"days": spec.days}).fetchall()
    out: list[dict[str, Any]] = []
    prev_widx = -1
    for train_id, camera, position, wheel_id, day, widx in rows:
        at = spec.start + timedelta(days=int(day)) - timedelta(hours=1)
        if widx == prev_widx:
            out[-1]["replaced_at"] = at
        prev_widx = widx
        out.append({"site_id": spec.site, "train_id": train_id, "camera": camera,
                    "position": int(position), "wheel_id": wheel_id,
                    "installed_at": at, "replaced_at": None})
    return out


def _alerts(con: duckdb.DuckDBPyConnection, spec: SynthSpec, ds: str,
            last: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows = con.execute(
        f"""SELECT train_id, run_id, camera, side, wheel_id, position, score, defect,
                   scored_at, date_trunc('hour', capture_time) AS hr
            FROM {ds}.wheel_scores WHERE site_id = ? AND score < 70 AND capture_time >= ?
            QUALIFY row_number() OVER (PARTITION BY train_id, hr, wheel_id
                                       ORDER BY capture_time) = 1
            ORDER BY hr, train_id, wheel_id""",
        [spec.site, last - timedelta(days=spec.alert_days)]).fetchall()
    alerts: dict[tuple[str, datetime], dict[str, Any]] = {}
    items: list[dict[str, Any]] = []
    for train_id, run_id, camera, side, wheel_id, pos, score, defect, at, hr in rows:
        key = (train_id, hr)
        if key not in alerts:
            aid = f"{hr:%j%H}{train_id[-1]}"[-6:].upper()
            acked = at < last - timedelta(hours=2)
            alerts[key] = {
                "id": aid, "site": spec.site, "kind": "pass", "run_id": run_id,
                "train_id": train_id, "severity": 2, "created_at": at,
                "title": f"{train_id}: wheel(s) under 70", "level": 1,
                "status": "acked" if acked else "open",
                "acked_at": at + timedelta(minutes=10) if acked else None,
                "acked_by": "crew" if acked else None, "dispatch": "sent"}
        alert = alerts[key]
        if score < 50:
            alert["severity"] = 3
        items.append({"site": spec.site, "group_key": f"{run_id}:{train_id}",
                      "run_id": run_id, "train_id": train_id, "kind": "wheel",
                      "cond_key": f"wheel:{wheel_id}", "camera": camera, "side": side,
                      "wheel_id": wheel_id, "position": pos, "score": score,
                      "defect": defect, "severity": alert["severity"], "created_at": at,
                      "state": "sent", "alert_id": alert["id"]})
    for a in alerts.values():
        wheels = sorted({i["wheel_id"] for i in items if i["alert_id"] == a["id"]})
        a["title"] = f"{a['train_id']}: {len(wheels)} wheel(s) under 70: {', '.join(wheels)}"
    return list(alerts.values()), items


def _recent(con: duckdb.DuckDBPyConnection, spec: SynthSpec, ds: str,
            last: datetime) -> dict[str, list[dict[str, Any]]]:
    rows = con.execute(
        f"""SELECT run_id, train_id, min(capture_time), max(capture_time),
                   list(struct_pack(camera, wheel_id, position, file_id) ORDER BY file_id)
            FROM {ds}.wheel_scores WHERE site_id = ? AND capture_time >= ?
            GROUP BY run_id, train_id ORDER BY 3""",
        [spec.site, last - timedelta(hours=3)]).fetchall()
    runs, expected = [], []
    for run_id, train_id, t0, t1, wheels in rows:
        runs.append({"site_id": spec.site, "run_id": run_id, "train_id": train_id,
                     "tag": f"TAG-{train_id}", "pass_start": t0, "pass_end": t1,
                     "received_at": t1, "problems": "[]", "completed_at": t1})
        for w in wheels:
            expected.append({"site_id": spec.site, "run_id": run_id, "camera": w["camera"],
                             "wheel_id": w["wheel_id"], "position": w["position"],
                             "file_id": w["file_id"], "state": "expected",
                             "deadline": t1 + timedelta(minutes=10)})
    if expected:  # one file the camera never produced, in the latest pass
        expected[-1].update(file_id=None, state="missing", missing_reason="not produced")
    return {"runs": runs, "expected": expected}


def generate_sql(con: duckdb.DuckDBPyConnection, engine: Engine, spec: SynthSpec,
                 ds: str = "wheelwatch") -> None:
    """Fill the SQL store (after :func:`generate_warehouse` on the same connection)."""
    Base.metadata.create_all(engine)
    row = con.execute(f"SELECT max(capture_time) FROM {ds}.wheel_scores WHERE site_id = ?",
                      [spec.site]).fetchone()
    last: datetime = row[0] if row and row[0] else spec.start
    alerts, items = _alerts(con, spec, ds, last)
    recent = _recent(con, spec, ds, last)
    backlog = [{"file_id": f"Cam_01-LATE-{i}", "site_id": spec.site, "camera": "Cam_01",
                "wheel_id": "T1-L01", "train_id": "T1", "run_id": "LATE",
                "capture_time": last, "chunk_count": 2, "payload_bytes": 1, "raw_bytes": 1,
                "sha256": "0" * 64, "state": "receiving", "first_chunk_at": last,
                "last_chunk_at": last} for i in range(2)]
    dead = [{"subscription": "cam-01-sub", "message_id": f"m{i}", "file_id": f"bad{i}",
             "reason": "sha256 mismatch", "attributes": "{}",
             "received_at": last - timedelta(minutes=30 * i)} for i in range(2)]
    sources = [{"site_id": spec.site, "kind": k, "source": s, "last_seen": last}
               for k, s in (("edge", f"edge-{spec.site}"), ("camera", "Cam_01"),
                            ("camera", "Cam_02"))]
    first = con.execute("SELECT wheel_id FROM " + ds + ".wheel_scores WHERE site_id = ? "
                        "ORDER BY capture_time DESC LIMIT 1", [spec.site]).fetchone()
    label = {"wheel_id": first[0] if first else "T1-L01", "file_id": None, "label": "good",
             "who": "crew",
             "note": "checked at night maintenance", "labelled_at": last - timedelta(days=1)}
    with engine.begin() as c:
        c.execute(insert(Site), [{"id": spec.site, "created_at": spec.start}])
        c.execute(insert(WheelRow), _replacements(con, spec))
        for model, values in ((Run, recent["runs"]), (ExpectedWheel, recent["expected"]),
                              (TrackedFile, backlog), (DeadLetter, dead), (Source, sources),
                              (Label, [label]), (AlertRow, alerts), (AlertItemRow, items)):
            if values:
                c.execute(insert(model), values)
