"""Wheel scan simulator: real SICK iCon ``.dat`` + ``.xml`` pairs of wheels (WHEELS.md).

Layers, each usable alone:

- geometry in mm, camera-independent: :class:`WheelSpec` (a wheel), :class:`ScanConditions`
  (benign variation of one scan), the defect catalogue (:class:`Chunking`, :class:`Crack`,
  :class:`FlatSpot`, :class:`Blister`) and :func:`apply_defect`, which carves a defect into
  any height/intensity map on a mm grid; :func:`implant_random` / :func:`implant_defects`
  do it on a scan's arrays (e.g. a real good wheel) and re-encode them;
- cameras: :class:`CameraSpec` (Ranger E55, Ranger3, calibrated FLOAT) with presets
  :func:`ranger_e55`, :func:`ranger3`, :func:`calibrated`;
- :func:`simulate_scan` / :func:`write_sim_scan`: one scan with its ground truth;
- :class:`SiteSimulator`: RFID line + a pass of scans per camera folder.

The ``wheel-sim`` command (:mod:`edge.simulator.cli`) drives all of it.
"""

from edge.simulator.camera import (
    CameraModel,
    CameraSpec,
    calibrated,
    decode_height,
    encode_range,
    random_camera,
    ranger3,
    ranger_e55,
)
from edge.simulator.catalogue import RANGES, SizeClass, random_defect, random_defects
from edge.simulator.defects import (
    DEFECT_KINDS,
    Blister,
    Chunking,
    Crack,
    Defect,
    DefectKind,
    DefectTruth,
    FlatSpot,
    apply_defect,
)
from edge.simulator.implant import (
    Implanted,
    implant_defects,
    implant_random,
    scan_grid,
    tread_columns,
)
from edge.simulator.scan import ScanPaths, SimScan, scan_stem, simulate_scan, write_sim_scan
from edge.simulator.site import PassFile, PassRecord, SiteSimulator
from edge.simulator.wheel import ScanConditions, WheelSpec, random_conditions, random_wheel
from edge.simulator.wheelmap import (
    SimCamera,
    SimTrain,
    cameras_from_config,
    defect_from_dict,
    defect_to_dict,
    demo_trains,
    trains_from_config,
    wheel_for,
    wheel_from_dict,
)

__all__ = [
    "DEFECT_KINDS", "RANGES", "Blister", "CameraModel", "CameraSpec", "Chunking", "Crack",
    "Defect", "DefectKind", "DefectTruth", "FlatSpot", "Implanted", "PassFile", "PassRecord",
    "ScanConditions", "ScanPaths", "SimCamera", "SimScan", "SimTrain", "SiteSimulator",
    "SizeClass", "WheelSpec", "apply_defect", "calibrated", "cameras_from_config",
    "decode_height", "defect_from_dict", "defect_to_dict", "demo_trains", "encode_range",
    "implant_defects", "implant_random", "random_camera", "random_conditions", "random_defect",
    "random_defects", "random_wheel",
    "ranger3", "ranger_e55", "scan_grid", "scan_stem", "simulate_scan", "trains_from_config",
    "tread_columns",
    "wheel_for", "wheel_from_dict", "write_sim_scan",
]
