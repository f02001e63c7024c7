"""Play the demo: site, provision, workers, simulated passes, wait, stop, summary."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cloud.demo.plan import DemoPlan
from cloud.demo.probe import Progress, progress
from cloud.demo.procs import Child, DemoError, child_env, program, run_once, warnings_in
from cloud.demo.site import (
    SECRET_FILE,
    Backends,
    build_site,
    is_demo_dir,
    read_dashboard_login,
    reset_site,
)
from cloud.demo.summary import DemoReport, read_scores, read_sql, read_truth
from schemas.config import SiteConfig, load_config

Say = Callable[[str], None]


@dataclass
class DemoOptions:
    """How to run the demo."""

    root: Path = Path("demo")
    plan: DemoPlan = field(default_factory=DemoPlan)
    backends: Backends = field(default_factory=Backends)
    env: Mapping[str, str] = field(default_factory=dict)  # for the programs (emulators...)
    keep: bool = False  # continue an earlier demo instead of resetting it
    start: datetime | None = None  # first tag read (default: just before now)
    timeout_s: float = 900.0
    poll_s: float = 2.0
    say: Say = print


def _last_pass_time(root: Path) -> datetime | None:
    truth = root / "truth" / "passes.jsonl"
    if not truth.exists():
        return None
    lines = [x for x in truth.read_text(encoding="utf-8").splitlines() if x.strip()]
    if not lines:
        return None
    return datetime.fromisoformat(json.loads(lines[-1])["rfid_time"].replace("Z", "+00:00"))


def prepare(opts: DemoOptions) -> tuple[SiteConfig, str, datetime]:
    """Reset or continue ``opts.root``; returns config, mode text and first pass time."""
    root, plan = opts.root, opts.plan
    now = datetime.now(UTC).replace(microsecond=0)
    start = opts.start or now - timedelta(seconds=plan.gap_s * len(plan.passes) + 60)
    last = _last_pass_time(root) if is_demo_dir(root) else None
    if opts.keep and last is not None and (root / "site.toml").exists():
        cfg = load_config(root / "site.toml")
        start = max(start, last + timedelta(seconds=plan.gap_s))
        return cfg, f"continuing the earlier demo in {root}/ (its data stay)", start
    if root.exists():
        reset_site(root)
        mode = f"reset: removed the earlier demo in {root}/"
        if opts.keep:
            mode += " (nothing to continue)"
    else:
        mode = f"fresh demo site in {root}/"
    return build_site(root, plan, opts.backends), mode, start


def _sim_argv(cfg_path: Path, plan: DemoPlan, train: str, when: datetime, pass_no: int,
              inject: bool) -> list[str]:
    argv = program("edge.simulator.cli", "pass", "--config", str(cfg_path), "--train", train,
                   "--start", when.isoformat(), "--width", str(plan.width),
                   "--seed", str(plan.seed), "--pace", str(plan.pace_s), "-q")
    if inject:
        for wheel, kind in plan.defects:
            argv += ["--inject", f"{wheel}:{kind}:{plan.defect_size}"]
    for wheel in plan.dropped_in(pass_no):
        argv += ["--drop", wheel]
    return argv


class Demo:
    """One demo run (see :func:`run_demo`)."""

    def __init__(self, opts: DemoOptions) -> None:
        self.o = opts
        self.root = opts.root.resolve()
        self.cfg_path = self.root / "site.toml"
        self.env = child_env(opts.env)
        self.t0 = time.monotonic()
        self.wall0 = datetime.now(UTC)
        self.children: list[Child] = []

    def say(self, text: str) -> None:
        """Progress output with the elapsed time."""
        self.o.say(f"[{time.monotonic() - self.t0:5.0f} s] {text}")

    def log(self, name: str) -> Path:
        """Log file of a program."""
        return self.root / "logs" / f"{name}.log"

    def start_workers(self) -> None:
        """Provision, then start the cloud worker and the edge uploader."""
        cfg = str(self.cfg_path)
        self.say("provisioning: wheel-cloud provision (queues, blob store, database, warehouse)")
        run_once("wheel-cloud provision", program("cloud.cli", "provision", "--config", cfg),
                 self.log("provision"), self.env)
        for name, argv in (("cloud", program("cloud.cli", "run", "--config", cfg)),
                           ("edge", program("edge.cli", "run", "--config", cfg))):
            child = Child(f"wheel-{name} run", argv, self.log(name), self.env)
            child.start()
            self.children.append(child)
            self.say(f"started wheel-{name} run (pid {child.pid}; log {child.log})")

    def play(self, start: datetime, inject: bool) -> None:
        """Write every pass with the simulator, as the cameras and RFID reader would."""
        plan = self.o.plan
        for k, train in enumerate(plan.passes, start=1):
            when = start + timedelta(seconds=plan.gap_s * (k - 1))
            run_once(f"wheel-sim pass {k}", _sim_argv(self.cfg_path, plan, train, when, k,
                                                      inject and k == 1),
                     self.log("simulator"), self.env)
            dropped = plan.dropped_in(k)
            self.say(f"pass {k}/{len(plan.passes)}: train {train} tag read {when:%H:%M:%S}Z, "
                     f"{plan.files_per_pass() - len(dropped)} scans written"
                     + (f" (camera wrote no file for {', '.join(dropped)})" if dropped else ""))
            for c in self.children:
                c.check()

    def wait(self, sessions: object, since: datetime) -> Progress:
        """Poll the cloud's store until everything went through (or the timeout)."""
        from sqlalchemy.orm import Session, sessionmaker

        assert isinstance(sessions, sessionmaker)
        sess: sessionmaker[Session] = sessions
        plan = self.o.plan
        files, passes = plan.expected_files(), len(plan.passes)
        deadline = time.monotonic() + self.o.timeout_s
        shown, last_line = 0.0, ""
        while True:
            p = progress(sess, since)
            line = p.line(files, passes)
            now = time.monotonic()
            if p.settled(files, passes):
                self.say(line + " — done")
                return p
            if (line != last_line and now - shown >= 5) or now - shown >= 30:
                self.say(line)
                shown, last_line = now, line
            for c in self.children:
                c.check()
            if now > deadline:
                raise DemoError(f"not finished after {self.o.timeout_s:.0f} s: {line}; "
                                f"logs in {self.root / 'logs'}" + self._warnings())
            time.sleep(self.o.poll_s)

    def _warnings(self) -> str:
        found = [f"\n    {c.name}: {w}" for c in self.children for w in warnings_in(c.log)]
        return "; last warnings:" + "".join(found) if found else ""

    def stop(self) -> list[str]:
        """SIGTERM the edge, then the cloud worker; problems if one did not stop cleanly."""
        problems = []
        for child in reversed(self.children):
            code = child.stop()
            if code != 0:
                what = "was killed after ignoring SIGTERM" if code is None else f"exit {code}"
                problems.append(f"{child.name} {what}; see {child.log}")
            else:
                self.say(f"stopped {child.name} (SIGTERM, clean exit)")
        self.children.clear()
        return problems


def run_demo(opts: DemoOptions) -> DemoReport:
    """Run the whole demo; returns the report (``problems`` lists what went wrong)."""
    from cloud import bootstrap

    cfg, mode, start = prepare(opts)
    demo = Demo(opts)
    demo.say(mode)
    report = DemoReport(mode=mode, backends=opts.backends.name)
    since = start - timedelta(seconds=1)
    try:
        demo.start_workers()
        _, sessions = bootstrap.build_db(cfg)
        demo.play(start, inject=not mode.startswith("continuing"))
        demo.wait(sessions, since)
    except DemoError as exc:
        report.problems.append(str(exc))
    finally:
        report.problems += demo.stop()
    _, sessions = bootstrap.build_db(cfg)
    report.scores = read_scores(bootstrap.build_warehouse(cfg), since)
    report.runs, report.missing, report.alerts = read_sql(sessions, since, demo.wall0)
    report.truth_bad, report.truth_dropped = read_truth(
        demo.root / "truth" / "passes.jsonl", since)
    report.seconds = time.monotonic() - demo.t0
    (demo.root / "summary.json").write_text(report.to_json(), encoding="utf-8")
    return report


def dashboard_command(config: Path) -> str:
    """The command that opens the dashboard on this data (and how to sign in)."""
    exe = Path(sys.executable).parent / "wheel-cloud"
    try:
        shown = exe.relative_to(Path.cwd()) if exe.exists() else None
    except ValueError:
        shown = exe
    prog = str(shown) if shown is not None else f"{sys.executable} -m cloud.cli"
    root = config.parent
    login = read_dashboard_login(root)
    secret = f"WHEELWATCH_DASHBOARD_SECRET=$(cat {root / SECRET_FILE}) "
    cmd = f"{secret if login else ''}{prog} dashboard --config {config}"
    if login:
        cmd += (f"\n                   then open http://127.0.0.1:8080 and sign in as "
                f"{login['user']} / {login['password']}")
    return cmd
