"""Fault-suite harness: a small site on disk, the real programs as child processes
(``wheel-edge run``, ``wheel-cloud run``), the simulator as the cameras, and the figures
every scenario ends with (files in, stored, scores, duplicates, lost, quarantined, alerts).

Timings are compressed through the config's environment overrides
(``WHEELWATCH__<SECTION>__<KEY>``), so a scenario of many passes runs in seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from cloud.demo.plan import DemoPlan
from cloud.demo.site import Backends, build_site
from edge.simulator.site import PassRecord, SiteSimulator
from schemas.config import SiteConfig, load_config

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "faults"
REPORTED: list[str] = []  # figure lines of this session (printed in the pytest summary)
SMALL = DemoPlan(trains=2, wheels_per_side=2, passes=("T1", "T2"), defects=(), drop=None,
                 lines_per_rev=240, width=160, gap_s=120.0, pace_s=0.0)
FAST_ENV = {
    "WHEELWATCH__EDGE__STABLE_S": "0.2",
    "WHEELWATCH__EDGE__RESCAN_S": "0.3",
    "WHEELWATCH__EDGE__PASS_CLOSE_S": "1.0",
    "WHEELWATCH__EDGE__HEARTBEAT_S": "2",
    "WHEELWATCH__EDGE__MIN_FREE_MB": "1",
    "WHEELWATCH__EDGE__WARN_FREE_MB": "2",
    "WHEELWATCH__EDGE__RETRY_INITIAL_S": "0.2",
    "WHEELWATCH__EDGE__RETRY_MAX_S": "1.0",
    "WHEELWATCH__CLOUD__MONITOR__INTERVAL_S": "0.5",
    "WHEELWATCH__CLOUD__MONITOR__FILE_TIMEOUT_S": "60",
    "WHEELWATCH__ALERTS__GRACE_S": "2",
    "WHEELWATCH__ALERTS__DELIVERY__BACKOFF_S": "0.05",
}


def model_dir() -> Path:
    """The shipped model (models/default), else a tiny one built once (cached)."""
    shipped = REPO / "models" / "default"
    if (shipped / "metadata.json").exists():
        return shipped
    import hashlib
    code = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(
        (REPO / "models").rglob("*.py")))).hexdigest()[:12]
    tiny = ARTIFACTS / f"model-tiny-{code}"  # rebuilt when the model code changes
    if not (tiny / "metadata.json").exists():
        subprocess.run([sys.executable, "-m", "models.build_default", "--out", str(tiny),
                        "--good", "12", "--bad", "4", "-q"], cwd=REPO, check=True,
                       timeout=900, env={**os.environ, "PYTHONPATH": str(REPO)})
    return tiny


def wait_for(cond: Callable[[], bool], timeout: float = 60.0, step: float = 0.1) -> bool:
    """Poll ``cond`` until it is true or ``timeout`` seconds passed."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


@dataclass
class Figures:
    """The line every scenario ends with."""

    scenario: str
    files_in: int = 0
    files_stored: int = 0
    scores_written: int = 0
    duplicates: int = 0
    lost: int = 0
    quarantined: int = 0
    alerts_sent: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """``FIGURES scenario ...`` (printed, and appended to test-artifacts)."""
        return (f"FIGURES {self.scenario}: files in {self.files_in}, stored {self.files_stored},"
                f" scores {self.scores_written}, duplicates {self.duplicates}, lost {self.lost},"
                f" quarantined {self.quarantined}, alerts sent {self.alerts_sent}"
                + (f" | {json.dumps(self.notes, default=str)}" if self.notes else ""))

    def report(self) -> None:
        """Print the line and keep it in test-artifacts/faults/figures.jsonl."""
        print("\n" + self.line(), flush=True)
        REPORTED.append(self.line())
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with open(ARTIFACTS / "figures.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"at": datetime.now(UTC).isoformat(), **asdict(self)},
                                default=str) + "\n")


class Proc:
    """One real program in the background, output to a log file."""

    def __init__(self, name: str, argv: list[str], log: Path, env: Mapping[str, str]) -> None:
        self.name, self.log = name, log
        self._fh: IO[bytes] = open(log, "ab")  # noqa: SIM115 (closed in wait/stop)
        self.p = subprocess.Popen(argv, stdout=self._fh, stderr=subprocess.STDOUT,
                                  env=dict(env), cwd=REPO)

    def alive(self) -> bool:
        """Still running."""
        return self.p.poll() is None

    def kill(self) -> int:
        """SIGKILL (the crash under test); returns the exit status."""
        self.p.send_signal(signal.SIGKILL)
        code = self.p.wait(30)
        self._fh.close()
        return code

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM and wait; SIGKILL after ``timeout`` (returns None then)."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            code: int | None = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            code = None
        self._fh.close()
        return code

    def wait(self, timeout: float) -> int:
        """Wait for a program that ends by itself (``--until-idle``)."""
        code = self.p.wait(timeout)
        self._fh.close()
        return code

    def tail(self, n: int = 30) -> str:
        """Last lines of its log (for assertion messages)."""
        lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])


class FaultSite:
    """A small two-camera site under ``root`` with compressed timings."""

    def __init__(self, root: Path, plan: DemoPlan = SMALL, backends: Backends | None = None,
                 env: Mapping[str, str] | None = None, seed: int = 5) -> None:
        self.root = root.resolve()
        self.plan = plan
        build_site(self.root, plan, backends or Backends())
        self.cfg_path = self.root / "site.toml"
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO),
                    **FAST_ENV,
                    "WHEELWATCH__CLOUD__MODEL_DIR": str(model_dir()), **(env or {})}
        self.sim = SiteSimulator.from_config(self.cfg(), seed=seed, width=plan.width)
        self.records: list[PassRecord] = []
        self.procs: list[Proc] = []
        self.t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        self.extra_in: set[tuple[str, str]] = set()

    def cfg(self) -> SiteConfig:
        """The config as the programs see it (with the environment overrides)."""
        return load_config(self.cfg_path, environ=self.env)

    # -- the cameras -------------------------------------------------------------------
    def play(self, train: str, n: int | None = None, *, start: datetime | None = None,
             **kw: Any) -> PassRecord:
        """Write pass number ``n`` (default: the next one) of ``train``, like the cameras."""
        n = len(self.records) if n is None else n
        when = start or self.t0 + timedelta(seconds=self.plan.gap_s * n)
        rec = self.sim.run_pass(train, when, **kw)
        self.records.append(rec)
        return rec

    def expected(self) -> set[tuple[str, str]]:
        """(camera, .dat name) of every scan the cameras wrote, plus extra files."""
        return {(f.camera_id, f.file) for r in self.records for f in r.files
                if not f.dropped} | self.extra_in

    # -- the programs ------------------------------------------------------------------
    def _argv(self, module: str, *args: str) -> list[str]:
        return [sys.executable, "-m", module, *args, "--config", str(self.cfg_path)]

    def provision(self) -> None:
        """``wheel-cloud provision``."""
        out = subprocess.run(self._argv("cloud.cli", "provision"), env=self.env, cwd=REPO,
                             capture_output=True, text=True, timeout=120, check=False)
        assert out.returncode == 0, out.stdout + out.stderr

    def start(self, which: str, *extra: str, env: Mapping[str, str] | None = None) -> Proc:
        """Start ``wheel-edge run`` (``edge``) or ``wheel-cloud run`` (``cloud``)."""
        (self.root / "logs").mkdir(exist_ok=True)
        if which == "edge":
            argv = [sys.executable, "-m", "edge.cli", "run", "--config", str(self.cfg_path),
                    "--progress-s", "0", *extra]
        else:
            argv = self._argv("cloud.cli", "run", *extra)
        proc = Proc(which, argv, self.root / "logs" / f"{which}.log",
                    {**self.env, **(env or {})})
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        """SIGTERM every program still running."""
        for p in reversed(self.procs):
            if p.alive():
                p.stop()

    # -- what the cloud holds ---------------------------------------------------------
    def sessions(self) -> Any:
        """SQLAlchemy sessions of the cloud's relational store."""
        from cloud import bootstrap
        return bootstrap.build_db(self.cfg())[1]

    def states(self) -> Counter[str]:
        """Cloud sub-tracker states."""
        from sqlalchemy import func, select

        from cloud.sql.models import TrackedFile
        try:
            with self.sessions()() as s:
                return Counter(dict(s.execute(select(TrackedFile.state, func.count())
                                              .group_by(TrackedFile.state)).all()))
        except Exception:  # the store may not exist yet
            return Counter()

    def written(self) -> int:
        """Files the cloud has written to the warehouse."""
        return self.states().get("written", 0)

    def edge_quarantined(self) -> set[tuple[str, str]]:
        """(camera, .dat name) in the edge's quarantine, from the reason files."""
        out: set[tuple[str, str]] = set()
        qdir = self.cfg().path(self.cfg().edge.quarantine_dir)
        for note in qdir.glob("*/*.reason.txt"):
            for line in note.read_text().splitlines():
                if line.startswith("files: "):
                    out |= {(note.parent.name, n.strip()) for n in line[7:].split(",")
                            if n.strip().endswith(".dat") or "." not in n.strip()}
        return out

    def edge_reasons(self) -> list[str]:
        """Every quarantine reason the edge wrote."""
        qdir = self.cfg().path(self.cfg().edge.quarantine_dir)
        return [line[8:] for note in sorted(qdir.glob("*/*.reason.txt"))
                for line in note.read_text().splitlines() if line.startswith("reason: ")]

    def stored_sources(self) -> Counter[tuple[str, str]]:
        """(camera, source .dat name) of every scan row the cloud stored (with counts)."""
        from sqlalchemy import select

        from cloud.sql.models import Scan
        with self.sessions()() as s:
            rows = s.execute(select(Scan.camera, Scan.sources)).all()
        out: Counter[tuple[str, str]] = Counter()
        for cam, sources in rows:
            names = [n for n in json.loads(sources) if n.endswith(".dat")] or ["?"]
            out[(cam, names[0])] += 1
        return out

    def blob_csvs(self) -> list[Path]:
        """CSV objects in the local blob store."""
        cfg = self.cfg()
        return [p for p in cfg.path(cfg.cloud.blob_dir).rglob("*.csv")
                if not p.name.startswith(".")]

    def warehouse_ids(self) -> list[str]:
        """file_id of every raw row of the warehouse's wheel_scores table."""
        from cloud import bootstrap
        wh = bootstrap.build_warehouse(self.cfg())
        try:
            return [str(r["file_id"]) for r in wh.query("SELECT file_id FROM {ds}.wheel_scores")]
        finally:
            close = getattr(wh, "close", None)
            if callable(close):
                close()

    def alerts(self) -> Counter[str]:
        """Alerts by dispatch state."""
        from sqlalchemy import func, select

        from cloud.alerts.tables import AlertRow
        try:
            with self.sessions()() as s:
                return Counter(dict(s.execute(select(AlertRow.dispatch, func.count())
                                              .group_by(AlertRow.dispatch)).all()))
        except Exception:
            return Counter()

    def cloud_rejected(self) -> int:
        """Files the cloud rejected plus messages it dead-lettered without a file."""
        from sqlalchemy import func, select

        from cloud.sql.models import DeadLetter
        with self.sessions()() as s:
            dead = int(s.scalar(select(func.count(func.distinct(DeadLetter.message_id)))) or 0)
        return dead

    def figures(self, scenario: str, **notes: Any) -> Figures:
        """Count everything end to end; ``lost`` = scans neither stored nor quarantined."""
        expected = self.expected()
        stored = self.stored_sources()
        quarantined = self.edge_quarantined()
        wh = self.warehouse_ids()
        csvs = self.blob_csvs()
        dup = (sum(n - 1 for n in stored.values()) + (len(wh) - len(set(wh)))
               + (len(csvs) - len({p.name for p in csvs})))
        lost = sorted(expected - set(stored) - quarantined)
        fig = Figures(scenario, files_in=len(expected), files_stored=sum(stored.values()),
                      scores_written=len(set(wh)), duplicates=dup, lost=len(lost),
                      quarantined=len(quarantined) + self.cloud_rejected(),
                      alerts_sent=self.alerts().get("sent", 0), notes=dict(notes))
        if lost:
            fig.notes["lost_files"] = lost[:10]
        return fig
