"""The Google Cloud path: the demo with every backend switched to its real-service adapter.

Pub/Sub emulator (transport), fake-gcs-server (blob store), bqemulator (warehouse),
PostgreSQL (relational store) and Prism contract mocks of Twilio and SendGrid (alerts)
replace the embedded backends; the programs are the same subprocesses as ``make demo``.
The result must equal the embedded run of the same scenario: the same files in the blob
store byte for byte, the same scores, the same missing file, the same alerts.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cloud.demo.plan import DemoPlan
from cloud.demo.runner import DemoOptions, run_demo
from cloud.demo.site import Backends
from cloud.demo.summary import DemoReport

pytestmark = pytest.mark.integration

# small enough for a few minutes, still: two trains, a defect each, one dropped file
PLAN = DemoPlan(wheels_per_side=4, passes=("T1", "T2"),
                defects=(("T1-L02", "chunking"), ("T2-R03", "crack")), drop=(2, "T2-L03"))
START = (datetime.now(UTC) - timedelta(minutes=10)).replace(second=0, microsecond=0)
PROVIDER_ENV = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "test-token",
                "SENDGRID_API_KEY": "SG.test-key"}


def _run(root: Path, backends: Backends) -> DemoReport:
    report = run_demo(DemoOptions(root=root, plan=PLAN, backends=backends, start=START,
                                  timeout_s=420, say=print))
    assert report.problems == [], f"{backends.name}: {report.problems}"
    return report


def _scores(rep: DemoReport) -> dict[str, tuple[Any, ...]]:
    return {r.file_id: (r.camera, r.wheel_id, r.train_id, r.run_id, r.position,
                        round(r.score, 6), r.defect, r.model_version) for r in rep.scores}


def _alerts(rep: DemoReport) -> list[tuple[Any, ...]]:
    """Alerts without what differs by nature between two runs: the code and the clock."""
    return sorted((a.kind, a.severity, a.dispatch, tuple(a.delivered),
                   re.sub(r"\b\d\d:\d\dZ\b", "<hh:mm>Z", a.sms.replace(a.alert_id, "<id>")))
                  for a in rep.alerts)


def _digest(name: str, data: bytes) -> str:
    """Content hash; a metadata JSON without its conversion time (when the edge ran)."""
    if name.endswith(".meta.json"):
        meta = json.loads(data)
        assert meta.pop("converted_at")
        data = json.dumps(meta, sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()


def _local_objects(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): _digest(p.name, p.read_bytes())
            for p in root.rglob("*") if p.is_file() and not p.name.startswith(".tmp-")}


def _gcs_objects(bucket: str, project: str) -> dict[str, str]:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project=project, credentials=AnonymousCredentials())
    return {b.name: _digest(b.name, b.download_as_bytes()) for b in client.list_blobs(bucket)}


def _scans(root: Path) -> dict[str, str]:
    """What the edge kept of the cameras' files (archive), by relative path and hash."""
    return _local_objects(root / "archive") if (root / "archive").exists() else {}


def test_google_cloud_backends_give_the_embedded_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pubsub_emulator: Any, gcs_emulator: str,
    bq_emulator: str, pg_url: str, prism_twilio: Any, prism_sendgrid: Any,
) -> None:
    embedded = _run(tmp_path / "embedded", Backends())

    tag = uuid.uuid4().hex[:8]
    for name, value in {"PUBSUB_EMULATOR_HOST": pubsub_emulator.host,
                        "STORAGE_EMULATOR_HOST": gcs_emulator,
                        "BIGQUERY_EMULATOR_HOST": bq_emulator, **PROVIDER_ENV}.items():
        monkeypatch.setenv(name, value)
    gcp = Backends(name="Google Cloud (emulated)", transport="pubsub", project=f"e2e-{tag}",
                   blob="gcs", bucket=f"ww-e2e-{tag}", sql_url=pg_url, warehouse="bigquery",
                   dataset=f"ww_e2e_{tag}", bq_project="test-project", sms="twilio",
                   email="sendgrid", twilio_url=prism_twilio.url,
                   sendgrid_url=prism_sendgrid.url)
    marks = len(prism_twilio.log_text()), len(prism_sendgrid.log_text())
    cloud = _run(tmp_path / "gcp", gcp)

    # the scenario went through completely (not just "equally broken")
    assert len(embedded.runs) == 2 and all(r["complete"] for r in embedded.runs)
    assert len(embedded.scores) == PLAN.expected_files()
    assert [(m["camera"], m["wheel_id"]) for m in embedded.missing] == [("Cam_01", "T2-L03")]
    assert embedded.alerts and all(a.dispatch == "sent" for a in embedded.alerts)
    # file for file: the scans the edge archived and the objects in the blob store
    assert _scans(tmp_path / "gcp") == _scans(tmp_path / "embedded")
    local = _local_objects(tmp_path / "embedded" / "state" / "blobs")
    for ext in (".csv", ".meta.json"):  # per scored wheel file its CSV and metadata
        ids = {k.rsplit("__", 1)[1].removesuffix(ext) for k in local if k.endswith(ext)}
        assert ids == {r.file_id for r in embedded.scores}, ext
    assert _gcs_objects(gcp.bucket, gcp.project) == local
    # score for score, the same missing file, the same passes, the same alerts
    assert _scores(cloud) == _scores(embedded)
    assert cloud.missing == embedded.missing
    assert [(r["run_id"], r["train_id"], r["complete"]) for r in cloud.runs] == [
        (r["run_id"], r["train_id"], r["complete"]) for r in embedded.runs]
    assert _alerts(cloud) == _alerts(embedded)
    # and the providers really got the messages, as their published contracts require
    for mock, mark, channel in ((prism_twilio, marks[0], "sms:"), (prism_sendgrid, marks[1],
                                                                      "email:")):
        log = mock.log_text()[mark:]
        sent = sum(d.startswith(channel) for a in cloud.alerts for d in a.delivered)
        assert sent > 0
        assert log.count("The request passed the validation rules") >= sent
        assert log.count("Request did not pass the validation rules") == 0
