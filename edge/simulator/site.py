"""Simulate a scanning station: RFID tag read, then one scan per wheel per camera.

A pass writes, in this order:

1. one RFID line ``timestamp,reader_id,tag`` (ISO-8601 UTC with milliseconds and
   ``Z``), appended to ``<rfid dir>/rfid_<YYYYmmdd>.csv`` (one file per UTC day);
2. one ``.dat`` + ``.xml`` pair per wheel per camera into the camera's folder, in the
   order the wheels passed (increasing capture time in the file names; the left and
   right wheels of an axle pass within a few ms of each other). Each file is written
   to a hidden temporary name in the same folder and renamed, ``.dat`` before
   ``.xml`` (``edge.sick.write_scan``); with ``pace_s`` the files appear one by one;
   with ``growing_s`` each ``.dat`` grows under its final name (as a camera writing
   straight to disk) and its ``.xml`` follows.

Ground truth goes to ``<truth dir>/<camera id>/<stem>.truth.json`` (default truth dir:
``<site dir>/truth``, so camera folders hold only what a camera writes), one JSON line
per pass to ``<truth dir>/passes.jsonl``, and the persistent state (pass counter,
defects on each wheel) to ``<truth dir>/sim_state.json``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from edge.simulator.camera import ranger_e55
from edge.simulator.catalogue import SizeClass, random_defect
from edge.simulator.defects import Defect, DefectKind
from edge.simulator.scan import scan_stem, simulate_scan, write_sim_scan
from edge.simulator.wheel import WheelSpec
from edge.simulator.wheelmap import (
    SimCamera,
    SimTrain,
    SiteState,
    cameras_from_config,
    defect_to_dict,
    stable_seed,
    trains_from_config,
    wheel_for,
)
from schemas.config import SiteConfig

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class PassFile:
    """One scan the pass produced (or should have produced, when dropped)."""

    camera_id: str
    wheel_id: str
    position: int  # 1-based passing order on this camera
    capture_time: str
    file: str  # .dat name (also when dropped: the name it would have had)
    label: str
    defects: list[dict[str, Any]]
    dropped: bool = False
    truncated: bool = False


@dataclass(frozen=True)
class PassRecord:
    """What a pass wrote: tag line and every scan in passing order."""

    pass_no: int
    train_id: str
    tag: str
    known_tag: bool
    rfid_time: str
    rfid_file: str
    files: list[PassFile] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (one line of ``passes.jsonl``)."""
        return asdict(self)


def iso_utc(t: datetime) -> str:
    """``2026-11-27T14:23:01.512Z``."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class SiteSimulator:
    """Writes ride passes for a site; wheels keep identity and defects across passes."""

    def __init__(
        self, site_dir: str | Path, trains: Iterable[SimTrain],
        cameras: Mapping[str, SimCamera] | None = None, *, seed: int = 0,
        reader_id: str = "RFID_01", rfid_dir: str | Path | None = None,
        truth_dir: str | Path | None = None,
    ) -> None:
        self.site_dir = Path(site_dir)
        self.trains = {t.train_id: t for t in trains}
        self.cameras = dict(cameras) if cameras is not None else {
            cid: SimCamera(self.site_dir / cid, ranger_e55()) for cid in ("Cam_01", "Cam_02")}
        self.seed = seed
        self.reader_id = reader_id
        self.rfid_dir = Path(rfid_dir) if rfid_dir is not None else self.site_dir / "rfid"
        self.truth_dir = Path(truth_dir) if truth_dir is not None else self.site_dir / "truth"
        self.state_path = self.truth_dir / "sim_state.json"
        self.state = SiteState.load(self.state_path, seed)

    @classmethod
    def from_config(cls, config: SiteConfig, *, seed: int = 0, width: int | None = None,
                    truth_dir: str | Path | None = None) -> SiteSimulator:
        """A simulator writing into the folders of a site config (its wheel map too)."""
        return cls(config.base_dir, trains_from_config(config),
                   cameras_from_config(config, width=width), seed=seed,
                   rfid_dir=config.path(config.rfid.folder), truth_dir=truth_dir)

    def wheel(self, wheel_id: str) -> WheelSpec:
        """The physical wheel with this id (stable across passes)."""
        return wheel_for(wheel_id, self.state.seed)

    def inject(self, wheel_id: str, kind: DefectKind, *, size: SizeClass = "any",
               defect: Defect | None = None) -> Defect:
        """Put a defect on a wheel; it stays there on every later pass."""
        if defect is None:
            n = len(self.state.defects.get(wheel_id, []))
            rng = np.random.default_rng(stable_seed("defect", self.state.seed, wheel_id, n))
            defect = random_defect(kind, rng, self.wheel(wheel_id), size=size)
        self.state.defects.setdefault(wheel_id, []).append(defect_to_dict(defect))
        self.state.save(self.state_path)
        return defect

    def repair(self, wheel_id: str) -> None:
        """Replace the wheel's tyre: no defects any more."""
        self.state.defects.pop(wheel_id, None)
        self.state.save(self.state_path)

    def config_toml(self, site_id: str = "demo") -> str:
        """A minimal site config (TOML) matching this simulator: camera folders, models
        and calibrations, RFID folder and wheel map. Other sections keep their defaults;
        append them to the text as needed."""
        def q(text: object) -> str:
            return json.dumps(str(text))

        def rel(p: Path) -> str:
            try:
                return q(p.resolve().relative_to(self.site_dir.resolve()))
            except ValueError:
                return q(p.resolve())

        out = [f"site_id = {q(site_id)}", f"base_dir = {q(self.site_dir.resolve())}", ""]
        for k, (cid, cam) in enumerate(sorted(self.cameras.items())):
            cal = cam.spec.calibration().model_dump(exclude_none=True)
            cal_txt = ", ".join(f"{key} = {val}" for key, val in cal.items())
            out += ["[[cameras]]", f"id = {q(cid)}", f"folder = {rel(cam.folder)}",
                    f"topic = {q('wheelwatch-' + cid.lower().replace('_', '-'))}",
                    f"side = {q('left' if k % 2 == 0 else 'right')}",
                    f"model = {q(cam.spec.model)}", f"calibration = {{ {cal_txt} }}", ""]
        out += ["[rfid]", f"folder = {rel(self.rfid_dir)}", ""]
        for tid, train in self.trains.items():
            wheels = ", ".join(f"{q(c)} = [{', '.join(q(w) for w in ids)}]"
                               for c, ids in train.wheels.items())
            out += [f"[trains.{q(tid)}]", f"tag = {q(train.tag)}", f"wheels = {{ {wheels} }}", ""]
        return "\n".join(out)

    def _append_rfid(self, when: datetime, tag: str) -> Path:
        self.rfid_dir.mkdir(parents=True, exist_ok=True)
        path = self.rfid_dir / f"rfid_{when.astimezone(UTC):%Y%m%d}.csv"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{iso_utc(when)},{self.reader_id},{tag}\n")
            fh.flush()
            os.fsync(fh.fileno())
        return path

    def _schedule(self, train: SimTrain, start: datetime, interval_s: float,
                  rng: np.random.Generator) -> list[tuple[datetime, str, int, str]]:
        jobs = []
        for c, (cam_id, wheel_ids) in enumerate(sorted(train.wheels.items())):
            if cam_id not in self.cameras:
                raise KeyError(f"train {train.train_id} lists camera {cam_id!r} the site lacks")
            for i, wid in enumerate(wheel_ids):
                dt = 3.0 + i * interval_s + rng.uniform(0, 0.05 * interval_s) + 0.007 * c
                jobs.append((start + timedelta(seconds=dt), cam_id, i + 1, wid))
        return sorted(jobs)

    def run_pass(
        self, train_id: str, start: datetime | None = None, *, drop: Iterable[str] = (),
        truncate: Iterable[str] = (), unknown_tag: bool = False, wheel_interval_s: float = 0.8,
        pace_s: float = 0.0, growing_s: float = 0.0, progress: Progress | None = None,
    ) -> PassRecord:
        """Write one pass of ``train_id`` starting (tag read) at ``start`` (default now).

        ``drop``/``truncate`` name wheel ids whose file is not written / is cut short
        (not a whole number of lines); ``unknown_tag`` writes a tag absent from the map.
        ``pace_s`` sleeps between files; ``growing_s`` lets each ``.dat`` grow under its
        final name for that long before its ``.xml`` appears (see ``write_sim_scan``).
        """
        train = self.trains[train_id]
        start = (start or datetime.now(UTC)).astimezone(UTC)
        self.state.passes += 1
        pass_no = self.state.passes
        rng = np.random.default_rng(stable_seed("pass", self.state.seed, pass_no, train_id))
        tag = train.tag if not unknown_tag else f"E2FFFF{int(rng.integers(1 << 40)):012X}"
        rfid_file = self._append_rfid(start, tag)
        record = PassRecord(pass_no, train_id, tag, not unknown_tag, iso_utc(start), rfid_file.name)
        jobs = self._schedule(train, start, wheel_interval_s, rng)
        drop_set, trunc_set = set(drop), set(truncate)
        for k, (when, cam_id, pos, wid) in enumerate(jobs):
            record.files.append(self._one_scan(pass_no, when, cam_id, pos, wid,
                                               wid in drop_set, wid in trunc_set, growing_s))
            if progress is not None:
                progress(k + 1, len(jobs), f"{cam_id} {wid}")
            if pace_s > 0:
                time.sleep(pace_s)
        self.state.save(self.state_path)
        self.truth_dir.mkdir(parents=True, exist_ok=True)
        with open(self.truth_dir / "passes.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record.to_dict()) + "\n")
        return record

    def _one_scan(self, pass_no: int, when: datetime, cam_id: str, pos: int, wheel_id: str,
                  dropped: bool, truncated: bool, growing_s: float = 0.0) -> PassFile:
        cam = self.cameras[cam_id]
        seed = stable_seed("scan", self.state.seed, pass_no, cam_id, wheel_id)
        rng = np.random.default_rng(seed)
        defects = self.state.wheel_defects(wheel_id)
        stem = scan_stem(cam_id, when)
        if dropped:
            return PassFile(cam_id, wheel_id, pos, iso_utc(when), f"{stem}.dat",
                            "bad" if defects else "good", [], dropped=True)
        scan = simulate_scan(self.wheel(wheel_id), cam.spec, rng, defects=defects)
        scan.truth.update(wheel_id=wheel_id, pass_no=pass_no, position=pos)
        paths = write_sim_scan(scan, cam.folder, cam_id, when,
                               truth_dir=self.truth_dir / cam_id, growing_s=growing_s)
        if truncated:
            line_bytes = sum(a.itemsize * a.shape[1] for a in scan.arrays.values())
            cut = int(paths.dat.stat().st_size * 0.6)
            os.truncate(paths.dat, cut + 1 if cut % line_bytes == 0 else cut)
        return PassFile(cam_id, wheel_id, pos, iso_utc(when), paths.dat.name, scan.label,
                        scan.truth["defects"], truncated=truncated)
