"""The demo site builder: config, folders, wheel map, backends, reset."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from cloud.demo.plan import DemoPlan
from cloud.demo.site import Backends, build_site, is_demo_dir, render_config, reset_site
from schemas.config import load_config_text
from schemas.errors import ConfigError


def test_demo_site_has_folders_and_a_valid_config(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    cfg = build_site(root, DemoPlan())
    for sub in ("Cam_01", "Cam_02", "rfid", "state", "logs"):
        assert (root / sub).is_dir(), sub
    assert is_demo_dir(root)
    assert [c.id for c in cfg.cameras] == ["Cam_01", "Cam_02"]
    assert cfg.path(cfg.cameras[1].folder) == root / "Cam_02"
    assert cfg.path(cfg.rfid.folder) == root / "rfid"
    assert cfg.base_dir == root.resolve()
    assert cfg.camera("Cam_01").calibration.lines_per_rev == 600


def test_wheel_map_is_two_trains_of_16_wheels_a_side(tmp_path: Path) -> None:
    cfg = build_site(tmp_path / "demo", DemoPlan())
    assert sorted(cfg.trains) == ["T1", "T2"]
    t2 = cfg.trains["T2"]
    assert t2.wheels["Cam_01"][0] == "T2-L01" and t2.wheels["Cam_02"][-1] == "T2-R16"
    assert all(len(ids) == 16 for t in cfg.trains.values() for ids in t.wheels.values())
    assert len({t.tag for t in cfg.trains.values()}) == 2
    assert cfg.train_by_tag(cfg.trains["T1"].tag) == ("T1", cfg.trains["T1"])


def test_defects_cover_the_catalogue_and_name_mapped_wheels() -> None:
    plan = DemoPlan()
    kinds = {k for _w, k in plan.defects}
    assert kinds == {"chunking", "crack", "flat_spot", "blister"}
    wheels = {w for cams in plan.wheel_map().values() for ids in cams.values() for w in ids}
    assert set(plan.bad_wheels()) <= wheels
    assert plan.drop is not None and plan.drop[1] in wheels


def test_expected_files_counts_the_dropped_one() -> None:
    plan = DemoPlan()
    assert plan.files_per_pass() == 32
    assert plan.expected_files() == 4 * 32 - 1
    assert DemoPlan(drop=None, passes=("T1",)).expected_files() == 32
    assert plan.dropped_in(3) == ["T1-R10"] and plan.dropped_in(1) == []


def test_google_cloud_backends_render_a_valid_config(tmp_path: Path) -> None:
    b = Backends(name="gcp", transport="pubsub", project="p1", blob="gcs",
                 sql_url="postgresql+psycopg://postgres@127.0.0.1:5432/ww", warehouse="bigquery",
                 sms="twilio", email="sendgrid", twilio_url="http://127.0.0.1:4010",
                 sendgrid_url="http://127.0.0.1:4011")
    text = render_config(DemoPlan(), b)
    cfg = load_config_text(text, base_dir=tmp_path, environ={})
    assert cfg.transport.kind == "pubsub" and cfg.transport.project == "p1"
    assert cfg.cloud.blob_kind == "gcs" and cfg.cloud.warehouse_kind == "bigquery"
    assert cfg.cloud.sql_url.startswith("postgresql")
    assert cfg.alerts.sms_backend == "twilio" and cfg.alerts.twilio.base_url == b.twilio_url
    assert cfg.alerts.sendgrid.base_url == b.sendgrid_url
    # the embedded config names no provider URL at all
    assert "base_url" not in tomllib.loads(render_config(DemoPlan(), Backends()))["alerts"][
        "twilio"]


def test_env_override_switches_a_backend(tmp_path: Path) -> None:
    text = render_config(DemoPlan(), Backends())
    cfg = load_config_text(text, base_dir=tmp_path,
                           environ={"WHEELWATCH__CLOUD__WAREHOUSE_KIND": "bigquery"})
    assert cfg.cloud.warehouse_kind == "bigquery"


def test_reset_removes_an_earlier_demo_but_refuses_other_folders(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    build_site(root, DemoPlan())
    (root / "Cam_01" / "old.dat").write_bytes(b"x")
    reset_site(root)
    assert not root.exists()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "keep.txt").write_text("precious")
    with pytest.raises(ConfigError, match="not a demo site"):
        reset_site(other)
    assert (other / "keep.txt").exists()


def test_demo_site_has_a_dashboard_sign_in_outside_the_repo(tmp_path: Path) -> None:
    from cloud.dashboard.bootstrap import build_deps
    from cloud.demo.runner import dashboard_command
    from cloud.demo.site import SECRET_FILE, read_dashboard_login

    root = tmp_path / "demo"
    cfg = build_site(root, DemoPlan())
    login = read_dashboard_login(root)
    assert login is not None and login["user"] == "demo" and len(login["password"]) >= 8
    secret = (root / SECRET_FILE).read_text()
    assert (root / SECRET_FILE).stat().st_mode & 0o077 == 0
    from cloud.bootstrap import build_warehouse

    build_warehouse(cfg).ensure_schema()  # what `wheel-cloud provision` does first
    deps = build_deps(cfg, environ={"WHEELWATCH_DASHBOARD_SECRET": secret})
    assert deps.users.authenticate("demo", login["password"]) is not None
    assert deps.users.authenticate("demo", "wrong-password") is None
    cmd = dashboard_command(root / "site.toml")
    assert f"dashboard --config {root / 'site.toml'}" in cmd
    assert login["password"] in cmd and str(root / SECRET_FILE) in cmd
