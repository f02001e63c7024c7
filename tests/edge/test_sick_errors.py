"""Bad iCon input gives a ScanFormatError naming the file and the problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edge.sick import MAX_XML_BYTES, read_scan
from schemas.errors import ScanFormatError, WheelWatchError
from tests.edge.sick_helpers import RANGER_E, write_ranger3


@pytest.fixture
def pair(tmp_path: Path) -> Path:
    """A copy of a real Ranger E pair; returns the .dat path."""
    for ext in (".dat", ".xml"):
        shutil.copy(RANGER_E / f"zse_buff{ext}", tmp_path / f"s{ext}")
    return tmp_path / "s.dat"


def _xml(dat: Path) -> Path:
    return dat.with_suffix(".xml")


def _edit_xml(dat: Path, old: str, new: str, count: int = 1) -> None:
    text = _xml(dat).read_text()
    assert old in text
    _xml(dat).write_text(text.replace(old, new, count))


def _fails(path: Path, match: str) -> ScanFormatError:
    with pytest.raises(ScanFormatError, match=match) as info:
        read_scan(path)
    assert isinstance(info.value, WheelWatchError)
    assert info.value.path and Path(info.value.path).name in str(info.value)
    return info.value


def test_missing_xml_sidecar(pair: Path) -> None:
    _xml(pair).unlink()
    err = _fails(pair, "missing sidecar s.xml")
    assert err.path == str(pair)


def test_missing_dat_sidecar(pair: Path) -> None:
    pair.unlink()
    _fails(_xml(pair), "missing sidecar s.dat")


def test_file_not_found_and_wrong_suffix(tmp_path: Path) -> None:
    _fails(tmp_path / "nope.dat", "file not found")
    (tmp_path / "a.txt").write_text("x")
    _fails(tmp_path / "a.txt", "expected a .dat or .xml")


def test_malformed_xml(pair: Path) -> None:
    _xml(pair).write_text("<icon_data_format><parameter name='size'>4608</parameter>")
    _fails(pair, "malformed XML")


def test_wrong_root(pair: Path) -> None:
    _xml(pair).write_text("<other/>")
    _fails(pair, "not <icon_data_format>")


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<icon_data_format>&lol2;</icon_data_format>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>
<icon_data_format>&ext;</icon_data_format>"""


@pytest.mark.parametrize("text", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "xxe"])
def test_hostile_xml_is_rejected(pair: Path, text: str) -> None:
    _xml(pair).write_text(text)
    err = _fails(pair, "unsafe XML rejected")
    assert "lollol" not in str(err) and "/bin/" not in str(err)


def test_oversized_xml(pair: Path) -> None:
    text = _xml(pair).read_text()
    pad = "<!--" + "x" * MAX_XML_BYTES + "-->"
    _xml(pair).write_text(text.replace("</icon_data_format>", pad + "</icon_data_format>"))
    _fails(pair, "larger than")


def test_unknown_value_type(pair: Path) -> None:
    _edit_xml(pair, 'valuetype="WORD"', 'valuetype="DOUBLE"')
    _fails(pair, "subcomponent 'Range' has unknown value type 'DOUBLE'")


def test_unknown_layout(pair: Path) -> None:
    _edit_xml(pair, ">SUBCOMPONENT<", ">PLANAR<")
    _fails(pair, "unknown layout 'PLANAR'")


def test_truncated_dat(pair: Path) -> None:
    data = pair.read_bytes()
    pair.write_bytes(data[:-100])
    _fails(pair, r"truncated: 2359196 bytes .* \(511 full, 4508 bytes left\)")


def test_huge_truncated_dat_is_rejected_before_it_is_read(
        pair: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import edge.sick.reader as reader

    with pair.open("r+b") as f:  # sparse: ~1 GB on paper, nothing on disk
        f.truncate(1_000_000_007)

    def no_read(*_a: object, **_k: object) -> None:
        raise AssertionError("the .dat was read before its size was checked")

    monkeypatch.setattr(reader.np, "fromfile", no_read)
    monkeypatch.setattr(reader.np, "memmap", no_read)
    with pytest.raises(ScanFormatError, match="oversized: 1000000007 bytes"):
        read_scan(pair, in_memory=True)
    with pytest.raises(ScanFormatError, match="truncated"):
        read_scan(pair, in_memory=True, max_bytes=2_000_000_000)


def test_zero_lines(pair: Path) -> None:
    pair.write_bytes(b"")
    _fails(pair, "zero lines")


def test_root_size_disagrees_with_component(pair: Path) -> None:
    _edit_xml(pair, '<parameter name="size" >4608</parameter>',
              '<parameter name="size" >9216</parameter>')
    _fails(pair, "root size 9216 != component 'Hi3D 1' size 4608 x height 1")


def test_component_size_disagrees_with_subcomponents(pair: Path) -> None:
    text = _xml(pair).read_text().replace(
        '<parameter name="size" >4608</parameter>', '<parameter name="size" >4600</parameter>'
    )
    _xml(pair).write_text(text)
    _fails(pair, "subcomponent sizes add up to 4608 but component 'Hi3D 1' size is 4600")


def test_width_times_bytes_disagrees_with_size(pair: Path) -> None:
    _edit_xml(pair, '<parameter name="size" >3072</parameter>',
              '<parameter name="size" >3070</parameter>')
    _fails(pair, r"width 1536 x 2 bytes \(WORD\) != size 3070")


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ('<parameter name="width" >1536</parameter>', "", "has no 'width' parameter"),
        ('<parameter name="height" >1</parameter>', '<parameter name="height" >x</parameter>',
         "'height' is not an integer"),
        ('<parameter name="height" >1</parameter>', '<parameter name="height" >0</parameter>',
         "'height' must be positive"),
        ('name="Intensity"', 'name="Range"', "duplicate subcomponent names: Range"),
    ],
)
def test_bad_parameters(pair: Path, old: str, new: str, match: str) -> None:
    _edit_xml(pair, old, new)
    _fails(pair, match)


def test_two_components_rejected(tmp_path: Path) -> None:
    dat = write_ranger3(tmp_path / "c.dat", 4, 4)
    text = _xml(dat).read_text()
    start, end = text.index(" <component"), text.index("</component>") + len("</component>")
    _xml(dat).write_text(text[:end] + "\n" + text[start:end] + text[end:])
    _fails(dat, "exactly one <component>, found 2")
