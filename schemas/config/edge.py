"""Edge uploader section (owned by the edge uploader; extend here)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from schemas.config.base import Section


class PubsubPublisherConfig(Section):
    """Deliberate batching and flow control of the Google Cloud Pub/Sub publisher.

    Chunks are up to ~9 MB, so a batch carries at most ``batch_max_bytes`` (the API
    refuses requests over 10 MB); flow control blocks the uploader instead of growing
    memory when the link is slow.
    """

    batch_max_messages: int = Field(default=100, ge=1, le=1000)
    batch_max_bytes: int = Field(default=9_500_000, ge=1024, le=9_900_000)
    batch_max_latency_s: float = Field(default=0.05, ge=0, le=10)
    flow_max_messages: int = Field(default=200, ge=1)
    flow_max_bytes: int = Field(default=64_000_000, ge=10_000_000)
    publish_timeout_s: float = Field(default=60.0, gt=0, description="per publish attempt")
    confirm_timeout_s: float = Field(
        default=30.0, gt=0,
        description="how long the uploader waits for message ids before backing off (the "
        "client keeps retrying in-flight messages; they are not published twice)",
    )


class EdgeConfig(Section):
    """Edge uploader settings: tracker, quarantine, timing, retention."""

    edge_id: str = Field(default="edge-1", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    tracker_path: Path = Path("state/pub_tracker.sqlite")
    work_dir: Path = Path("state/edge_work")
    quarantine_dir: Path = Path("quarantine")
    heartbeat_s: float = Field(default=30.0, gt=0)
    rescan_s: float = Field(default=10.0, gt=0)
    stable_s: float = Field(default=2.0, ge=0, description="files unchanged this long")
    orphan_s: float = Field(
        default=600.0, gt=0, description="a .dat without .xml (or back) this old is quarantined"
    )
    pass_close_s: float | None = Field(
        default=None, gt=0,
        description="idle seconds after the last scan that close a pass (None = rfid.pass_gap_s)",
    )
    retention: Literal["delete", "archive", "keep"] = Field(
        default="delete",
        description="after a confirmed publish: delete the scan, move it to archive_dir, "
        "or keep it (work files are always removed)",
    )
    archive_dir: Path = Path("archive")
    keep_bundles_s: float = Field(
        default=3600.0, ge=0,
        description="after a confirmed publish, keep the file's compressed bundle this long "
        "so `wheel-edge republish` can resend it (0 = remove at once; removed early while "
        "free disk is below warn_free_mb)",
    )
    delete_after_confirm: bool | None = Field(
        default=None, description="deprecated alias: true = retention 'delete', false = 'keep'"
    )
    min_free_mb: int = Field(default=500, ge=0, description="below this: accept no new work")
    warn_free_mb: int = Field(default=2000, ge=0, description="below this: warn early")
    tracker_keep_days: float = Field(
        default=90.0, gt=0, description="cleaned files are forgotten by the tracker after this"
    )
    chunk_bytes: int = Field(default=8_000_000, ge=1024, le=9_500_000)
    bundle_arrays: bool = Field(
        default=True,
        description="add the scan's arrays to each bundle as .npy members (the binary "
        "sidecar: the cloud scores without parsing the CSV); false = CSV-only bundles "
        "(fewer bytes to send, the cloud parses the CSV)",
    )
    publish_window_files: int = Field(default=16, ge=1, le=1000,
                                      description="files in flight per camera")
    publish_window_bytes: int = Field(default=48_000_000, ge=1024,
                                      description="bytes in flight per camera")
    retry_initial_s: float = Field(default=1.0, gt=0)
    retry_max_s: float = Field(default=300.0, gt=0)
    pubsub: PubsubPublisherConfig = PubsubPublisherConfig()

    @model_validator(mode="after")
    def _consistent(self) -> EdgeConfig:
        if self.delete_after_confirm is not None:
            self.__dict__["retention"] = "delete" if self.delete_after_confirm else "keep"
        if self.warn_free_mb < self.min_free_mb:
            raise ValueError(
                f"warn_free_mb ({self.warn_free_mb}) must be >= min_free_mb ({self.min_free_mb})"
            )
        if self.retry_max_s < self.retry_initial_s:
            raise ValueError("retry_max_s must be >= retry_initial_s")
        return self
