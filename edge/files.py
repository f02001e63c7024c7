"""Local file operations of the uploader: quarantine, retention cleanup, free disk space."""

from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)


def free_mb(path: Path) -> int:
    """Free space (MiB) on the filesystem holding ``path`` (its nearest existing parent)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return int(shutil.disk_usage(probe).free // (1024 * 1024))


def _move(src: Path, folder: Path) -> Path:
    """Move ``src`` into ``folder`` without overwriting anything there."""
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / src.name
    n = 1
    while dest.exists():
        dest = folder / f"{src.stem}.{n}{src.suffix}"
        n += 1
    shutil.move(str(src), str(dest))
    return dest


def quarantine_files(files: list[Path], folder: Path, reason: str) -> list[Path]:
    """Move the existing ``files`` into ``folder`` and write ``<stem>.reason.txt`` beside them.

    Returns the new paths. Nothing is deleted.
    """
    folder.mkdir(parents=True, exist_ok=True)
    moved = [_move(f, folder) for f in files if f.exists()]
    stem = files[0].stem if files else "unknown"
    note = folder / f"{stem}.reason.txt"
    text = (f"quarantined at {datetime.now(UTC).isoformat()}\n"
            f"files: {', '.join(f.name for f in files)}\nreason: {reason}\n")
    tmp = note.with_name(f".{note.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, note)
    log.warning("quarantined %s: %s", [str(f) for f in files], reason)
    return moved


def apply_retention(sources: list[Path], work_files: list[Path | None], retention: str,
                    archive: Path) -> None:
    """After a confirmed publish: remove work files, then delete/archive/keep the scan."""
    for w in work_files:
        if w is not None:
            w.unlink(missing_ok=True)
    if retention == "delete":
        for s in sources:
            s.unlink(missing_ok=True)
    elif retention == "archive":
        for s in sources:
            if s.exists():
                _move(s, archive)
