"""edge.sick.read_scan on the real SICK files in shared/sick-samples/."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from edge.sick import read_scan
from edge.sick._format import parse_icon_xml
from tests.edge.sick_helpers import RANGER_E, RULER_XML

RANGE_FILES = ["circle_cover_buff", "zse_buff", "zse_buff_1"]
ALL_DAT = sorted(RANGER_E.glob("*.dat"))


def test_samples_are_present() -> None:
    assert len(ALL_DAT) == 4, f"expected 4 sample .dat files under {RANGER_E}"
    assert len(list(RULER_XML.glob("*.xml"))) == 3


@pytest.mark.parametrize("dat", ALL_DAT, ids=lambda p: p.stem)
def test_lines_shapes_and_dtypes(dat: Path) -> None:
    scan = read_scan(dat)
    assert scan.lines == 512 and scan.width == 1536
    for name, arr in scan.arrays.items():
        assert arr.shape[0] == 512, name
        assert not arr.flags.writeable
        assert arr.dtype.byteorder in ("<", "|", "=")
    line_bytes = sum(a.shape[1] * a.dtype.itemsize for a in scan.arrays.values())
    assert line_bytes * scan.lines == dat.stat().st_size


@pytest.mark.parametrize("stem", RANGE_FILES)
def test_planar_blocks_match_independent_decode(stem: str) -> None:
    scan = read_scan(RANGER_E / f"{stem}.xml")  # the .xml path works too
    raw = np.fromfile(RANGER_E / f"{stem}.dat", dtype=np.uint8)
    offset = 0
    for name, arr in scan.arrays.items():
        n = arr.size * arr.dtype.itemsize
        expect = raw[offset:offset + n].view(arr.dtype).reshape(arr.shape)
        np.testing.assert_array_equal(arr, expect, err_msg=name)
        offset += n
    assert offset == raw.size
    assert scan.value_types["Range"] == "WORD" and scan.value_types["Intensity"] == "BYTE"
    assert scan.component_name == "Hi3D 1" and scan.component_valuetype == "DCM"


@pytest.mark.parametrize("stem", RANGE_FILES)
def test_range_values_and_missing_fraction(stem: str) -> None:
    rng = read_scan(RANGER_E / f"{stem}.dat")["Range"]
    valid = rng[rng > 0]
    assert valid.min() >= 1 and valid.max() <= 8169
    missing = float((rng == 0).mean())
    assert 0.0002 <= missing <= 0.046, missing


def test_range_maximum_over_samples_is_8169() -> None:
    assert max(int(read_scan(RANGER_E / f"{s}.dat")["Range"].max()) for s in RANGE_FILES) == 8169


def test_sensor_traits_parsed() -> None:
    scan = read_scan(RANGER_E / "zse_buff.dat")
    assert scan.traits_tag == "sensorrangetraits"
    assert scan.traits["origin z"] == "510.875" and scan.traits["scale z"] == "-0.0625"
    assert scan.traits["fov z2"] == "8191" and scan.traits["coordinates"] == ""
    assert scan.extra == {}


def test_mark_status_words_of_ranger_e() -> None:
    scan = read_scan(RANGER_E / "circle_cover_buff.dat")
    assert scan["Mark"].shape == (512, 2) and scan["Mark"].dtype == np.dtype("<i4")
    mark = scan.mark_fields()
    assert np.all((mark.status >> 16) == 0x3800)
    assert mark.encoder_a.all() and mark.encoder_b.all() and mark.reserved_bit29.all()
    assert not mark.enable.any() and not mark.line_trigger.any()
    assert np.all(mark.overtrig_count == 0)
    assert np.all(mark.encoder_value == 0)  # no encoder attached on this capture
    assert np.unique(mark.status_low16).size > 400  # a running counter, not constant
    assert mark.sample_timestamp is None


def test_scan_layout_sensor_image() -> None:
    scan = read_scan(RANGER_E / "zse_buff_1_img.dat")
    assert scan.layout == "SCAN" and scan.traits_tag == "imagetraits"
    img = scan["Image"]
    assert img.shape == (512, 1536) and img.dtype == np.uint8
    raw = np.fromfile(RANGER_E / "zse_buff_1_img.dat", dtype=np.uint8).reshape(512, 1536)
    np.testing.assert_array_equal(img, raw)
    with pytest.raises(Exception, match="no Mark"):
        scan.mark_fields()


@pytest.mark.parametrize("xml", sorted(RULER_XML.glob("*.xml")), ids=lambda p: p.stem)
def test_ruler_xml_parses(xml: Path) -> None:
    fmt = parse_icon_xml(xml)
    assert fmt.root_size == 9236 and fmt.layout == "SUBCOMPONENT"
    assert [s.name for s in fmt.subcomponents] == ["Range X", "Range R", "Mark", "Intensity"]
    assert [s.value_type for s in fmt.subcomponents] == ["FLOAT", "FLOAT", "INT", "BYTE"]
    assert "upper bound r" in fmt.traits["worldrangetraits"]


def test_ruler_with_synthetic_dat(tmp_path: Path) -> None:
    xml = tmp_path / "ruler.xml"
    shutil.copy(RULER_XML / "b3c_xz_100_scan_0_left.xml", xml)
    lines, rng = 7, np.random.default_rng(3)
    blocks = {
        "Range X": rng.uniform(0, 1810, (lines, 1024)).astype("<f4"),
        "Range R": rng.uniform(0, 1758, (lines, 1024)).astype("<f4"),
        "Mark": rng.integers(-(2**31), 2**31 - 1, (lines, 5)).astype("<i4"),
        "Intensity": rng.integers(0, 256, (lines, 1024)).astype("u1"),
    }
    blocks["Range R"][0, :10] = np.nan
    (tmp_path / "ruler.dat").write_bytes(b"".join(b.tobytes() for b in blocks.values()))
    scan = read_scan(xml)
    assert scan.lines == lines and scan.width == 1024 and scan.traits_tag == "worldrangetraits"
    for name, arr in blocks.items():
        np.testing.assert_array_equal(scan[name], arr)
    assert scan.mark_fields().scan_id is not None
