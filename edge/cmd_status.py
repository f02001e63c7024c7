"""``wheel-edge status``: the pub tracker per camera (states, backlog, oldest, last error)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

NAME = "status"
HELP = "show the pub tracker per camera: counts per state, backlog, oldest unpublished"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``status``."""
    parser.add_argument("--config", "-c", type=Path, required=True, metavar="FILE",
                        help="site config TOML")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def format_status(status: dict[str, dict[str, Any]], outbox: int) -> str:
    """Human-readable status lines."""
    lines = []
    for cam in sorted(status):
        info = status[cam]
        counts = " ".join(f"{k}={v}" for k, v in info["states"].items())
        lines.append(f"{cam}: {counts} backlog={info['backlog']}")
        old = info["oldest_unpublished"]
        if old:
            lines.append(f"  oldest unpublished: {old['stem']} (captured {old['capture_time']},"
                         f" waiting {old['waiting_s']} s)")
        err = info["last_error"]
        if err:
            lines.append(f"  last error at {err['at']}: {err['message']}")
    lines.append(f"events waiting in outbox: {outbox}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the status; 2 for a bad config, 1 when there is no tracker yet."""
    from edge.cmd_validate import load_site_config
    from edge.tracker import Tracker, empty_camera_status
    from schemas.errors import StoreError

    cfg = load_site_config(args.config)
    if cfg is None:
        return 2
    path = cfg.path(cfg.edge.tracker_path)
    if not path.exists():
        print(f"wheel-edge: no pub tracker at {path} (has the uploader run?)", file=sys.stderr)
        return 1
    try:
        tracker = Tracker(path, readonly=True)
        status = tracker.status()
        outbox = len(tracker.outbox_pending(limit=1_000_000))
    except StoreError as exc:
        print(f"wheel-edge: {exc}", file=sys.stderr)
        return 1
    for cam in cfg.cameras:
        status.setdefault(cam.id, empty_camera_status())
    if args.json:
        print(json.dumps({"cameras": status, "outbox": outbox}, indent=1))
    else:
        print(format_status(status, outbox))
    return 0
