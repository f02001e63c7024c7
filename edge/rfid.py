"""The RFID reader's log: CSV lines ``timestamp,reader_id,tag`` (ISO-8601 UTC), a file a day.

:class:`RfidLog` re-reads only what was appended since the last look (files are
append-only), skips a header line and logs malformed lines without stopping.
"""

from __future__ import annotations

import logging
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True, order=True)
class TagRead:
    """One tag read at the station."""

    at: datetime
    reader_id: str
    tag: str


def parse_line(line: str) -> TagRead | None:
    """Parse one log line; None for blank/header/malformed lines."""
    parts = [p.strip() for p in line.strip().split(",")]
    if len(parts) != 3 or not parts[2]:
        return None
    try:
        at = datetime.fromisoformat(parts[0].replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return TagRead(at.astimezone(UTC), parts[1], parts[2])


class RfidLog:
    """All tag reads found in ``folder/*.csv``, kept sorted by time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._offsets: dict[Path, int] = {}
        self._reads: list[TagRead] = []

    def refresh(self) -> None:
        """Read lines appended since the last call (complete lines only)."""
        try:
            files = sorted(self.folder.glob("*.csv"))
        except OSError as exc:
            log.error("cannot list RFID folder %s: %s", self.folder, exc)
            return
        added = False
        for path in files:
            added |= self._read_new(path)
        if added:
            self._reads.sort()

    def _read_new(self, path: Path) -> bool:
        start = self._offsets.get(path, 0)
        try:
            with path.open("rb") as fh:
                fh.seek(start)
                chunk = fh.read()
        except OSError as exc:
            log.error("cannot read RFID log %s: %s", path, exc)
            return False
        end = chunk.rfind(b"\n") + 1
        if end == 0:
            return False
        self._offsets[path] = start + end
        added = False
        for raw in chunk[:end].decode("utf-8", "replace").splitlines():
            read = parse_line(raw)
            if read is None:
                if raw.strip() and not raw.lower().startswith("timestamp"):
                    log.warning("%s: skipping malformed RFID line %r", path, raw[:120])
                continue
            self._reads.append(read)
            added = True
        return added

    def reads_between(self, start: datetime, end: datetime) -> list[TagRead]:
        """Reads with ``start <= at <= end``."""
        keys = [r.at for r in self._reads]
        return self._reads[bisect_left(keys, start):bisect_right(keys, end)]

    def tag_for_pass(
        self, pass_start: datetime, pass_end: datetime, window_s: float,
        not_before: datetime | None = None,
    ) -> tuple[str | None, list[str]]:
        """The tag read for a pass: reads from ``window_s`` before its first scan to its end.

        ``not_before`` (the previous pass's last scan) excludes older reads. Returns
        (tag, problems): the latest read before the first scan wins, else the first
        during the pass; several different tags in the window are reported.
        """
        start = pass_start - timedelta(seconds=window_s)
        if not_before is not None and not_before > start:
            start = not_before + timedelta(microseconds=1)
        reads = self.reads_between(start, pass_end)
        if not reads:
            return None, [f"no RFID tag read within {window_s:.0f} s before the pass"]
        before = [r for r in reads if r.at <= pass_start]
        chosen = before[-1] if before else reads[0]
        tags = sorted({r.tag for r in reads})
        problems = []
        if len(tags) > 1:
            problems.append(f"several RFID tags near the pass {tags}, used {chosen.tag}")
        return chosen.tag, problems
