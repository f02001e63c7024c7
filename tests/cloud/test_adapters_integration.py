"""Integration tests of the real adapters against the emulators (and the embedded twins)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cloud.ports import Delivery, FlowControl
from tests.cloud.support import wait_for

pytestmark = pytest.mark.integration


def gcs_store(bucket: str) -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    from cloud.blob.gcs import GcsBlobStore
    client = storage.Client(project="test", credentials=AnonymousCredentials())
    return GcsBlobStore(client, bucket)


def test_gcs_create_only(gcs_env: str) -> None:
    store = gcs_store("ww-create-only")
    assert store.ensure_container() is True
    assert store.ensure_container() is False
    assert store.put_if_absent("site/Cam_01/date=2026-11-27/a.csv", b"one", "text/csv")
    assert not store.put_if_absent("site/Cam_01/date=2026-11-27/a.csv", b"two", "text/csv")
    assert store.get("site/Cam_01/date=2026-11-27/a.csv") == b"one"
    assert store.uri("k") == "gs://ww-create-only/k"


def bq_warehouse(endpoint: str, dataset: str) -> Any:
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    from cloud.warehouse.bigquery import BigQueryWarehouse
    client = bigquery.Client(project="test-project", credentials=AnonymousCredentials(),
                             client_options=ClientOptions(api_endpoint=endpoint))
    return BigQueryWarehouse(client, dataset, timeout_s=20)


def score_row(file_id: str, score: float) -> dict[str, Any]:
    t = datetime(2026, 11, 27, 14, tzinfo=UTC)
    return {"file_id": file_id, "site_id": "s", "camera": "Cam_01", "side": "left",
            "train_id": "T1", "run_id": "r1", "run_count": 1, "wheel_id": "W1", "position": 1,
            "capture_time": t, "received_at": t, "scored_at": t, "score": score,
            "model_version": "m1", "defect": "none", "height_mean": 1.5}


@pytest.mark.parametrize("kind", ["duckdb", "bigquery"])
def test_warehouse_schema_idempotent_and_rows_once(kind: str, request: pytest.FixtureRequest,
                                                   tmp_path: Path) -> None:
    if kind == "bigquery":
        wh = bq_warehouse(request.getfixturevalue("bq_emulator"), f"ds_{int(time.time()*1e3)}")
    else:
        from cloud.warehouse.duckdb import DuckDbWarehouse
        wh = DuckDbWarehouse(tmp_path / "w.duckdb")
    made = wh.ensure_schema()
    assert {"wheel_scores", "files", "alerts", "v_wheel_scores", "v_wheel_trend"} <= set(made)
    assert wh.ensure_schema() == []
    wh.insert_rows("wheel_scores", [score_row("f1", 80.0)], ["f1:m1"])
    wh.insert_rows("wheel_scores", [score_row("f1", 80.0)], ["f1:m1"])  # a retry
    wh.insert_rows("wheel_scores", [score_row("f2", 20.0)], ["f2:m1"])
    rows = wh.query("SELECT file_id, score FROM {ds}.v_wheel_scores ORDER BY file_id")
    assert [(r["file_id"], r["score"]) for r in rows] == [("f1", 80.0), ("f2", 20.0)]
    trend = wh.query("SELECT wheel_id, scans, min_score FROM {ds}.v_wheel_trend")
    assert [(r["wheel_id"], r["scans"], r["min_score"]) for r in trend] == [("W1", 2, 20.0)]


def local_transport(tmp_path: Path) -> Any:
    from cloud.transport.local import LocalTransport
    from schemas.localqueue import LocalQueue
    return LocalTransport(LocalQueue(tmp_path / "q.sqlite"))


@pytest.mark.parametrize("kind", ["local", "pubsub"])
def test_streaming_pull_is_bounded_and_takes_big_messages(
        kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if kind == "pubsub":
        emu = request.getfixturevalue("pubsub_env")
        from cloud.transport.pubsub import PubSubTransport
        t: Any = PubSubTransport(emu.project)
    else:
        t = local_transport(tmp_path)
    topic, sub = f"flow-{kind}-{int(time.time()*1e3)}", f"flow-sub-{kind}"
    assert t.ensure_topic(topic) is True and t.ensure_topic(topic) is False
    assert t.ensure_topic(topic + "-dl")
    assert t.ensure_subscription(sub, topic, ack_deadline_s=30, max_delivery_attempts=5,
                                 dead_letter_topic=topic + "-dl") is True
    assert t.ensure_subscription(sub, topic, ack_deadline_s=30, max_delivery_attempts=5,
                                 dead_letter_topic=topic + "-dl") is False
    big = b"x" * 5_000_000  # > the 4 MiB default gRPC receive limit
    for i in range(12):
        t.publish(topic, big if i == 0 else f"m{i}".encode(), {"i": str(i)})
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}
    got: list[str] = []

    def handler(d: Delivery) -> None:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.1)
        with lock:
            state["now"] -= 1
            got.append(d.attributes["i"])
        d.ack()

    stream = t.stream(sub, handler, FlowControl(max_messages=2, max_bytes=50_000_000))
    try:
        assert wait_for(lambda: len(set(got)) == 12, timeout=60), got
    finally:
        stream.stop()
        t.close()
    assert state["peak"] <= 2
    assert "0" in got
