"""The Avro descriptions in schemas/pubsub/ match what the edge really sends."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import fastavro
import pytest

from schemas.messages import (
    CameraPass,
    ChunkAttributes,
    Heartbeat,
    QuarantineEvent,
    RunManifest,
    encode_event,
)

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "pubsub"
NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


def _schema(name: str) -> object:
    return fastavro.parse_schema(json.loads((SCHEMAS / name).read_text()))


@pytest.mark.parametrize(("name", "event"), [
    ("run_manifest.avsc", RunManifest(
        site="s", run_id="r1", train_id="T1", tag="E2", run_count=3, pass_start=NOW,
        pass_end=NOW, cameras={"Cam_01": CameraPass(expected=["a", "b"], files={"a": "f"},
                                                    missing=["b"])}, problems=["x"])),
    ("run_manifest.avsc", RunManifest(site="s", run_id="r2", pass_start=NOW, pass_end=NOW,
                                      cameras={})),
    ("heartbeat.avsc", Heartbeat(site="s", edge_id="e", sent_at=NOW, backlog={"Cam_01": 2},
                                 last_scan={"Cam_01": NOW, "Cam_02": None}, free_disk_mb=9)),
    ("quarantine.avsc", QuarantineEvent(site="s", camera="Cam_01", files=["a.dat"],
                                        reason="truncated", at=NOW)),
])
def test_events_match_avro(name: str, event: object) -> None:
    record = json.loads(encode_event(event))  # type: ignore[arg-type]
    assert fastavro.validation.validate(record, _schema(name), raise_errors=True)


def test_chunk_attributes_match_avro() -> None:
    attrs = ChunkAttributes(site="s", camera="Cam_01", file_id="0" * 32, wheel_id="w",
                            train_id="T1", run_id="r", capture_time=NOW, chunk_index=0,
                            chunk_count=1, sha256="a" * 64, payload_bytes=10, raw_bytes=20)
    record = attrs.to_attributes()
    schema = json.loads((SCHEMAS / "chunk_attributes.avsc").read_text())
    assert sorted(record) == sorted(f["name"] for f in schema["fields"])
    assert fastavro.validation.validate(record, fastavro.parse_schema(schema), raise_errors=True)
