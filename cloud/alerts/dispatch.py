"""Render an alert for a purpose (alert, escalation, resolution, ...) and send it.

Who gets what: a first alert goes to level-1 recipients whose ``min_severity`` it meets;
an escalation to the next level; a resolution to every level the original reached; an
undeliverable report to everyone who was reachable plus the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

from sqlalchemy import select

from cloud.alerts.delivery import Deliverer, Outcome
from cloud.alerts.grouping import line_of
from cloud.alerts.model import Image, Rendered
from cloud.alerts.severity import Severity
from cloud.alerts.store import AlertStore
from cloud.alerts.tables import AlertItemRow, AlertRow
from cloud.alerts.texts import Header, render
from schemas.config.alerts import AlertsConfig, RecipientConfig
from schemas.errors import WheelWatchError

log = logging.getLogger(__name__)

BlobFetcher = Callable[[str], bytes]
PREFIX = {"alert": "", "escalation": "ESCALATED", "resolution": "RESOLVED",
          "undeliverable": "UNDELIVERED"}


def fetch_local(uri: str) -> bytes:
    """Read a ``file://`` URI or a plain path (other schemes need an injected fetcher)."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        raise ValueError(f"no fetcher for {parsed.scheme}:// URIs")
    return Path(unquote(parsed.path) if parsed.scheme else uri).read_bytes()


def recipients_for(cfg: AlertsConfig, level: int, severity: int, *, up_to: bool = False
                   ) -> list[RecipientConfig]:
    """Recipients at ``level`` (or at every level <= it) whose min severity is met."""
    return [r for r in cfg.recipients
            if (r.level <= level if up_to else r.level == level)
            and Severity.parse(r.min_severity) <= severity]


def next_level(cfg: AlertsConfig, level: int) -> int | None:
    """The next escalation level above ``level`` that has recipients, or None."""
    higher = sorted({r.level for r in cfg.recipients if r.level > level})
    return higher[0] if higher else None


class Dispatcher:
    """Builds :class:`Rendered` messages from the tables and hands them to the deliverer."""

    def __init__(self, cfg: AlertsConfig, store: AlertStore, deliverer: Deliverer, ride: str,
                 fetch_blob: BlobFetcher = fetch_local,
                 dashboard_url: str = "http://127.0.0.1:8080") -> None:
        self.cfg = cfg
        self.dashboard_url = cfg.dashboard_url or dashboard_url
        self.store = store
        self.deliverer = deliverer
        self.ride = ride
        self.fetch_blob = fetch_blob

    def _images(self, items: list[AlertItemRow]) -> dict[int, Image]:
        out: dict[int, Image] = {}
        for item in items:
            if len(out) >= self.cfg.max_images or item.kind != "wheel":
                continue
            png = item.heatmap_png
            if png is None and item.heatmap_uri:
                try:
                    png = self.fetch_blob(item.heatmap_uri)
                except (OSError, ValueError, WheelWatchError) as exc:
                    log.warning("heatmap %s of wheel %s unavailable: %s",
                                item.heatmap_uri, item.wheel_id, exc)
            if png:
                out[item.id] = Image(f"heatmap-{item.id}", f"heatmap_{item.wheel_id}.png", png)
        return out

    def render(self, alert: AlertRow, purpose: str) -> Rendered:
        """Every rendering of ``alert`` for ``purpose`` (images loaded now)."""
        with self.store.tx() as s:
            items = list(s.scalars(select(AlertItemRow).where(
                AlertItemRow.alert_id == alert.id).order_by(AlertItemRow.id)))
        images = self._images(items)
        lines = [line_of(i, i.id in images) for i in items]
        header = Header(alert_id=alert.id, severity=Severity(alert.severity), ride=self.ride,
                        train_id=alert.train_id, run_id=alert.run_id, at=alert.created_at,
                        headline=alert.title, prefix=PREFIX[purpose])
        return render(header, lines, self.dashboard_url, list(images.values()))

    def send(self, alert: AlertRow, purpose: str, recipients: list[RecipientConfig],
             level: int) -> list[Outcome]:
        """Render and deliver to each recipient; store texts of a first send."""
        message = self.render(alert, purpose)
        if purpose in ("alert", "resolution", "undeliverable"):
            with self.store.tx() as s:
                row = s.get(AlertRow, alert.id)
                assert row is not None
                row.sms_text, row.subject = message.sms, message.subject
                row.body_text, row.body_html = message.text, message.html
        if not recipients:
            log.error("alert %s (%s, level %d): no recipient configured for it",
                      alert.id, purpose, level)
        return [self.deliverer.deliver(r, message, purpose=purpose, level=level)
                for r in recipients]

    def recipients(self, alert: AlertRow, purpose: str) -> list[RecipientConfig]:
        """Who gets ``alert`` for ``purpose`` (first alert, or a resolution)."""
        if purpose == "resolution" and alert.parent_id:
            parent = self.store.alert(alert.parent_id)
            if parent is not None:
                return recipients_for(self.cfg, parent.level, parent.severity, up_to=True)
        return recipients_for(self.cfg, alert.level, alert.severity)
