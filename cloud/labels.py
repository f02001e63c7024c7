"""Inspection labels: record a verdict on a wheel, export them for ``wheel-model train``."""

from __future__ import annotations

import csv
from pathlib import Path
from urllib.parse import unquote, urlparse

from cloud.bootstrap import build_db, utc_now
from cloud.sql import repository as repo
from schemas.config import SiteConfig


def record(cfg: SiteConfig, wheel_id: str, verdict: str, who: str, note: str,
           file_id: str | None) -> int:
    """Store one label; returns its id."""
    _, sessions = build_db(cfg)
    with sessions.begin() as s:
        return repo.add_label(s, wheel_id, verdict, who, note, file_id, utc_now())


def relative_file(cfg: SiteConfig, uri: str) -> str:
    """Object key of a stored CSV (relative to the blob folder / bucket)."""
    u = urlparse(uri)
    if u.scheme == "file":
        path = Path(unquote(u.path))
        try:
            return str(path.relative_to(cfg.path(cfg.cloud.blob_dir).resolve()))
        except ValueError:
            return str(path)
    return u.path.lstrip("/")


def export(cfg: SiteConfig, out: Path) -> int:
    """Write ``file,label,wheel_id,file_id,who,labelled_at`` (files relative to the blobs)."""
    _, sessions = build_db(cfg)
    with sessions() as s:
        rows = repo.labels_for_export(s)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["file", "label", "wheel_id", "file_id", "who", "labelled_at"])
        for uri, label, wheel, fid, who, at in rows:
            w.writerow([relative_file(cfg, uri), label, wheel, fid, who, at])
    return len(rows)
