"""One simulated wheel scan: render, carve defects, encode, write with ground truth."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from edge.sick import write_scan
from edge.simulator.camera import CameraSpec, genistream_traits, sensor_traits, world_traits
from edge.simulator.defects import Defect, apply_defect
from edge.simulator.render import camera_arrays, fill_outside, mounting
from edge.simulator.surface import apply_dropouts, render_surface
from edge.simulator.wheel import ScanConditions, WheelSpec, line_positions, random_conditions
from schemas.calibration import Calibration

TRUTH_VERSION = 1


@dataclass
class SimScan:
    """A rendered scan: the arrays to write, their XML description and the truth.

    ``height_mm`` is the exact (unquantised) height map the camera looked at (in the
    camera's frame: mounting tilt included),
    ``along_mm``/``across_mm`` the grid (scan frame; across from the first tread edge).
    """

    arrays: dict[str, np.ndarray]
    component_name: str
    component_valuetype: str
    traits_tag: str
    traits: dict[str, str]
    calibration: Calibration
    camera: CameraSpec
    wheel: WheelSpec
    conditions: ScanConditions
    truth: dict[str, Any]
    height_mm: np.ndarray = field(repr=False)
    along_mm: np.ndarray = field(repr=False)
    across_mm: np.ndarray = field(repr=False)
    extra_xml: str | None = None

    @property
    def label(self) -> str:
        """``good`` or ``bad``."""
        return str(self.truth["label"])


@dataclass(frozen=True)
class ScanPaths:
    """Files written for one scan."""

    dat: Path
    xml: Path
    truth: Path


def scan_stem(camera_id: str, capture_time: datetime) -> str:
    """File stem with the capture time, e.g. ``Cam_01_20261127_142301_512``."""
    return f"{camera_id}_{capture_time:%Y%m%d_%H%M%S}_{capture_time.microsecond // 1000:03d}"


def _tread_columns(cam: CameraSpec, wheel: WheelSpec, rng: np.random.Generator) -> np.ndarray:
    """Across-tread position (mm from the first tread edge) of every column."""
    fov = cam.width * cam.mm_per_col
    slack = fov - wheel.tread_width_mm
    start = slack / 2 + rng.uniform(-0.3, 0.3) * max(slack, 0.0) / 2
    return np.arange(cam.width, dtype=np.float64) * cam.mm_per_col - start


def _xml_description(cam: CameraSpec) -> tuple[str, str, str, dict[str, str]]:
    if cam.model == "ranger_e55":
        return "Hi3D 1", "DCM", "sensorrangetraits", sensor_traits(cam)
    if cam.model == "ranger3":
        return "Ranger3Range", "Hi3D", "sensorrangetraits", sensor_traits(cam)
    if cam.rectified:
        return "Ranger3Range", "Hi3D", "genistreamtraits", genistream_traits(cam)
    return "HorMax 1", "", "worldrangetraits", world_traits(cam)


def _genistream_xml(cam: CameraSpec) -> str | None:
    """The ``<genistream>`` device block GenIStream saves with Ranger3 buffers."""
    if cam.model == "ranger_e55" or (cam.model == "calibrated" and not cam.rectified):
        return None
    params = {"DeviceModelName": "Ranger3-60" if cam.model == "ranger3" else "Ranger3-40",
              "DeviceScanType": "Linescan3D", "Width": str(cam.width),
              "Height": str(cam.sensor_rows), "ExposureTime": "50",
              "Scan3dExtractionMethod": "Hi3D", "RangeAxis": "Standard"}
    body = "".join(f' <parameter name="{k}" >{v}</parameter>\n' for k, v in params.items())
    return f"<genistream>\n{body}</genistream>"


def _carve(height: np.ndarray, intensity: np.ndarray, along: np.ndarray, across: np.ndarray,
           wheel: WheelSpec, cond: ScanConditions, defects: tuple[Defect, ...],
           rng: np.random.Generator) -> list[dict[str, Any]]:
    out = []
    circ = wheel.circumference_mm
    for d in defects:
        scan_along = (d.along_mm - cond.start_mm) % circ
        t = apply_defect(height, intensity, along, across, replace(d, along_mm=scan_along), rng,
                         circumference_mm=circ).to_dict()
        t["wheel_along_mm"] = float(d.along_mm)
        out.append(t)
    return out


def simulate_scan(
    wheel: WheelSpec, camera: CameraSpec, rng: np.random.Generator, *,
    defects: tuple[Defect, ...] | list[Defect] = (), conditions: ScanConditions | None = None,
) -> SimScan:
    """Render one scan of ``wheel`` through ``camera``.

    ``defects`` are in the wheel frame (``along_mm`` from the wheel's reference mark);
    ``conditions`` default to random benign variation drawn from ``rng``. The same
    ``rng`` state gives the same scan, bit for bit.
    """
    camera = camera.for_wheel(wheel.circumference_mm)
    cond = conditions if conditions is not None else random_conditions(rng, wheel)
    n_lines = camera.lines_per_rev + round(cond.overlap_frac * camera.lines_per_rev)
    along = line_positions(n_lines, camera.lines_per_rev, wheel.circumference_mm,
                           cond.pitch_jitter, rng)
    across = _tread_columns(camera, wheel, rng)
    surf = render_surface(wheel, cond, along, across, rng)
    truths = _carve(surf.height_mm, surf.intensity, along, across, wheel, cond, tuple(defects), rng)
    apply_dropouts(surf, cond, rng)
    fill_outside(surf.height_mm, surf.intensity, surf.tread, camera, rng, surf.off_tread)
    mounting(surf.height_mm, surf.intensity, camera)
    arrays = camera_arrays(surf.height_mm, surf.intensity, along, camera, rng)
    name, vtype, tag, traits = _xml_description(camera)
    tread_cols = np.flatnonzero(surf.tread)
    truth: dict[str, Any] = {
        "truth_version": TRUTH_VERSION,
        "label": "bad" if truths else "good",
        "defects": truths,
        "wheel": asdict(wheel),
        "camera": asdict(camera),
        "conditions": {k: v for k, v in asdict(cond).items() if k not in ("specks", "heat_bands")},
        "lines": int(n_lines),
        "tread_columns": ([int(tread_cols.min()), int(tread_cols.max())]
                          if tread_cols.size else None),
        "line_pitch_mm": wheel.circumference_mm / camera.lines_per_rev,
    }
    return SimScan(arrays, name, vtype, tag, traits, camera.calibration(), camera, wheel, cond,
                   truth, surf.height_mm, along, across, _genistream_xml(camera))


def write_sim_scan(
    scan: SimScan, folder: str | Path, camera_id: str, capture_time: datetime, *,
    truth_dir: str | Path | None = None, growing_s: float = 0.0,
) -> ScanPaths:
    """Write ``<camera_id>_<YYYYmmdd>_<HHMMSS>_<ms>.dat/.xml`` into ``folder`` and the
    truth JSON ``<stem>.truth.json`` beside it (or into ``truth_dir``).

    By default the pair is written as ``edge.sick.write_scan`` does it: each file to a
    hidden temporary name in the same folder, then renamed, the ``.dat`` before the
    ``.xml``. With ``growing_s > 0`` the ``.dat`` instead appears under its final name and
    grows in chunks over about ``growing_s`` seconds before the ``.xml`` is written, as
    a camera writing straight to disk does (for testing stable-file checks).
    """
    folder = Path(folder)
    stem = scan_stem(camera_id, capture_time)
    target = folder / f"{stem}.dat"
    if growing_s > 0:
        dat, xml = _write_growing(scan, target, growing_s)
    else:
        dat, xml = _write_pair(scan, target)
    tdir = Path(truth_dir) if truth_dir is not None else folder
    tdir.mkdir(parents=True, exist_ok=True)
    truth = dict(scan.truth, file=dat.name, xml=xml.name, camera_id=camera_id,
                 capture_time=capture_time.isoformat(),
                 calibration=scan.calibration.model_dump(exclude_none=True))
    tpath = tdir / f"{stem}.truth.json"
    tmp = tpath.with_name(f".{tpath.name}.tmp")
    tmp.write_text(json.dumps(truth, indent=1, default=_jsonable))
    tmp.replace(tpath)
    return ScanPaths(dat, xml, tpath)


def _write_pair(scan: SimScan, dat_path: Path) -> tuple[Path, Path]:
    return write_scan(dat_path, scan.arrays, component_name=scan.component_name,
                      component_valuetype=scan.component_valuetype,
                      traits_tag=scan.traits_tag, traits=scan.traits, extra_xml=scan.extra_xml)


def _write_growing(scan: SimScan, target: Path, seconds: float, chunks: int = 4
                   ) -> tuple[Path, Path]:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wheel-sim-") as tmp:  # outside watched folders
        dat_tmp, xml_tmp = _write_pair(scan, Path(tmp) / target.name)
        data = dat_tmp.read_bytes()
        xml_bytes = xml_tmp.read_bytes()
    step = -(-len(data) // chunks)
    with open(target, "wb") as fh:
        for k in range(0, len(data), step):
            fh.write(data[k:k + step])
            fh.flush()
            time.sleep(seconds / chunks)
    xml = target.with_suffix(".xml")
    xml.write_bytes(xml_bytes)
    return target, xml


def _jsonable(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
