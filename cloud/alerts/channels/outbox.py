"""Embedded channel: append each message as one JSON line to the outbox file.

It backs any logical channel (``sms``, ``email`` or ``outbox``) on a site without a
provider account, and is the last resort when providers fail.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from cloud.alerts.channels.ports import email_address, sms_address
from cloud.alerts.model import Rendered
from schemas.config.alerts import RecipientConfig
from schemas.errors import NotifierError


class OutboxChannel:
    """Writes what the named channel would send (SMS text, or email parts) to a JSONL file."""

    def __init__(self, path: Path, name: str, clock: Callable[[], datetime]) -> None:
        self.path = path
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()

    def address(self, recipient: RecipientConfig) -> str | None:
        """Phone for sms, email for email, the recipient's name for a plain outbox."""
        if self.name == "sms":
            return sms_address(recipient)
        if self.name == "email":
            return email_address(recipient)
        return recipient.name

    def _record(
        self, recipient: RecipientConfig, message: Rendered, msg_id: str
    ) -> dict[str, object]:
        rec: dict[str, object] = {
            "id": msg_id,
            "at": self._clock().isoformat(),
            "channel": self.name,
            "alert_id": message.alert_id,
            "recipient": recipient.name,
            "to": self.address(recipient),
        }
        if self.name == "sms":
            rec["body"] = message.sms
        else:
            rec.update(
                subject=message.subject, sms=message.sms, text=message.text, html=message.html,
                images=[img.filename for img in message.images],
            )
        return rec

    def send(self, recipient: RecipientConfig, message: Rendered) -> str:
        """Append one line (fsync'd); return its id."""
        msg_id = f"outbox-{uuid.uuid4().hex[:16]}"
        line = json.dumps(self._record(recipient, message, msg_id), ensure_ascii=False)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock, self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise NotifierError(f"outbox {self.path}: {exc.strerror}", retryable=True) from exc
        return msg_id


def read_outbox(path: Path) -> list[dict[str, object]]:
    """All records of an outbox file (empty list if it does not exist)."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
