"""Read a SICK iCon ``.dat`` + ``.xml`` pair into memory-mapped numpy arrays."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.sick._format import TRAITS_TAGS, IconLayout, SubcomponentSpec, parse_icon_xml
from edge.sick.mark import MarkFields, decode_mark
from schemas.errors import ScanFormatError

#: Names that hold the main (range or image) data, in order of preference.
PRIMARY_NAMES = ("Range", "Range R", "Image")


@dataclass(frozen=True, eq=False)
class Scan:
    """One iCon buffer: subcomponent arrays keyed by XML name plus the parsed XML.

    ``arrays`` are read-only views on a memory map of the ``.dat`` (no copy), each of
    shape ``(lines, width)`` and little-endian dtype as stored (BYTE u1, WORD u2,
    INT i4, DWORD u4, FLOAT f4). ``buffer`` is the whole ``.dat`` (uint8, read-only) the
    views point into. ``traits``/``traits_tag`` are the first traits element
    of the component; ``all_traits`` holds every traits element by tag; ``extra`` the
    raw XML of root-level elements other than the component (genistream, additionalinfo).
    """

    dat_path: Path
    xml_path: Path
    layout: str
    component_name: str
    component_valuetype: str
    traits_tag: str
    traits: dict[str, str]
    extra: dict[str, str]
    value_types: dict[str, str]
    arrays: dict[str, np.ndarray]
    lines: int
    width: int
    all_traits: dict[str, dict[str, str]]
    buffer: np.ndarray = field(repr=False)

    def __getitem__(self, name: str) -> np.ndarray:
        """The array of subcomponent ``name`` (KeyError names the ones present)."""
        try:
            return self.arrays[name]
        except KeyError:
            raise KeyError(f"{name!r} not in scan (has {', '.join(self.arrays)})") from None

    def __contains__(self, name: object) -> bool:
        return name in self.arrays

    @property
    def primary_name(self) -> str:
        """Name of the main data subcomponent (Range, Range R, Image or first non-Mark)."""
        return _primary_name(self.arrays)

    def mark_fields(self) -> MarkFields:
        """Decode the per-line Mark subcomponent (encoder value and status bits)."""
        name = next((n for n in self.arrays if n.lower() == "mark"), None)
        if name is None:
            raise ScanFormatError(self.dat_path, "scan has no Mark subcomponent")
        return decode_mark(self.arrays[name], self.dat_path)


def _primary_name(arrays: Mapping[str, np.ndarray]) -> str:
    for name in PRIMARY_NAMES:
        if name in arrays:
            return name
    others = [n for n in arrays if n != "Mark"]
    return others[0] if others else next(iter(arrays))


def pair_paths(path: str | Path) -> tuple[Path, Path]:
    """The ``(.dat, .xml)`` pair for either file; both must exist."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".dat", ".xml"):
        raise ScanFormatError(p, "not an iCon file: expected a .dat or .xml path")
    dat, xml = (p, p.with_suffix(".xml")) if suffix == ".dat" else (p.with_suffix(".dat"), p)
    if not p.is_file():
        raise ScanFormatError(p, "file not found")
    other = xml if suffix == ".dat" else dat
    if not other.is_file():
        raise ScanFormatError(p, f"missing sidecar {other.name}")
    return dat, xml


def _views(
    mm: np.ndarray, fmt: IconLayout, lines: int
) -> dict[str, np.ndarray]:
    """Zero-copy (lines, width) views of every subcomponent inside the map ``mm``."""
    out: dict[str, np.ndarray] = {}
    offset = 0
    sub: SubcomponentSpec
    for sub in fmt.subcomponents:
        if fmt.layout == "SUBCOMPONENT":
            strides = (sub.size, sub.dtype.itemsize)
            start, offset = offset, offset + sub.size * lines
        else:  # SCAN: every line holds all subcomponents one after the other
            strides = (fmt.component_size, sub.dtype.itemsize)
            start, offset = offset, offset + sub.size
        arr = np.ndarray(
            shape=(lines, sub.width), dtype=sub.dtype, buffer=mm, offset=start,
            strides=strides,
        )
        arr.flags.writeable = False
        out[sub.name] = arr
    return out


def _load(dat: Path, in_memory: bool) -> np.ndarray:
    """The whole ``.dat`` as a read-only uint8 array: a memory map or one read."""
    try:
        if in_memory:
            buf = np.fromfile(dat, dtype=np.uint8)
            buf.flags.writeable = False
            return buf
        if dat.stat().st_size == 0:
            return np.zeros(0, dtype=np.uint8)
        return np.memmap(dat, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as exc:
        raise ScanFormatError(dat, f"cannot read file: {exc}") from None


def _line_count(dat: Path, fmt: IconLayout, nbytes: int) -> int:
    if nbytes == 0:
        raise ScanFormatError(dat, "zero lines: the .dat file is empty")
    if nbytes % fmt.root_size:
        raise ScanFormatError(
            dat, f"truncated: {nbytes} bytes is not a whole number of {fmt.root_size}-byte"
            f" lines ({nbytes // fmt.root_size} full, {nbytes % fmt.root_size} bytes left)"
        )
    return nbytes // fmt.root_size * fmt.height


#: Largest .dat accepted (the biggest real scan, 2560 columns x 3000 lines of calibrated
#: float data with intensity, is ~70 MB); a larger file is rejected before it is read.
MAX_SCAN_BYTES = 256 * 1024 * 1024


def _check_size_before_reading(dat: Path, fmt: IconLayout, max_bytes: int) -> None:
    try:
        size = dat.stat().st_size
    except OSError as exc:
        raise ScanFormatError(dat, f"cannot read file: {exc}") from None
    if size > max_bytes:
        raise ScanFormatError(dat, f"oversized: {size} bytes is over the {max_bytes}-byte limit")
    _line_count(dat, fmt, size)


def read_scan(path: str | Path, *, in_memory: bool = False,
              max_bytes: int = MAX_SCAN_BYTES) -> Scan:
    """Read an iCon pair given its ``.dat`` or ``.xml`` path.

    By default the arrays are views on a read-only memory map (no copy; milliseconds
    for any size). ``in_memory=True`` reads the ``.dat`` once into memory instead: use
    it in long-running processes where the file may be changed or truncated while it
    is in use (touching a truncated map kills the process with SIGBUS); ``Scan.buffer``
    then holds exactly the bytes that were parsed (hash those).

    Raises ScanFormatError (naming the file and the problem) for a missing sidecar,
    malformed or hostile XML, unknown value types, sizes that disagree, an empty or
    truncated ``.dat``, or one over ``max_bytes`` (checked before anything is read).
    """
    dat, xml = pair_paths(path)
    fmt = parse_icon_xml(xml)
    _check_size_before_reading(dat, fmt, max_bytes)
    mm = _load(dat, in_memory)
    lines = _line_count(dat, fmt, int(mm.size))
    arrays = _views(mm, fmt, lines)
    tags = [t for t in fmt.traits if t in TRAITS_TAGS] or list(fmt.traits)
    tag = tags[0] if tags else ""
    return Scan(
        dat_path=dat, xml_path=xml, layout=fmt.layout,
        component_name=fmt.component_name, component_valuetype=fmt.component_valuetype,
        traits_tag=tag, traits=dict(fmt.traits.get(tag, {})), extra=dict(fmt.extra),
        value_types={s.name: s.value_type for s in fmt.subcomponents},
        arrays=arrays, lines=lines, width=arrays[_primary_name(arrays)].shape[1],
        all_traits={k: dict(v) for k, v in fmt.traits.items()}, buffer=mm,
    )
