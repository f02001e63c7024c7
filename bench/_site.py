"""A benchmark site: demo-style config, the real programs as child processes, and a
scan *player* that makes pre-simulated scan pairs appear in the camera folders at a
chosen rate (so simulating scans does not compete with the pipeline for the CPU).

Each played pass is a copy of a template pass (simulated once per train) under new
capture times, with its RFID tag read appended to the reader's log first.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from cloud.demo.plan import DemoPlan, train_tag
from cloud.demo.site import build_site
from edge.simulator.scan import scan_stem
from edge.simulator.site import SiteSimulator
from schemas.config import SiteConfig, load_config

REPO = Path(__file__).resolve().parents[1]
FAST = {
    "WHEELWATCH__EDGE__STABLE_S": "0.05", "WHEELWATCH__EDGE__RESCAN_S": "0.5",
    "WHEELWATCH__EDGE__PASS_CLOSE_S": "1.0", "WHEELWATCH__EDGE__HEARTBEAT_S": "5",
    "WHEELWATCH__EDGE__MIN_FREE_MB": "1", "WHEELWATCH__EDGE__WARN_FREE_MB": "2",
    "WHEELWATCH__EDGE__RETENTION": "delete",
    "WHEELWATCH__CLOUD__MONITOR__INTERVAL_S": "2",
    "WHEELWATCH__ALERTS__GRACE_S": "2",
}


def model_dir() -> Path:
    """The shipped model, else the tiny one the fault suite builds (and caches)."""
    shipped = REPO / "models" / "default"
    if (shipped / "metadata.json").exists():
        return shipped
    from tests.faults.harness import model_dir as tiny
    return tiny()


@dataclass
class Template:
    """One simulated pass: (camera, position, wheel, .dat bytes, .xml bytes) in order."""

    train: str
    files: list[tuple[str, int, str, bytes, bytes]]


@dataclass
class BenchSite:
    """Site folder, environment, running programs, and what was played when."""

    root: Path
    plan: DemoPlan
    env: dict[str, str] = field(default_factory=dict)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    released: dict[str, float] = field(default_factory=dict)  # .dat name -> wall time
    templates: dict[str, Template] = field(default_factory=dict)
    sim_t0: datetime = field(default_factory=lambda: datetime.now(UTC).replace(
        microsecond=0) - timedelta(days=1))
    passes: int = 0
    _logs: list[IO[bytes]] = field(default_factory=list)
    _sessions: Any = None  # the cloud store's session factory, built once

    @classmethod
    def create(cls, root: Path, plan: DemoPlan, env: Mapping[str, str] | None = None
               ) -> BenchSite:
        """Build the site, its environment and one template pass per train."""
        build_site(root, plan)
        site = cls(root.resolve(), plan)
        site.env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO), **FAST,
                    "WHEELWATCH__CLOUD__MODEL_DIR": str(model_dir()), **(env or {})}
        stage = root.parent / f"{root.name}-templates"
        build_site(stage, plan)
        cfg = load_config(stage / "site.toml", environ={})
        sim = SiteSimulator.from_config(cfg, seed=plan.seed, width=plan.width)
        for k, train in enumerate(plan.train_ids()):
            rec = sim.run_pass(train, site.sim_t0 - timedelta(hours=1 + k))
            site.templates[train] = Template(train, [
                (f.camera_id, f.position, f.wheel_id,
                 (stage / f.camera_id / f.file).read_bytes(),
                 (stage / f.camera_id / f.file.replace(".dat", ".xml")).read_bytes())
                for f in rec.files])
        shutil.rmtree(stage)
        return site

    def cfg(self) -> SiteConfig:
        """The config as the programs see it."""
        return load_config(self.root / "site.toml", environ=self.env)

    def start(self, module: str, *args: str) -> subprocess.Popen[bytes]:
        """Start ``python -m module args --config site.toml`` with output to logs/."""
        log = open(self.root / "logs" / f"{module}.log", "ab")  # noqa: SIM115
        self._logs.append(log)
        p = subprocess.Popen([sys.executable, "-m", module, *args, "--config",
                              str(self.root / "site.toml")], env=self.env, cwd=REPO,
                             stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def provision(self) -> None:
        """``wheel-cloud provision``."""
        subprocess.run([sys.executable, "-m", "cloud.cli", "provision", "--config",
                        str(self.root / "site.toml")], env=self.env, cwd=REPO, check=True,
                       capture_output=True, timeout=300)

    def stop(self) -> None:
        """SIGTERM every program, then wait."""
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
        for log in self._logs:
            log.close()

    def play_pass(self, gap_s: float) -> int:
        """Make the next pass appear: RFID read, then each scan pair ``gap_s`` apart."""
        train = self.plan.train_ids()[self.passes % self.plan.trains]
        start = self.sim_t0 + timedelta(seconds=180 * self.passes)
        self.passes += 1
        rfid = self.root / "rfid" / f"rfid_{start:%Y%m%d}.csv"
        with open(rfid, "a", encoding="utf-8") as fh:
            fh.write(f"{start.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z,RFID_01,"
                     f"{train_tag(int(train[1:]))}\n")
        n = 0
        for cam, pos, _wheel, dat, xml in self.templates[train].files:
            when = start + timedelta(seconds=3 + 0.8 * (pos - 1) + (0.007 if cam == "Cam_02"
                                                                      else 0))
            stem = scan_stem(cam, when)
            folder = self.root / cam
            for ext, data in ((".dat", dat), (".xml", xml)):  # .xml last: the pair is there
                tmp = folder / f".{stem}{ext}.part"
                tmp.write_bytes(data)
                os.replace(tmp, folder / f"{stem}{ext}")
            self.released[f"{stem}.dat"] = time.time()
            n += 1
            if gap_s > 0:
                time.sleep(gap_s)
        return n

    def written(self) -> dict[str, float]:
        """.dat name -> wall time its score was written to the warehouse."""
        from sqlalchemy import select

        from cloud import bootstrap
        from cloud.sql.models import Scan, TrackedFile
        try:
            if self._sessions is None:  # not per poll: engine + migration check cost CPU
                self._sessions = bootstrap.build_db(self.cfg())[1]
            with self._sessions() as s:
                rows = s.execute(select(Scan.sources, TrackedFile.written_at).join(
                    TrackedFile, TrackedFile.file_id == Scan.file_id).where(
                    TrackedFile.written_at.is_not(None))).all()
        except Exception:  # the store is still being created
            return {}
        out = {}
        for sources, at in rows:
            name = next((n for n in json.loads(sources) if n.endswith(".dat")), None)
            if name and at is not None:
                out[name] = (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
        return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a running process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for an empty list."""
    if not values:
        return math.nan
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))]


def latencies(site: BenchSite, names: list[str]) -> list[float]:
    """Seconds from appearing to written, for the given scans that are written."""
    done = site.written()
    return [done[n] - site.released[n] for n in names if n in done]


def rows_note(**kw: Any) -> str:
    """Compact ``k=v`` note text."""
    return ", ".join(f"{k}={v}" for k, v in kw.items())
