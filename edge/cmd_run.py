"""``wheel-edge run``: the unattended uploader (watch, map, convert, publish, clean up)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge.instance import InstanceLock
    from edge.uploader import Uploader
    from schemas.config import SiteConfig

NAME = "run"
HELP = "run the edge uploader: watch camera folders and publish every scan"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``run``."""
    parser.add_argument("--config", "-c", type=Path, required=True, metavar="FILE",
                        help="site config TOML")
    parser.add_argument("--once", action="store_true",
                        help="one round over every stage, then exit")
    parser.add_argument("--until-idle", type=float, default=None, metavar="S",
                        help="exit once nothing is left to do for S seconds (demo, tests)")
    parser.add_argument("--progress-s", type=float, default=5.0, metavar="S",
                        help="print progress per camera every S seconds (0 = never)")
    parser.epilog = ("Stops cleanly on SIGINT/SIGTERM; a kill at any moment loses nothing: "
                     "the pub tracker resumes. Exit codes: 0 ok, 1 failure, 2 config error.")


def progress_line(uploader: Uploader) -> str:
    """One line: per camera cleaned/backlog/quarantined."""
    parts = []
    for cam, info in sorted(uploader.tracker.status().items()):
        s = info["states"]
        parts.append(f"{cam}: {s['cleaned'] + s['confirmed']} published, "
                     f"{info['backlog']} waiting, {s['quarantined']} quarantined")
    return " | ".join(parts) or "no scans yet"


def _idle(uploader: Uploader) -> bool:
    busy = uploader.tracker.query(
        "SELECT COUNT(*) FROM files WHERE state IN ('discovered','converted','published')")
    return int(busy[0][0]) == 0 and not uploader.tracker.outbox_pending(limit=1)


class _AfterStep:
    """Run after every round: progress every ``progress_s`` s (0 = never); True (stop)
    once nothing was left to do for ``until_idle`` s (None = never)."""

    def __init__(self, uploader: Uploader, progress_s: float, until_idle: float | None) -> None:
        self.uploader, self.progress_s, self.until_idle = uploader, progress_s, until_idle
        self.last_progress = 0.0
        self.idle_since: float | None = None

    def __call__(self) -> bool:
        now = time.monotonic()
        if self.progress_s and now - self.last_progress >= self.progress_s:
            print(f"[edge] {progress_line(self.uploader)}", file=sys.stderr, flush=True)
            self.last_progress = now
        if self.until_idle is None:
            return False
        self.idle_since = (self.idle_since or now) if _idle(self.uploader) else None
        return self.idle_since is not None and now - self.idle_since >= self.until_idle


def _start(config: Path) -> tuple[SiteConfig, InstanceLock, Uploader] | int:
    """Config, instance lock and uploader; or the exit code after printing why not."""
    from edge.bootstrap import build_uploader
    from edge.cmd_validate import load_site_config
    from edge.instance import InstanceLock
    from schemas.errors import WheelWatchError

    cfg = load_site_config(config, checked=True)
    if cfg is None:
        return 2
    lock = InstanceLock(cfg.path(cfg.edge.tracker_path).with_suffix(".lock"))
    try:
        lock.acquire()
    except WheelWatchError as exc:
        print(f"wheel-edge: cannot start: {exc}", file=sys.stderr)
        return 1
    try:
        uploader = build_uploader(cfg)
    except WheelWatchError as exc:
        lock.release()  # ours: let the next start take it
        print(f"wheel-edge: cannot start: {exc}", file=sys.stderr)
        return 1
    return cfg, lock, uploader


def run(args: argparse.Namespace) -> int:
    """Start the uploader and loop until stopped."""
    from edge.watcher import FolderWatcher

    started = _start(args.config)
    if isinstance(started, int):
        return started
    cfg, lock, uploader = started
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()
        uploader.wake.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if args.once:
        try:
            uploader.step()
            print(progress_line(uploader))
        finally:
            uploader.transport.close()
            lock.release()
        return 0
    watcher = FolderWatcher([cfg.path(c.folder) for c in cfg.cameras], uploader.wake)
    watcher.start()
    try:
        uploader.run(stop, _AfterStep(uploader, args.progress_s, args.until_idle))
    finally:
        watcher.stop()
        uploader.transport.close()
        lock.release()
    print(f"[edge] stopped: {progress_line(uploader)}", file=sys.stderr)
    return 0
