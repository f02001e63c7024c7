"""The WheelWatch error hierarchy, shared by edge, cloud and models.

Every error the system raises on purpose derives from :class:`WheelWatchError`.
Adapters translate vendor exceptions (google.api_core, twilio, sendgrid, sqlalchemy,
...) into these classes so that callers never depend on a vendor type.

- ``ConfigError``       — the site config is invalid (names the key and the reason).
- ``ScanFormatError``   — a SICK iCon ``.dat``/``.xml`` pair cannot be read (names the
  file and the problem); such files are quarantined, never deleted.
- ``ContractError``     — data that breaks a shared contract (CSV, metadata, message
  attributes, manifests): a poison message or a malformed per-wheel file.
- ``TransportError``    — publishing or pulling failed; ``retryable`` says whether a
  later attempt may succeed (network down, quota) or not (permission, bad request).
- ``StoreError``        — blob store, SQL or warehouse write/read failed.
- ``ScoringError``      — the exported model could not be loaded or could not score.
- ``NotifierError``     — an SMS/email provider refused or failed; ``retryable`` as above.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class WheelWatchError(Exception):
    """Base of every error WheelWatch raises on purpose."""


class ConfigError(WheelWatchError):
    """Invalid configuration: ``key`` is the dotted path of the offending setting."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"config error at '{key}': {reason}")
        self.key = key
        self.reason = reason


class ScanFormatError(WheelWatchError):
    """A SICK iCon scan that cannot be read; ``path`` names the file."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class ContractError(WheelWatchError):
    """Data that breaks a shared contract (CSV, metadata, message, manifest)."""


class _RetryableError(WheelWatchError):
    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class TransportError(_RetryableError):
    """Publishing to or pulling from the transport failed."""


class StoreError(_RetryableError):
    """A blob store, relational store or warehouse operation failed."""


class ScoringError(WheelWatchError):
    """The exported model could not be loaded or could not score a wheel."""


class NotifierError(_RetryableError):
    """An SMS or email provider refused or failed to take a message."""


def first_error(exc: ValidationError, root: str) -> tuple[str, str]:
    """(dotted location, message) of the first error of a pydantic validation.

    ``root`` stands for the location when the error is about the whole document.
    """
    err = exc.errors()[0]
    return ".".join(str(p) for p in err["loc"]) or root, str(err["msg"])
