"""The site config: validation names the offending key; env overrides apply."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.config import load_config, load_config_text
from schemas.errors import ConfigError

GOOD = """
site_id = "s1"
[[cameras]]
id = "Cam_01"
folder = "Cam_01"
topic = "wheelwatch-cam01"
model = "ranger3"
calibration = { mm_per_col = 0.1, mm_per_row = 0.05, lines_per_rev = 1000 }
[rfid]
folder = "rfid"
[trains.T1]
tag = "E2000001"
wheels = { Cam_01 = ["T1-L01", "T1-L02"] }
"""


def test_valid_config_loads_with_defaults() -> None:
    cfg = load_config_text(GOOD, environ={})
    assert cfg.site_id == "s1"
    assert cfg.camera("Cam_01").calibration.lines_per_rev == 1000
    assert cfg.transport.kind == "local"
    assert cfg.train_by_tag("E2000001") == ("T1", cfg.trains["T1"])
    assert cfg.train_by_tag("nope") is None


def test_unknown_key_is_named() -> None:
    with pytest.raises(ConfigError) as err:
        load_config_text(GOOD + "\n[edge]\nheartbeat_sec = 3\n", environ={})
    assert err.value.key == "edge.heartbeat_sec"
    assert "Extra inputs" in err.value.reason


def test_bad_value_is_named() -> None:
    text = GOOD.replace('topic = "wheelwatch-cam01"', 'topic = "1 bad"')
    with pytest.raises(ConfigError) as err:
        load_config_text(text, environ={})
    assert err.value.key == "cameras.0.topic"


def test_wheel_map_must_name_known_cameras() -> None:
    text = GOOD.replace("Cam_01 = [", "Cam_09 = [")
    with pytest.raises(ConfigError, match="unknown cameras"):
        load_config_text(text, environ={})


def test_env_overrides_nested_keys() -> None:
    env = {"WHEELWATCH__CLOUD__SQL_URL": "postgresql+psycopg://x/y",
           "WHEELWATCH__EDGE__HEARTBEAT_S": "5"}
    cfg = load_config_text(GOOD, environ=env)
    assert cfg.cloud.sql_url == "postgresql+psycopg://x/y"
    assert cfg.edge.heartbeat_s == 5.0


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config_text("site_id = ", environ={})
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "none.toml", environ={})


def test_relative_paths_resolve_against_the_file(tmp_path: Path) -> None:
    (tmp_path / "site.toml").write_text(GOOD)
    cfg = load_config(tmp_path / "site.toml", environ={})
    assert cfg.path(cfg.rfid.folder) == tmp_path.resolve() / "rfid"
