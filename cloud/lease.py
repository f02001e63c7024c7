"""Keep a file's processing lease alive while a worker works on it.

A worker holds a file's lease (:meth:`cloud.tracker.Tracker.claim`) for ``lease_s``; a
slow step (a large file, a loaded machine, a slow store) could outlast it, and then a
second worker would legitimately take the file over while the first is still busy. The
:class:`LeaseKeeper` renews the lease every third of its length from a background thread
for as long as the work goes on, so a lease only expires when its worker has died.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Protocol

log = logging.getLogger(__name__)


class Renewer(Protocol):
    """What the keeper needs from the tracker."""

    def renew(self, file_id: str, owner: str, lease_s: float) -> bool:
        """Extend ``owner``'s lease on ``file_id``; False if ``owner`` no longer holds it."""
        ...


class LeaseKeeper:
    """Context manager renewing ``owner``'s lease on ``file_id`` until exit."""

    def __init__(self, tracker: Renewer, file_id: str, owner: str, lease_s: float) -> None:
        self._tracker = tracker
        self._file_id = file_id
        self._owner = owner
        self._lease_s = lease_s
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"lease-{file_id[:12]}")
        self.lost = False

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, _t: type[BaseException] | None, _e: BaseException | None,
                 _tb: TracebackType | None) -> None:
        self._done.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._done.wait(self._lease_s / 3):
            try:
                if not self._tracker.renew(self._file_id, self._owner, self._lease_s):
                    self.lost = True
                    log.info("file %s: lease no longer held by %s", self._file_id, self._owner)
                    return
            except Exception:  # a transient database error: the next round retries
                log.exception("file %s: lease renewal failed", self._file_id)
