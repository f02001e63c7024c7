"""Closing passes (runs) and building their manifests, on top of the pub tracker."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from edge.passes import PassGroup, ScanRef, group_passes, map_pass
from edge.rfid import RfidLog
from edge.tracker import Tracker
from schemas.config import SiteConfig
from schemas.messages import CameraPass, RunManifest

log = logging.getLogger(__name__)


def run_id_for(group: PassGroup, train_id: str | None) -> str:
    """Deterministic run id: pass start (ms) and train."""
    stamp = group.start.astimezone(UTC).strftime("%Y%m%dT%H%M%S%f")[:-3]
    return f"run-{stamp}-{train_id or 'unknown'}"


class PassCloser:
    """Groups unmapped scans into passes and maps each closed pass to wheel ids."""

    def __init__(self, cfg: SiteConfig, tracker: Tracker, rfid: RfidLog) -> None:
        self.cfg = cfg
        self.tracker = tracker
        self.rfid = rfid
        self.cameras = [c.id for c in cfg.cameras]
        self.close_s = cfg.edge.pass_close_s or cfg.rfid.pass_gap_s

    def pending(self) -> tuple[list[PassGroup], dict[str, float]]:
        """Open (unmapped) scans grouped into passes, and their discovery times."""
        rows = self.tracker.files("state = 'discovered' AND run_id IS NULL")
        refs = [ScanRef(r.key, r.camera, r.capture_time) for r in rows]
        return group_passes(refs, self.cfg.rfid.pass_gap_s), {r.key: r.discovered_at
                                                              for r in rows}

    def _tag(self, group: PassGroup) -> tuple[str | None, list[str]]:
        return self.rfid.tag_for_pass(group.start, group.end, self.cfg.rfid.tag_window_s,
                                      not_before=self.tracker.last_pass_end())

    def _complete(self, group: PassGroup) -> bool:
        tag, _ = self._tag(group)
        found = self.cfg.train_by_tag(tag) if tag else None
        if found is None:
            return False
        wheels = found[1].wheels
        return all(len(group.by_camera(c)) == len(wheels.get(c, [])) for c in self.cameras)

    def close_ready(self, now: float) -> list[str]:
        """Close every pass that is over; returns the new run ids."""
        self.rfid.refresh()
        groups, seen = self.pending()
        closed = []
        for i, group in enumerate(groups):
            idle = now - max(seen[s.key] for s in group.scans)
            if i < len(groups) - 1 or idle >= self.close_s or self._complete(group):
                closed.append(self.close(group))
            else:
                break
        return closed

    def close(self, group: PassGroup) -> str:
        """Map a pass and record it (atomically, with the train's run count)."""
        tag, problems = self._tag(group)
        found = self.cfg.train_by_tag(tag) if tag else None
        if tag and found is None:
            problems.append(f"unknown RFID tag {tag!r}: scans left unassigned")
        train_id, wheels = (found[0], found[1].wheels) if found else (None, None)
        mapping = map_pass(group, self.cameras, wheels)
        wheel_of: dict[str, str | None] = {}
        saved: dict[str, Any] = {}
        for cam, m in mapping.items():
            wheel_of.update(m.wheel_of)
            problems += m.problems
            saved[cam] = {"expected": m.expected, "wheel_of": m.wheel_of,
                          "missing": m.missing, "extra_scans": m.extra_scans}
        run_id = run_id_for(group, train_id)
        count = self.tracker.record_run(run_id, train_id, tag, group.start, group.end,
                                        wheel_of, saved, problems)
        log.info("pass %s closed: train %s (tag %s) run count %s, %d scans%s", run_id,
                 train_id, tag, count, len(group.scans),
                 f"; problems: {problems}" if problems else "")
        return run_id


def build_manifest(cfg: SiteConfig, tracker: Tracker, run: Any) -> RunManifest | None:
    """The run manifest once every file of the run is converted or quarantined, else None."""
    files = {f.key: f for f in tracker.files("run_id = ?", (run["run_id"],))}
    if any(f.state == "discovered" for f in files.values()):
        return None
    problems = list(json.loads(run["problems"]))
    cameras: dict[str, CameraPass] = {}
    for cam, m in json.loads(run["mapping"]).items():
        produced: dict[str, str] = {}
        missing = list(m["missing"])
        unassigned = []
        for key, wheel in m["wheel_of"].items():
            f = files.get(key)
            if f is None:
                continue
            if f.state == "quarantined":
                problems.append(f"{cam}: scan {f.stem} quarantined (wheel {wheel})")
                if wheel is not None:
                    missing.append(wheel)
            elif wheel is None:
                unassigned.append(f.file_id or f.stem)
            else:
                produced[wheel] = f.file_id or ""
        if unassigned:
            problems.append(f"{cam}: unassigned scans (file ids) {unassigned}")
        order = {w: i for i, w in enumerate(m["expected"])}
        cameras[cam] = CameraPass(expected=m["expected"], files=produced,
                                  missing=sorted(set(missing), key=lambda w: order.get(w, 0)),
                                  extra_scans=m["extra_scans"])
    return RunManifest(
        site=cfg.site_id, run_id=run["run_id"], train_id=run["train_id"], tag=run["tag"],
        run_count=run["run_count"], pass_start=datetime.fromisoformat(run["pass_start"]),
        pass_end=datetime.fromisoformat(run["pass_end"]), cameras=cameras, problems=problems,
    )
