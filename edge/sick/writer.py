"""Write real iCon ``.dat`` + ``.xml`` pairs (used by the simulator and by tests).

The XML has the same shape as the files Ranger Studio writes (see
``shared/sick-samples``). Both files are written to a temporary name and renamed into
place, the ``.dat`` first, so a folder watcher never sees a half-written pair.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from xml.etree.ElementTree import ParseError
from xml.sax.saxutils import escape, quoteattr

import defusedxml
import defusedxml.ElementTree as SafeET
import numpy as np

from edge.sick._format import LAYOUTS, VALUE_TYPES

_DTYPE_TO_VT = {dt.str: vt for vt, dt in VALUE_TYPES.items()}


def _value_type(name: str, arr: np.ndarray) -> str:
    vt = _DTYPE_TO_VT.get(arr.dtype.newbyteorder("<").str)
    if vt is None:
        raise ValueError(
            f"subcomponent {name!r}: dtype {arr.dtype} has no iCon value type "
            "(use uint8, uint16, int32, uint32 or float32)"
        )
    return vt


def _param(name: str, value: object, indent: str) -> str:
    return f'{indent}<parameter name={quoteattr(name)} >{escape(str(value))}</parameter>\n'


def _xml_text(
    specs: list[tuple[str, str, int, int]], *, layout: str, lines: int, component_name: str,
    component_valuetype: str, traits: Mapping[str, Mapping[str, str]], extra_xml: str | None,
) -> str:
    line_bytes = sum(s[3] for s in specs)
    height = lines if layout == "SCAN" else 1
    out = ['<icon_data_format valuetype="" name="" >\n',
           _param("size", line_bytes * height, " "), _param("version", 1, " "),
           _param("layout", layout, " "),
           f" <component valuetype={quoteattr(component_valuetype)}"
           f" name={quoteattr(component_name)} >\n",
           _param("size", line_bytes, "  "), _param("height", height, "  ")]
    for tag, params in traits.items():
        out.append(f"  <{tag}>\n")
        out.extend(_param(k, v, "   ") for k, v in params.items())
        out.append(f"  </{tag}>\n")
    for name, vt, width, size in specs:
        out.append(f"  <subcomponent valuetype={quoteattr(vt)} name={quoteattr(name)} >\n")
        out += [_param("size", size, "   "), _param("width", width, "   ")]
        out.append("  </subcomponent>\n")
    out.append(" </component>\n")
    if extra_xml:
        out.append(extra_xml.rstrip("\n") + "\n")
    out.append("</icon_data_format>\n")
    return "".join(out)


def _check_extra(extra_xml: str | None) -> None:
    if not extra_xml:
        return
    try:
        SafeET.fromstring(f"<x>{extra_xml}</x>", forbid_dtd=True)
    except (defusedxml.DefusedXmlException, ParseError) as exc:
        raise ValueError(f"extra_xml is not well-formed XML: {exc}") from None


def _atomic_write(path: Path, chunks: list[memoryview]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        for chunk in chunks:
            fh.write(chunk)
    os.replace(tmp, path)


def write_scan(
    dat_path: str | Path,
    arrays: Mapping[str, np.ndarray],
    *,
    component_name: str,
    component_valuetype: str,
    traits_tag: str,
    traits: Mapping[str, str],
    layout: str = "SUBCOMPONENT",
    extra_xml: str | None = None,
    extra_traits: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[Path, Path]:
    """Write ``arrays`` (name -> (lines, width) array, in file order) as an iCon pair.

    Value types follow the dtypes (uint8 BYTE, uint16 WORD, int32 INT, uint32 DWORD,
    float32 FLOAT). ``extra_xml`` (for example ``<genistream>..</genistream>``) is
    placed after the component; ``extra_traits`` adds more traits elements. Returns
    ``(dat_path, xml_path)``. Raises ValueError for arguments that cannot be written.
    """
    dat = Path(dat_path)
    mats, n_lines = _checked_arrays(dat, arrays, layout, extra_xml)
    specs, chunks = _encode(mats, n_lines, layout)
    all_traits = {traits_tag: traits} if traits_tag else {}
    all_traits.update(extra_traits or {})
    xml = _xml_text(specs, layout=layout, lines=n_lines, component_name=component_name,
                    component_valuetype=component_valuetype, traits=all_traits,
                    extra_xml=extra_xml)
    dat.parent.mkdir(parents=True, exist_ok=True)
    xml_path = dat.with_suffix(".xml")
    _atomic_write(dat, chunks)
    _atomic_write(xml_path, [memoryview(xml.encode("utf-8"))])
    return dat, xml_path


def _checked_arrays(
    dat: Path, arrays: Mapping[str, np.ndarray], layout: str, extra_xml: str | None
) -> tuple[dict[str, np.ndarray], int]:
    """The arrays as numpy arrays and their common number of lines; ValueError if unwritable."""
    if dat.suffix.lower() != ".dat":
        raise ValueError(f"{dat}: the data path must end in .dat")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if not arrays:
        raise ValueError("no subcomponents to write")
    _check_extra(extra_xml)
    mats = {n: np.asarray(a) for n, a in arrays.items()}
    lines = {a.shape[0] if a.ndim == 2 else -1 for a in mats.values()}
    if len(lines) != 1 or min(lines) <= 0:
        shapes = {n: a.shape for n, a in mats.items()}
        raise ValueError(f"arrays must be 2-D with the same number (>0) of lines: {shapes}")
    return mats, lines.pop()


def _encode(
    mats: dict[str, np.ndarray], n_lines: int, layout: str
) -> tuple[list[tuple[str, str, int, int]], list[memoryview]]:
    """(name, value type, width, bytes per line) per subcomponent, and the ``.dat`` bytes
    (little-endian, one block per subcomponent or interleaved per line for SCAN)."""
    specs, blocks = [], []
    for name, arr in mats.items():
        vt = _value_type(name, arr)
        le = np.ascontiguousarray(arr, dtype=VALUE_TYPES[vt])
        specs.append((name, vt, arr.shape[1], arr.shape[1] * le.itemsize))
        blocks.append(le)
    if layout == "SUBCOMPONENT":
        return specs, [b.data for b in blocks]
    return specs, [np.hstack([b.view(np.uint8).reshape(n_lines, -1) for b in blocks]).data]
