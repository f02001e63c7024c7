"""Helpers for the edge tests: a small two-camera site config on disk."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from schemas.config import SiteConfig, load_config

WHEELS = 4
T0 = datetime(2026, 11, 27, 14, 0, 0, tzinfo=UTC)


def site_toml(transport: dict[str, Any] | None = None, edge: dict[str, Any] | None = None,
              wheels: int = WHEELS) -> str:
    """TOML text of a site with Cam_01/Cam_02 and trains T1, T2 of ``wheels`` per side."""
    edge_cfg = {"stable_s": 0.0, "rescan_s": 0.2, "heartbeat_s": 3600.0, "min_free_mb": 1,
                "warn_free_mb": 1, "retry_initial_s": 0.05, "retry_max_s": 0.2,
                "pass_close_s": 30.0, "chunk_bytes": 60_000}
    edge_cfg.update(edge or {})
    tr = {"kind": "local", "local_path": "state/queue.sqlite"}
    tr.update(transport or {})

    def table(d: dict[str, Any]) -> str:
        return "\n".join(f"{k} = {json.dumps(v)}" for k, v in d.items())

    lines = ['site_id = "test-site"']
    for i, side in ((1, "left"), (2, "right")):
        lines += [
            "[[cameras]]", f'id = "Cam_0{i}"', f'folder = "Cam_0{i}"',
            f'topic = "wheelwatch-cam-0{i}"', f'side = "{side}"',
            "calibration = {mm_per_col = 0.1, mm_per_row = 0.05, lines_per_rev = 400}",
        ]
    lines += ["[rfid]", 'folder = "rfid"', "pass_gap_s = 20.0", "tag_window_s = 60.0"]
    for t in (1, 2):
        lines += [f"[trains.T{t}]", f'tag = "E20000172211{t:08d}"']
        lines.append("wheels = { " + ", ".join(
            f'Cam_0{c} = [' + ", ".join(f'"T{t}-{s}{k:02d}"' for k in range(1, wheels + 1)) + "]"
            for c, s in ((1, "L"), (2, "R"))) + " }")
    lines += ["[transport]", table(tr), "[edge]", table(edge_cfg)]
    return "\n".join(lines) + "\n"


def make_site(root: Path, **kw: Any) -> tuple[Path, SiteConfig]:
    """Write ``site.toml`` under ``root`` and load it."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "site.toml"
    path.write_text(site_toml(**kw))
    return path, load_config(path, environ={})


def pass_start(n: int) -> datetime:
    """Start time of the n-th simulated pass (5 minutes apart)."""
    return T0 + timedelta(minutes=5 * n)
