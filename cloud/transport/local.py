"""Embedded transport: streaming pull over :class:`schemas.localqueue.LocalQueue`.

A puller thread leases at most ``flow.max_messages`` unsettled messages (and about
``flow.max_bytes``) at a time, hands them to a small thread pool, and extends the
leases of messages still being processed, as the Pub/Sub client's lease manager does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from cloud.ports import Delivery, FlowControl
from schemas.errors import TransportError
from schemas.localqueue import LocalQueue, ReceivedMessage

log = logging.getLogger(__name__)
IDLE_SLEEP_S = 0.05


class _LocalStream:
    """One subscription's pull loop with flow control and lease extension."""

    def __init__(
        self, queue: LocalQueue, subscription: str, handler: Callable[[Delivery], None],
        flow: FlowControl,
    ) -> None:
        self._q = queue
        self._sub = subscription
        self._handler = handler
        self._flow = flow
        self._deadline = queue.subscription(subscription).ack_deadline_s
        self._lock = threading.Lock()
        self._inflight: dict[str, tuple[int, float]] = {}  # ack_id -> (bytes, leased_at)
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=min(4, flow.max_messages),
                                        thread_name_prefix=f"sub-{subscription}")
        self._thread = threading.Thread(target=self._run, name=f"pull-{subscription}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop pulling and wait for in-flight callbacks."""
        self._stop.set()
        self._thread.join(timeout=30)
        self._pool.shutdown(wait=True)

    def alive(self) -> bool:
        """Whether the pull loop still runs."""
        return self._thread.is_alive()

    def _room(self) -> int:
        with self._lock:
            used = sum(b for b, _ in self._inflight.values())
            if used >= self._flow.max_bytes:
                return 0
            return self._flow.max_messages - len(self._inflight)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._extend_leases()
                room = self._room()
                msgs = self._q.pull(self._sub, room) if room > 0 else []
            except TransportError as exc:
                log.warning("pull %s failed: %s", self._sub, exc)
                msgs = []
                time.sleep(1.0)
            for m in msgs:
                with self._lock:
                    self._inflight[m.ack_id] = (len(m.data), time.monotonic())
                self._pool.submit(self._dispatch, m)
            if not msgs:
                self._stop.wait(IDLE_SLEEP_S)

    def _extend_leases(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [a for a, (_, t) in self._inflight.items() if now - t > self._deadline / 2]
            for a in due:
                self._inflight[a] = (self._inflight[a][0], now)
        if due:
            self._q.modify_ack_deadline(self._sub, due, self._deadline)

    def _settle(self, ack_id: str, ok: bool) -> None:
        with self._lock:
            if self._inflight.pop(ack_id, None) is None:
                return
        try:
            if ok:
                self._q.ack(self._sub, [ack_id])
            else:
                self._q.nack(self._sub, [ack_id])
        except TransportError as exc:
            log.warning("settling %s on %s failed (it will be redelivered): %s",
                        ack_id, self._sub, exc)

    def _dispatch(self, m: ReceivedMessage) -> None:
        d = Delivery(
            subscription=self._sub, message_id=m.message_id, data=m.data,
            attributes=dict(m.attributes), publish_time=m.publish_time,
            delivery_attempt=m.delivery_attempt,
            _ack=lambda: self._settle(m.ack_id, True),
            _nack=lambda: self._settle(m.ack_id, False),
        )
        try:
            self._handler(d)
        except Exception:  # the loop must survive; the message is redelivered
            log.exception("handler failed on %s message %s", self._sub, m.message_id)
            d.nack()


class LocalTransport:
    """Transport port over the embedded SQLite queue (the default)."""

    def __init__(self, queue: LocalQueue) -> None:
        self._q = queue
        self._streams: list[_LocalStream] = []

    def stream(
        self, subscription: str, handler: Callable[[Delivery], None], flow: FlowControl
    ) -> _LocalStream:
        """Start pulling ``subscription`` in a background thread."""
        s = _LocalStream(self._q, subscription, handler, flow)
        self._streams.append(s)
        return s

    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str]) -> str:
        """Publish one message."""
        return self._q.publish(topic, data, dict(attributes))

    def ensure_topic(self, topic: str) -> bool:
        """Create the topic if absent."""
        existed = self._q.topic_exists(topic)
        self._q.create_topic(topic)
        return not existed

    def ensure_subscription(
        self, name: str, topic: str, *, ack_deadline_s: int, max_delivery_attempts: int,
        dead_letter_topic: str | None,
    ) -> bool:
        """Create (or update the settings of) the subscription."""
        existed = name in self._q.list_subscriptions(topic)
        self._q.create_subscription(
            name, topic, ack_deadline_s=ack_deadline_s,
            max_delivery_attempts=max_delivery_attempts, dead_letter_topic=dead_letter_topic,
        )
        return not existed

    def backlog(self, subscription: str) -> int | None:
        """Unacked messages on the subscription."""
        return self._q.backlog(subscription)

    def close(self) -> None:
        """Stop every stream and close the queue."""
        for s in self._streams:
            s.stop()
        self._q.close()
