"""Row and key builders of the file pipeline: object keys of a file's objects, the
chunk attributes recorded for a file, and its warehouse rows (``wheel_scores``, ``files``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cloud import domain_events as de
from cloud.blob import object_key
from cloud.outbox import utc
from cloud.ports import ScoreResult
from cloud.sql.models import TrackedFile
from schemas.messages import ChunkAttributes


def attributes_of(f: TrackedFile) -> ChunkAttributes:
    """The file-level chunk attributes recorded for a tracked file."""
    return ChunkAttributes(site=f.site_id, camera=f.camera, file_id=f.file_id,
                           wheel_id=f.wheel_id, train_id=f.train_id, run_id=f.run_id,
                           capture_time=utc(f.capture_time), chunk_index=0,
                           chunk_count=f.chunk_count, sha256=f.sha256,
                           payload_bytes=f.payload_bytes, raw_bytes=f.raw_bytes)


def keys_of(f: TrackedFile) -> tuple[str, str]:
    """Object keys of a file's stored CSV and metadata."""
    cap = utc(f.capture_time)
    return (object_key(f.site_id, f.camera, cap, f.wheel_id, f.file_id, "csv"),
            object_key(f.site_id, f.camera, cap, f.wheel_id, f.file_id, "meta.json"))


def heatmap_key(f: TrackedFile | de.WheelScored) -> str:
    """Object key of the model's heatmap PNG of a (bad) wheel's scan."""
    if isinstance(f, de.WheelScored):
        return object_key(f.site, f.camera, utc(f.capture_time), f.wheel_id, f.file_id,
                          "heatmap.png")
    return object_key(f.site_id, f.camera, utc(f.capture_time), f.wheel_id, f.file_id,
                      "heatmap.png")


def score_row(f: TrackedFile, sides: dict[str, str], uri: str, r: ScoreResult,
              pos: int | None, scored_at: datetime) -> dict[str, Any]:
    """The ``wheel_scores`` row of a scored file (``uri``: its stored CSV; the caller
    sets ``run_count``)."""
    loc = r.location
    return {
        "file_id": f.file_id, "site_id": f.site_id, "camera": f.camera,
        "side": sides.get(f.camera), "train_id": f.train_id, "run_id": f.run_id,
        "run_count": None, "wheel_id": f.wheel_id, "position": pos,
        "capture_time": utc(f.capture_time), "received_at": utc(f.last_chunk_at),
        "scored_at": scored_at, "score": r.score, "model_version": r.model_version,
        "defect": r.defect, "loc_line": loc.get("line"), "loc_column": loc.get("column"),
        "loc_along_mm": loc.get("along_mm"), "loc_across_mm": loc.get("across_mm"),
        **{k: r.stats.get(k) for k in (
            "height_mean", "height_std", "height_p05", "height_p95", "intensity_mean",
            "intensity_std", "valid_fraction")},
        "csv_uri": uri,
    }


def file_row(f: TrackedFile, written_at: datetime | None,
             stamps: dict[str, datetime] | None = None) -> dict[str, Any]:
    """The warehouse row of a file; ``stamps`` override the tracked times."""
    def t(v: datetime | None) -> datetime | None:
        return utc(v) if v is not None else None
    row = {
        "file_id": f.file_id, "site_id": f.site_id, "camera": f.camera,
        "wheel_id": f.wheel_id, "train_id": f.train_id, "run_id": f.run_id,
        "capture_time": utc(f.capture_time),
        "state": "written" if written_at else f.state, "chunk_count": f.chunk_count,
        "payload_bytes": f.payload_bytes, "first_chunk_at": t(f.first_chunk_at),
        "last_chunk_at": t(f.last_chunk_at), "assembled_at": t(f.assembled_at),
        "stored_at": t(f.stored_at), "scored_at": t(f.scored_at),
        "written_at": written_at, "error": f.error,
    }
    if stamps:  # stamped by this attempt, which also cleared the error
        row.update({k: utc(v) for k, v in stamps.items()}, error=None)
    return row
