"""write_scan -> read_scan round trips, both layouts, every value type."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.sick import decode_mark, encode_status, read_scan, write_scan
from tests.edge.sick_helpers import RANGER_E, RANGER_E_TRAITS, synthetic_arrays, write_ranger3


def test_ranger3_roundtrip_with_scatter(tmp_path: Path) -> None:
    arrays = synthetic_arrays(50, 80, scatter=True, seed=1)
    dat = write_ranger3(tmp_path / "Cam_01_20261127_142301_512.dat", 50, 80, scatter=True,
                        seed=1)
    scan = read_scan(dat)
    assert list(scan.arrays) == ["Range", "Intensity", "Scatter", "Mark"]
    assert scan.component_name == "Ranger3Range" and scan.component_valuetype == "Hi3D"
    assert scan.value_types == {"Range": "WORD", "Intensity": "BYTE", "Scatter": "BYTE",
                                "Mark": "INT"}
    for name, arr in arrays.items():
        np.testing.assert_array_equal(scan[name], arr)
        assert scan[name].dtype == arr.dtype
    assert scan.traits["scale z"] == "0.0625" and scan.lines == 50 and scan.width == 80
    assert dat.stat().st_size == 50 * (80 * 4 + 20)


def test_mark_fields_decode_what_was_encoded(tmp_path: Path) -> None:
    scan = read_scan(write_ranger3(tmp_path / "m.dat", 30, 8))
    mark = scan.mark_fields()
    assert mark.enable.all()
    np.testing.assert_array_equal(mark.encoder_a, np.arange(30) % 2 == 0)
    assert not mark.encoder_b.any()
    np.testing.assert_array_equal(mark.overtrig_count, np.arange(30) % 3)
    np.testing.assert_array_equal(mark.encoder_steps(), np.full(29, 4))
    assert mark.sample_timestamp is not None and mark.sample_timestamp[2] == 200


def test_encoder_steps_wrap_around() -> None:
    mark = np.zeros((3, 2), dtype=np.int32)
    mark[:, 0] = np.array([2**32 - 2, 2**32 - 1, 3], dtype=np.uint32).view(np.int32)
    mark[:, 1] = encode_status(enable=True)
    np.testing.assert_array_equal(decode_mark(mark).encoder_steps(), [1, 4])


def test_ranger_e_layout_like_camera(tmp_path: Path) -> None:
    """A Ranger E pair written by write_scan is byte-identical in XML to the real one."""
    real = read_scan(RANGER_E / "circle_cover_buff.dat")
    dat, xml = write_scan(
        tmp_path / "circle_cover_buff.dat", real.arrays, component_name=real.component_name,
        component_valuetype=real.component_valuetype, traits_tag=real.traits_tag,
        traits=real.traits,
    )
    assert dat.read_bytes() == (RANGER_E / "circle_cover_buff.dat").read_bytes()
    assert xml.read_text() == (RANGER_E / "circle_cover_buff.xml").read_text()
    assert real.traits == RANGER_E_TRAITS


@pytest.mark.parametrize("layout", ["SUBCOMPONENT", "SCAN"])
def test_every_value_type_roundtrips(tmp_path: Path, layout: str) -> None:
    rng = np.random.default_rng(7)
    arrays = {
        "Range X": rng.normal(size=(9, 5)).astype(np.float32),
        "Range R": np.array(rng.normal(size=(9, 5)), dtype=np.float32),
        "Word": rng.integers(0, 2**16, (9, 5)).astype(np.uint16),
        "Byte": rng.integers(0, 256, (9, 3)).astype(np.uint8),
        "Dword": rng.integers(0, 2**32, (9, 2), dtype=np.uint64).astype(np.uint32),
        "Mark": rng.integers(-(2**31), 2**31, (9, 2)).astype(np.int32),
    }
    arrays["Range R"][1, 1] = np.nan
    arrays["Range R"][2, 2] = -1e6
    dat, _ = write_scan(tmp_path / "f.dat", arrays, component_name="HorMax 1",
                        component_valuetype="", traits_tag="worldrangetraits",
                        traits={"lower bound x": "0"}, layout=layout)
    scan = read_scan(dat)
    assert scan.layout == layout and scan.lines == 9 and scan.width == 5
    assert scan.value_types["Dword"] == "DWORD" and scan.value_types["Range X"] == "FLOAT"
    for name, arr in arrays.items():
        np.testing.assert_array_equal(scan[name], arr)


def test_scan_layout_image_matches_real_shape(tmp_path: Path) -> None:
    real = read_scan(RANGER_E / "zse_buff_1_img.dat")
    dat, xml = write_scan(tmp_path / "img.dat", real.arrays, component_name="Image",
                          component_valuetype="image", traits_tag="imagetraits",
                          traits=real.traits, layout="SCAN")
    assert dat.read_bytes() == real.dat_path.read_bytes()
    text = xml.read_text()
    assert '<parameter name="size" >786432</parameter>' in text
    assert '<parameter name="height" >512</parameter>' in text


def test_extra_xml_and_extra_traits_roundtrip(tmp_path: Path) -> None:
    extra = "<genistream>\n <parameter name=\"DeviceModelName\" >Ranger3</parameter>\n</genistream>"
    dat, _ = write_scan(tmp_path / "e.dat", synthetic_arrays(4, 6),
                        component_name="Ranger3Range", component_valuetype="Hi3D",
                        traits_tag="worldrangetraits", traits={"lower bound x": "1.5"},
                        extra_xml=extra,
                        extra_traits={"genistreamtraits": {"unit": "millimeter"}})
    scan = read_scan(dat)
    assert "DeviceModelName" in scan.extra["genistream"]
    assert scan.traits_tag == "worldrangetraits"
    assert scan.all_traits["genistreamtraits"] == {"unit": "millimeter"}


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"Range": np.zeros((3, 4), dtype=np.int16)}, "no iCon value type"),
        ({"Range": np.zeros((3, 4), np.uint16), "I": np.zeros((2, 4), np.uint8)}, "same"),
        ({"Range": np.zeros(4, np.uint16)}, "2-D"),
        ({}, "no subcomponents"),
    ],
)
def test_write_rejects_bad_arrays(tmp_path: Path, arrays: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        write_scan(tmp_path / "x.dat", arrays, component_name="c", component_valuetype="",
                   traits_tag="t", traits={})
    assert not list(tmp_path.iterdir())


def test_write_rejects_bad_extra_xml(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="extra_xml"):
        write_scan(tmp_path / "x.dat", {"R": np.zeros((1, 1), np.uint16)},
                   component_name="c", component_valuetype="", traits_tag="t", traits={},
                   extra_xml="<a>")


def test_arrays_are_memory_mapped_views(tmp_path: Path) -> None:
    scan = read_scan(write_ranger3(tmp_path / "v.dat", 20, 10))
    base = scan["Range"].base
    while base is not None and not isinstance(base, np.memmap):
        base = base.base
    assert isinstance(base, np.memmap)
    with pytest.raises(ValueError):
        scan["Range"][0, 0] = 1


DTYPES = [np.uint8, np.uint16, np.int32, np.uint32, np.float32]


@settings(max_examples=40, deadline=None)
@given(
    lines=st.integers(1, 12),
    widths=st.lists(st.integers(1, 9), min_size=1, max_size=4),
    kinds=st.lists(st.sampled_from(range(len(DTYPES))), min_size=4, max_size=4),
    layout=st.sampled_from(["SUBCOMPONENT", "SCAN"]),
    seed=st.integers(0, 2**16),
)
def test_roundtrip_property(lines: int, widths: list[int], kinds: list[int], layout: str,
                            seed: int) -> None:
    rng = np.random.default_rng(seed)
    arrays = {}
    for i, width in enumerate(widths):
        dtype = np.dtype(DTYPES[kinds[i]])
        raw = rng.integers(0, 256, size=lines * width * dtype.itemsize, dtype=np.uint8)
        arrays[f"S{i}"] = raw.view(dtype).reshape(lines, width)
    with tempfile.TemporaryDirectory() as tmp:
        dat, _ = write_scan(Path(tmp) / "p.dat", arrays, component_name="c",
                            component_valuetype="", traits_tag="imagetraits", traits={},
                            layout=layout)
        scan = read_scan(dat)
        assert scan.lines == lines and list(scan.arrays) == list(arrays)
        for name, arr in arrays.items():
            assert scan[name].dtype == arr.dtype
            np.testing.assert_array_equal(scan[name].view(np.uint8), arr.view(np.uint8))
        del scan


def test_mark_lookup_is_case_insensitive(tmp_path: Path) -> None:
    mark = np.zeros((3, 2), np.int32)
    mark[:, 1] = encode_status(enable=True, encoder_b=True)
    dat, _ = write_scan(tmp_path / "m.dat", {"MARK": mark, "Range": np.ones((3, 4), np.uint16)},
                        component_name="Hi3D 1", component_valuetype="DCM",
                        traits_tag="sensorrangetraits", traits={})
    fields = read_scan(dat).mark_fields()
    assert fields.enable.all() and fields.encoder_b.all() and not fields.encoder_a.any()


def test_in_memory_read_survives_truncation(tmp_path: Path) -> None:
    dat = write_ranger3(tmp_path / "t.dat", 16, 12)
    mapped = read_scan(dat)
    loaded = read_scan(dat, in_memory=True)
    assert isinstance(mapped.buffer, np.memmap) and not isinstance(loaded.buffer, np.memmap)
    assert loaded.buffer.size == dat.stat().st_size and not loaded.buffer.flags.writeable
    expect = np.array(mapped["Range"])
    del mapped
    dat.write_bytes(b"")  # the camera rewrites the file while we hold the scan
    np.testing.assert_array_equal(loaded["Range"], expect)
    with pytest.raises(ValueError):
        loaded["Range"][0, 0] = 0
