"""Channel-independent content of one message to the crew."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Image:
    """A PNG shown inline in the email (``cid:`` reference) and attached."""

    cid: str
    filename: str
    png: bytes


@dataclass(frozen=True)
class Rendered:
    """Every rendering of one alert: SMS text, email subject/text/HTML and images."""

    alert_id: str
    sms: str
    subject: str
    text: str
    html: str
    images: tuple[Image, ...] = field(default=())
