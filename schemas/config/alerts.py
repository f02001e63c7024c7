"""Alerts section (owned by the alerts feature): rules, severity, recipients, channels.

Secrets are never stored here: the Twilio and SendGrid sections name the environment
variables that hold them. ``base_url`` fields point the official SDKs at the contract
mocks in tests; leave them unset in production. Example::

    [alerts]
    threshold = 70
    repeat_interval_s = 3600     # the same condition is not re-sent within this
    escalate_after_s = 1800      # not acknowledged by then -> next level
    sms_backend = "twilio"       # default "outbox" (JSON lines file)
    email_backend = "sendgrid"
    [alerts.severity]
    stop_below = 30
    inspect_below = 50
    defect_min = { crack = "inspect", chunking = "inspect" }
    [alerts.twilio]
    from_number = "+15017122661"  # SID/token from TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN
    [[alerts.recipients]]
    name = "shift-lead"
    phone = "+4917012345678"
    email = "lead@example.com"
    channels = ["sms", "email"]
    level = 1
    [[alerts.recipients]]
    name = "chief-engineer"
    phone = "+4917087654321"
    channels = ["sms"]
    level = 2
    min_severity = "inspect"
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from schemas.config.base import Section

SeverityName = Literal["watch", "inspect", "stop"]
ChannelName = Literal["sms", "email", "outbox"]

_E164 = r"^\+[1-9][0-9]{6,14}$"
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _outbox_only() -> list[ChannelName]:
    return ["outbox"]


def _defect_floors() -> dict[str, SeverityName]:
    return {"crack": "inspect", "chunking": "inspect"}


def _fallbacks() -> dict[ChannelName, ChannelName]:
    return {"sms": "email", "email": "sms"}


class RecipientConfig(Section):
    """One person (or rota phone) of the crew, their channels and escalation level."""

    name: str = Field(min_length=1, max_length=64)
    phone: str | None = Field(default=None, pattern=_E164, description="E.164, e.g. +4917...")
    email: str | None = Field(default=None, pattern=_EMAIL)
    channels: list[ChannelName] = Field(default_factory=_outbox_only, min_length=1)
    level: int = Field(default=1, ge=1, le=9, description="1 = first line; escalation goes up")
    min_severity: SeverityName = "watch"

    @model_validator(mode="after")
    def _check_addresses(self) -> RecipientConfig:
        if "sms" in self.channels and not self.phone:
            raise ValueError(f"recipient {self.name!r} uses sms but has no phone")
        if "email" in self.channels and not self.email:
            raise ValueError(f"recipient {self.name!r} uses email but has no email")
        return self


class SeverityConfig(Section):
    """Severity from score bands and defect class (the worst of both wins)."""

    stop_below: float = Field(default=30.0, ge=0, le=100)
    inspect_below: float = Field(default=50.0, ge=0, le=100)
    defect_min: dict[str, SeverityName] = Field(
        default_factory=_defect_floors,
        description="defect class -> lowest severity a bad wheel with it gets",
    )
    missing_file: SeverityName = "inspect"
    source_silent: SeverityName = "inspect"
    pipeline_error: SeverityName = "inspect"


class TwilioConfig(Section):
    """Twilio SMS settings; secrets come from the named environment variables."""

    account_sid_env: str = "TWILIO_ACCOUNT_SID"
    auth_token_env: str = "TWILIO_AUTH_TOKEN"
    from_number: str = Field(default="+15005550006", pattern=_E164)
    base_url: str | None = Field(default=None, description="e.g. a contract mock; None = Twilio")
    timeout_s: float = Field(default=10.0, gt=0)


class SendGridConfig(Section):
    """SendGrid email settings; the API key comes from the named environment variable."""

    api_key_env: str = "SENDGRID_API_KEY"
    from_email: str = Field(default="wheelwatch@example.com", pattern=_EMAIL)
    from_name: str = "WheelWatch"
    base_url: str | None = Field(default=None, description="e.g. a contract mock")


class DeliveryConfig(Section):
    """Retries with exponential backoff and the fallback channel of each channel."""

    max_attempts: int = Field(default=4, ge=1, le=10)
    backoff_s: float = Field(default=1.0, ge=0)
    backoff_factor: float = Field(default=2.0, ge=1)
    backoff_max_s: float = Field(default=30.0, ge=0)
    fallback: dict[ChannelName, ChannelName] = Field(
        default_factory=_fallbacks,
        description="channel -> channel tried when it fails after all retries",
    )


class AlertsConfig(Section):
    """Alert rules, recipients and channels. Secrets are named by env var only."""

    enabled: bool = True
    threshold: float = Field(default=70.0, ge=0, le=100)
    outbox_path: Path = Path("state/outbox.jsonl")
    repeat_interval_s: float = Field(default=3600.0, ge=0)
    grace_s: float = Field(default=600.0, ge=0, description="flush a pass without RunComplete")
    tick_s: float = Field(
        default=10.0, ge=0, description="background grace/escalation check period; 0 = off"
    )
    escalate_after_s: float = Field(default=1800.0, gt=0)
    severity: SeverityConfig = SeverityConfig()
    recipients: list[RecipientConfig] = Field(
        default_factory=lambda: [RecipientConfig(name="crew", channels=["outbox"])]
    )
    sms_backend: Literal["outbox", "twilio"] = "outbox"
    email_backend: Literal["outbox", "sendgrid"] = "outbox"
    twilio: TwilioConfig = TwilioConfig()
    sendgrid: SendGridConfig = SendGridConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    dashboard_url: str | None = Field(
        default=None, description="base of links in texts; None = dashboard.base_url"
    )
    max_images: int = Field(default=8, ge=0, description="heatmaps attached per email")

    @model_validator(mode="after")
    def _check_bands(self) -> AlertsConfig:
        sev = self.severity
        if not sev.stop_below <= sev.inspect_below <= self.threshold:
            raise ValueError(
                "need severity.stop_below <= severity.inspect_below <= threshold, got "
                f"{sev.stop_below} / {sev.inspect_below} / {self.threshold}"
            )
        names = [r.name for r in self.recipients]
        if len(set(names)) != len(names):
            raise ValueError(f"recipient names must be unique, got {names}")
        return self
