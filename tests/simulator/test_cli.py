"""The wheel-sim command."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from edge.sick import read_scan
from edge.simulator.cli import main


def test_scan_command_writes_a_bad_ranger3_scan(tmp_path: Path) -> None:
    rc = main(["scan", "--camera", "ranger3", "--defect", "crack", "--width", "1024",
               "--lines", "400", "--out", str(tmp_path), "-q"])
    assert rc == 0
    (dat,) = tmp_path.glob("*.dat")
    assert read_scan(dat).component_name == "Ranger3Range"
    assert '"kind": "crack"' in dat.with_suffix(".truth.json").read_text()


def test_dataset_command_writes_labels_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    rc = main(["dataset", "--good", "3", "--bad", "2", "--width", "512", "--lines", "400",
               "--out", str(tmp_path), "--seed", "4"])
    assert rc == 0
    rows = list(csv.DictReader((tmp_path / "labels.csv").open()))
    assert sorted(r["label"] for r in rows) == ["bad", "bad", "good", "good", "good"]
    for r in rows:
        assert (tmp_path / r["file"]).exists() and r["file"].endswith(".dat")
    assert "5/5" in capsys.readouterr().err


def test_pass_command_and_usage_errors(tmp_path: Path) -> None:
    args = ["pass", "--site-dir", str(tmp_path), "--train", "T1", "--wheels-per-side", "3",
            "--width", "512", "--start", "2026-11-27T14:00:00Z", "--inject", "T1-L02:blister",
            "--drop", "T1-R01", "-q"]
    assert main(args) == 0
    assert len(list((tmp_path / "Cam_01").glob("*.dat"))) == 3
    assert len(list((tmp_path / "Cam_02").glob("*.dat"))) == 2
    assert (tmp_path / "rfid" / "rfid_20261127.csv").exists()
    assert main(["pass", "--site-dir", str(tmp_path), "--train", "T9", "-q"]) == 2
    assert main(["pass", "--site-dir", str(tmp_path), "--train", "T1",
                 "--inject", "T1-L01:dent", "-q"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["scan", "--camera", "nope", "--out", str(tmp_path)])
    assert exc.value.code == 2


def test_config_command_matches_the_pass_folders(tmp_path: Path) -> None:
    from schemas.config import load_config

    cfg_path = tmp_path / "site.toml"
    assert main(["config", "--site-dir", str(tmp_path), "--trains", "3",
                 "--out", str(cfg_path)]) == 0
    cfg = load_config(cfg_path, environ={})
    assert sorted(cfg.trains) == ["T1", "T2", "T3"]
    assert main(["pass", "--config", str(cfg_path), "--train", "T3", "--width", "512",
                 "--start", "2026-11-27T15:00:00Z", "-q"]) == 0
    assert len(list((tmp_path / "Cam_01").glob("*.dat"))) == 8


def test_inject_is_lasting_and_not_repeated(tmp_path: Path) -> None:
    import json

    base = ["pass", "--site-dir", str(tmp_path), "--train", "T1", "--wheels-per-side", "2",
            "--width", "256", "--inject", "T1-L01:crack:small", "-q"]
    assert main([*base, "--start", "2026-11-27T14:00:00Z"]) == 0
    assert main([*base, "--start", "2026-11-27T14:05:00Z"]) == 0
    state = json.loads((tmp_path / "truth" / "sim_state.json").read_text())
    assert [d["kind"] for d in state["defects"]["T1-L01"]] == ["crack"]
    passes = [json.loads(x) for x in (tmp_path / "truth" / "passes.jsonl").read_text().splitlines()]
    labels = [{f["wheel_id"]: f["label"] for f in p["files"]} for p in passes]
    assert all(lab["T1-L01"] == "bad" and lab["T1-L02"] == "good" for lab in labels)
