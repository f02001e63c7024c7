"""The binary array sidecar of a file bundle: the scan's arrays as plain ``.npy`` members.

Besides ``wheel.csv`` and ``wheel.json`` a bundle may hold one member per array the CSV
is built from, ``arrays/<subcomponent>.npy`` (``Range``, ``Intensity``, ``Range X``, ...:
the values of ``column_sources`` except the column index), each a version 1.0 ``.npy``
of shape ``(lines, width)``, little-endian, C order, dtype as the metadata's ``columns``.
The values are exactly those of the CSV (the same scan), so a reader can skip the CSV
parse. The CSV stays the contract: the sidecar is optional and only ever a shortcut.

Decoding is strict: exactly the arrays the metadata names, each dtype and shape as the
metadata says, no object dtypes, no pickles, no trailing bytes. Anything else is a
:class:`~schemas.errors.ContractError` naming the member.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping

import numpy as np

from schemas.errors import ContractError
from schemas.wheel_csv import COLUMN_INDEX, DTYPE_NAMES, WheelData, WheelMetadata

ARRAYS_PREFIX = "arrays/"
NPY_SUFFIX = ".npy"
#: What a subcomponent name may be to name a member (no path separators, no dot-dot).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,63}$")
_MAGIC = b"\x93NUMPY"

__all__ = ["ARRAYS_PREFIX", "array_of_member", "encode_arrays", "expected_arrays",
           "is_array_member", "member_name", "subcomponent_of", "wheel_from_arrays",
           "wheel_of"]


def is_array_member(name: str) -> bool:
    """True for a bundle member of the sidecar (``arrays/...``), well named or not."""
    return name.startswith(ARRAYS_PREFIX)


def member_name(subcomponent: str) -> str:
    """``Range`` -> ``arrays/Range.npy`` (ContractError for a name unfit for a member)."""
    if not _NAME.match(subcomponent):
        raise ContractError(f"subcomponent name {subcomponent!r} cannot name an array member")
    return f"{ARRAYS_PREFIX}{subcomponent}{NPY_SUFFIX}"


def subcomponent_of(member: str) -> str:
    """``arrays/Range.npy`` -> ``Range``; ContractError for any other member name."""
    name = member.removeprefix(ARRAYS_PREFIX).removesuffix(NPY_SUFFIX)
    if member != f"{ARRAYS_PREFIX}{name}{NPY_SUFFIX}" or not _NAME.match(name):
        raise ContractError(f"bad array member name {member!r}: expected "
                            f"'{ARRAYS_PREFIX}<subcomponent>{NPY_SUFFIX}'")
    return name


def expected_arrays(meta: WheelMetadata) -> dict[str, np.dtype]:
    """Subcomponent -> little-endian dtype of every array the metadata's CSV is built from
    (in column order; the column index is no array)."""
    out: dict[str, np.dtype] = {}
    for col, src in meta.column_sources.items():
        if src == COLUMN_INDEX:
            continue
        if col not in meta.columns:
            raise ContractError(f"metadata has no dtype for column {col!r} ({src})")
        out[src] = np.dtype(meta.columns[col]).newbyteorder("<")
    return out


def _encode(name: str, array: np.ndarray) -> bytes:
    a = np.asarray(array)
    if a.ndim != 2 or a.dtype.name not in DTYPE_NAMES:
        raise ContractError(f"array {name!r}: {a.dtype} of shape {a.shape} is not a 2-D "
                            f"array of {', '.join(DTYPE_NAMES)}")
    out = io.BytesIO()
    np.lib.format.write_array(out, np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")),
                              version=(1, 0), allow_pickle=False)
    return out.getvalue()


def encode_arrays(arrays: Mapping[str, np.ndarray]) -> dict[str, bytes]:
    """Member name -> ``.npy`` bytes of each array (subcomponent -> 2-D array), sorted by
    member name: the same arrays always give the same members, in the same order."""
    members = {member_name(name): _encode(name, a) for name, a in arrays.items()}
    return dict(sorted(members.items()))


def _header(member: str, fp: io.BytesIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran order, dtype) of an ``.npy`` header; ContractError if it is none."""
    if fp.read(len(_MAGIC)) != _MAGIC:
        raise ContractError(f"array member {member!r} is not a .npy array (no NUMPY magic;"
                            " pickles and other formats are refused)")
    fp.seek(0)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(fp)  # type: ignore[no-any-return]
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(fp)  # type: ignore[no-any-return]
    except (ValueError, TypeError, SyntaxError) as exc:
        raise ContractError(f"array member {member!r}: bad .npy header: {exc}") from None
    raise ContractError(f"array member {member!r}: unsupported .npy version {version}")


def array_of_member(member: str, data: bytes, dtype: np.dtype,
                    shape: tuple[int, int]) -> np.ndarray:
    """The array in the ``.npy`` bytes ``data`` of ``member``, which must be of ``dtype``
    and ``shape`` (C order, no trailing bytes); a writable copy. Never unpickles."""
    fp = io.BytesIO(data)
    got_shape, fortran, got = _header(member, fp)
    if got.hasobject:
        raise ContractError(f"array member {member!r} holds Python objects ({got}): refused")
    if got != dtype:
        raise ContractError(f"array member {member!r} is {got.str}, metadata says {dtype.str}")
    if tuple(got_shape) != shape:
        raise ContractError(f"array member {member!r} has shape {tuple(got_shape)}, metadata"
                            f" says {shape} (lines x width)")
    if fortran:
        raise ContractError(f"array member {member!r} is in Fortran order, C order expected")
    offset = fp.tell()
    if len(data) - offset != dtype.itemsize * shape[0] * shape[1]:
        raise ContractError(f"array member {member!r}: {len(data) - offset} data bytes, "
                            f"{dtype.itemsize * shape[0] * shape[1]} expected")
    return np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape).copy()


def _check_names(meta: WheelMetadata, given: Mapping[str, str]) -> dict[str, np.dtype]:
    """The expected arrays, once the given ones (subcomponent -> how to name it in an
    error) are exactly those."""
    want = expected_arrays(meta)
    extra = [label for n, label in given.items() if n not in want]
    if extra:
        raise ContractError(f"unexpected {extra[0]}: the metadata's arrays are"
                            f" {[member_name(n) for n in want]}")
    missing = [member_name(n) for n in want if n not in given]
    if missing:
        raise ContractError(f"array member(s) {missing} missing")
    if meta.rows != meta.lines * meta.width:
        raise ContractError(f"metadata rows {meta.rows} != {meta.lines} x {meta.width}")
    return want


def wheel_from_arrays(meta: WheelMetadata, members: Mapping[str, bytes]) -> WheelData:
    """The :class:`WheelData` of a bundle's sidecar (member name -> ``.npy`` bytes),
    checked against ``meta``: what :func:`schemas.wheel_csv.read_wheel_csv` gives for the
    bundle's CSV, without parsing it."""
    names = {subcomponent_of(m): m for m in members}
    want = _check_names(meta, {n: f"array member {m!r}" for n, m in names.items()})
    shape = (meta.lines, meta.width)
    arrays = {n: array_of_member(names[n], members[names[n]], dt, shape)
              for n, dt in want.items()}
    return WheelData(meta=meta, arrays=arrays)


def wheel_of(meta: WheelMetadata, arrays: Mapping[str, np.ndarray]) -> WheelData:
    """A :class:`WheelData` of decoded arrays (e.g. ``cloud.reassembly.Bundle.arrays``),
    checked again against ``meta``: names, dtypes and shapes."""
    want = _check_names(meta, {n: f"array {n!r}" for n in arrays})
    shape = (meta.lines, meta.width)
    for n, dt in want.items():
        a = arrays[n]
        if a.dtype != dt or a.shape != shape:
            raise ContractError(f"array {n!r} is {a.dtype.str} {a.shape}, metadata says "
                                f"{dt.str} {shape}")
    return WheelData(meta=meta, arrays={n: arrays[n] for n in want})
