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


def progress_line(uploader: object) -> str:
    """One line: per camera cleaned/backlog/quarantined."""
    from edge.uploader import Uploader

    assert isinstance(uploader, Uploader)
    parts = []
    for cam, info in sorted(uploader.tracker.status().items()):
        s = info["states"]
        parts.append(f"{cam}: {s['cleaned'] + s['confirmed']} published, "
                     f"{info['backlog']} waiting, {s['quarantined']} quarantined")
    return " | ".join(parts) or "no scans yet"


def _idle(uploader: object) -> bool:
    from edge.uploader import Uploader

    assert isinstance(uploader, Uploader)
    busy = uploader.tracker.query(
        "SELECT COUNT(*) FROM files WHERE state IN ('discovered','converted','published')")
    return int(busy[0][0]) == 0 and not uploader.tracker.outbox_pending(limit=1)


def _loop(uploader: object, args: argparse.Namespace, stop: threading.Event) -> None:
    from edge.uploader import Uploader

    assert isinstance(uploader, Uploader)
    last_progress, idle_since = 0.0, None
    while not stop.is_set():
        try:
            uploader.step()
        except Exception:  # the service must outlive any single failure
            log.exception("uploader step failed; retrying")
        now = time.monotonic()
        if args.progress_s and now - last_progress >= args.progress_s:
            print(f"[edge] {progress_line(uploader)}", file=sys.stderr, flush=True)
            last_progress = now
        if args.until_idle is not None:
            idle_since = (idle_since or now) if _idle(uploader) else None
            if idle_since is not None and now - idle_since >= args.until_idle:
                break
        uploader.wake.wait(uploader._wait_s())
        uploader.wake.clear()


def run(args: argparse.Namespace) -> int:
    """Start the uploader and loop until stopped."""
    from edge.bootstrap import build_uploader
    from edge.cmd_validate import edge_checks
    from edge.instance import InstanceLock
    from edge.watcher import FolderWatcher
    from schemas.config import load_config
    from schemas.errors import ConfigError, WheelWatchError

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"wheel-edge: {args.config}: {exc}", file=sys.stderr)
        return 2
    for key, reason in edge_checks(cfg):
        print(f"wheel-edge: {args.config}: config error at '{key}': {reason}", file=sys.stderr)
        return 2
    lock = InstanceLock(cfg.path(cfg.edge.tracker_path).with_suffix(".lock"))
    try:
        lock.acquire()
        uploader = build_uploader(cfg)
    except WheelWatchError as exc:
        print(f"wheel-edge: cannot start: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()
        uploader.wake.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if args.once:
        uploader.step()
        print(progress_line(uploader))
        lock.release()
        return 0
    watcher = FolderWatcher([cfg.path(c.folder) for c in cfg.cameras], uploader.wake)
    watcher.start()
    try:
        _loop(uploader, args, stop)
    finally:
        watcher.stop()
        uploader.transport.close()
        lock.release()
    print(f"[edge] stopped: {progress_line(uploader)}", file=sys.stderr)
    return 0
