"""Cloud worker section (owned by the cloud subscriber; extend here)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from schemas.config.base import Section


class FlowControlConfig(Section):
    """Bounded in-flight work per subscription, whatever the backlog."""

    max_messages: int = Field(default=8, ge=1, le=1000, description="leased, unacked messages")
    max_bytes: int = Field(default=64_000_000, ge=1_000_000, description="leased bytes")


class MonitorConfig(Section):
    """Missing-file monitor timings (seconds)."""

    interval_s: float = Field(default=30.0, gt=0, description="how often the monitor sweeps")
    file_timeout_s: float = Field(
        default=600.0, gt=0, description="after a manifest, how long a wheel's file may take"
    )
    heartbeat_timeout_s: float = Field(
        default=180.0, gt=0, description="an edge silent this long is reported"
    )
    camera_silence_s: float = Field(
        default=900.0, gt=0, description="a camera with no file this long while another scans"
    )


class CloudConfig(Section):
    """Cloud worker settings: transport subscriptions, stores, warehouse, model, monitor."""

    blob_kind: Literal["local", "gcs"] = "local"
    blob_dir: Path = Path("state/blobs")
    bucket: str = "wheelwatch-scans"
    sql_url: str = "sqlite:///state/wheelwatch.sqlite"
    warehouse_kind: Literal["duckdb", "bigquery"] = "duckdb"
    warehouse_path: Path = Path("state/warehouse.duckdb")
    bq_dataset: str = "wheelwatch"
    bq_project: str | None = Field(default=None, description="None = transport.project")
    bq_location: str = "EU"
    model_dir: Path | None = Field(default=None, description="None = the shipped default model")
    work_dir: Path = Path("state/cloud_work")
    worker_id: str | None = Field(default=None, description="None = host:pid")
    flow: FlowControlConfig = FlowControlConfig()
    monitor: MonitorConfig = MonitorConfig()
    ack_deadline_s: int = Field(default=60, ge=10, le=600)
    max_delivery_attempts: int = Field(default=5, ge=5, le=100)
    dead_letter_suffix: str = "-dead-letter"
    assembly_lease_s: float = Field(
        default=120.0, gt=0, description="a worker owns a complete file this long"
    )
    max_raw_bytes: int = Field(
        default=512_000_000, gt=0, description="refuse bundles that inflate beyond this"
    )
