"""`wheel-cloud ack ID [--by NAME]` and `wheel-cloud alerts-check` on the embedded backends
(SQLite migrated by alembic 0001+0002, outbox file channels)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.alerts.bootstrap import build_from_site
from cloud.alerts.channels.outbox import read_outbox
from cloud.cli import main as wheel_cloud
from cloud.cmd_ack import main
from schemas.config import load_config
from tests.cloud.alerts.helpers import a_pass

SITE_TOML = """
site_id = "parkA"
ride = "Thunder"
[[cameras]]
id = "Cam_01"
folder = "Cam_01"
topic = "wheelwatch-cam01"
side = "left"
calibration = { mm_per_col = 0.1, mm_per_row = 0.05, lines_per_rev = 1000 }
[[cameras]]
id = "Cam_02"
folder = "Cam_02"
topic = "wheelwatch-cam02"
side = "right"
calibration = { mm_per_col = 0.1, mm_per_row = 0.05, lines_per_rev = 1000 }
[rfid]
folder = "rfid"
[trains.T2]
tag = "E2000002"
wheels = { Cam_01 = ["T2-L01", "T2-L02", "T2-L03"], Cam_02 = ["T2-R05", "T2-R06", "T2-R07"] }
[cloud]
sql_url = "sqlite:///state/ww.sqlite"
[alerts]
outbox_path = "state/outbox.jsonl"
[[alerts.recipients]]
name = "ann"
phone = "+15551230001"
email = "ann@example.com"
channels = ["sms", "email"]
"""


@pytest.fixture
def site_file(tmp_path: Path) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(SITE_TOML, encoding="utf-8")
    return path


def test_embedded_outbox_then_ack_from_the_command_line(
    site_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = load_config(site_file, environ={})
    service = build_from_site(site)
    for ev in a_pass():
        service.handle(ev)
    lines = read_outbox(site_file.parent / "state" / "outbox.jsonl")
    assert [(r["channel"], r["to"]) for r in lines] == [("sms", "+15551230001"),
                                                       ("email", "ann@example.com")]
    sms = str(lines[0]["body"])
    assert "T2-R07 R3 NO FILE" in sms  # side/position of the missing wheel from the wheel map
    alert_id = str(lines[0]["alert_id"])

    assert main(["ack", alert_id.lower(), "--by", "ann", "--config", str(site_file)]) == 0
    out = capsys.readouterr().out
    assert f"{alert_id} acknowledged by ann" in out
    assert service.store.alert(alert_id).status == "acked"  # type: ignore[union-attr]

    assert main(["alerts-check", "--config", str(site_file)]) == 0
    assert "0 alert(s) open" in capsys.readouterr().out

    # the same subcommands through the `wheel-cloud` dispatcher
    assert wheel_cloud(["ack", alert_id, "--by", "bob", "--config", str(site_file)]) == 0
    assert f"{alert_id} acknowledged by ann" in capsys.readouterr().out  # first ack kept
    assert wheel_cloud(["ack", "ZZZZZZ", "--config", str(site_file)]) == 1


def test_ack_unknown_id_exits_1_and_bad_config_exits_2(
    site_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ack", "ZZZZZZ", "--config", str(site_file)]) == 1
    assert "no alert with id 'ZZZZZZ'" in capsys.readouterr().err
    assert main(["ack", "ZZZZZZ", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "config error" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["ack"])
    assert exc.value.code == 2
