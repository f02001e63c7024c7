"""Composition root of the edge: builds the tracker, transport, converter and uploader.

Clients (SQLite files, the Pub/Sub PublisherClient) are created here, on demand,
never at import time.
"""

from __future__ import annotations

import logging
from pathlib import Path

from edge.converting import Converted, Converter
from edge.tracker import FileRow, Tracker
from edge.transport import Transport
from edge.uploader import Uploader
from schemas.config import SiteConfig

log = logging.getLogger(__name__)


def build_pubsub_publisher(cfg: SiteConfig) -> object:
    """A ``PublisherClient`` with deliberate batching, flow control and ordering.

    Honours ``PUBSUB_EMULATOR_HOST`` (the client library switches to a plain channel).
    """
    from google.api_core.retry import Retry
    from google.cloud import pubsub_v1  # type: ignore[attr-defined]
    from google.cloud.pubsub_v1.types import (
        BatchSettings,
        LimitExceededBehavior,
        PublisherOptions,
        PublishFlowControl,
    )

    p = cfg.edge.pubsub
    return pubsub_v1.PublisherClient(
        batch_settings=BatchSettings(max_bytes=p.batch_max_bytes,
                                     max_latency=p.batch_max_latency_s,
                                     max_messages=p.batch_max_messages),
        publisher_options=PublisherOptions(
            enable_message_ordering=True,
            flow_control=PublishFlowControl(
                message_limit=p.flow_max_messages, byte_limit=p.flow_max_bytes,
                limit_exceeded_behavior=LimitExceededBehavior.BLOCK),
            retry=Retry(initial=0.2, maximum=5.0, multiplier=2.0,
                        timeout=p.publish_timeout_s),
            timeout=p.publish_timeout_s,
        ),
    )


def build_transport(cfg: SiteConfig) -> Transport:
    """The transport the config chooses (embedded local queue or Pub/Sub)."""
    if cfg.transport.kind == "pubsub":
        from edge.transport.pubsub import PubsubTransport

        client = build_pubsub_publisher(cfg)
        return PubsubTransport(client, cfg.transport.project,
                               confirm_timeout_s=cfg.edge.pubsub.confirm_timeout_s)
    from edge.transport.local import LocalTransport
    from schemas.localqueue import LocalQueue

    return LocalTransport(LocalQueue(cfg.path(cfg.transport.local_path)),
                          cfg.transport.subscription_suffix)


def build_converter(cfg: SiteConfig) -> Converter:
    """The real converter: ``edge.convert.convert_scan`` with the wheel's context."""
    from edge.convert import IN_MEMORY_MAX_ROWS, convert_scan
    from schemas.wheel_csv import WheelContext

    def convert(row: FileRow, out_dir: Path) -> Converted:
        cam = cfg.camera(row.camera)
        ctx = WheelContext(site=cfg.site_id, camera=row.camera, camera_model=cam.model,
                           wheel_id=row.wheel_id, train_id=row.train_id, run_id=row.run_id,
                           run_count=row.run_count, capture_time=row.capture_time)
        res = convert_scan(row.dat_path, out_dir, context=ctx, calibration=cam.calibration,
                           in_memory_max_rows=IN_MEMORY_MAX_ROWS)
        return Converted(res.csv_path, res.meta_path, res.file_id, res.csv_data, res.meta_data,
                         res.arrays)

    return convert


def build_uploader(cfg: SiteConfig, transport: Transport | None = None,
                   converter: Converter | None = None) -> Uploader:
    """The uploader wired to the configured (or given) adapters."""
    tracker = Tracker(cfg.path(cfg.edge.tracker_path))
    return Uploader(cfg, tracker, transport or build_transport(cfg),
                    converter or build_converter(cfg))
