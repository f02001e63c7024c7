"""edge.convert: scan -> per-wheel CSV + metadata, exact round trip, JSON Schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from edge.convert import WheelContext, convert_scan
from edge.sick import read_scan, write_scan
from schemas.calibration import Calibration
from schemas.errors import ScanFormatError
from schemas.messages import make_file_id
from schemas.wheel_csv import SCHEMA_FILE, load_metadata, read_wheel_csv
from tests.edge.sick_helpers import RANGER_E, write_ranger3

SCHEMA = json.loads(SCHEMA_FILE.read_text())


def _validate(meta_path: Path) -> dict:
    doc = json.loads(meta_path.read_text())
    jsonschema.validate(doc, SCHEMA)
    return doc


@pytest.mark.parametrize("stem", ["circle_cover_buff", "zse_buff", "zse_buff_1"])
def test_real_sample_round_trip_with_one_read_csv(tmp_path: Path, stem: str) -> None:
    res = convert_scan(RANGER_E / f"{stem}.dat", tmp_path)
    scan = read_scan(RANGER_E / f"{stem}.dat")
    frame = pd.read_csv(res.csv_path)  # the contract: one plain read_csv call
    assert list(frame.columns) == ["line", "x", "range", "intensity"]
    assert len(frame) == res.rows == 512 * 1536
    np.testing.assert_array_equal(frame["range"].to_numpy().reshape(512, 1536), scan["Range"])
    np.testing.assert_array_equal(frame["intensity"].to_numpy().reshape(512, 1536),
                                  scan["Intensity"])
    assert frame["line"].iloc[1536] == 1 and frame["x"].iloc[1537] == 1
    back = read_wheel_csv(res.csv_path)
    assert back.range.dtype == np.uint16 and back.intensity is not None
    np.testing.assert_array_equal(back.range, scan["Range"])
    doc = _validate(res.meta_path)
    assert doc["value_types"] == {k: v for k, v in scan.value_types.items()}
    assert doc["traits"]["sensorrangetraits"]["scale z"] == "-0.0625"
    assert doc["capture_time_source"] == "mtime" and doc["site"] is None
    assert doc["csv_bytes"] == res.bytes == res.csv_path.stat().st_size


def test_ranger3_with_scatter_and_context(tmp_path: Path) -> None:
    dat = write_ranger3(tmp_path / "in" / "Cam_02_20261127_142301_512.dat", 40, 64,
                        scatter=True)
    ctx = WheelContext(site="park1", camera="Cam_02", camera_model="ranger3", wheel_id="W07",
                       train_id="T1", run_id="R42", run_count=42)
    cal = Calibration(mm_per_col=0.1, mm_per_row=0.05, lines_per_rev=40)
    res = convert_scan(dat, tmp_path / "out", context=ctx, calibration=cal)
    assert res.csv_path.read_text().splitlines()[0] == "line,x,range,intensity,scatter"
    back = read_wheel_csv(res.csv_path)
    scan = read_scan(dat)
    for name in ("Range", "Intensity", "Scatter"):
        np.testing.assert_array_equal(back[name], scan[name])
        assert back[name].dtype == scan[name].dtype
    doc = _validate(res.meta_path)
    assert doc["wheel_id"] == "W07" and doc["run_count"] == 42 and doc["camera"] == "Cam_02"
    assert doc["calibration"]["lines_per_rev"] == 40
    assert doc["capture_time"] == "2026-11-27T14:23:01.512000Z"
    assert doc["capture_time_source"] == "name"
    sha = doc["source_dat"]["sha256"]
    assert res.file_id == make_file_id("park1", "Cam_02", dat.name, sha)
    assert load_metadata(res.meta_path).lines == 40


def test_file_id_is_stable_and_context_time_wins(tmp_path: Path) -> None:
    dat = write_ranger3(tmp_path / "scan.dat", 5, 7)
    when = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    a = convert_scan(dat, tmp_path / "a", context=WheelContext(capture_time=when))
    b = convert_scan(dat, tmp_path / "b")
    assert a.file_id == b.file_id
    assert a.meta.capture_time == when and a.meta.capture_time_source == "context"
    c = convert_scan(dat, tmp_path / "c", context=WheelContext(site="s", camera="Cam_01"))
    assert c.file_id != a.file_id


def test_calibrated_float_scan_keeps_x_and_missing_markers(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    rx = rng.uniform(0, 1810, (6, 16)).astype(np.float32)
    rr = rng.uniform(-50, 1758, (6, 16)).astype(np.float32)
    rr[0, 0], rr[0, 1], rr[0, 2], rr[1, 3] = 0.0, np.nan, -1e6, np.float32(1 / 3)
    arrays = {"Range X": rx, "Range R": rr, "Mark": np.zeros((6, 5), np.int32),
              "Intensity": rng.integers(0, 256, (6, 16)).astype(np.uint8)}
    dat, _ = write_scan(tmp_path / "ruler.dat", arrays, component_name="HorMax 1",
                        component_valuetype="", traits_tag="worldrangetraits",
                        traits={"lower bound x": "0", "upper bound x": "1810.1"})
    res = convert_scan(dat, tmp_path)
    back = read_wheel_csv(res.csv_path)
    assert back.meta.column_sources == {"x": "Range X", "range": "Range R",
                                        "intensity": "Intensity"}
    for name in ("Range X", "Range R"):
        assert back[name].dtype == np.float32
        np.testing.assert_array_equal(back[name].view(np.uint32),
                                      arrays[name].view(np.uint32))
    _validate(res.meta_path)


def test_scan_layout_multi_subcomponent_converts(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    arrays = {"Range": rng.integers(0, 8000, (9, 11)).astype(np.uint16),
              "Intensity": rng.integers(0, 256, (9, 11)).astype(np.uint8)}
    dat, _ = write_scan(tmp_path / "s.dat", arrays, component_name="Hi3D 1",
                        component_valuetype="DCM", traits_tag="sensorrangetraits",
                        traits={}, layout="SCAN")
    back = read_wheel_csv(convert_scan(dat, tmp_path / "o").csv_path)
    np.testing.assert_array_equal(back.range, arrays["Range"])


def test_range_only_scan_has_empty_intensity(tmp_path: Path) -> None:
    arrays = {"Range": np.arange(12, dtype=np.uint16).reshape(3, 4)}
    dat, _ = write_scan(tmp_path / "r.dat", arrays, component_name="Hi3D 1",
                        component_valuetype="DCM", traits_tag="sensorrangetraits", traits={})
    res = convert_scan(dat, tmp_path / "o")
    assert res.csv_path.read_text().splitlines()[:2] == ["line,x,range,intensity", "0,0,0,"]
    back = read_wheel_csv(res.csv_path)
    assert back.intensity is None
    np.testing.assert_array_equal(back.range, arrays["Range"])


def test_image_scan_is_not_convertible(tmp_path: Path) -> None:
    with pytest.raises(ScanFormatError, match="no Range subcomponent"):
        convert_scan(RANGER_E / "zse_buff_1_img.xml", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_no_temporary_files_left(tmp_path: Path) -> None:
    dat = write_ranger3(tmp_path / "in" / "x.dat", 3, 3)
    convert_scan(dat, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x.csv", "x.meta.json"]


def _float_scan(tmp_path: Path) -> Path:
    rng = np.random.default_rng(9)
    rr = rng.uniform(-50, 1758, (5, 12)).astype(np.float32)
    rr[0, 0], rr[0, 1] = np.nan, np.float32(1 / 3)
    dat, _ = write_scan(tmp_path / "f.dat", {"Range R": rr, "Range X": rr * 2},
                        component_name="HorMax 1", component_valuetype="",
                        traits_tag="worldrangetraits", traits={})
    return dat


def _range_only_scan(tmp_path: Path) -> Path:
    arrays = {"Range": np.arange(12, dtype=np.uint16).reshape(3, 4)}
    return write_scan(tmp_path / "r.dat", arrays, component_name="Hi3D 1",
                      component_valuetype="DCM", traits_tag="sensorrangetraits",
                      traits={})[0]


@pytest.mark.parametrize("make", [
    lambda p: write_ranger3(p / "Cam_02_20261127_142301_512.dat", 40, 64, scatter=True),
    _float_scan, _range_only_scan])
def test_in_memory_conversion_gives_the_files_bytes_and_writes_nothing(
        tmp_path: Path, make: object) -> None:
    dat = make(tmp_path)  # type: ignore[operator]
    ctx = WheelContext(site="park1", camera="Cam_02", wheel_id="W07",
                       capture_time=datetime(2026, 11, 27, tzinfo=UTC))
    on_disk = convert_scan(dat, tmp_path / "disk", context=ctx)
    mem = convert_scan(dat, tmp_path / "mem", context=ctx, in_memory_max_rows=10**6)
    assert not (tmp_path / "mem").exists()
    assert on_disk.csv_data is None and mem.csv_data == on_disk.csv_path.read_bytes()
    assert mem.bytes == on_disk.bytes and mem.file_id == on_disk.file_id
    assert mem.meta_data is not None
    meta = json.loads(mem.meta_data)
    jsonschema.validate(meta, SCHEMA)
    disk_meta = json.loads(on_disk.meta_path.read_text())
    assert {**meta, "converted_at": None} == {**disk_meta, "converted_at": None}
    assert mem.csv_path.name == on_disk.csv_path.name
    small = convert_scan(dat, tmp_path / "small", context=ctx, in_memory_max_rows=1)
    assert small.csv_data is None and small.csv_path.exists()  # over the limit: files
