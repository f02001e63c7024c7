"""The pass writer: RFID line, scans in passing order, faults, lasting wheel identity."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from edge.sick import read_scan
from edge.simulator import SimCamera, SiteSimulator, demo_trains, ranger_e55
from schemas.errors import ScanFormatError

START = datetime(2026, 11, 27, 14, 23, 0, tzinfo=UTC)


def small_site(tmp_path: Path, seed: int = 1) -> SiteSimulator:
    cams = {c: SimCamera(tmp_path / c, ranger_e55(width=512, mm_per_col=0.2, lines_per_rev=400))
            for c in ("Cam_01", "Cam_02")}
    return SiteSimulator(tmp_path, demo_trains(2, 4), cams, seed=seed)


def dats(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.dat"))


def test_pass_writes_rfid_line_then_scans_in_passing_order(tmp_path: Path) -> None:
    sim = small_site(tmp_path)
    rec = sim.run_pass("T1", START)
    line = (tmp_path / "rfid" / "rfid_20261127.csv").read_text()
    assert line == "2026-11-27T14:23:00.000Z,RFID_01,E2000017221100000001\n"
    for cam in ("Cam_01", "Cam_02"):
        names = dats(tmp_path / cam)
        files = [f for f in rec.files if f.camera_id == cam]
        assert names == [f.file for f in files]  # name order = passing order
        assert [f.wheel_id for f in files] == sim.trains["T1"].wheels[cam]
        times = [datetime.fromisoformat(f.capture_time) for f in files]
        assert all(START < a < b for a, b in itertools.pairwise(times))
        assert all(not p.name.startswith(".") for p in (tmp_path / cam).iterdir())
    last_tag = max((tmp_path / "rfid").iterdir()).stat().st_mtime
    assert all((tmp_path / c / n).stat().st_mtime >= last_tag
               for c in ("Cam_01", "Cam_02") for n in dats(tmp_path / c))
    passes = (tmp_path / "truth" / "passes.jsonl").read_text().splitlines()
    assert json.loads(passes[0])["train_id"] == "T1"
    truth = tmp_path / "truth" / "Cam_01" / rec.files[0].file.replace(".dat", ".truth.json")
    assert json.loads(truth.read_text())["wheel_id"] == rec.files[0].wheel_id


def test_same_day_passes_append_to_one_rfid_file(tmp_path: Path) -> None:
    sim = small_site(tmp_path)
    sim.run_pass("T1", START)
    sim.run_pass("T2", START + timedelta(minutes=3))
    lines = (tmp_path / "rfid" / "rfid_20261127.csv").read_text().splitlines()
    assert [ln.split(",")[2] for ln in lines] == [sim.trains["T1"].tag, sim.trains["T2"].tag]
    assert len(dats(tmp_path / "Cam_01")) == 8


def test_dropped_truncated_and_unknown_tag(tmp_path: Path) -> None:
    sim = small_site(tmp_path)
    rec = sim.run_pass("T1", START, drop=["T1-L02"], truncate=["T1-R03"], unknown_tag=True)
    tag = (tmp_path / "rfid" / "rfid_20261127.csv").read_text().strip().split(",")[2]
    assert tag == rec.tag and tag not in {t.tag for t in sim.trains.values()}
    assert not rec.known_tag
    dropped = next(f for f in rec.files if f.wheel_id == "T1-L02")
    assert dropped.dropped and not (tmp_path / "Cam_01" / dropped.file).exists()
    assert len(dats(tmp_path / "Cam_01")) == 3
    cut = next(f for f in rec.files if f.wheel_id == "T1-R03")
    assert cut.truncated
    with pytest.raises(ScanFormatError, match=r"whole number|truncated|lines"):
        read_scan(tmp_path / "Cam_02" / cut.file)


def test_wheels_keep_identity_and_defects_across_passes(tmp_path: Path) -> None:
    sim = small_site(tmp_path, seed=7)
    defect = sim.inject("T1-L03", "chunking", size="large")
    r1 = sim.run_pass("T1", START)
    sim2 = small_site(tmp_path, seed=7)  # a new process: state comes from disk
    r2 = sim2.run_pass("T1", START + timedelta(minutes=5))
    assert sim2.wheel("T1-L03") == sim.wheel("T1-L03")
    assert sim.wheel("T1-L03") != sim.wheel("T1-L04")
    for rec in (r1, r2):
        f = next(f for f in rec.files if f.wheel_id == "T1-L03")
        assert f.label == "bad" and f.defects[0]["params"]["depth_mm"] == defect.depth_mm
        assert all(g.label == "good" for g in rec.files if g.wheel_id != "T1-L03")
    a1 = next(f for f in r1.files if f.wheel_id == "T1-L03").defects[0]
    a2 = next(f for f in r2.files if f.wheel_id == "T1-L03").defects[0]
    assert a1["wheel_along_mm"] == a2["wheel_along_mm"]
    assert r2.pass_no == 2
    sim2.repair("T1-L03")
    r3 = sim2.run_pass("T1", START + timedelta(minutes=10))
    assert all(f.label == "good" for f in r3.files)


def test_passes_are_deterministic(tmp_path: Path) -> None:
    a = small_site(tmp_path / "a", seed=3).run_pass("T2", START)
    b = small_site(tmp_path / "b", seed=3).run_pass("T2", START)
    assert [f.file for f in a.files] == [f.file for f in b.files]
    for f in a.files:
        pa = tmp_path / "a" / f.camera_id / f.file
        pb = tmp_path / "b" / f.camera_id / f.file
        assert pa.read_bytes() == pb.read_bytes()
    assert np.all([f.label == "good" for f in a.files])


CONFIG = """
site_id = "park1"
[[cameras]]
id = "Cam_01"
folder = "Cam_01"
topic = "wheel-cam01"
model = "ranger3"
calibration = { mm_per_col = 0.1, mm_per_row = 0.05, mm_per_line = 1.0 }
[[cameras]]
id = "Cam_02"
folder = "Cam_02"
topic = "wheel-cam02"
side = "right"
calibration = { mm_per_col = 0.1, mm_per_row = 0.04, lines_per_rev = 500 }
[rfid]
folder = "rfid"
[trains.A]
tag = "TAG-A"
wheels = { Cam_01 = ["A1", "A2"], Cam_02 = ["A3"] }
"""


def test_simulator_follows_a_site_config(tmp_path: Path) -> None:
    from schemas.config import load_config_text

    cfg = load_config_text(CONFIG, base_dir=tmp_path, environ={})
    sim = SiteSimulator.from_config(cfg, seed=2, width=1200)
    rec = sim.run_pass("A", START)
    assert rec.tag == "TAG-A"
    assert [f.wheel_id for f in rec.files if f.camera_id == "Cam_01"] == ["A1", "A2"]
    first = next(f for f in rec.files if f.wheel_id == "A1")
    a1 = read_scan(tmp_path / "Cam_01" / first.file)
    assert a1.component_name == "Ranger3Range" and a1.width == 1200
    assert abs(a1.lines - sim.wheel("A1").circumference_mm / 1.0) < 0.03 * a1.lines
    a3 = read_scan(next((tmp_path / "Cam_02").glob("*.dat")))
    assert a3.component_name == "Hi3D 1" and a3.lines >= 500
    assert (tmp_path / "rfid" / "rfid_20261127.csv").exists()


def test_config_toml_round_trips_through_the_site_config(tmp_path: Path) -> None:
    from schemas.config import load_config_text

    sim = small_site(tmp_path)
    cfg = load_config_text(sim.config_toml("park9"), environ={})
    assert cfg.site_id == "park9"
    assert [c.id for c in cfg.cameras] == ["Cam_01", "Cam_02"]
    assert cfg.path(cfg.camera("Cam_02").folder).resolve() == (tmp_path / "Cam_02").resolve()
    assert cfg.camera("Cam_01").calibration == sim.cameras["Cam_01"].spec.calibration()
    assert cfg.trains["T1"].tag == sim.trains["T1"].tag
    assert cfg.trains["T2"].wheels == sim.trains["T2"].wheels
    again = SiteSimulator.from_config(cfg, seed=1, width=512)
    assert again.wheel("T1-L01") == sim.wheel("T1-L01")
