"""Email through the official ``sendgrid`` SDK (v3 Mail Send).

HTML and plain-text parts, heatmaps as inline attachments (``cid:``). The client is
built by :func:`cloud.alerts.bootstrap.build_sendgrid_client`. Vendor exceptions become
:class:`NotifierError` (429/5xx/network retryable).
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from cloud.alerts.channels.ports import ProviderError, email_address, parse_retry_after
from cloud.alerts.channels.twilio_sms import retryable_status
from cloud.alerts.model import Rendered
from schemas.config.alerts import RecipientConfig
from schemas.errors import NotifierError

log = logging.getLogger(__name__)


def build_mail(
    message: Rendered, to: str, from_email: str, from_name: str
) -> Any:
    """The SendGrid ``Mail`` object for one recipient."""
    from sendgrid.helpers.mail import (
        Attachment,
        ContentId,
        Disposition,
        FileContent,
        FileName,
        FileType,
        From,
        Mail,
    )

    mail = Mail(
        from_email=From(from_email, from_name),
        to_emails=to,
        subject=message.subject,
        plain_text_content=message.text,
        html_content=message.html,
    )
    for img in message.images:
        mail.add_attachment(
            Attachment(
                FileContent(base64.b64encode(img.png).decode("ascii")),
                FileName(img.filename),
                FileType("image/png"),
                Disposition("inline"),
                ContentId(img.cid),
            )
        )
    return mail


class SendGridEmail:
    """Sends the email rendering; returns the ``X-Message-Id`` (or ``http-<status>``)."""

    name = "email"

    def __init__(self, client: Any, from_email: str, from_name: str) -> None:
        self._client = client
        self._from_email = from_email
        self._from_name = from_name

    def address(self, recipient: RecipientConfig) -> str | None:
        """The recipient's email address."""
        return email_address(recipient)

    def send(self, recipient: RecipientConfig, message: Rendered) -> str:
        """Send one mail; translate SendGrid (python_http_client) and network errors."""
        from python_http_client.exceptions import HTTPError

        to = self.address(recipient)
        if not to:
            raise NotifierError(
                f"email: recipient {recipient.name!r} has no email", retryable=False
            )
        mail = build_mail(message, to, self._from_email, self._from_name)
        try:
            resp = self._client.send(mail)
        except HTTPError as exc:
            body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else exc.body
            headers: Any = getattr(exc, "headers", None) or {}
            after = headers.get("Retry-After") if hasattr(headers, "get") else None
            raise ProviderError(
                f"sendgrid: HTTP {exc.status_code}: {str(body)[:300]}",
                retryable=retryable_status(exc.status_code),
                retry_after=parse_retry_after(after) if after is not None else None,
            ) from exc
        except OSError as exc:  # URLError, timeouts, refused connections
            raise NotifierError(f"sendgrid: network: {exc}", retryable=True) from exc
        status = int(getattr(resp, "status_code", 0))
        if status >= 300:
            raise NotifierError(f"sendgrid: HTTP {status}", retryable=retryable_status(status))
        headers = getattr(resp, "headers", None) or {}
        msg_id = headers.get("X-Message-Id") if hasattr(headers, "get") else None
        log.info("email to %s sent: status=%s id=%s", recipient.name, status, msg_id)
        return str(msg_id) if msg_id else f"http-{status}"
