"""Google Cloud Pub/Sub transport (honours ``PUBSUB_EMULATOR_HOST``).

Streaming pull with the client's flow control (server- and client-side limits on leased
messages and bytes; the client extends leases while callbacks run). The subscriber gets
its own gRPC channel without the 4 MiB receive limit: against the emulator the default
channel silently delivers nothing once a pull response exceeds 4 MiB.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from google.api_core import exceptions as gexc
from google.cloud import pubsub_v1  # type: ignore[attr-defined]
from google.cloud.pubsub_v1.subscriber.message import Message
from google.cloud.pubsub_v1.subscriber.scheduler import ThreadScheduler
from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

from cloud.ports import Delivery, FlowControl
from schemas.errors import TransportError

log = logging.getLogger(__name__)
_UNLIMITED = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


def _channel(kind: type[Any]) -> Any:
    host = os.environ.get("PUBSUB_EMULATOR_HOST")
    if host:
        return grpc.insecure_channel(host, options=_UNLIMITED)
    return kind.create_channel(options=_UNLIMITED)


class _PubSubStream:
    def __init__(self, future: Any, pool: ThreadPoolExecutor) -> None:
        self._future = future
        self._pool = pool

    def stop(self) -> None:
        """Cancel the streaming pull and wait for callbacks."""
        self._future.cancel()
        try:
            self._future.result(timeout=30)
        except Exception as exc:  # cancelled futures raise; nothing to recover
            log.debug("stream stopped: %s", exc)
        self._pool.shutdown(wait=True)

    def alive(self) -> bool:
        """Whether the streaming pull still runs."""
        return not self._future.done()


class PubSubTransport:
    """Transport port over Google Cloud Pub/Sub."""

    def __init__(self, project: str) -> None:
        self.project = project
        self._sub = pubsub_v1.SubscriberClient(
            transport=SubscriberGrpcTransport(channel=_channel(SubscriberGrpcTransport))
        )
        self._pub = pubsub_v1.PublisherClient(
            transport=PublisherGrpcTransport(channel=_channel(PublisherGrpcTransport))
        )
        self._streams: list[_PubSubStream] = []

    def _topic(self, name: str) -> str:
        return self._pub.topic_path(self.project, name)

    def _subscription(self, name: str) -> str:
        return self._sub.subscription_path(self.project, name)

    def stream(
        self, subscription: str, handler: Callable[[Delivery], None], flow: FlowControl
    ) -> _PubSubStream:
        """Start a streaming pull on ``subscription`` bounded by ``flow``."""

        def callback(m: Message) -> None:
            d = Delivery(
                subscription=subscription, message_id=m.message_id, data=m.data,
                attributes=dict(m.attributes), publish_time=m.publish_time,
                delivery_attempt=m.delivery_attempt or 1, _ack=m.ack, _nack=m.nack,
            )
            try:
                handler(d)
            except Exception:  # keep the stream alive; the message is redelivered
                log.exception("handler failed on %s message %s", subscription, m.message_id)
                m.nack()

        pool = ThreadPoolExecutor(max_workers=min(4, flow.max_messages),
                                  thread_name_prefix=f"ps-{subscription}")
        future = self._sub.subscribe(
            self._subscription(subscription), callback,
            flow_control=pubsub_v1.types.FlowControl(
                max_messages=flow.max_messages, max_bytes=flow.max_bytes,
                # the stream's ack deadline (the client's default is 60 s): a killed
                # worker's leased messages come back after this, not after a minute
                max_duration_per_lease_extension=flow.lease_extension_s,
            ),
            scheduler=ThreadScheduler(executor=pool),
        )
        s = _PubSubStream(future, pool)
        self._streams.append(s)
        return s

    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str]) -> str:
        """Publish one message and wait for its id."""
        try:
            return str(self._pub.publish(self._topic(topic), data, **attributes).result(60))
        except gexc.GoogleAPICallError as exc:
            raise TransportError(f"publish to {topic} failed: {exc}") from exc

    def ensure_topic(self, topic: str) -> bool:
        """Create the topic if absent."""
        try:
            self._pub.create_topic(name=self._topic(topic))
            return True
        except gexc.AlreadyExists:
            return False
        except gexc.GoogleAPICallError as exc:
            raise TransportError(f"create topic {topic} failed: {exc}", retryable=False) from exc

    def ensure_subscription(
        self, name: str, topic: str, *, ack_deadline_s: int, max_delivery_attempts: int,
        dead_letter_topic: str | None,
    ) -> bool:
        """Create the subscription (with dead-letter policy) if absent."""
        request: dict[str, Any] = {
            "name": self._subscription(name), "topic": self._topic(topic),
            "ack_deadline_seconds": ack_deadline_s,
        }
        if dead_letter_topic:
            request["dead_letter_policy"] = {
                "dead_letter_topic": self._topic(dead_letter_topic),
                "max_delivery_attempts": max_delivery_attempts,
            }
        try:
            self._sub.create_subscription(request=request)
            return True
        except gexc.AlreadyExists:
            return False
        except gexc.GoogleAPICallError as exc:
            raise TransportError(f"create subscription {name} failed: {exc}",
                                 retryable=False) from exc

    def backlog(self, subscription: str) -> int | None:
        """Pub/Sub exposes backlog only through Cloud Monitoring: unknown here."""
        return None

    def close(self) -> None:
        """Stop the streams and close the clients."""
        for s in self._streams:
            s.stop()
        self._sub.close()
        self._pub.stop()
