"""Trains, wheel identities and the simulator's persistent site state.

A wheel keeps its identity across passes: :func:`wheel_for` derives its
:class:`WheelSpec` from the site seed and the wheel id only (stable hash), and the
defects injected on it are kept in ``<truth dir>/sim_state.json`` so they persist.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge.simulator.camera import CameraModel, CameraSpec
from edge.simulator.defects import Blister, Chunking, Crack, Defect, FlatSpot
from edge.simulator.wheel import Seam, WheelSpec, random_wheel
from schemas.config import SiteConfig

_DEFECT_TYPES: dict[str, type] = {
    "chunking": Chunking, "crack": Crack, "flat_spot": FlatSpot, "blister": Blister,
}


@dataclass(frozen=True)
class SimTrain:
    """A train: RFID tag and, per camera id, the wheel ids in passing order."""

    train_id: str
    tag: str
    wheels: dict[str, list[str]]


def demo_trains(n_trains: int = 2, wheels_per_side: int = 8,
                cameras: tuple[str, ...] = ("Cam_01", "Cam_02")) -> list[SimTrain]:
    """A small wheel map: trains ``T1..Tn``, wheels ``T1-L01``.. (Cam_01) / ``T1-R01``.."""
    sides = "LRABCDEFGH"
    return [
        SimTrain(f"T{t}", f"E20000172211{t:08d}",
                 {cam: [f"T{t}-{sides[c]}{i + 1:02d}" for i in range(wheels_per_side)]
                  for c, cam in enumerate(cameras)})
        for t in range(1, n_trains + 1)
    ]


def trains_from_config(config: SiteConfig) -> list[SimTrain]:
    """The site config's wheel map as :class:`SimTrain` objects."""
    return [SimTrain(tid, t.tag, {cam: list(ids) for cam, ids in t.wheels.items()})
            for tid, t in config.trains.items()]


@dataclass(frozen=True)
class SimCamera:
    """A site camera: its fixed output folder and what it sees with."""

    folder: Path
    spec: CameraSpec


def cameras_from_config(config: SiteConfig, *, width: int | None = None,
                        default_lines: int = 1000) -> dict[str, SimCamera]:
    """Per camera id: its folder and a :class:`CameraSpec` matching its model and
    calibration (``width`` defaults to the model's full width)."""
    out: dict[str, SimCamera] = {}
    for cam in config.cameras:
        cal = cam.calibration
        model: CameraModel = cam.model
        kw: dict[str, Any] = {"model": model, "mm_per_col": cal.mm_per_col,
                              "mm_per_row": cal.mm_per_row,
                              "lines_per_rev": cal.lines_per_rev or default_lines,
                              "mm_per_line": cal.mm_per_line}
        if model == "ranger3":
            kw.update(width=width or 2560, sensor_rows=832)
        else:
            kw["width"] = width or (1536 if model == "ranger_e55" else 1024)
        out[cam.id] = SimCamera(config.path(cam.folder), CameraSpec(**kw))
    return out


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from any parts, stable across runs and Python versions."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def wheel_for(wheel_id: str, site_seed: int) -> WheelSpec:
    """The wheel with this id: same diameter, colour, crown... on every pass."""
    return random_wheel(np.random.default_rng(stable_seed("wheel", site_seed, wheel_id)))


def defect_to_dict(defect: Defect) -> dict[str, Any]:
    """JSON form of a defect (with its ``kind``)."""
    return {"kind": defect.kind, **asdict(defect)}


def defect_from_dict(data: Mapping[str, Any]) -> Defect:
    """Inverse of :func:`defect_to_dict`."""
    params = {k: v for k, v in data.items() if k != "kind"}
    cls = _DEFECT_TYPES.get(str(data.get("kind")))
    if cls is None:
        raise ValueError(f"unknown defect kind {data.get('kind')!r}")
    out: Defect = cls(**params)
    return out


def wheel_from_dict(data: Mapping[str, Any]) -> WheelSpec:
    """Inverse of ``dataclasses.asdict`` on a :class:`WheelSpec` (e.g. from truth JSON)."""
    d = dict(data)
    d["lobes"] = tuple(tuple(x) for x in d.get("lobes", ()))
    d["seams"] = tuple(Seam(**s) for s in d.get("seams", ()))
    return WheelSpec(**d)


@dataclass
class SiteState:
    """What persists between passes: pass counter and the defects on each wheel."""

    seed: int
    passes: int = 0
    defects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, seed: int) -> SiteState:
        """Read the state file (a fresh state if there is none)."""
        if not path.exists():
            return cls(seed)
        data = json.loads(path.read_text())
        return cls(int(data.get("seed", seed)), int(data.get("passes", 0)),
                   dict(data.get("defects", {})))

    def save(self, path: Path) -> None:
        """Write the state file atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        tmp.replace(path)

    def wheel_defects(self, wheel_id: str) -> list[Defect]:
        """Defects currently on ``wheel_id`` (wheel frame)."""
        return [defect_from_dict(d) for d in self.defects.get(wheel_id, [])]
