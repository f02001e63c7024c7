"""Transport adapter over the embedded durable queue (``schemas.localqueue``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from edge.transport import OutMessage
from schemas.localqueue import LocalQueue

log = logging.getLogger(__name__)


class LocalTransport:
    """Publishes into a :class:`LocalQueue`; a returned id means the message is on disk."""

    def __init__(self, queue: LocalQueue, subscription_suffix: str = "-sub") -> None:
        self.queue = queue
        self.subscription_suffix = subscription_suffix

    def ensure_topic(self, topic: str) -> None:
        """Create the topic, and its default subscription if it has none yet.

        Without a subscription the queue (like Pub/Sub) would drop what the edge
        publishes before the cloud side is provisioned; an existing subscription's
        settings (dead-letter etc.) are left as the cloud set them.
        """
        self.queue.create_topic(topic)
        if not self.queue.list_subscriptions(topic):
            name = f"{topic}{self.subscription_suffix}"
            log.info("creating default subscription %s on %s", name, topic)
            self.queue.create_subscription(name, topic)

    def publish(
        self, topic: str, messages: Sequence[OutMessage], ordering_key: str | None = None
    ) -> list[str]:
        """Publish the messages in order, in one durable transaction (all or none)."""
        return self.queue.publish_batch(topic, [(m.data, m.attributes) for m in messages],
                                        ordering_key)

    def close(self) -> None:
        """Close the queue file."""
        self.queue.close()
