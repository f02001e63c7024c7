"""wheel-edge validate-config / status / run --once."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.cli import main
from edge.simulator.site import SiteSimulator
from tests.edge.sitekit import make_site, pass_start, site_toml


def test_validate_config_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = make_site(tmp_path)
    assert main(["validate-config", "--config", str(config)]) == 0
    assert "config OK: site test-site, 2 camera(s), 2 train(s)" in capsys.readouterr().out


@pytest.mark.parametrize(("edit", "key"), [
    (('heartbeat_s = 3600.0', 'heartbeat_s = -1'), "edge.heartbeat_s"),
    (('stable_s = 0.0', 'stabel_s = 0.0'), "edge.stabel_s"),
    (('topic = "wheelwatch-cam-02"', 'topic = "wheelwatch-cam-01"'), "cameras.1.topic"),
    (('kind = "local"', 'kind = "carrier-pigeon"'), "transport.kind"),
])
def test_validate_config_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       edit: tuple[str, str], key: str) -> None:
    text = site_toml()
    assert edit[0] in text
    config = tmp_path / "site.toml"
    config.write_text(text.replace(edit[0], edit[1], 1))
    assert main(["validate-config", "--config", str(config)]) == 2
    assert f"config error at '{key}'" in capsys.readouterr().err


def test_env_override_is_validated(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    config, _ = make_site(tmp_path)
    monkeypatch.setenv("WHEELWATCH__EDGE__MIN_FREE_MB", "-5")
    assert main(["validate-config", "--config", str(config)]) == 2
    assert "edge.min_free_mb" in capsys.readouterr().err


def test_run_once_then_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, cfg = make_site(tmp_path)
    assert main(["status", "--config", str(config)]) == 1  # no tracker yet
    SiteSimulator.from_config(cfg, seed=2, width=200).run_pass("T1", pass_start(0))
    assert main(["run", "--config", str(config), "--once"]) == 0
    capsys.readouterr()
    assert main(["status", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "Cam_01: discovered=0" in out and "cleaned=4" in out and "backlog=0" in out
    assert main(["status", "--config", str(config), "--json"]) == 0
    assert '"cleaned": 4' in capsys.readouterr().out


def test_second_uploader_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from edge.instance import InstanceLock

    config, cfg = make_site(tmp_path)
    held = InstanceLock(cfg.path(cfg.edge.tracker_path).with_suffix(".lock"))
    held.acquire()
    try:
        assert main(["run", "--config", str(config), "--once"]) == 1
        assert "another uploader" in capsys.readouterr().err
    finally:
        held.release()
    assert main(["run", "--config", str(config), "--once"]) == 0


def test_edge_never_imports_tensorflow_or_cloud() -> None:
    import subprocess
    import sys

    code = (
        "import sys, edge.cli, edge.cmd_run, edge.cmd_status, edge.cmd_validate, "
        "edge.bootstrap, edge.uploader, edge.transport.local, edge.transport.pubsub\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'cloud',"
        " 'models')]\nprint(bad)\nsys.exit(1 if bad else 0)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
