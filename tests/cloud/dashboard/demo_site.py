"""A demo site config for the dashboard command (written into a temporary folder)."""

from __future__ import annotations

from pathlib import Path

from cloud.dashboard.auth import hash_password

SECRET = "e2e-session-secret-" + "x" * 24
USERS = {"carl": ("crew", "crew-pass-12"), "vera": ("viewer", "viewer-pass-1")}


def write_site(root: Path, port: int, site_id: str = "demo-e2e") -> tuple[Path, dict[str, str]]:
    """Write ``site.toml`` under ``root``; returns it and the environment it needs."""
    users = "\n".join(
        f'[[dashboard.users]]\nname = "{n}"\nrole = "{r}"\n'
        f'password_hash_env = "WW_HASH_{n.upper()}"'
        for n, (r, _pw) in USERS.items())
    toml = f"""
site_id = "{site_id}"
[[cameras]]
id = "Cam_01"
folder = "Cam_01"
topic = "wheelwatch-cam01"
side = "left"
calibration = {{ mm_per_col = 0.1, mm_per_row = 0.05, lines_per_rev = 1000 }}
[[cameras]]
id = "Cam_02"
folder = "Cam_02"
topic = "wheelwatch-cam02"
side = "right"
calibration = {{ mm_per_col = 0.1, mm_per_row = 0.05, lines_per_rev = 1000 }}
[rfid]
folder = "rfid"
[trains.T1]
tag = "E2000001"
wheels = {{ Cam_01 = ["T1-L01"], Cam_02 = ["T1-R01"] }}
[cloud]
warehouse_path = "state/warehouse.duckdb"
sql_url = "sqlite:///state/wheelwatch.sqlite"
[dashboard]
host = "127.0.0.1"
port = {port}
session_secret_env = "WW_DASH_SECRET"
images_dir = "state/scan_images"
{users}
"""
    cfg = root / "site.toml"
    cfg.write_text(toml, encoding="utf-8")
    env = {"WW_DASH_SECRET": SECRET}
    for n, (_r, pw) in USERS.items():
        env[f"WW_HASH_{n.upper()}"] = hash_password(pw)
    return cfg, env
