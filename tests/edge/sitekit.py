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

    def value(v: Any) -> str:
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return json.dumps(v)

    def table(d: dict[str, Any]) -> str:
        return "\n".join(f"{k} = {value(v)}" for k, v in d.items())

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


def run_until_idle(uploader: Any, max_steps: int = 200, settle: int = 2,
                   budget_s: float | None = None, pause_s: float = 0.0) -> int:
    """Step the uploader until nothing is left to publish (``settle`` quiet steps).

    With ``budget_s``, keep stepping (``pause_s`` apart) until that much time passed
    instead of stopping after ``max_steps``.
    """
    import time

    quiet = 0
    end = time.monotonic() + budget_s if budget_s is not None else None
    patience = time.monotonic() + 10.0  # backoffs are timed: never give up before this
    n = 0
    while (n < max_steps or time.monotonic() < patience) if end is None \
            else (time.monotonic() < end):
        n += 1
        if pause_s or n > max_steps:
            time.sleep(pause_s or 0.01)
        uploader.step()
        busy = uploader.tracker.query(
            "SELECT COUNT(*) FROM files WHERE state IN ('converted','published','confirmed')"
            " OR (state = 'discovered' AND run_id IS NOT NULL)")[0][0]
        pending = uploader.tracker.outbox_pending(limit=1)
        quiet = quiet + 1 if not busy and not pending else 0
        if quiet >= settle:
            return n
    raise AssertionError("uploader did not become idle")


def drain(queue: Any, subscription: str) -> list[Any]:
    """Pull and ack everything on a local-queue subscription."""
    out: list[Any] = []
    while True:
        msgs = queue.pull(subscription, max_messages=100)
        if not msgs:
            return out
        out += msgs
        queue.ack(subscription, [m.ack_id for m in msgs])


def reassemble(messages: list[Any]) -> dict[str, dict[str, Any]]:
    """file id -> {attrs, csv, meta, chunks(list of chunk indexes received)}; checks sha256."""
    import hashlib

    from edge.bundle import read_bundle

    by_file: dict[str, dict[int, Any]] = {}
    dupes: dict[str, list[int]] = {}
    for m in messages:
        fid, idx = m.attributes["file_id"], int(m.attributes["chunk_index"])
        if idx in by_file.setdefault(fid, {}):
            dupes.setdefault(fid, []).append(idx)
        by_file[fid][idx] = m
    out: dict[str, dict[str, Any]] = {}
    for fid, chunks in by_file.items():
        first = next(iter(chunks.values())).attributes
        count = int(first["chunk_count"])
        assert sorted(chunks) == list(range(count)), f"{fid}: chunks {sorted(chunks)} of {count}"
        payload = b"".join(chunks[i].data for i in range(count))
        assert hashlib.sha256(payload).hexdigest() == first["sha256"]
        csv, meta = read_bundle(payload, int(first["raw_bytes"]))
        out[fid] = {"attrs": first, "csv": csv, "meta": json.loads(meta),
                    "dupes": dupes.get(fid, []), "ids": [int(chunks[i].message_id)
                                                          for i in range(count)]}
    return out
