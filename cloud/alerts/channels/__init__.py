"""Delivery channels: the :class:`Channel` port and its adapters (outbox, Twilio, SendGrid)."""

from cloud.alerts.channels.ports import Channel

__all__ = ["Channel"]
