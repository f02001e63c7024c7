"""SMS through the official ``twilio`` SDK (Programmable Messaging, API 2010-04-01).

The client is built by :func:`cloud.alerts.bootstrap.build_twilio_client`, never at import
time. Vendor exceptions become :class:`NotifierError`: 429 and 5xx (and network errors)
are retryable, other 4xx are not.
"""

from __future__ import annotations

import logging
from typing import Any

from cloud.alerts.channels.ports import sms_address
from cloud.alerts.model import Rendered
from schemas.config.alerts import RecipientConfig
from schemas.errors import NotifierError

log = logging.getLogger(__name__)


def retryable_status(status: int | None) -> bool:
    """Whether an HTTP status from a provider may succeed on a later attempt."""
    return status is None or status == 429 or status == 408 or status >= 500


class TwilioSms:
    """Sends ``message.sms`` to the recipient's phone; returns the message SID."""

    name = "sms"

    def __init__(self, client: Any, from_number: str) -> None:
        self._client = client
        self._from = from_number

    def address(self, recipient: RecipientConfig) -> str | None:
        """The recipient's phone number."""
        return sms_address(recipient)

    def send(self, recipient: RecipientConfig, message: Rendered) -> str:
        """Create the message; translate Twilio and network errors."""
        from twilio.base.exceptions import TwilioException, TwilioRestException

        to = self.address(recipient)
        if not to:
            raise NotifierError(f"sms: recipient {recipient.name!r} has no phone", retryable=False)
        try:
            msg = self._client.messages.create(to=to, from_=self._from, body=message.sms)
        except TwilioRestException as exc:
            raise NotifierError(
                f"twilio: HTTP {exc.status} code {exc.code}: {exc.msg}",
                retryable=retryable_status(exc.status),
            ) from exc
        except (TwilioException, OSError) as exc:  # requests' errors are OSErrors
            raise NotifierError(f"twilio: {type(exc).__name__}: {exc}", retryable=True) from exc
        sid = str(getattr(msg, "sid", "") or "")
        log.info("sms to %s sent: sid=%s status=%s", recipient.name, sid, msg.status)
        return sid
