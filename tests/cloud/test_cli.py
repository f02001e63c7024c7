"""wheel-cloud CLI: validate-config, provision, status, label (+ export), error codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from cloud.cli import main
from schemas.config import load_config
from tests.cloud.e2e import build_worker, write_config
from tests.cloud.support import delivery, make_file, make_sample


@pytest.fixture
def site(tmp_path: Path) -> Path:
    path = write_config(tmp_path, "embedded")
    assert main(["provision", "--config", str(path)]) == 0
    return path


def test_validate_and_bad_config(site: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate-config", "--config", str(site)]) == 0
    assert "site park1" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text(site.read_text().replace("[cloud.flow]", "[cloud.flow]\nmax_mesages = 3"))
    assert main(["validate-config", "--config", str(bad)]) == 2
    assert "cloud.flow.max_mesages" in capsys.readouterr().err
    assert main(["status", "--config", str(tmp_path / "nope.toml")]) == 2


def test_status_label_and_export(site: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    cfg = load_config(site)
    sample: tuple[bytes, dict[str, Any]] = make_sample(tmp_path / "s")
    f = make_file(*sample, camera="Cam_01", wheel="W03")
    worker = build_worker(cfg, "w1")
    handler = worker.handler_for(cfg.cameras[0].topic, "Cam_01")
    for i, (data, attrs) in enumerate(f.messages()):
        handler(delivery(data, attrs, str(i)))
    handler(delivery(b"x", {"kind": "junk"}, "poison"))
    worker.p.transport.close()
    capsys.readouterr()
    assert main(["status", "--config", str(site), "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["tracker"]["written"] == 1 and st["dead_letters"] == 1
    assert "Cam_01" in st["last_file"]
    dl_sub = f"{cfg.cameras[0].topic}-dead-letter-sub"
    assert st["backlog"][dl_sub] == 1  # the poison message, republished with its reason
    assert main(["label", "--config", str(site), "W03", "bad", "--who", "ana",
                 "--note", "chunk at 3 o'clock"]) == 0
    assert main(["label", "--config", str(site), "W03", "maybe", "--who", "x"]) == 2
    out = tmp_path / "labels.csv"
    assert main(["label", "--config", str(site), "export", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 1 and rows[0]["label"] == "bad" and rows[0]["file_id"] == f.file_id
    assert (cfg.path(cfg.cloud.blob_dir) / rows[0]["file"]).read_bytes() == sample[0]
