"""The edge's transport port: publish with confirmation, in order per camera.

Two adapters: :class:`edge.transport.local.LocalTransport` (the embedded durable queue,
``schemas.localqueue``) and :class:`edge.transport.pubsub.PubsubTransport` (Google
Cloud Pub/Sub). Both are built in :mod:`edge.bootstrap`, never at import time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OutMessage:
    """One message to publish: payload and string attributes."""

    data: bytes
    attributes: dict[str, str]


class Transport(Protocol):
    """What the uploader needs from a message transport."""

    def ensure_topic(self, topic: str) -> None:
        """Make sure ``topic`` exists (idempotent; may be a no-op without admin rights)."""

    def publish(
        self, topic: str, messages: Sequence[OutMessage], ordering_key: str | None = None
    ) -> list[str]:
        """Publish ``messages`` in order and wait until the service confirmed each one.

        Returns their message ids in the same order. Raises ``TransportError``
        (``retryable`` when a later attempt may succeed); then none, some or all of
        the messages may have been stored (at-least-once: callers republish).
        """
        ...

    def close(self) -> None:
        """Flush and release the client."""
