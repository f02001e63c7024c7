"""schemas.wheel_arrays: the bundle's .npy sidecar round-trips to what the CSV reader
gives, and every malformed member is refused with its name."""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from edge.convert import ConvertResult, convert_scan
from edge.sick import write_scan
from schemas.errors import ContractError
from schemas.wheel_arrays import (
    array_of_member,
    encode_arrays,
    expected_arrays,
    member_name,
    subcomponent_of,
    wheel_from_arrays,
    wheel_of,
)
from schemas.wheel_csv import WheelMetadata, read_wheel_csv
from tests.edge.sick_helpers import write_ranger3


def _ranger3(tmp: Path) -> Path:
    return write_ranger3(tmp / "Cam_01_20261127_142301_512.dat", 7, 9, scatter=True)


def _float_scan(tmp: Path) -> Path:
    """A calibrated float scan: x is Range X, missing markers 0, NaN and -1e6."""
    rng = np.random.default_rng(4)
    rr = rng.uniform(-50, 1758, (5, 12)).astype(np.float32)
    rr[0, 0], rr[0, 1], rr[0, 2], rr[1, 1] = 0.0, np.nan, -1e6, np.float32(1 / 3)
    return write_scan(tmp / "f.dat", {"Range R": rr, "Range X": rr * 2, "Intensity":
                                      rng.integers(0, 256, (5, 12)).astype(np.uint8)},
                      component_name="HorMax 1", component_valuetype="",
                      traits_tag="worldrangetraits", traits={})[0]


def _scan_layout(tmp: Path) -> Path:
    """SCAN layout: the arrays are strided views of the .dat (not contiguous)."""
    rng = np.random.default_rng(2)
    arrays = {"Range": rng.integers(0, 8000, (9, 11)).astype(np.uint16),
              "Intensity": rng.integers(0, 256, (9, 11)).astype(np.uint8)}
    return write_scan(tmp / "s.dat", arrays, component_name="Hi3D 1",
                      component_valuetype="DCM", traits_tag="sensorrangetraits",
                      traits={}, layout="SCAN")[0]


def _range_only(tmp: Path) -> Path:
    return write_scan(tmp / "r.dat", {"Range": np.arange(12, dtype=np.uint16).reshape(3, 4)},
                      component_name="Hi3D 1", component_valuetype="DCM",
                      traits_tag="sensorrangetraits", traits={})[0]


@pytest.fixture
def converted(tmp_path: Path) -> ConvertResult:
    return convert_scan(_ranger3(tmp_path), tmp_path / "out")


@pytest.mark.parametrize("make", [_ranger3, _float_scan, _scan_layout, _range_only])
def test_round_trip_equals_the_csv_reader(tmp_path: Path, make: Callable[[Path], Path]) -> None:
    res = convert_scan(make(tmp_path), tmp_path / "out")
    assert res.arrays is not None
    members = encode_arrays(res.arrays)
    assert list(members) == sorted(members)
    assert all(m.startswith("arrays/") and m.endswith(".npy") for m in members)
    back = wheel_from_arrays(res.meta, members)
    csv = read_wheel_csv(res.csv_path, res.meta_path)
    assert list(back.arrays) == list(csv.arrays)  # same names, same (column) order
    for name, want in csv.arrays.items():
        got = back[name]
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.flags.writeable and got.flags.c_contiguous
        np.testing.assert_array_equal(got.view(f"u{got.itemsize}"),
                                      want.view(f"u{want.itemsize}"))  # bit for bit (NaN)
    assert encode_arrays(res.arrays) == members  # deterministic
    again = wheel_of(res.meta, back.arrays)
    assert again.arrays.keys() == back.arrays.keys()


def test_member_names() -> None:
    assert member_name("Range X") == "arrays/Range X.npy"
    assert subcomponent_of("arrays/Range X.npy") == "Range X"
    for bad in ("arrays/../wheel.npy", "arrays/a/b.npy", "arrays/.npy", "arrays/Range",
                "Range.npy", "arrays/Range.npy.npy", "arrays/.hidden.npy", "arrays/\nx.npy"):
        with pytest.raises(ContractError, match="bad array member name"):
            subcomponent_of(bad)
    with pytest.raises(ContractError, match="cannot name an array member"):
        member_name("../etc")


def _npy(a: np.ndarray, **kw: object) -> bytes:
    out = io.BytesIO()
    np.save(out, a, **kw)  # type: ignore[arg-type]
    return out.getvalue()


def _with(members: dict[str, bytes], name: str, data: bytes) -> dict[str, bytes]:
    return {**members, name: data}


def _rejects(meta: WheelMetadata, members: dict[str, bytes], *words: str) -> None:
    with pytest.raises(ContractError) as exc:
        wheel_from_arrays(meta, members)
    assert all(w in str(exc.value) for w in words), str(exc.value)


def test_rejects_what_disagrees_with_the_metadata(converted: ConvertResult) -> None:
    assert converted.arrays is not None
    meta, members = converted.meta, encode_arrays(converted.arrays)
    rng = converted.arrays["Range"]
    name = "arrays/Range.npy"
    _rejects(meta, _with(members, name, _npy(rng.astype(np.int32))), name, "<i4", "<u2")
    _rejects(meta, _with(members, name, _npy(rng.astype(">u2"))), name, ">u2")
    _rejects(meta, _with(members, name, _npy(rng[:-1])), name, "shape (6, 9)", "(7, 9)")
    _rejects(meta, _with(members, name, _npy(rng.T.copy().T)), name, "Fortran")
    _rejects(meta, _with(members, name, _npy(rng) + b"\0\0"), name, "data bytes")
    _rejects(meta, _with(members, name, _npy(rng)[:-2]), name, "data bytes")
    _rejects(meta, _with(members, "arrays/Mark.npy", _npy(rng)), "unexpected",
             "arrays/Mark.npy")
    _rejects(meta, {k: v for k, v in members.items() if k != name}, name, "missing")
    _rejects(meta, _with(members, "arrays/../x.npy", b""), "bad array member name",
             "arrays/../x.npy")
    bad_meta = meta.model_copy(update={"columns": {**meta.columns, "range": "uint8"}})
    _rejects(bad_meta, members, name, "|u1")
    assert expected_arrays(meta) == {"Range": np.dtype("<u2"), "Intensity": np.dtype("u1"),
                                     "Scatter": np.dtype("u1")}


def test_rejects_pickles_and_object_arrays(converted: ConvertResult) -> None:
    assert converted.arrays is not None
    meta, members = converted.meta, encode_arrays(converted.arrays)
    name = "arrays/Intensity.npy"
    objects = np.empty((7, 9), dtype=object)
    _rejects(meta, _with(members, name, _npy(objects, allow_pickle=True)), name, "objects")
    _rejects(meta, _with(members, name, pickle.dumps(converted.arrays["Intensity"])), name,
             "not a .npy", "pickles")
    _rejects(meta, _with(members, name, b""), name, "not a .npy")
    header = _npy(converted.arrays["Intensity"])
    _rejects(meta, _with(members, name, header[:8] + b"\x05\x00garbage"), name,
             "bad .npy header")
    bumped = bytearray(header)
    bumped[6] = 3  # format version 3.0
    _rejects(meta, _with(members, name, bytes(bumped)), name, "version")
    with pytest.raises(ContractError, match="not a 2-D array"):
        encode_arrays({"Range": objects})


def test_array_of_member_returns_a_writable_copy() -> None:
    a = np.arange(6, dtype=np.uint16).reshape(2, 3)
    data = _npy(a)
    got = array_of_member("arrays/Range.npy", data, np.dtype("<u2"), (2, 3))
    got[0, 0] = 9
    np.testing.assert_array_equal(np.load(io.BytesIO(data)), a)


def test_wheel_of_checks_decoded_arrays(converted: ConvertResult) -> None:
    assert converted.arrays is not None
    arrays = dict(converted.arrays)
    with pytest.raises(ContractError, match="'Range' is <i4"):
        wheel_of(converted.meta, {**arrays, "Range": arrays["Range"].astype(np.int32)})
    with pytest.raises(ContractError, match="unexpected array 'Mark'"):
        wheel_of(converted.meta, {**arrays, "Mark": arrays["Range"]})
