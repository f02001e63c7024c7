"""schemas.wheel_csv: contract details, reader errors, JSON Schema in sync."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from edge.convert import convert_scan
from schemas.errors import ContractError
from schemas.wheel_csv import (
    SCHEMA_FILE,
    WheelMetadata,
    capture_time_from_stem,
    load_metadata,
    meta_path_for,
    parse_capture_time,
    parse_metadata,
    read_wheel_csv,
)
from tests.edge.sick_helpers import write_ranger3


@pytest.fixture
def converted(tmp_path: Path) -> Path:
    """A converted 6x5 Ranger3 scan; returns the CSV path."""
    dat = write_ranger3(tmp_path / "in" / "Cam_01_20261127_142301_512.dat", 6, 5)
    return convert_scan(dat, tmp_path / "out").csv_path


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Cam_01_20261127_142301_512.dat", datetime(2026, 11, 27, 14, 23, 1, 512000, UTC)),
     ("Cam_02_20261127_142301", datetime(2026, 11, 27, 14, 23, 1, tzinfo=UTC)),
     ("x_20261127_142301_5.xml", datetime(2026, 11, 27, 14, 23, 1, 500000, UTC)),
     ("zse_buff.dat", None), ("Cam_01_20261332_142301_512.dat", None)],
)
def test_parse_capture_time(name: str, expected: datetime | None) -> None:
    assert parse_capture_time(name) == expected


def test_meta_path_for() -> None:
    assert meta_path_for("a/b.csv") == Path("a/b.meta.json")


def test_schema_file_matches_model_fields() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    assert set(schema["properties"]) == set(WheelMetadata.model_fields)
    assert schema["additionalProperties"] is False


def test_json_schema_rejects_bad_documents(converted: Path) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    doc = json.loads(meta_path_for(converted).read_text())
    jsonschema.validate(doc, schema)
    for key, value in [("file_id", "xyz"), ("schema_version", "2"), ("lines", 0),
                       ("value_types", {"Range": "DOUBLE"}), ("unexpected", 1)]:
        bad = {**doc, key: value}
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
    missing = {k: v for k, v in doc.items() if k != "site"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(missing, schema)


def test_reader_from_stream_needs_metadata(converted: Path) -> None:
    data = io.BytesIO(converted.read_bytes())
    with pytest.raises(ContractError, match="metadata is required"):
        read_wheel_csv(data)
    back = read_wheel_csv(io.BytesIO(converted.read_bytes()), meta_path_for(converted))
    assert back.range.shape == (6, 5)


def _rewrite(csv: Path, edit: callable) -> None:
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join(edit(lines)) + "\n")


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda ls: [ls[0].replace("range", "height"), *ls[1:]], "CSV columns"),
        (lambda ls: ls[:-1], "CSV has 29 rows, metadata says 30"),
        (lambda ls: [ls[0], ls[2], ls[1], *ls[3:]], "'x' column is not the column index"),
        (lambda ls: [ls[0], *ls[1:6], *(r.replace("1,", "2,", 1) for r in ls[6:11]),
                     *ls[11:]], "'line' column is not row-major"),
        (lambda ls: [ls[0], "0,0,70000,1", *ls[2:]], "'range' has values outside uint16"),
    ],
)
def test_reader_detects_broken_csv(converted: Path, edit: callable, match: str) -> None:
    _rewrite(converted, edit)
    with pytest.raises(ContractError, match=match):
        read_wheel_csv(converted)


def test_bad_or_missing_metadata(converted: Path) -> None:
    meta = meta_path_for(converted)
    doc = json.loads(meta.read_text())
    meta.write_text(json.dumps({**doc, "lines": -1}))
    with pytest.raises(ContractError, match="bad metadata at lines"):
        read_wheel_csv(converted)
    meta.unlink()
    with pytest.raises(ContractError, match="cannot read metadata"):
        load_metadata(meta)


def test_reader_restores_stored_dtypes(converted: Path) -> None:
    back = read_wheel_csv(converted)
    assert back.range.dtype == np.uint16 and back.intensity is not None
    assert back.meta.columns == {"line": "int32", "x": "int32", "range": "uint16",
                                 "intensity": "uint8"}


def test_parse_metadata_from_bundle_bytes(converted: Path) -> None:
    raw = meta_path_for(converted).read_bytes()
    meta = parse_metadata(raw, "bundle wheel.json")
    back = read_wheel_csv(io.BytesIO(converted.read_bytes()), meta)
    assert back.meta.file_id == meta.file_id
    with pytest.raises(ContractError, match=r"bundle wheel\.json: bad metadata at document"):
        parse_metadata(b"[1, 2]", "bundle wheel.json")
    with pytest.raises(ContractError, match="bad metadata"):
        parse_metadata(b"{not json", "x")


def test_capture_time_from_stem_keeps_dots_in_the_stem() -> None:
    # a stem is taken as it is: a dot inside it is not a suffix
    assert capture_time_from_stem("site.a_20261127_142301_512") == datetime(
        2026, 11, 27, 14, 23, 1, 512000, UTC)
    assert parse_capture_time("site.a_20261127_142301_512.dat") == capture_time_from_stem(
        "site.a_20261127_142301_512")
