"""``wheel-cloud provision``: create everything the worker needs, idempotently.

Topics (per camera, events, and a dead-letter topic for each), subscriptions (ack
deadline, dead-letter policy) and a subscription on each dead-letter topic so dead
letters are kept and counted, the bucket (or folder), the database schema (alembic
``upgrade head``), and the warehouse dataset, tables and views.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cloud.bootstrap import subscriptions
from cloud.ports import BlobStore, Transport, Warehouse
from schemas.config import SiteConfig


@dataclass
class ProvisionReport:
    """What was created (the rest already existed)."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)

    def note(self, what: str, created: bool) -> None:
        """Record one resource."""
        (self.created if created else self.existing).append(what)


def dead_letter_subscription(topic: str, suffix: str) -> str:
    """Name of the subscription that keeps a dead-letter topic's messages."""
    return f"{topic}{suffix}"


def provision_transport(cfg: SiteConfig, transport: Transport, report: ProvisionReport) -> None:
    """Topics and subscriptions with dead-letter policies."""
    c = cfg.cloud
    for sub in subscriptions(cfg):
        report.note(f"topic {sub.topic}", transport.ensure_topic(sub.topic))
        report.note(f"topic {sub.dead_letter_topic}", transport.ensure_topic(sub.dead_letter_topic))
        report.note(f"subscription {sub.name}", transport.ensure_subscription(
            sub.name, sub.topic, ack_deadline_s=c.ack_deadline_s,
            max_delivery_attempts=c.max_delivery_attempts,
            dead_letter_topic=sub.dead_letter_topic))
        dls = dead_letter_subscription(sub.dead_letter_topic, cfg.transport.subscription_suffix)
        report.note(f"subscription {dls}", transport.ensure_subscription(
            dls, sub.dead_letter_topic, ack_deadline_s=c.ack_deadline_s,
            max_delivery_attempts=c.max_delivery_attempts, dead_letter_topic=None))


def provision(cfg: SiteConfig, transport: Transport, blobs: BlobStore,
              warehouse: Warehouse) -> ProvisionReport:
    """Create every resource that is missing; safe to run any number of times."""
    report = ProvisionReport()
    provision_transport(cfg, transport, report)
    report.note("blob container", blobs.ensure_container())
    made = warehouse.ensure_schema()
    for name in made:
        report.note(f"warehouse {name}", True)
    if not made:
        report.note("warehouse tables and views", False)
    return report
