"""The convert stage's port and its one step: a tracked scan → per-wheel CSV + metadata
(the :class:`Converter`, built in :mod:`edge.bootstrap`) → the bundle that is published,
recorded in the pub tracker as ``converted``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from edge.bundle import make_bundle
from edge.tracker import FileRow, Tracker
from schemas.config import SiteConfig


@dataclass(frozen=True)
class Converted:
    """What the converter produced for one scan."""

    csv_path: Path
    meta_path: Path
    file_id: str
    csv_data: bytes | None = None  # made in memory: the bytes (no file at csv_path)
    meta_data: bytes | None = None
    arrays: Mapping[str, np.ndarray] | None = None  # the CSV's arrays (bundle sidecar)


class Converter(Protocol):
    """Converts a tracked scan into per-wheel CSV + metadata under ``out_dir``."""

    def __call__(self, row: FileRow, out_dir: Path) -> Converted:
        """Raise ScanFormatError for an unreadable scan."""
        ...


def convert_and_bundle(cfg: SiteConfig, tracker: Tracker, converter: Converter,
                       row: FileRow, work_dir: Path) -> None:
    """Convert ``row``, bundle it under ``work_dir/<camera>`` and mark it ``converted``
    with the bundle's size, chunk count and digest (errors propagate to the caller)."""
    conv = converter(row, out_dir := work_dir / row.camera)
    csv = conv.csv_path if conv.csv_data is None else conv.csv_data
    meta = conv.meta_path if conv.meta_data is None else conv.meta_data
    arrays = conv.arrays if cfg.edge.bundle_arrays else None  # the sidecar
    bundle = make_bundle(csv, meta, out_dir / f"{row.stem}.tar.zst", arrays)
    count = -(-bundle.payload_bytes // cfg.edge.chunk_bytes)
    tracker.set_state(  # work files only when written (retention removes them)
        row.key, "converted", f"{bundle.payload_bytes} bytes, {count} chunk(s)",
        file_id=conv.file_id, csv_path=str(csv) if isinstance(csv, Path) else None,
        meta_path=str(meta) if isinstance(meta, Path) else None,
        bundle_path=str(bundle.path), chunk_count=count,
        payload_bytes=bundle.payload_bytes, sha256=bundle.sha256, raw_bytes=bundle.raw_bytes,
    )
