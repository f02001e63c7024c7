"""Root of the site config: site, cameras, wheel map, transport and per-part sections."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from schemas.calibration import Calibration
from schemas.config.alerts import AlertsConfig
from schemas.config.base import Section
from schemas.config.cloud import CloudConfig
from schemas.config.dashboard import DashboardConfig
from schemas.config.edge import EdgeConfig

CameraModel = Literal["ranger_e55", "ranger3", "calibrated"]


class CameraConfig(Section):
    """One SICK camera with its fixed output folder and Pub/Sub topic."""

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="e.g. Cam_01")
    folder: Path = Field(description="fixed folder Ranger Studio writes .dat/.xml into")
    topic: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$")
    side: Literal["left", "right"] = "left"
    model: CameraModel = "ranger_e55"
    calibration: Calibration


class TrainConfig(Section):
    """A train: its RFID tag and, per camera id, the wheel ids in passing order."""

    tag: str = Field(min_length=1, description="RFID tag read at the station")
    wheels: dict[str, list[str]] = Field(description="camera id -> wheel ids in order")


class RfidConfig(Section):
    """Where the RFID reader appends `timestamp,reader_id,tag` lines (a file per day)."""

    folder: Path
    pass_gap_s: float = Field(default=60.0, gt=0, description="gap that separates passes")
    tag_window_s: float = Field(default=120.0, gt=0, description="max tag-to-scan delay")


class TransportConfig(Section):
    """Which transport carries files from edge to cloud."""

    kind: Literal["local", "pubsub"] = "local"
    local_path: Path = Path("state/queue.sqlite")
    project: str = "wheelwatch-local"
    events_topic: str = "wheelwatch-events"
    subscription_suffix: str = "-sub"
    max_message_bytes: int = Field(default=9_000_000, gt=1024, le=10_000_000)


class SiteConfig(Section):
    """The whole site: validated once at start-up by every program."""

    site_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    ride: str = "ride"
    base_dir: Path = Field(default=Path("."), description="relative paths resolve here")
    cameras: list[CameraConfig] = Field(min_length=1)
    rfid: RfidConfig
    trains: dict[str, TrainConfig] = Field(min_length=1)
    transport: TransportConfig = TransportConfig()
    edge: EdgeConfig = EdgeConfig()
    cloud: CloudConfig = CloudConfig()
    alerts: AlertsConfig = AlertsConfig()
    dashboard: DashboardConfig = DashboardConfig()

    @model_validator(mode="after")
    def _check_wheel_map(self) -> SiteConfig:
        camera_ids = [c.id for c in self.cameras]
        if len(set(camera_ids)) != len(camera_ids):
            raise ValueError(f"camera ids must be unique, got {camera_ids}")
        tags = [t.tag for t in self.trains.values()]
        if len(set(tags)) != len(tags):
            raise ValueError("each train needs its own RFID tag")
        for train_id, train in self.trains.items():
            unknown = set(train.wheels) - set(camera_ids)
            if unknown:
                raise ValueError(
                    f"trains.{train_id}.wheels names unknown cameras {sorted(unknown)}"
                )
        return self

    def camera(self, camera_id: str) -> CameraConfig:
        """The camera with this id (KeyError if the site has none)."""
        for cam in self.cameras:
            if cam.id == camera_id:
                return cam
        raise KeyError(camera_id)

    def path(self, p: Path) -> Path:
        """Resolve a config path against ``base_dir``."""
        return p if p.is_absolute() else (self.base_dir / p)

    def train_by_tag(self, tag: str) -> tuple[str, TrainConfig] | None:
        """The (train id, train) whose RFID tag is ``tag``, or None."""
        for train_id, train in self.trains.items():
            if train.tag == tag:
                return train_id, train
        return None
