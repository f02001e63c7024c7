"""Parse and validate the ``.xml`` description of a SICK iCon buffer.

The XML is parsed with :mod:`defusedxml` (no DTDs, no entity expansion, no external
entities) and every size it states is cross-checked before any byte of the ``.dat`` is
touched. Problems raise :class:`schemas.errors.ScanFormatError` naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError, tostring

import defusedxml
import defusedxml.ElementTree as SafeET
import numpy as np

from schemas.errors import ScanFormatError

#: iCon value type -> little-endian numpy dtype.
VALUE_TYPES: dict[str, np.dtype] = {
    "BYTE": np.dtype("<u1"),
    "WORD": np.dtype("<u2"),
    "INT": np.dtype("<i4"),
    "DWORD": np.dtype("<u4"),
    "FLOAT": np.dtype("<f4"),
}
LAYOUTS = ("SUBCOMPONENT", "SCAN")
#: Largest ``.xml`` accepted (real files are a few kB; genistream blocks a few tens of kB).
MAX_XML_BYTES = 1 << 20
#: Tags of the component-level traits elements known from SICK cameras.
TRAITS_TAGS = ("sensorrangetraits", "worldrangetraits", "genistreamtraits", "imagetraits")


@dataclass(frozen=True)
class SubcomponentSpec:
    """One subcomponent as declared in the XML."""

    name: str
    value_type: str
    width: int
    size: int

    @property
    def dtype(self) -> np.dtype:
        """The little-endian numpy dtype of the stored values."""
        return VALUE_TYPES[self.value_type]


@dataclass(frozen=True)
class IconLayout:
    """Everything the XML says, validated: sizes agree with each other."""

    xml_path: Path
    layout: str
    version: str
    root_size: int
    component_name: str
    component_valuetype: str
    component_size: int
    height: int
    subcomponents: tuple[SubcomponentSpec, ...]
    traits: dict[str, dict[str, str]] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)


def _params(elem: Element) -> dict[str, str]:
    """``<parameter name=..>text</parameter>`` children of ``elem`` as a dict."""
    return {
        (p.get("name") or "").strip(): (p.text or "").strip()
        for p in elem.findall("parameter")
    }


def _int_param(path: Path, params: dict[str, str], key: str, where: str) -> int:
    raw = params.get(key)
    if raw is None:
        raise ScanFormatError(path, f"{where} has no '{key}' parameter")
    try:
        value = int(raw)
    except ValueError:
        raise ScanFormatError(path, f"{where} '{key}' is not an integer: {raw!r}") from None
    if value <= 0:
        raise ScanFormatError(path, f"{where} '{key}' must be positive, got {value}")
    return value


def _read_root(path: Path) -> Element:
    try:
        nbytes = path.stat().st_size
    except OSError as exc:
        raise ScanFormatError(path, f"cannot read XML: {exc.strerror or exc}") from None
    if nbytes > MAX_XML_BYTES:
        raise ScanFormatError(path, f"XML is {nbytes} bytes, larger than {MAX_XML_BYTES}")
    try:
        text = path.read_bytes()
        root = SafeET.fromstring(text, forbid_dtd=True)
    except defusedxml.DefusedXmlException as exc:
        raise ScanFormatError(path, f"unsafe XML rejected ({type(exc).__name__})") from None
    except ParseError as exc:
        raise ScanFormatError(path, f"malformed XML: {exc}") from None
    except OSError as exc:
        raise ScanFormatError(path, f"cannot read XML: {exc.strerror or exc}") from None
    if root.tag != "icon_data_format":
        raise ScanFormatError(path, f"root element is <{root.tag}>, not <icon_data_format>")
    return root


def _subcomponent(path: Path, elem: Element) -> SubcomponentSpec:
    name = (elem.get("name") or "").strip()
    if not name:
        raise ScanFormatError(path, "subcomponent without a name")
    vtype = (elem.get("valuetype") or "").strip().upper()
    if vtype not in VALUE_TYPES:
        raise ScanFormatError(
            path, f"subcomponent '{name}' has unknown value type {elem.get('valuetype')!r}"
            f" (known: {', '.join(VALUE_TYPES)})"
        )
    params = _params(elem)
    where = f"subcomponent '{name}'"
    size = _int_param(path, params, "size", where)
    width = _int_param(path, params, "width", where)
    if width * VALUE_TYPES[vtype].itemsize != size:
        raise ScanFormatError(
            path, f"{where}: width {width} x {VALUE_TYPES[vtype].itemsize} bytes ({vtype})"
            f" != size {size}"
        )
    return SubcomponentSpec(name=name, value_type=vtype, width=width, size=size)


def _component_parts(
    path: Path, comp: Element
) -> tuple[tuple[SubcomponentSpec, ...], dict[str, dict[str, str]]]:
    subs: list[SubcomponentSpec] = []
    traits: dict[str, dict[str, str]] = {}
    for child in comp:
        if child.tag == "subcomponent":
            subs.append(_subcomponent(path, child))
        elif child.tag != "parameter":
            traits[child.tag] = _params(child)
    if not subs:
        raise ScanFormatError(path, "component has no subcomponents")
    names = [s.name for s in subs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ScanFormatError(path, f"duplicate subcomponent names: {', '.join(dupes)}")
    return tuple(subs), traits


def parse_icon_xml(path: Path) -> IconLayout:
    """Parse and validate an iCon ``.xml``; raise ScanFormatError on any problem."""
    root = _read_root(path)
    rparams = _params(root)
    layout = rparams.get("layout", "").upper()
    if layout not in LAYOUTS:
        raise ScanFormatError(path, f"unknown layout {rparams.get('layout')!r}")
    root_size = _int_param(path, rparams, "size", "root")
    comps = root.findall("component")
    if len(comps) != 1:
        raise ScanFormatError(path, f"expected exactly one <component>, found {len(comps)}")
    comp = comps[0]
    cparams = _params(comp)
    cname = comp.get("name") or ""
    where = f"component '{cname}'"
    csize = _int_param(path, cparams, "size", where)
    height = _int_param(path, cparams, "height", where)
    subs, traits = _component_parts(path, comp)
    total = sum(s.size for s in subs)
    if total != csize:
        raise ScanFormatError(
            path, f"subcomponent sizes add up to {total} but {where} size is {csize}"
        )
    if csize * height != root_size:
        raise ScanFormatError(
            path, f"root size {root_size} != {where} size {csize} x height {height}"
        )
    extra = {
        child.tag: tostring(child, encoding="unicode")
        for child in root
        if child.tag not in ("parameter", "component")
    }
    return IconLayout(
        xml_path=path, layout=layout, version=rparams.get("version", ""),
        root_size=root_size, component_name=cname,
        component_valuetype=comp.get("valuetype") or "", component_size=csize,
        height=height, subcomponents=subs, traits=traits, extra=extra,
    )
