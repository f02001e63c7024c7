"""Scan files in a camera folder: capture time from the name, pairing, stability.

Ranger Studio writes one ``.dat`` + ``.xml`` pair per wheel, named with the capture
time, e.g. ``Cam_01_20261127_142301_512.dat`` (date, time, milliseconds; UTC). A pair
is *ready* when both files exist and neither changed for ``stable_s`` seconds (same
size and mtime as at the previous look, and the newest mtime at least ``stable_s`` old).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from schemas.wheel_csv import CaptureSource, capture_time_from_stem

log = logging.getLogger(__name__)

#: The capture time at the end of a scan's file stem, or None (the schemas' parser).
capture_time_from_name = capture_time_from_stem


def capture_time(dat: Path) -> tuple[datetime, CaptureSource]:
    """(capture time, source): from the name, else the file's mtime with a warning."""
    t = capture_time_from_name(dat.stem)
    if t is not None:
        return t, "name"
    mtime = datetime.fromtimestamp(dat.stat().st_mtime, UTC)
    log.warning("%s: no capture time in the file name, using its mtime %s", dat, mtime)
    return mtime, "mtime"


@dataclass(frozen=True)
class ScanPair:
    """A ready ``.dat`` + ``.xml`` pair of one camera."""

    camera: str
    stem: str
    dat: Path
    xml: Path
    size: int
    mtime: float


@dataclass
class _Seen:
    sig: tuple[int, int, int, int]
    first: float


@dataclass
class FolderState:
    """What one camera folder looked like at the previous rescan."""

    camera: str
    folder: Path
    seen: dict[str, _Seen] = field(default_factory=dict)

    def rescan(
        self, now: float, stable_s: float, orphan_s: float
    ) -> tuple[list[ScanPair], list[tuple[Path, str]]]:
        """Ready pairs and orphans (a lone ``.dat``/``.xml`` older than ``orphan_s``)."""
        try:
            entries = {p.name: p for p in self.folder.iterdir() if p.is_file()}
        except OSError as exc:
            log.error("cannot list camera folder %s: %s", self.folder, exc)
            return [], []
        stems: dict[str, dict[str, Path]] = {}
        for _name, path in entries.items():
            suffix = path.suffix.lower()
            if suffix in (".dat", ".xml"):
                stems.setdefault(path.stem, {})[suffix] = path
        ready: list[ScanPair] = []
        orphans: list[tuple[Path, str]] = []
        current: dict[str, _Seen] = {}
        for stem, files in stems.items():
            sig = _signature(files)
            if sig is None:
                continue
            prev = self.seen.get(stem)
            seen = prev if prev is not None and prev.sig == sig else _Seen(sig, now)
            current[stem] = seen
            if len(files) == 1:
                (only,) = files.values()
                if now - max(sig[1], sig[3]) / 1e9 >= orphan_s:
                    other = ".xml" if only.suffix.lower() == ".dat" else ".dat"
                    orphans.append((only, f"no matching {other} file after {orphan_s:.0f} s"))
                continue
            newest = max(sig[1], sig[3]) / 1e9
            unchanged = prev is not None and prev.sig == sig
            if now - newest >= stable_s and (unchanged or now - newest >= 2 * stable_s):
                ready.append(ScanPair(self.camera, stem, files[".dat"], files[".xml"],
                                      sig[0] + sig[2], newest))
        self.seen = current
        return ready, orphans


def _signature(files: dict[str, Path]) -> tuple[int, int, int, int] | None:
    """(dat size, dat mtime ns, xml size, xml mtime ns); None if a file vanished."""
    try:
        out = [0, 0, 0, 0]
        for i, suffix in enumerate((".dat", ".xml")):
            if suffix in files:
                st = files[suffix].stat()
                out[2 * i], out[2 * i + 1] = st.st_size, st.st_mtime_ns
        return out[0], out[1], out[2], out[3]
    except FileNotFoundError:
        return None
