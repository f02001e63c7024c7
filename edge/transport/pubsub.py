"""Transport adapter over Google Cloud Pub/Sub (``google-cloud-pubsub`` PublisherClient).

The client is built by :func:`edge.bootstrap.build_pubsub_publisher` with deliberate
batching (a batch stays under the 10 MB request limit), flow control (blocks instead of
buffering without bound while the link is slow) and message ordering enabled: the
uploader publishes each camera's files with the camera id as ordering key. After a
failed publish the client pauses that key; :meth:`PubsubTransport.publish` calls
``resume_publish`` so the next attempt (store-and-forward retry) can go out.
It honours ``PUBSUB_EMULATOR_HOST`` (the client library does). Vendor exceptions are
translated to :class:`TransportError` with ``retryable`` set. Note: with ordering enabled
the client library retries transient errors without end; see :class:`PubsubTransport`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import logging
import time
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
    """Publishes through a ``PublisherClient`` and waits for the server's message ids.

    With message ordering the client retries transient failures *forever* (it must, to
    keep the order), so a publish that is not confirmed in ``confirm_timeout_s`` is
    still in flight. Such messages are remembered (by topic, key, attributes and data
    hash); when the uploader retries, the same in-flight futures are awaited instead of
    publishing again, so an outage does not duplicate messages.
    """

    def __init__(self, client: Any, project: str, *, confirm_timeout_s: float = 90.0) -> None:
        self.client = client
        self.project = project
        self.confirm_timeout_s = confirm_timeout_s
        self._inflight: dict[str, Any] = {}

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

    @staticmethod
    def _fingerprint(path: str, key: str, m: OutMessage) -> str:
        h = hashlib.sha256(f"{path}\x1f{key}\x1f{sorted(m.attributes.items())}".encode())
        h.update(m.data)
        return h.hexdigest()

    def _future(self, path: str, key: str, m: OutMessage) -> tuple[str, Any]:
        fp = self._fingerprint(path, key, m)
        fut = self._inflight.get(fp)
        if fut is None or (fut.done() and fut.exception() is not None):
            fut = self.client.publish(path, m.data, ordering_key=key, **m.attributes)
            self._inflight[fp] = fut
        return fp, fut

    def publish(
        self, topic: str, messages: Sequence[OutMessage], ordering_key: str | None = None
    ) -> list[str]:
        """Publish in order (one ordering key), wait for every message id."""
        path, key = self._path(topic), ordering_key or ""
        pending: list[tuple[str, Any]] = []
        deadline = time.monotonic() + self.confirm_timeout_s
        try:
            for m in messages:
                pending.append(self._future(path, key, m))
            ids = [str(f.result(timeout=max(0.0, deadline - time.monotonic())))
                   for _, f in pending]
        except concurrent.futures.TimeoutError as exc:
            raise TransportError(f"publish to {topic}: not confirmed in "
                                 f"{self.confirm_timeout_s:.0f} s (still in flight)") from exc
        except Exception as exc:  # vendor errors of every kind: translate
            for fp, f in pending:
                if f.done() and f.exception() is not None:
                    self._inflight.pop(fp, None)
            if key:
                # RuntimeError: key not paused
                with contextlib.suppress(RuntimeError):
                    self.client.resume_publish(path, key)
            raise translate(exc, f"publish to {topic}") from exc
        for fp, _ in pending:
            self._inflight.pop(fp, None)
        return ids

    def close(self) -> None:
        """Send what is batched and stop the client's threads."""
        try:
            self.client.stop()
        except Exception as exc:  # shutting down: log, never raise
            log.warning("pubsub publisher stop failed: %s", exc)
