"""Delivery that does not give up quietly: retries with backoff, fallback channel, records.

For each channel a recipient chose, :class:`Deliverer` tries up to ``max_attempts`` times
while the error is retryable (429, 5xx, network), sleeping ``backoff_s * factor**n``
(capped) in between through an injectable ``sleep``. When a channel still fails, the
configured fallback channel is tried (unless the recipient already gets that channel).
Every attempt, with the provider's response id or the error, goes to the recorder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Protocol

from cloud.alerts.channels.ports import Channel
from cloud.alerts.model import Rendered
from schemas.config.alerts import DeliveryConfig, RecipientConfig
from schemas.errors import NotifierError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """One try of one channel for one recipient."""

    alert_id: str
    purpose: str
    level: int
    recipient: str
    channel: str
    address: str
    attempt: int
    at: datetime
    ok: bool
    provider_id: str | None = None
    error: str | None = None
    retryable: bool | None = None


class AttemptRecorder(Protocol):
    """Where attempts are written (the alerts tables)."""

    def record_attempt(self, attempt: Attempt) -> None:
        """Persist one attempt."""
        ...


@dataclass
class Outcome:
    """What happened for one recipient."""

    recipient: str
    delivered: list[str] = field(default_factory=list)  # channel names that got through
    errors: list[str] = field(default_factory=list)

    @property
    def reached(self) -> bool:
        """True when at least one channel delivered."""
        return bool(self.delivered)


class Deliverer:
    """Sends rendered alerts through the named channels with retries and fallback."""

    def __init__(
        self,
        channels: Mapping[str, Channel],
        cfg: DeliveryConfig,
        recorder: AttemptRecorder,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
    ) -> None:
        self.channels = dict(channels)
        self.cfg = cfg
        self._recorder = recorder
        self._clock = clock
        self._sleep = sleep

    def backoff(self, attempt: int) -> float:
        """Delay before attempt ``attempt + 1`` (attempt counts from 1)."""
        cfg = self.cfg
        return float(min(cfg.backoff_max_s, cfg.backoff_s * cfg.backoff_factor ** (attempt - 1)))

    def deliver(
        self, recipient: RecipientConfig, message: Rendered, *, purpose: str, level: int
    ) -> Outcome:
        """Every channel of the recipient, each with its fallback chain when it fails."""
        out = Outcome(recipient.name)
        chosen: list[str] = list(dict.fromkeys(recipient.channels))
        for name in chosen:
            for candidate in self._chain(name, chosen, recipient):
                ok, err = self._try_channel(candidate, recipient, message, purpose, level)
                if ok:
                    out.delivered.append(candidate)
                    break
                out.errors.append(f"{candidate}: {err}")
        if not out.reached:
            log.error("alert %s (%s) could not reach %s: %s", message.alert_id, purpose,
                      recipient.name, "; ".join(out.errors))
        return out

    def _chain(self, first: str, chosen: Sequence[str], recipient: RecipientConfig
               ) -> list[str]:
        chain = [first]
        nxt = self.cfg.fallback.get(first)  # type: ignore[call-overload]
        while nxt and nxt not in chain:
            usable = nxt in self.channels and self.channels[nxt].address(recipient)
            if nxt not in chosen and usable:
                chain.append(nxt)
            nxt = self.cfg.fallback.get(nxt)  # type: ignore[call-overload]
        return chain

    def _try_channel(
        self, name: str, recipient: RecipientConfig, message: Rendered, purpose: str, level: int
    ) -> tuple[bool, str]:
        channel = self.channels.get(name)
        if channel is None:
            return False, f"channel {name!r} is not configured"
        address = channel.address(recipient) or ""
        err = ""
        for attempt in range(1, self.cfg.max_attempts + 1):
            base = partial(Attempt, alert_id=message.alert_id, purpose=purpose, level=level,
                           recipient=recipient.name, channel=name, address=address,
                           attempt=attempt, at=self._clock())
            try:
                provider_id = channel.send(recipient, message)
            except NotifierError as exc:
                err, retry = str(exc), exc.retryable
                asked = getattr(exc, "retry_after", None)
            except Exception as exc:  # an adapter bug must not lose the alert: log, fall back
                log.exception("channel %s raised unexpectedly", name)
                err, retry, asked = f"{type(exc).__name__}: {exc}", False, None
            else:
                self._recorder.record_attempt(base(ok=True, provider_id=provider_id))
                return True, ""
            self._recorder.record_attempt(base(ok=False, error=err, retryable=retry))
            log.warning("alert %s via %s to %s, attempt %d failed: %s",
                        message.alert_id, name, recipient.name, attempt, err)
            if not retry or attempt == self.cfg.max_attempts:
                break
            delay = self.backoff(attempt)
            if asked is not None:  # the provider's Retry-After, within our cap
                delay = max(delay, min(float(asked), self.cfg.backoff_max_s))
            self._sleep(delay)
        return False, err
