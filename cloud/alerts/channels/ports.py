"""The port every delivery channel implements."""

from __future__ import annotations

from typing import Protocol

from cloud.alerts.model import Rendered
from schemas.config.alerts import RecipientConfig
from schemas.errors import NotifierError


class ProviderError(NotifierError):
    """A provider's refusal, with the delay it asked for (``Retry-After``) if any."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None
                 ) -> None:
        super().__init__(message, retryable=retryable)
        self.retry_after = retry_after


def parse_retry_after(value: object) -> float | None:
    """Seconds from a ``Retry-After`` header value (delta-seconds form only)."""
    try:
        seconds = float(str(value).strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class Channel(Protocol):
    """Sends one rendered alert to one recipient; raises ``NotifierError`` on failure.

    ``name`` is the logical channel (``sms``, ``email`` or ``outbox``) recipients choose in
    the config; ``address`` is the recipient's address on it (None = not reachable there).
    """

    name: str

    def address(self, recipient: RecipientConfig) -> str | None:
        """The recipient's phone / email / name on this channel, or None."""
        ...

    def send(self, recipient: RecipientConfig, message: Rendered) -> str:
        """Deliver; return the provider's response id (message sid, X-Message-Id, ...)."""
        ...


def sms_address(recipient: RecipientConfig) -> str | None:
    """Phone number used by SMS channels."""
    return recipient.phone


def email_address(recipient: RecipientConfig) -> str | None:
    """Email address used by email channels."""
    return recipient.email
