"""Shared helpers for the edge.sick / convert tests: sample paths and synthetic scans."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.sick import encode_status, write_scan

SAMPLES = (Path(__file__).parents[2] / ".." / "shared" / "sick-samples").resolve()
RANGER_E = SAMPLES / "ranger-e55"
RULER_XML = SAMPLES / "ruler-e-xml"

RANGER_E_TRAITS = {
    "coordinates": "", "fov x0": "0", "fov x1": "1535", "fov x2": "0", "fov x3": "1535",
    "fov z0": "1", "fov z1": "1", "fov z2": "8191", "fov z3": "8191",
    "origin x": "0", "scale x": "1", "origin z": "510.875", "scale z": "-0.0625",
}


def ranger3_traits(rows: int = 832) -> dict[str, str]:
    """Sensor range traits of a Ranger3 with ``rows`` sensor rows, 1/16 sub-pixel."""
    return {
        "coordinates": "", "fov x0": "0", "fov x1": "2559", "fov x2": "0", "fov x3": "2559",
        "fov z0": "0", "fov z1": "0", "fov z2": str(rows * 16 - 1),
        "fov z3": str(rows * 16 - 1), "origin x": "0", "scale x": "1",
        "origin z": "0", "scale z": "0.0625",
    }


def synthetic_arrays(
    lines: int, width: int, *, seed: int = 0, scatter: bool = False, mark_words: int = 5,
    missing: float = 0.02,
) -> dict[str, np.ndarray]:
    """Plausible Range/Intensity(/Scatter)/Mark arrays in Ranger3 order."""
    rng = np.random.default_rng(seed)
    rng_vals = rng.integers(1, 8190, size=(lines, width), dtype=np.uint16)
    rng_vals[rng.random((lines, width)) < missing] = 0
    out = {"Range": rng_vals,
           "Intensity": rng.integers(0, 256, size=(lines, width), dtype=np.uint8)}
    if scatter:
        out["Scatter"] = rng.integers(0, 256, size=(lines, width), dtype=np.uint8)
    mark = np.zeros((lines, mark_words), dtype=np.int32)
    mark[:, 0] = np.arange(lines, dtype=np.int32) * 4
    mark[:, 1] = encode_status(enable=True, encoder_a=np.arange(lines) % 2 == 0,
                               overtrig_count=np.arange(lines) % 3)
    if mark_words >= 5:
        mark[:, 2] = np.arange(lines, dtype=np.int32) * 100
    out["Mark"] = mark
    return out


def write_ranger3(path: Path, lines: int = 64, width: int = 96, **kw: object) -> Path:
    """Write a small synthetic Ranger3 scan; returns the .dat path."""
    arrays = synthetic_arrays(lines, width, **kw)  # type: ignore[arg-type]
    dat, _ = write_scan(
        path, arrays, component_name="Ranger3Range", component_valuetype="Hi3D",
        traits_tag="sensorrangetraits", traits=ranger3_traits(),
    )
    return dat
