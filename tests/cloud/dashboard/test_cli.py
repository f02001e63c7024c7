"""``wheel-cloud dashboard``: password hashing, config errors, demo data."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cloud import cli
from cloud.cmd_dashboard import _demo_data
from cloud.dashboard.auth import verify_password
from cloud.dashboard.bootstrap import build_deps
from schemas.config import load_config
from schemas.errors import ConfigError
from tests.cloud.dashboard.demo_site import write_site


def test_hash_password_from_stdin(monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse\n"))
    assert cli.main(["dashboard", "--hash-password"]) == 0
    digest = capsys.readouterr().out.strip()
    assert digest.startswith("scrypt$") and verify_password("correct horse", digest)
    assert not verify_password("wrong horse", digest)


def test_missing_session_secret_is_a_config_error(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    cfg, _env = write_site(tmp_path, 8123)
    assert cli.main(["dashboard", "--config", str(cfg)]) == 2
    assert "WW_DASH_SECRET" in capsys.readouterr().err


def test_user_without_hash_cannot_sign_in(tmp_path: Path) -> None:
    cfg_path, env = write_site(tmp_path, 8123)
    cfg = load_config(cfg_path, environ={})
    with pytest.raises(ConfigError, match="no user can sign in"):
        build_deps(cfg, {"WW_DASH_SECRET": env["WW_DASH_SECRET"]})


def test_users_file_and_demo_data(tmp_path: Path) -> None:
    cfg_path, env = write_site(tmp_path, 8123)
    cfg = load_config(cfg_path, environ={})
    _demo_data(cfg, 3)
    secrets = tmp_path / "users.secret"
    secrets.write_text(f"# name:role:hash\nolga:crew:{env['WW_HASH_CARL']}\n")
    cfg.dashboard.users_file = secrets
    deps = build_deps(cfg, {"WW_DASH_SECRET": env["WW_DASH_SECRET"]})
    olga = deps.users.authenticate("olga", "crew-pass-12")
    assert olga is not None and olga.can_act
    assert deps.users.authenticate("carl", "crew-pass-12") is None  # no hash in env
    assert len(deps.queries.fleet()) == 32
    assert any((tmp_path / "state" / "scan_images").iterdir())
    secrets.write_text("olga:admin:xyz\n")
    with pytest.raises(ConfigError, match="line 1"):
        build_deps(cfg, {"WW_DASH_SECRET": env["WW_DASH_SECRET"]})
