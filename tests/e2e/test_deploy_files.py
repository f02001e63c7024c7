"""The deployment files agree with the code: config, image, manifests, scripts, unit."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

from cloud.bootstrap import subscriptions
from schemas.config import load_config_text

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "cloud" / "deploy"
BANNED = ("tensorflow", "keras", "tf2onnx", "tf-keras")


def _gcp_config() -> object:
    return load_config_text((DEPLOY / "site.gcp.toml").read_text(), base_dir=DEPLOY,
                            environ={})


def test_gcp_example_config_switches_every_backend() -> None:
    cfg = _gcp_config()
    from schemas.config import SiteConfig

    assert isinstance(cfg, SiteConfig)
    assert cfg.transport.kind == "pubsub"
    assert cfg.cloud.blob_kind == "gcs" and cfg.cloud.warehouse_kind == "bigquery"
    assert cfg.cloud.sql_url.startswith("postgresql+psycopg://")
    assert ":" not in cfg.cloud.sql_url.split("//", 1)[1].split("@")[0], "no password in file"
    assert cfg.alerts.sms_backend == "twilio" and cfg.alerts.email_backend == "sendgrid"


def test_cloud_image_installs_the_cloud_extra_without_tensorflow() -> None:
    docker = (DEPLOY / "Dockerfile").read_text()
    assert 'pip install ".[cloud]"' in docker
    assert not re.search(r"\[[^\]]*(train|dev)[^\]]*\]", docker), "only the cloud extra"
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    for dep in extras["cloud"] + tomllib.loads((REPO / "pyproject.toml").read_text())[
            "project"]["dependencies"]:
        assert not dep.lower().startswith(BANNED), dep
    assert "onnxruntime" in " ".join(extras["cloud"])
    assert "COPY models/default" in docker


def test_worker_autoscaling_and_iam_name_the_configs_subscriptions() -> None:
    cfg = _gcp_config()
    from schemas.config import SiteConfig

    assert isinstance(cfg, SiteConfig)
    subs = [s.name for s in subscriptions(cfg)]
    manifest = (DEPLOY / "gke" / "worker.yaml").read_text()
    script = (DEPLOY / "gcloud-setup.sh").read_text()
    for s in subs:
        if s.startswith(tuple(c.topic for c in cfg.cameras)):
            assert f"subscription_id: {s}" in manifest, s
        assert s in script, s
    for c in cfg.cameras:
        assert c.topic in script
    assert cfg.transport.events_topic in script


def test_setup_script_and_unit_are_well_formed() -> None:
    script = DEPLOY / "gcloud-setup.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    unit = (DEPLOY / "edge" / "wheelwatch-edge.service").read_text()
    assert re.search(r"^ExecStart=\S*wheel-edge run --config \S+", unit, re.M)
    assert "KillSignal=SIGTERM" in unit and "Restart=always" in unit
    for section in ("[Unit]", "[Service]", "[Install]"):
        assert section in unit
