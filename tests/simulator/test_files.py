"""Written files: iCon pairs readable by edge.sick, names with capture time, truth JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from edge.sick import read_scan
from edge.simulator import (
    Chunking,
    WheelSpec,
    calibrated,
    ranger3,
    ranger_e55,
    scan_stem,
    simulate_scan,
    write_sim_scan,
)

WHEEL = WheelSpec(diameter_mm=250, tread_width_mm=70)
WHEN = datetime(2026, 11, 27, 14, 23, 1, 512000, tzinfo=UTC)


def test_stem_carries_the_capture_time_to_the_millisecond() -> None:
    assert scan_stem("Cam_01", WHEN) == "Cam_01_20261127_142301_512"


def test_written_pair_reads_back_exactly_with_truth_beside_it(tmp_path: Path) -> None:
    for cam in (ranger_e55(lines_per_rev=400), ranger3(width=1024, lines_per_rev=400,
                                                        scatter=True),
                calibrated(lines_per_rev=400, mark=True, float_missing="neg1e6")):
        defect = Chunking(50.0, 35.0, 6.0, 5.0, 2.0)
        scan = simulate_scan(WHEEL, cam, np.random.default_rng(1), defects=[defect])
        out = tmp_path / cam.model
        paths = write_sim_scan(scan, out, "Cam_02", WHEN)
        assert paths.dat.name == "Cam_02_20261127_142301_512.dat"
        assert paths.xml.name == "Cam_02_20261127_142301_512.xml"
        assert paths.truth.name == "Cam_02_20261127_142301_512.truth.json"
        back = read_scan(paths.xml)
        assert back.component_name == scan.component_name
        assert back.traits == scan.traits
        assert ("genistream" in back.extra) == (cam.model == "ranger3")
        assert list(back.arrays) == list(scan.arrays)
        for name, arr in scan.arrays.items():
            assert back.arrays[name].dtype == arr.dtype
            assert np.array_equal(back.arrays[name], arr, equal_nan=arr.dtype.kind == "f")
        truth = json.loads(paths.truth.read_text())
        assert truth["label"] == "bad" and truth["file"] == paths.dat.name
        assert truth["capture_time"] == WHEN.isoformat()
        (d,) = truth["defects"]
        assert d["kind"] == "chunking" and d["params"]["depth_mm"] == 2.0
        assert {"along_mm", "across_mm", "line", "column", "wheel_along_mm"} <= set(d)
        assert truth["calibration"]["mm_per_col"] == cam.mm_per_col
        assert sorted(p.name for p in out.iterdir()) == sorted(
            [paths.dat.name, paths.xml.name, paths.truth.name])  # no temp files left


def test_same_seed_writes_identical_bytes(tmp_path: Path) -> None:
    outs = []
    for k in range(2):
        scan = simulate_scan(WHEEL, ranger_e55(lines_per_rev=400), np.random.default_rng(42))
        outs.append(write_sim_scan(scan, tmp_path / str(k), "Cam_01", WHEN))
    assert outs[0].dat.read_bytes() == outs[1].dat.read_bytes()
    assert outs[0].xml.read_bytes() == outs[1].xml.read_bytes()


def test_growing_mode_shows_a_partial_dat_before_its_xml(tmp_path: Path) -> None:
    import threading
    import time

    scan = simulate_scan(WHEEL, ranger_e55(lines_per_rev=400), np.random.default_rng(1))
    dat = tmp_path / "Cam_01_20261127_142301_512.dat"
    seen: list[tuple[int, bool]] = []
    th = threading.Thread(target=write_sim_scan, args=(scan, tmp_path, "Cam_01", WHEN),
                          kwargs={"growing_s": 0.6, "truth_dir": tmp_path / "truth"})
    th.start()
    while th.is_alive():
        if dat.exists():
            seen.append((dat.stat().st_size, dat.with_suffix(".xml").exists()))
        time.sleep(0.02)
    th.join()
    full = dat.stat().st_size
    assert any(0 < size < full and not xml for size, xml in seen)
    assert np.array_equal(read_scan(dat).arrays["Range"], scan.arrays["Range"])
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())
