"""Build the cloud subscriber's clients and services from the site config.

Nothing here runs at import time. Emulators: ``PUBSUB_EMULATOR_HOST`` (Pub/Sub),
``STORAGE_EMULATOR_HOST`` (Cloud Storage), ``BIGQUERY_EMULATOR_HOST``
(``http://host:port`` of a BigQuery REST emulator); each makes its client anonymous.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cloud.domain_events import AlertSink, NullAlertSink, WheelScored
from cloud.monitor import MonitorSettings
from cloud.pipeline import PipelineSettings
from cloud.ports import BlobStore, FlowControl, Scorer, Transport, Warehouse
from cloud.sql.engine import make_engine
from cloud.sql.migrate import upgrade
from cloud.tracker import Tracker
from schemas.config import SiteConfig
from schemas.errors import ConfigError

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
REPO_ROOT = Path(__file__).resolve().parents[1]


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Subscription:
    """A subscription the worker pulls, its topic and dead-letter topic."""

    name: str
    topic: str
    dead_letter_topic: str
    kind: str  # "camera" | "events"
    camera: str | None = None


def subscriptions(cfg: SiteConfig) -> list[Subscription]:
    """One subscription per camera topic plus the events subscription."""
    t, dl = cfg.transport, cfg.cloud.dead_letter_suffix
    subs = [Subscription(c.topic + t.subscription_suffix, c.topic, c.topic + dl, "camera", c.id)
            for c in cfg.cameras]
    subs.append(Subscription(t.events_topic + t.subscription_suffix, t.events_topic,
                             t.events_topic + dl, "events"))
    return subs


def build_transport(cfg: SiteConfig) -> Transport:
    """Local queue (default) or Pub/Sub."""
    if cfg.transport.kind == "pubsub":
        from cloud.transport.pubsub import PubSubTransport
        return PubSubTransport(cfg.transport.project)
    from cloud.transport.local import LocalTransport
    from schemas.localqueue import LocalQueue
    return LocalTransport(LocalQueue(cfg.path(cfg.transport.local_path)))


def build_blobs(cfg: SiteConfig) -> BlobStore:
    """Local folder (default) or Cloud Storage."""
    c = cfg.cloud
    if c.blob_kind == "gcs":
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage  # type: ignore[attr-defined]

        from cloud.blob.gcs import GcsBlobStore
        anon = bool(os.environ.get("STORAGE_EMULATOR_HOST"))
        client = storage.Client(project=c.bq_project or cfg.transport.project,
                                credentials=AnonymousCredentials() if anon else None)
        return GcsBlobStore(client, c.bucket, c.bq_location)
    from cloud.blob.local import LocalBlobStore
    return LocalBlobStore(cfg.path(c.blob_dir))


def build_warehouse(cfg: SiteConfig) -> Warehouse:
    """DuckDB file (default) or BigQuery."""
    c = cfg.cloud
    if c.warehouse_kind == "bigquery":
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        from cloud.warehouse.bigquery import BigQueryWarehouse
        endpoint = os.environ.get("BIGQUERY_EMULATOR_HOST")
        project = c.bq_project or cfg.transport.project
        if endpoint:
            client = bigquery.Client(project=project, credentials=AnonymousCredentials(),
                                     client_options=ClientOptions(api_endpoint=endpoint))
            return BigQueryWarehouse(client, c.bq_dataset, c.bq_location, timeout_s=20)
        return BigQueryWarehouse(bigquery.Client(project=project), c.bq_dataset,
                                 c.bq_location)
    from cloud.warehouse.duckdb import DuckDbWarehouse
    return DuckDbWarehouse(cfg.path(c.warehouse_path), c.bq_dataset)


def build_scorer(cfg: SiteConfig) -> Scorer:
    """The exported model of ``cloud.model_dir`` (default: the shipped models/default)."""
    from cloud.scoring import ModelScorer
    model_dir = cfg.path(cfg.cloud.model_dir) if cfg.cloud.model_dir else (
        REPO_ROOT / "models" / "default")
    if not model_dir.exists():
        raise ConfigError("cloud.model_dir", f"model directory {model_dir} does not exist")
    return ModelScorer.load(model_dir)


def heatmap_lookup(blobs: BlobStore) -> Callable[[WheelScored], str | None]:
    """URI of the stored heatmap of a scored wheel (stored for bad wheels only)."""
    from cloud.pipeline_rows import heatmap_key

    def lookup(ev: WheelScored) -> str | None:
        return blobs.uri(heatmap_key(ev)) if ev.defect != "none" else None
    return lookup


def blob_fetcher(blobs: BlobStore) -> Callable[[str], bytes]:
    """Read a ``file://`` or ``gs://bucket/key`` URI through the blob store."""
    from urllib.parse import unquote, urlparse

    def fetch(uri: str) -> bytes:
        u = urlparse(uri)
        if u.scheme == "gs":
            return blobs.get(u.path.lstrip("/"))
        return Path(unquote(u.path) if u.scheme == "file" else uri).read_bytes()
    return fetch


def build_sink(cfg: SiteConfig, clock: Clock, blobs: BlobStore | None = None) -> AlertSink:
    """The alerting service (``cloud.alerts``), or an in-memory sink if it is absent."""
    try:
        from cloud.alerts.bootstrap import build_from_site
    except ImportError as exc:
        log.warning("alerting not available (%s): events are kept in the outbox only", exc)
        return NullAlertSink()
    if blobs is None:
        sink: AlertSink = build_from_site(cfg, clock=clock)
    else:
        sink = build_from_site(cfg, clock=clock, heatmap=heatmap_lookup(blobs),
                               fetch_blob=blob_fetcher(blobs))
    return sink


def build_db(cfg: SiteConfig) -> tuple[Engine, sessionmaker[Session]]:
    """Engine (migrated to head) and session factory of ``cloud.sql_url``."""
    engine = make_engine(cfg.cloud.sql_url, cfg.base_dir)
    upgrade(engine)
    return engine, sessionmaker(engine, expire_on_commit=False)


def worker_id(cfg: SiteConfig) -> str:
    """This worker's lease owner name."""
    return cfg.cloud.worker_id or f"{socket.gethostname()}:{os.getpid()}"


def settings(cfg: SiteConfig) -> tuple[PipelineSettings, MonitorSettings, FlowControl]:
    """Pipeline, monitor and flow-control settings from the config."""
    c = cfg.cloud
    return (PipelineSettings(owner=worker_id(cfg), lease_s=c.assembly_lease_s,
                             max_raw_bytes=c.max_raw_bytes, work_dir=cfg.path(c.work_dir)),
            MonitorSettings(heartbeat_timeout_s=c.monitor.heartbeat_timeout_s,
                            camera_silence_s=c.monitor.camera_silence_s,
                            resume_grace_s=min(30.0, c.assembly_lease_s)),
            FlowControl(max_messages=c.flow.max_messages, max_bytes=c.flow.max_bytes,
                        lease_extension_s=c.ack_deadline_s))


def positions(cfg: SiteConfig) -> Callable[[str, str, str], int | None]:
    """Wheel position lookup from the config's wheel map."""
    def lookup(train: str, camera: str, wheel: str) -> int | None:
        t = cfg.trains.get(train)
        if t is None or wheel not in t.wheels.get(camera, []):
            return None
        return t.wheels[camera].index(wheel) + 1
    return lookup


def tracker(sessions: sessionmaker[Session], clock: Clock) -> Tracker:
    """The sub tracker."""
    return Tracker(sessions, clock)
