"""The per-wheel CSV contract (version 1) and the data scientists' reader.

One scan becomes ``<stem>.csv`` plus ``<stem>.meta.json`` (see ``WHEEL_CSV.md``):

- CSV: header ``line,x,range,intensity`` (+ ``scatter`` when the scan has it), one row
  per point, row-major (line by line, columns left to right), every point including
  missing ones. Values are exactly those of the ``.dat``: integer ``range`` 0 means
  missing; calibrated float files keep their own missing marker (0, NaN or -1e6).
  ``x`` is the column index, or for calibrated float data the ``Range X`` value
  (``range`` is then ``Range R``). ``intensity`` is empty when the scan has none.
- Metadata: :class:`WheelMetadata`, JSON Schema ``wheel_metadata.schema.json``.

``read_wheel_csv`` gives the arrays back in ``(lines, width)`` shape with their
original dtypes, with one ``pandas.read_csv`` call.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.calibration import Calibration
from schemas.errors import ContractError, first_error

SCHEMA_VERSION: Literal["1"] = "1"
CaptureSource = Literal["context", "name", "mtime"]
BASE_COLUMNS = ("line", "x", "range", "intensity")
OPTIONAL_COLUMNS = ("scatter",)
META_SUFFIX = ".meta.json"
SCHEMA_FILE = Path(__file__).with_name("wheel_metadata.schema.json")
#: Which subcomponent feeds which column (first present wins).
COLUMN_SOURCES: dict[str, tuple[str, ...]] = {
    "x": ("Range X",),
    "range": ("Range", "Range R"),
    "intensity": ("Intensity", "Reflectance"),
    "scatter": ("Scatter",),
}
COLUMN_INDEX = "column index"
DTYPE_NAMES = ("uint8", "uint16", "int32", "uint32", "float32")
_NAME_TIME = re.compile(r"(\d{8})_(\d{6})(?:_(\d{1,6}))?$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileRef(_Model):
    """A file by name, content hash and size."""

    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)


class WheelContext(_Model):
    """Site context the edge knows when it converts a scan (all optional)."""

    site: str | None = None
    camera: str | None = None
    camera_model: str | None = None
    wheel_id: str | None = None
    train_id: str | None = None
    run_id: str | None = None
    run_count: int | None = Field(default=None, ge=0)
    capture_time: datetime | None = None


class WheelMetadata(_Model):
    """The JSON beside each per-wheel CSV (schema version 1)."""

    schema_version: Literal["1"] = SCHEMA_VERSION
    file_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    site: str | None
    camera: str | None
    camera_model: str | None = None
    wheel_id: str | None
    train_id: str | None
    run_id: str | None
    run_count: int | None = Field(ge=0)
    capture_time: datetime | None
    capture_time_source: CaptureSource
    source_dat: FileRef
    source_xml: FileRef
    csv_name: str
    csv_bytes: int = Field(ge=0)
    layout: Literal["SUBCOMPONENT", "SCAN"]
    component_name: str
    component_valuetype: str
    traits: dict[str, dict[str, str]]
    calibration: Calibration | None
    value_types: dict[str, Literal["BYTE", "WORD", "INT", "DWORD", "FLOAT"]]
    columns: dict[str, Literal["uint8", "uint16", "int32", "uint32", "float32"]]
    column_sources: dict[str, str]
    lines: int = Field(gt=0)
    width: int = Field(gt=0)
    rows: int = Field(gt=0)
    converted_at: datetime
    converter: str

    def to_json(self) -> str:
        """Stable, readable JSON text."""
        return json.dumps(self.model_dump(mode="json"), indent=1, sort_keys=False) + "\n"


@dataclass(frozen=True, eq=False)
class WheelData:
    """A per-wheel CSV read back: arrays keyed by subcomponent name, plus metadata."""

    meta: WheelMetadata
    arrays: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    @property
    def range(self) -> np.ndarray:
        """The range array (``Range`` or ``Range R``), shape (lines, width)."""
        return self.arrays[self.meta.column_sources["range"]]

    @property
    def intensity(self) -> np.ndarray | None:
        """The intensity array, or None when the scan had none."""
        src = self.meta.column_sources.get("intensity")
        return self.arrays.get(src) if src else None


def meta_path_for(csv_path: str | Path) -> Path:
    """``a/b.csv`` -> ``a/b.meta.json``."""
    p = Path(csv_path)
    return p.with_name(p.stem + META_SUFFIX)


def parse_capture_time(name: str) -> datetime | None:
    """Capture time (UTC) at the end of a scan name like ``Cam_01_20261127_142301_512``.

    ``name`` may carry a suffix (``.dat``/``.xml``); see :func:`capture_time_from_stem`.
    """
    return capture_time_from_stem(Path(name).stem)


def capture_time_from_stem(stem: str) -> datetime | None:
    """Capture time (UTC) encoded at the end of a file stem (no suffix is stripped).

    The optional last group is the fraction of a second (``512`` = .512 s). None if
    absent or not a valid date.
    """
    match = _NAME_TIME.search(stem)
    if not match:
        return None
    date, time, frac = match.groups()
    try:
        parsed = datetime.strptime(date + time, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return parsed.replace(microsecond=int((frac or "0").ljust(6, "0")))


def parse_metadata(data: bytes | str, origin: str = "metadata") -> WheelMetadata:
    """Validate metadata JSON text (e.g. ``wheel.json`` of a message bundle).

    ContractError names ``origin`` and the first offending field.
    """
    try:
        return WheelMetadata.model_validate_json(data)
    except ValidationError as exc:
        where, msg = first_error(exc, "document")
        raise ContractError(f"{origin}: bad metadata at {where}: {msg}") from None


def load_metadata(path: str | Path) -> WheelMetadata:
    """Read and validate a metadata JSON file (ContractError names file and field)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ContractError(f"{p}: cannot read metadata: {exc.strerror or exc}") from None
    return parse_metadata(data, str(p))


def _check_frame_index(meta: WheelMetadata, line: np.ndarray, x: np.ndarray) -> None:
    want = np.repeat(np.arange(meta.lines, dtype=np.int64), meta.width)
    if not np.array_equal(line, want):
        raise ContractError("CSV 'line' column is not row-major 0..lines-1 x width")
    if meta.column_sources["x"] == COLUMN_INDEX:
        cols = np.tile(np.arange(meta.width, dtype=np.int64), meta.lines)
        if not np.array_equal(x, cols):
            raise ContractError("CSV 'x' column is not the column index 0..width-1")


def _read_frame(source: str | Path | IO[bytes], meta: WheelMetadata) -> dict[str, np.ndarray]:
    """The CSV's columns as numpy arrays: polars (multi-threaded) when installed, else
    the single ``pandas.read_csv`` call of the contract. Both parse values exactly."""
    if importlib.util.find_spec("polars") is None:
        import pandas as pd

        dtypes = {c: ("int64" if t != "float32" else "float64") for c, t in meta.columns.items()}
        # pandas < 3 needs "round_trip" for exact floats; pandas 3 is exact and deprecates it
        precise = {"float_precision": "round_trip"} if pd.__version__ < "3" else {}
        pdf = pd.read_csv(source, dtype={"line": "int64", **dtypes}, keep_default_na=False,
                          na_values=["NaN", "nan"], **precise)
        return {str(c): pdf[c].to_numpy() for c in pdf.columns}
    import polars as pl

    schema = {c: (pl.Float64 if t == "float32" else pl.Int64) for c, t in meta.columns.items()}
    try:
        frame = pl.read_csv(source, schema_overrides={"line": pl.Int64, **schema})
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise ContractError(f"CSV does not parse: {str(exc).splitlines()[0]}") from None
    nulls = [c for c in frame.columns if c in meta.column_sources and frame[c].null_count()]
    if nulls:
        raise ContractError(f"CSV has empty values in column(s) {nulls}")
    return {c: frame[c].to_numpy() for c in frame.columns}


def read_wheel_csv(
    source: str | Path | IO[bytes], meta: WheelMetadata | str | Path | None = None
) -> WheelData:
    """Read a per-wheel CSV back into ``(lines, width)`` arrays with the stored dtypes.

    ``meta`` defaults to the ``.meta.json`` beside ``source``. Raises ContractError if
    the CSV disagrees with its metadata (columns, row count, order, value ranges).
    """
    if meta is None:
        if not isinstance(source, str | Path):
            raise ContractError("metadata is required when reading a CSV from a stream")
        meta = meta_path_for(source)
    if not isinstance(meta, WheelMetadata):
        meta = load_metadata(meta)
    expected = [*BASE_COLUMNS, *[c for c in OPTIONAL_COLUMNS if c in meta.column_sources]]
    frame = _read_frame(source, meta)
    if list(frame) != expected:
        raise ContractError(f"CSV columns {list(frame)} != {expected}")
    rows = len(frame["line"])
    if rows != meta.rows or meta.rows != meta.lines * meta.width:
        raise ContractError(f"CSV has {rows} rows, metadata says {meta.rows}"
                            f" = {meta.lines} x {meta.width}")
    _check_frame_index(meta, frame["line"], frame["x"])
    arrays: dict[str, np.ndarray] = {}
    for col, src in meta.column_sources.items():
        if src == COLUMN_INDEX:
            continue
        values = frame[col]
        dtype = np.dtype(meta.columns[col])
        if dtype.kind in "ui":
            info = np.iinfo(dtype)
            if values.size and (values.min() < info.min or values.max() > info.max):
                raise ContractError(f"CSV column '{col}' has values outside {dtype}")
        arrays[src] = values.astype(dtype).reshape(meta.lines, meta.width)
    return WheelData(meta=meta, arrays=arrays)
