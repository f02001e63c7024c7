"""End-to-end harness: a site config for either backend set, a worker (thread or
process) wired by ``cloud.bootstrap`` with the data-driven fake scorer, and a publisher."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

from schemas.config import SiteConfig, load_config

CAMERAS = ("Cam_01", "Cam_02")
WHEELS = [f"W{i:02d}" for i in range(1, 9)]


def write_config(root: Path, backend: str, *, pg_url: str | None = None,
                 file_timeout_s: float = 4.0, lease_s: float = 8.0) -> Path:
    """A site config under ``root``: ``embedded`` or ``real`` (emulators + PostgreSQL)."""
    tag = uuid.uuid4().hex[:8]
    real = backend == "real"
    wheels = "\n".join(f'{c} = [{", ".join(repr(w) for w in WHEELS)}]'.replace("'", '"')
                       for c in CAMERAS)
    cams = "\n".join(f"""
[[cameras]]
id = "{c}"
folder = "{c.lower()}"
topic = "park1-{c.lower().replace('_', '')}-{tag}"
side = "{side}"
[cameras.calibration]
mm_per_col = 0.2
mm_per_row = 0.05
lines_per_rev = 120
""" for c, side in zip(CAMERAS, ("left", "right"), strict=True))
    text = f"""
site_id = "park1"
{cams}
[rfid]
folder = "rfid"

[trains.T1]
tag = "TAG1"
[trains.T1.wheels]
{wheels}

[transport]
kind = "{'pubsub' if real else 'local'}"
project = "{os.environ.get('GOOGLE_CLOUD_PROJECT', 'wheelwatch-test') if real else 'local'}"
events_topic = "park1-events-{tag}"

[cloud]
blob_kind = "{'gcs' if real else 'local'}"
bucket = "ww-{tag}"
sql_url = "{pg_url if real and pg_url else 'sqlite:///state/cloud.sqlite'}"
warehouse_kind = "{'bigquery' if real else 'duckdb'}"
bq_dataset = "ww_{tag}"
bq_project = "test-project"
ack_deadline_s = 10
assembly_lease_s = {lease_s}

[cloud.flow]
max_messages = 4

[cloud.monitor]
interval_s = 0.3
file_timeout_s = {file_timeout_s}
heartbeat_timeout_s = 600
"""
    path = root / "site.toml"
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def build_worker(cfg: SiteConfig, owner: str, sink: Any = None, scorer: Any = None) -> Any:
    """A Worker wired by cloud.bootstrap, with the fake data scorer."""
    from cloud import bootstrap as b
    from cloud.pipeline import PipelineSettings
    from cloud.worker import Topology, Worker, WorkerParts
    from tests.cloud.support import DataScorer, RecordingSink

    _, sessions = b.build_db(cfg)
    pipe, mon, flow = b.settings(cfg)
    pipe = PipelineSettings(owner=owner, lease_s=pipe.lease_s,
                            max_raw_bytes=pipe.max_raw_bytes, work_dir=pipe.work_dir)
    parts = WorkerParts(
        sessions=sessions, transport=b.build_transport(cfg), blobs=b.build_blobs(cfg),
        warehouse=b.build_warehouse(cfg), scorer=scorer or DataScorer(),
        sink=sink if sink is not None else RecordingSink(), clock=b.utc_now,
        pipeline_settings=pipe, monitor_settings=mon, flow=flow,
        file_timeout_s=cfg.cloud.monitor.file_timeout_s,
        monitor_interval_s=cfg.cloud.monitor.interval_s,
        sides={c.id: c.side for c in cfg.cameras}, positions=b.positions(cfg))
    topo = Topology([(s.name, s.topic, s.camera) for s in b.subscriptions(cfg)],
                    cfg.cloud.dead_letter_suffix)
    return Worker(parts, topo)


class KillingBlobs:
    """Blob store wrapper that SIGKILLs its own process after storing ``file_id``'s CSV."""

    def __init__(self, inner: Any, file_id: str) -> None:
        self._inner = inner
        self._file_id = file_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def put_if_absent(self, key: str, data: bytes, content_type: str) -> bool:
        created = self._inner.put_if_absent(key, data, content_type)
        if self._file_id in key and key.endswith(".csv"):
            import signal
            os.kill(os.getpid(), signal.SIGKILL)
        return created


def main() -> None:
    """``python -m tests.cloud.e2e CONFIG OWNER [KILL_AFTER_STORING_FILE_ID]``."""
    import logging
    logging.basicConfig(level=logging.INFO)
    cfg = load_config(sys.argv[1])
    worker = build_worker(cfg, sys.argv[2])
    if len(sys.argv) > 3:
        worker.pipeline._blobs = KillingBlobs(worker.pipeline._blobs, sys.argv[3])
    import signal
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    worker.run()


if __name__ == "__main__":
    main()
