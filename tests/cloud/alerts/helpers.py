"""Test helpers for alerting: a manual clock, a scriptable fake channel, event builders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cloud.alerts.model import Rendered
from cloud.domain_events import FileMissing, RunComplete, WheelScored
from schemas.config.alerts import RecipientConfig
from schemas.errors import NotifierError

T0 = datetime(2026, 11, 28, 14, 2, tzinfo=UTC)
SITE = "parkA"


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


@dataclass
class Sent:
    recipient: str
    address: str | None
    message: Rendered


@dataclass
class FakeChannel:
    """Records messages; ``failures`` is a script of errors raised before succeeding."""

    name: str
    failures: list[NotifierError] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    calls: int = 0

    def address(self, recipient: RecipientConfig) -> str | None:
        if self.name == "sms":
            return recipient.phone
        if self.name == "email":
            return recipient.email
        return recipient.name

    def send(self, recipient: RecipientConfig, message: Rendered) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(Sent(recipient.name, self.address(recipient), message))
        return f"{self.name}-{self.calls}"


class Sleeps:
    """Records requested sleeps instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def scored(wheel: str, score: float, *, run: str = "run-17", train: str = "T2",
           camera: str = "Cam_01", side: str = "left", pos: int = 3,
           defect: str = "crack", at: datetime = T0) -> WheelScored:
    return WheelScored(
        site=SITE, run_id=run, train_id=train, camera=camera, side=side, wheel_id=wheel,
        position=pos, file_id=f"f-{run}-{wheel}", capture_time=at, scored_at=at, score=score,
        model_version="m1", defect=defect if score < 70 else "none",
        location={"line": 812.0, "column": 40.0, "along_mm": 412.0, "across_mm": 23.0},
    )


def missing(wheel: str, *, run: str = "run-17", train: str = "T2", camera: str = "Cam_02",
            at: datetime = T0) -> FileMissing:
    return FileMissing(site=SITE, run_id=run, train_id=train, camera=camera, wheel_id=wheel,
                       reason="not produced by camera", detected_at=at)


def complete(*, run: str = "run-17", train: str = "T2", at: datetime = T0,
             scored_n: int = 4, missing_n: int = 1) -> RunComplete:
    return RunComplete(site=SITE, run_id=run, train_id=train, run_count=17, pass_end=at,
                       scored=scored_n, missing=missing_n)


def a_pass(run: str = "run-17", at: datetime = T0) -> list:
    """Two bad wheels, two good ones, one missing file, then RunComplete."""
    return [
        scored("T2-L03", 28.0, run=run, pos=3, defect="crack", at=at),
        scored("T2-L04", 96.0, run=run, pos=4, at=at),
        scored("T2-R05", 61.0, run=run, camera="Cam_02", side="right", pos=5,
               defect="flat_spot", at=at),
        scored("T2-R06", 91.0, run=run, camera="Cam_02", side="right", pos=6, at=at),
        missing("T2-R07", run=run, at=at),
        complete(run=run, at=at),
    ]
