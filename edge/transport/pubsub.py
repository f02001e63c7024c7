"""Transport adapter over Google Cloud Pub/Sub (``google-cloud-pubsub`` PublisherClient).

The client is built by :func:`edge.bootstrap.build_pubsub_publisher` with deliberate
batching (a batch stays under the 10 MB request limit), flow control (blocks instead of
buffering without bound while the link is slow) and message ordering enabled: the
uploader publishes each camera's files with the camera id as ordering key. After a
failed publish the client pauses that key; :meth:`PubsubTransport.publish` calls
``resume_publish`` so the next attempt (store-and-forward retry) can go out.
It honours ``PUBSUB_EMULATOR_HOST`` (the client library does). Vendor exceptions are
translated to :class:`TransportError` with ``retryable`` set.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from google.api_core import exceptions as gexc

from edge.transport import OutMessage
from schemas.errors import TransportError

log = logging.getLogger(__name__)

_RETRYABLE = (
    gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError,
    gexc.TooManyRequests, gexc.ResourceExhausted, gexc.Aborted, gexc.Unknown,
    gexc.RetryError, gexc.GatewayTimeout, gexc.BadGateway, gexc.Cancelled,
)


def translate(exc: BaseException, what: str) -> TransportError:
    """A TransportError for a google.api_core / client exception."""
    if isinstance(exc, concurrent.futures.TimeoutError | TimeoutError):
        return TransportError(f"{what}: no confirmation in time")
    if isinstance(exc, _RETRYABLE):
        return TransportError(f"{what}: {type(exc).__name__}: {exc}")
    if isinstance(exc, gexc.GoogleAPICallError):
        return TransportError(f"{what}: {type(exc).__name__}: {exc}", retryable=False)
    name = type(exc).__name__
    if name == "PublishToPausedOrderingKeyException":
        return TransportError(f"{what}: ordering key paused after an earlier error")
    if isinstance(exc, ValueError):  # e.g. message too large
        return TransportError(f"{what}: {exc}", retryable=False)
    return TransportError(f"{what}: {name}: {exc}")


class PubsubTransport:
    """Publishes through a ``PublisherClient`` and waits for the server's message ids."""

    def __init__(self, client: Any, project: str, *, confirm_timeout_s: float = 90.0) -> None:
        self.client = client
        self.project = project
        self.confirm_timeout_s = confirm_timeout_s

    def _path(self, topic: str) -> str:
        return str(self.client.topic_path(self.project, topic))

    def ensure_topic(self, topic: str) -> None:
        """Create the topic if missing; without admin rights only log that we could not."""
        try:
            self.client.create_topic(name=self._path(topic))
            log.info("created topic %s", topic)
        except gexc.AlreadyExists:
            pass
        except gexc.PermissionDenied:
            log.warning("no permission to create topic %s; assuming it exists", topic)
        except Exception as exc:  # vendor errors of every kind: translate
            raise translate(exc, f"create topic {topic}") from exc

    def publish(
        self, topic: str, messages: Sequence[OutMessage], ordering_key: str | None = None
    ) -> list[str]:
        """Publish in order (one ordering key), wait for every message id."""
        path = self._path(topic)
        futures = []
        try:
            for m in messages:
                futures.append(self.client.publish(
                    path, m.data, ordering_key=ordering_key or "", **m.attributes))
            return [str(f.result(timeout=self.confirm_timeout_s)) for f in futures]
        except Exception as exc:  # vendor errors of every kind: translate
            for f in futures:
                f.cancel()
            if ordering_key:
                # RuntimeError: key not paused (we gave up before the client did)
                with contextlib.suppress(RuntimeError):
                    self.client.resume_publish(path, ordering_key)
            raise translate(exc, f"publish to {topic}") from exc

    def close(self) -> None:
        """Send what is batched and stop the client's threads."""
        try:
            self.client.stop()
        except Exception as exc:  # shutting down: log, never raise
            log.warning("pubsub publisher stop failed: %s", exc)
