"""Publishing per camera: strict capture order, pipelined windows, backoff on failure."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable

from edge.bundle import Bundle, ChunkContext, chunk_messages
from edge.tracker import FileRow, StateChange, Tracker
from edge.transport import OutMessage, Transport
from schemas.config import SiteConfig
from schemas.errors import TransportError

log = logging.getLogger(__name__)
UNASSIGNED = "unassigned"
UNKNOWN_TRAIN = "unknown"


class Publisher:
    """Publishes converted files and queued events; one backoff per camera (and events).

    A failed publish backs off exponentially (with jitter, up to ``edge.retry_max_s``)
    and blocks only its camera; the files stay on disk, in order, until confirmed.
    """

    def __init__(self, cfg: SiteConfig, tracker: Tracker, transport: Transport,
                 clock: Callable[[], float] = time.time) -> None:
        self.cfg, self.tracker, self.transport, self.clock = cfg, tracker, transport, clock
        self.retry_at: dict[str, float] = {}
        self.failures: dict[str, int] = {}

    def _backoff(self, what: str, exc: TransportError) -> float:
        n = self.failures.get(what, 0) + 1
        self.failures[what] = n
        base = self.cfg.edge.retry_initial_s * 2 ** min(n - 1, 20)
        delay = min(self.cfg.edge.retry_max_s, base) * random.uniform(0.8, 1.2)
        if not exc.retryable:
            delay = self.cfg.edge.retry_max_s
        self.retry_at[what] = self.clock() + delay
        log.warning("%s: %s; retry in %.1f s (attempt %d)", what, exc, delay, n)
        return delay

    def _due(self, what: str) -> bool:
        return self.clock() >= self.retry_at.get(what, 0.0)

    def _ok(self, what: str) -> None:
        self.failures.pop(what, None)
        self.retry_at.pop(what, None)

    def publish_camera(self, camera: str) -> int:
        """Publish this camera's converted files in capture order; stop at the first gap.

        Up to ``edge.publish_window_files`` files (``publish_window_bytes``) go out in one
        call (pipelined: the Pub/Sub client batches them, the local queue commits them in
        one transaction), then each file's confirmation is recorded.
        """
        if not self._due(camera):
            return 0
        topic = self.cfg.camera(camera).topic
        edge = self.cfg.edge
        sent, window, size = 0, [], 0
        for row in self.tracker.files(
                "camera = ? AND state IN ('discovered','converted','published')", (camera,)):
            if row.state == "discovered":
                break  # strict order: wait until the older scan is converted
            window.append(row)
            size += row.payload_bytes or 0
            if len(window) >= edge.publish_window_files or size >= edge.publish_window_bytes:
                if not self._publish_window(window, topic):
                    return sent
                sent, window, size = sent + len(window), [], 0
        if window and self._publish_window(window, topic):
            sent += len(window)
        return sent

    def _publish_window(self, rows: list[FileRow], topic: str) -> bool:
        camera = rows[0].camera
        try:
            plans = [self._messages(row) for row in rows]
        except OSError as exc:  # a bundle vanished from the work dir: convert again
            for row in rows:
                if row.bundle_path is None or not row.bundle_path.exists():
                    self.tracker.set_state(row.key, "discovered", f"bundle lost ({exc}); "
                                           "converting again", message_ids="[]")
            return False
        try:
            ids = self.transport.publish(topic, [m for _, _, msgs in plans for m in msgs],
                                         ordering_key=camera)
        except TransportError as exc:
            delay = self._backoff(camera, exc)
            self.tracker.note_error(camera, f"publish {rows[0].stem}: {exc}", rows[0].key,
                                    self.clock() + delay)
            return False
        self._ok(camera)
        pos = 0
        changes = []  # the whole window is recorded in one transaction
        for row, (done, todo, _) in zip(rows, plans, strict=True):
            for i in todo:
                done[i] = ids[pos]
                pos += 1
            now = time.time()
            changes += [
                StateChange(row.key, "published", f"message ids {done}",
                            {"message_ids": json.dumps(done), "published_at": now}),
                StateChange(row.key, "confirmed", f"{len(done)} chunk(s) confirmed",
                            {"confirmed_at": now, "last_error": None})]
        self.tracker.set_states(changes)
        return True

    def _messages(self, row: FileRow) -> tuple[list[str], list[int], list[OutMessage]]:
        """(message ids so far, chunk indexes to send, their messages) of one file."""
        count = row.chunk_count or 1
        done = list(row.message_ids) + [""] * (count - len(row.message_ids))
        todo = [i for i in range(count) if not done[i]]
        return done, todo, file_messages(self.cfg, row, todo)

    def flush_outbox(self) -> None:
        """Publish queued events (manifests, quarantine events) in order."""
        if not self._due("events"):
            return
        for ev in self.tracker.outbox_pending():
            try:
                [mid] = self.transport.publish(ev["topic"], [OutMessage(
                    bytes(ev["data"]), dict(json.loads(ev["attributes"])))])
            except TransportError as exc:
                self._backoff("events", exc)
                return
            self._ok("events")
            self.tracker.outbox_sent(ev["id"], mid)


def file_messages(cfg: SiteConfig, row: FileRow, indexes: list[int]) -> list[OutMessage]:
    """The data messages (chunks ``indexes``) of a converted file, read from its bundle.

    Also used by ``wheel-edge republish``. OSError if the bundle is gone.
    """
    assert row.bundle_path is not None and row.file_id is not None
    assert row.sha256 is not None and row.payload_bytes and row.raw_bytes
    bundle = Bundle(row.bundle_path, row.sha256, row.payload_bytes, row.raw_bytes)
    ctx = ChunkContext(cfg.site_id, row.camera, row.file_id, row.wheel_id or UNASSIGNED,
                       row.train_id or UNKNOWN_TRAIN, row.run_id or "none", row.capture_time)
    return chunk_messages(bundle, ctx, cfg.edge.chunk_bytes, indexes)
