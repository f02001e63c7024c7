"""Fixtures for alerting tests: config, a migrated SQLite store, fake channels, service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cloud.alerts.bootstrap import build_service
from cloud.alerts.service import AlertService
from cloud.alerts.store import AlertStore
from schemas.config.alerts import AlertsConfig
from tests.cloud.alerts.helpers import FakeChannel, ManualClock, Sleeps

RECIPIENTS: list[dict[str, Any]] = [
    {"name": "ann", "phone": "+15551230001", "email": "ann@example.com",
     "channels": ["sms", "email"], "level": 1},
    {"name": "bob", "phone": "+15551230002", "email": "bob@example.com",
     "channels": ["sms", "email"], "level": 1},
    {"name": "chief", "phone": "+15551230009", "email": "chief@example.com",
     "channels": ["sms", "email"], "level": 2},
]


def make_cfg(**over: Any) -> AlertsConfig:
    """Alerts config with three recipients (two first-line, one escalation)."""
    data: dict[str, Any] = {
        "recipients": RECIPIENTS, "repeat_interval_s": 3600, "escalate_after_s": 1800,
        "grace_s": 600, "dashboard_url": "https://ww.example.com",
    }
    data.update(over)
    return AlertsConfig.model_validate(data)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def store(tmp_path: Path) -> AlertStore:
    st = AlertStore.from_url(f"sqlite:///{tmp_path / 'alerts.sqlite'}")
    st.create_schema()
    return st


@pytest.fixture
def channels() -> dict[str, FakeChannel]:
    return {n: FakeChannel(n) for n in ("sms", "email", "outbox")}


@pytest.fixture
def service(store: AlertStore, clock: ManualClock, sleeps: Sleeps,
            channels: dict[str, FakeChannel], tmp_path: Path) -> AlertService:
    return build_service(make_cfg(), store, outbox_path=tmp_path / "outbox.jsonl",
                         ride="Thunder", clock=clock, sleep=sleeps,
                         channels=channels)  # type: ignore[arg-type]
