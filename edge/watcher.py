"""Filesystem events (watchdog) that wake the uploader early; rescans stay the safety net."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class FolderWatcher:
    """Sets ``wake`` whenever a file is created, closed after writing, or moved in the
    folders."""

    def __init__(self, folders: list[Path], wake: threading.Event) -> None:
        self.folders = folders
        self.wake = wake
        self._observer: Any = None

    def start(self) -> bool:
        """Start watching; False (rescans only) if the platform refuses."""
        from watchdog.events import (
            FileClosedEvent,
            FileCreatedEvent,
            FileMovedEvent,
            FileSystemEvent,
            FileSystemEventHandler,
        )
        from watchdog.observers import Observer

        wake = self.wake

        class _Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                wake.set()

        # Only the events that can complete a file: the kernel then does not even report
        # every write, open, read or delete (the uploader's own reads and deletes of the
        # scans were most of the events, each handled in Python by watchdog's threads).
        wanted: list[type[FileSystemEvent]] = [FileCreatedEvent, FileMovedEvent,
                                               FileClosedEvent]
        try:
            observer = Observer()
            for folder in self.folders:
                folder.mkdir(parents=True, exist_ok=True)
                observer.schedule(_Handler(), str(folder), recursive=False,
                                  event_filter=wanted)
            observer.start()
        except OSError as exc:
            log.warning("filesystem events unavailable (%s); relying on rescans", exc)
            return False
        self._observer = observer
        return True

    def stop(self) -> None:
        """Stop the observer thread."""
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
