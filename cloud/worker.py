"""The cloud worker: streaming pulls on every subscription, monitor sweeps, event delivery.

``wheel-cloud run`` builds one :class:`Worker` from the config. Any number of workers
(processes or machines) may run against the same subscriptions and database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from cloud.domain_events import AlertSink
from cloud.handlers import ChunkHandler, DeadLetters, EventHandler
from cloud.monitor import Monitor, MonitorSettings
from cloud.outbox import Dispatcher
from cloud.pipeline import FilePipeline, PipelineSettings, PositionLookup
from cloud.ports import BlobStore, FlowControl, Scorer, StreamHandle, Transport, Warehouse
from cloud.tracker import Tracker

log = logging.getLogger(__name__)
#: Shortest gap between two event dispatches. A written file wakes the dispatcher, so an
#: alert leaves at once on a quiet system; under load the gap gathers the events of
#: several files into one claim and one settle transaction (at 20 files/s: ~4 a batch).
DISPATCH_GAP_S = 0.2


@dataclass(frozen=True)
class Topology:
    """What to pull: (subscription, topic, camera or None for events)."""

    streams: list[tuple[str, str, str | None]]
    dead_letter_suffix: str = "-dead-letter"


@dataclass
class WorkerParts:
    """Everything a worker needs (built by ``cloud.bootstrap`` or by tests)."""

    sessions: sessionmaker[Session]
    transport: Transport
    blobs: BlobStore
    warehouse: Warehouse
    scorer: Scorer
    sink: AlertSink
    clock: Callable[[], datetime]
    pipeline_settings: PipelineSettings
    monitor_settings: MonitorSettings
    flow: FlowControl
    file_timeout_s: float = 600.0
    disk_low_mb: int | None = None
    monitor_interval_s: float = 30.0
    sides: dict[str, str] | None = None
    positions: PositionLookup | None = None


class Worker:
    """Pulls, processes, sweeps and dispatches until stopped."""

    def __init__(self, parts: WorkerParts, topology: Topology) -> None:
        self.p = parts
        self.topology = topology
        self.tracker = Tracker(parts.sessions, parts.clock)
        self.pipeline = FilePipeline(
            parts.sessions, self.tracker, parts.blobs, parts.warehouse, parts.scorer,
            parts.clock, parts.pipeline_settings, parts.sides, parts.positions)
        self.monitor = Monitor(parts.sessions, self.tracker, self.pipeline, parts.clock,
                               parts.monitor_settings)
        self.dispatcher = Dispatcher(parts.sessions, parts.sink, parts.clock)
        self._dead = DeadLetters(self.tracker, parts.transport, topology.dead_letter_suffix)
        self._stop = threading.Event()
        self._streams: list[StreamHandle] = []
        self._wake = threading.Event()

    def handler_for(self, topic: str, camera: str | None) -> Callable[..., None]:
        """The message handler of one subscription."""
        if camera is None:
            return EventHandler(topic, self.p.sessions, self._dead, self.p.clock,
                                self.p.file_timeout_s, self.p.disk_low_mb)
        return ChunkHandler(topic, self.tracker, self.pipeline, self._dead,
                            on_written=lambda _fid: self._wake.set(), camera=camera)

    def start(self) -> None:
        """Open the streaming pulls."""
        for spec in self.topology.streams:
            self._streams.append(self._open(spec))

    def _open(self, spec: tuple[str, str, str | None]) -> StreamHandle:
        sub, topic, camera = spec
        log.info("pulling %s (%s)", sub, camera or "events")
        return self.p.transport.stream(sub, self.handler_for(topic, camera), self.p.flow)

    def _revive(self) -> None:
        """Reopen a stream that ended on its own (connection lost, service restarted)."""
        for i, spec in enumerate(self.topology.streams):
            if i < len(self._streams) and not self._streams[i].alive():
                log.error("stream %s stopped; reopening", spec[0])
                self._streams[i] = self._open(spec)

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Start, then sweep/dispatch until :meth:`stop` (or ``until()`` is true)."""
        self.start()
        next_sweep = 0.0
        try:
            while not self._stop.is_set() and not (until and until()):
                if time.monotonic() >= next_sweep:
                    self._safe(self.monitor.sweep)
                    next_sweep = time.monotonic() + self.p.monitor_interval_s
                self._safe(self.dispatcher.dispatch)
                self._safe(self._revive)
                self._stop.wait(DISPATCH_GAP_S)  # events written meanwhile go as one batch
                self._wake.wait(0.5)
                self._wake.clear()
        finally:
            self.shutdown()

    def _safe(self, fn: Callable[[], object]) -> None:
        try:
            fn()
        except Exception:  # the loop must keep running; the next round retries
            log.exception("%s failed", getattr(fn, "__name__", fn))

    def stop(self) -> None:
        """Ask the loop to end."""
        self._stop.set()
        self._wake.set()

    def shutdown(self) -> None:
        """Stop the pulls and deliver what is pending."""
        for s in self._streams:
            s.stop()
        self._streams.clear()
        self._safe(self.dispatcher.dispatch)
