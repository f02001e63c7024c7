"""``wheel-edge validate-config``: load and check the site config, name the offending key."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schemas.config import SiteConfig

NAME = "validate-config"
HELP = "check a site config (TOML + WHEELWATCH__ env overrides); errors name the key"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``validate-config``."""
    parser.add_argument("--config", "-c", type=Path, required=True, metavar="FILE",
                        help="site config TOML")
    parser.epilog = "Exit codes: 0 valid, 2 invalid (the message names the key and reason)."


def edge_checks(cfg: SiteConfig) -> list[tuple[str, str]]:
    """Edge-specific consistency checks: (key, reason) for every problem."""
    problems: list[tuple[str, str]] = []
    folders: dict[Path, int] = {}
    topics: dict[str, int] = {cfg.transport.events_topic: -1}
    for i, cam in enumerate(cfg.cameras):
        folder = cfg.path(cam.folder).resolve()
        if folder in folders:
            problems.append((f"cameras.{i}.folder", f"same folder as cameras.{folders[folder]}"))
        folders[folder] = i
        if cam.topic in topics:
            other = topics[cam.topic]
            where = "transport.events_topic" if other < 0 else f"cameras.{other}.topic"
            problems.append((f"cameras.{i}.topic", f"{cam.topic!r} already used by {where}"))
        topics[cam.topic] = i
    for train_id, train in cfg.trains.items():
        for cam_id, wheels in train.wheels.items():
            dupes = sorted({w for w in wheels if wheels.count(w) > 1})
            if dupes:
                problems.append((f"trains.{train_id}.wheels.{cam_id}",
                                 f"wheel ids listed twice: {dupes}"))
    return problems


def load_site_config(config: Path, *, checked: bool = False) -> SiteConfig | None:
    """The site config, or None after printing why it cannot be used (exit code 2).

    With ``checked`` the edge checks run too and every problem they find is printed.
    """
    from schemas.config import load_config
    from schemas.errors import ConfigError

    try:
        cfg = load_config(config)
    except ConfigError as exc:
        print(f"wheel-edge: {config}: {exc}", file=sys.stderr)
        return None
    problems = edge_checks(cfg) if checked else []
    for key, reason in problems:
        print(f"wheel-edge: {config}: config error at '{key}': {reason}", file=sys.stderr)
    return None if problems else cfg


def run(args: argparse.Namespace) -> int:
    """Validate; print a summary or the errors."""
    cfg = load_site_config(args.config, checked=True)
    if cfg is None:
        return 2
    for cam in cfg.cameras:
        if not cfg.path(cam.folder).is_dir():
            print(f"warning: cameras folder {cfg.path(cam.folder)} ({cam.id}) does not exist"
                  " yet; it is created at start", file=sys.stderr)
    wheels = sum(len(w) for t in cfg.trains.values() for w in t.wheels.values())
    print(f"config OK: site {cfg.site_id}, {len(cfg.cameras)} camera(s), "
          f"{len(cfg.trains)} train(s), {wheels} wheel ids, transport {cfg.transport.kind}")
    return 0
