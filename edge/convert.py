"""Convert one SICK iCon scan into the per-wheel CSV + metadata JSON (schemas.wheel_csv).

The CSV is written by polars' native (Rust) CSV writer from numpy columns: no per-row
Python and no ``DataFrame.to_csv``. Files are written under a temporary name and
renamed, the CSV first, so a present ``.meta.json`` means a complete pair.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from edge.scanfiles import capture_time
from edge.sick import Scan, read_scan
from schemas.calibration import Calibration
from schemas.errors import ScanFormatError
from schemas.messages import make_file_id
from schemas.wheel_csv import (
    COLUMN_INDEX,
    COLUMN_SOURCES,
    META_SUFFIX,
    CaptureSource,
    FileRef,
    WheelContext,
    WheelMetadata,
)

log = logging.getLogger(__name__)
CONVERTER = "wheelwatch-edge-convert/1"
#: Scans up to this many rows (a CSV of ~20 MB) are converted in memory by the uploader:
#: no work files to write, read back and delete. Larger ones stream to disk (bounded RAM).
IN_MEMORY_MAX_ROWS = 1_000_000

__all__ = ["ConvertResult", "WheelContext", "convert_scan", "csv_bytes", "scan_arrays",
           "scan_columns", "write_csv"]


@dataclass(frozen=True)
class ConvertResult:
    """Where the per-wheel files went and what they hold."""

    csv_path: Path
    meta_path: Path
    file_id: str
    rows: int
    bytes: int
    meta: WheelMetadata
    csv_data: builtins.bytes | None = None  # made in memory: the bytes, no file written
    meta_data: builtins.bytes | None = None
    #: The arrays the CSV was made of, keyed by subcomponent as in ``meta.column_sources``
    #: (views on the scan read; for the bundle's sidecar, ``schemas.wheel_arrays``).
    arrays: dict[str, np.ndarray] | None = None


def _sources(scan: Scan) -> dict[str, str]:
    """Column -> subcomponent name (or 'column index' for x)."""
    out: dict[str, str] = {}
    for col, names in COLUMN_SOURCES.items():
        found = next((n for n in names if n in scan.arrays), None)
        if found is not None:
            out[col] = found
    if "range" not in out:
        raise ScanFormatError(
            scan.dat_path, f"no Range subcomponent to convert (has {', '.join(scan.arrays)})"
        )
    if "x" not in out:
        out["x"] = COLUMN_INDEX
    for col, name in out.items():
        if name != COLUMN_INDEX and scan.arrays[name].shape != (scan.lines, scan.width):
            raise ScanFormatError(
                scan.dat_path, f"'{name}' ({col}) is {scan.arrays[name].shape[1]} wide,"
                f" range is {scan.width}"
            )
    return {c: out[c] for c in ("x", "range", "intensity", "scatter") if c in out}


def scan_columns(scan: Scan) -> dict[str, np.ndarray]:
    """The tidy table of a scan as flat numpy columns (row-major), in CSV order."""
    sources = _sources(scan)
    lines, width = scan.lines, scan.width
    cols: dict[str, np.ndarray] = {
        "line": np.repeat(np.arange(lines, dtype=np.int32), width),
    }
    for col in ("x", "range", "intensity", "scatter"):
        name = sources.get(col)
        if name == COLUMN_INDEX:
            cols[col] = np.tile(np.arange(width, dtype=np.int32), lines)
        elif name is not None:
            cols[col] = np.ascontiguousarray(scan.arrays[name]).reshape(-1)
    return cols


def scan_arrays(scan: Scan) -> dict[str, np.ndarray]:
    """The arrays the CSV columns come from, keyed by subcomponent, in column order."""
    return {name: scan.arrays[name] for name in _sources(scan).values() if name != COLUMN_INDEX}


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


def _frame(columns: dict[str, np.ndarray]) -> pl.DataFrame:
    frame = pl.DataFrame({k: pl.Series(k, v) for k, v in columns.items()})
    if "intensity" not in frame.columns:
        frame = frame.insert_column(3, pl.Series("intensity", [None] * frame.height,
                                                 dtype=pl.UInt8))
    return frame


def write_csv(columns: dict[str, np.ndarray], path: Path) -> int:
    """Write the tidy columns as CSV with polars; returns the file size in bytes."""
    tmp = _tmp(path)
    _frame(columns).write_csv(tmp, include_header=True, float_precision=None, null_value="")
    os.replace(tmp, path)
    return path.stat().st_size


def csv_bytes(columns: dict[str, np.ndarray]) -> bytes:
    """The bytes :func:`write_csv` would write, made in memory."""
    out = io.BytesIO()
    _frame(columns).write_csv(out, include_header=True, float_precision=None, null_value="")
    return out.getvalue()


def _file_ref(path: Path, data: np.ndarray | None = None) -> FileRef:
    """Name, sha256 and size of ``path`` (of ``data`` when given: the bytes parsed)."""
    if data is not None:
        return FileRef(name=path.name, sha256=hashlib.sha256(data.data).hexdigest(),
                       bytes=int(data.size))
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    return FileRef(name=path.name, sha256=digest, bytes=path.stat().st_size)


def _capture_time(scan: Scan, ctx: WheelContext) -> tuple[datetime, CaptureSource]:
    if ctx.capture_time is not None:
        return ctx.capture_time, "context"
    return capture_time(scan.dat_path)


def build_metadata(
    scan: Scan, csv_path: Path, csv_bytes: int, ctx: WheelContext,
    calibration: Calibration | None,
) -> WheelMetadata:
    """The metadata record of a converted scan."""
    dat_ref, xml_ref = _file_ref(scan.dat_path, scan.buffer), _file_ref(scan.xml_path)
    sources = _sources(scan)
    cols = {c: str(scan.arrays[n].dtype.name) for c, n in sources.items() if n != COLUMN_INDEX}
    if sources["x"] == COLUMN_INDEX:
        cols["x"] = "int32"
    when, how = _capture_time(scan, ctx)
    return WheelMetadata(
        file_id=make_file_id(ctx.site or "", ctx.camera or "", dat_ref.name, dat_ref.sha256),
        site=ctx.site, camera=ctx.camera, camera_model=ctx.camera_model,
        wheel_id=ctx.wheel_id, train_id=ctx.train_id, run_id=ctx.run_id,
        run_count=ctx.run_count, capture_time=when, capture_time_source=how,
        source_dat=dat_ref, source_xml=xml_ref, csv_name=csv_path.name, csv_bytes=csv_bytes,
        layout=scan.layout,  # type: ignore[arg-type]
        component_name=scan.component_name, component_valuetype=scan.component_valuetype,
        traits=scan.all_traits, calibration=calibration,
        value_types=scan.value_types,  # type: ignore[arg-type]
        columns={"line": "int32", **cols},  # type: ignore[dict-item]
        column_sources=sources, lines=scan.lines, width=scan.width,
        rows=scan.lines * scan.width, converted_at=datetime.now(UTC), converter=CONVERTER,
    )


def convert_scan(
    scan_path: str | Path,
    out_dir: str | Path,
    *,
    context: WheelContext | None = None,
    calibration: Calibration | None = None,
    in_memory_max_rows: int = 0,
) -> ConvertResult:
    """Convert the scan at ``scan_path`` (.dat or .xml) into ``out_dir``.

    Writes ``<stem>.csv`` and ``<stem>.meta.json``. The ``.dat`` is read once into
    memory (not mapped: a file truncated meanwhile cannot crash the process) and the
    recorded sha256 is that of the bytes converted. Raises ScanFormatError for an
    unreadable scan; OSError propagates for an unwritable output folder.

    A scan of at most ``in_memory_max_rows`` rows is converted in memory instead: the
    result holds the same files' bytes (``csv_data``, ``meta_data``) and nothing is
    written (the uploader bundles them straight away; larger scans stream to disk).
    Either way ``arrays`` holds the scan's arrays the CSV was made of.
    """
    scan = read_scan(scan_path, in_memory=True)
    columns = scan_columns(scan)
    out = Path(out_dir)
    stem = scan.dat_path.stem
    csv_path, meta_path = out / f"{stem}.csv", out / f"{stem}{META_SUFFIX}"
    if scan.lines * scan.width <= in_memory_max_rows:
        data = csv_bytes(columns)
        meta = build_metadata(scan, csv_path, len(data), context or WheelContext(),
                              calibration)
        return ConvertResult(csv_path=csv_path, meta_path=meta_path, file_id=meta.file_id,
                             rows=meta.rows, bytes=len(data), meta=meta, csv_data=data,
                             meta_data=meta.to_json().encode("utf-8"), arrays=scan_arrays(scan))
    out.mkdir(parents=True, exist_ok=True)
    nbytes = write_csv(columns, csv_path)
    meta = build_metadata(scan, csv_path, nbytes, context or WheelContext(), calibration)
    tmp = _tmp(meta_path)
    tmp.write_text(meta.to_json(), encoding="utf-8")
    os.replace(tmp, meta_path)
    log.info("converted %s -> %s (%d rows, %d bytes)", scan.dat_path, csv_path,
             meta.rows, nbytes)
    return ConvertResult(csv_path=csv_path, meta_path=meta_path, file_id=meta.file_id,
                         rows=meta.rows, bytes=nbytes, meta=meta, arrays=scan_arrays(scan))
