"""The alerts tables on PostgreSQL (alembic 0001 + 0002): the same behaviour as SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from cloud.alerts.bootstrap import build_service
from cloud.alerts.store import AlertStore
from tests.cloud.alerts.conftest import make_cfg
from tests.cloud.alerts.helpers import FakeChannel, ManualClock, Sleeps, a_pass, scored

pytestmark = pytest.mark.integration


def test_grouping_dedupe_grace_escalation_and_ack_on_postgresql(
    pg_url: str, tmp_path: Path
) -> None:
    store = AlertStore.from_url(pg_url)
    store.create_schema()
    store.create_schema()  # idempotent
    tables = set(inspect(store.engine).get_table_names())
    assert {"alerts", "alert_items", "alert_conditions", "alert_deliveries",
            "alert_events_seen"} <= tables
    clock = ManualClock()
    channels = {n: FakeChannel(n) for n in ("sms", "email", "outbox")}
    svc = build_service(make_cfg(), store, outbox_path=tmp_path / "o.jsonl", clock=clock,
                        sleep=Sleeps(), channels=channels)  # type: ignore[arg-type]

    for ev in a_pass("run-17") + a_pass("run-17"):  # with redelivery
        svc.handle(ev)
    assert sorted(s.recipient for s in channels["sms"].sent) == ["ann", "bob"]
    first = store.alerts("pass")[0]
    assert first.created_at.tzinfo is not None

    clock.advance(minutes=5)  # a pass without RunComplete: flushed after grace
    svc.handle(scored("T2-L09", 50.0, run="run-18", pos=9, defect="blister", at=clock.now))
    clock.advance(minutes=10)
    svc.tick()
    assert [i.wheel_id for i in store.items(store.alerts("pass")[-1].id)] == ["T2-L09"]

    clock.advance(minutes=16)  # 31 min after the first alert
    svc.tick()
    assert [s.recipient for s in channels["sms"].sent].count("chief") == 1  # the first only
    svc.ack(first.id, "ann")
    assert store.alert(first.id).acked_by == "ann"  # type: ignore[union-attr]
    clock.advance(minutes=30)  # the second alert (from +15 min) escalates; the acked one not
    svc.tick()
    assert [s.recipient for s in channels["sms"].sent].count("chief") == 2
    assert store.alerts("pass")[0].level == 2 and store.alerts("pass")[1].level == 2
    assert len([d for d in store.deliveries() if d.ok]) == 12
