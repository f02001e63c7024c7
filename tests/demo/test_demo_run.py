"""A small demo run through the real programs (embedded backends), then a continued one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloud.demo.__main__ import main
from cloud.demo.plan import DemoPlan
from cloud.demo.runner import DemoOptions, prepare, run_demo
from cloud.demo.site import build_site
from cloud.demo.summary import format_report

# Loaded by every program of the demo (PYTHONPATH): TensorFlow and Keras cannot be
# imported, as in the cloud image; each program notes that it ran with the block.
NO_TF = """
import importlib.abc, os, sys
class _NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"tensorflow", "keras", "tf2onnx", "tf_keras"}:
            raise ImportError(f"{name} is not installed in the cloud image")
        return None
sys.meta_path.insert(0, _NoTensorFlow())
with open(os.environ["NO_TF_MARK"], "a") as fh:
    fh.write(" ".join(sys.orig_argv[2:4]) + "\\n")
"""

PLAN = DemoPlan(wheels_per_side=3, passes=("T1", "T2"),
                defects=(("T1-L02", "chunking"), ("T2-R01", "flat_spot")), drop=(2, "T2-R03"))


def test_small_demo_runs_end_to_end_and_continues(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    lines: list[str] = []
    block = tmp_path / "no_tf"
    block.mkdir()
    (block / "sitecustomize.py").write_text(NO_TF)
    env = {"PYTHONPATH": str(block), "NO_TF_MARK": str(tmp_path / "no_tf.txt")}
    rep = run_demo(DemoOptions(root=root, plan=PLAN, env=env, timeout_s=300,
                               say=lines.append))
    assert rep.problems == []
    assert rep.mode.startswith("fresh")
    assert any("started wheel-edge run" in x for x in lines)
    assert any("stopped wheel-cloud run (SIGTERM, clean exit)" in x for x in lines)
    # every scan the cameras wrote is scored, the dropped one is reported missing
    assert len(rep.scores) == PLAN.expected_files() == 11
    assert {r.camera for r in rep.scores} == {"Cam_01", "Cam_02"}
    assert all(0 <= r.score <= 100 for r in rep.scores)
    assert [(m["camera"], m["wheel_id"]) for m in rep.missing] == [("Cam_02", "T2-R03")]
    assert len(rep.runs) == 2 and all(r["complete"] for r in rep.runs)
    assert rep.truth_bad == {"T1-L02": "chunking", "T2-R01": "flat_spot"}
    # alerts: at least the missing file reached the crew through the outbox (SMS text there)
    assert rep.alerts and all(a.dispatch == "sent" for a in rep.alerts)
    outbox = [json.loads(x) for x in (root / "state" / "outbox.jsonl").read_text().splitlines()]
    sms = [o["body"] for o in outbox if o["channel"] == "sms"]
    assert sms and any("T2-R03" in a.sms for a in rep.alerts)
    text = format_report(rep, root / "site.toml", "wheel-cloud dashboard --config X")
    for what in ("passes:", "wheels scored:", "wheels under 70", "files missing:   1",
                 "alerts sent:", "SMS:", "time taken:", "dashboard:"):
        assert what in text
    summary = json.loads((root / "summary.json").read_text())
    assert len(summary["scores"]) == 11
    # the worker scored every wheel without TensorFlow (what the cloud image relies on)
    ran = (tmp_path / "no_tf.txt").read_text().splitlines()
    assert "cloud.cli run" in ran and "edge.cli run" in ran

    # a second run with --continue adds a pass to the same site and says so
    again = run_demo(DemoOptions(root=root, plan=DemoPlan(
        wheels_per_side=3, passes=("T1",), defects=PLAN.defects, drop=None),
        keep=True, timeout_s=300, say=lines.append))
    assert again.problems == []
    assert again.mode.startswith("continuing")
    assert len(again.scores) == 6 and len(again.runs) == 1
    assert again.runs[0]["run_count"] == 2  # T1's second pass in this site's history
    assert again.scores[0].file_id not in {r.file_id for r in rep.scores}


def test_second_run_resets_an_earlier_demo_and_says_so(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    build_site(root, PLAN)
    (root / "truth").mkdir()
    (root / "truth" / "passes.jsonl").write_text(
        json.dumps({"rfid_time": "2026-11-27T14:00:00.000Z", "files": []}) + "\n")
    (root / "Cam_01" / "Cam_01_20261127_140003_000.dat").write_bytes(b"old")
    cfg, mode, _start = prepare(DemoOptions(root=root, plan=PLAN))
    assert mode.startswith("reset")
    assert not (root / "Cam_01" / "Cam_01_20261127_140003_000.dat").exists()
    assert cfg.path(cfg.rfid.folder).is_dir()
    _cfg, mode, _start = prepare(DemoOptions(root=root, plan=PLAN, keep=True))
    assert mode.startswith("reset") and "nothing to continue" in mode


def test_demo_refuses_a_folder_it_did_not_make(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert main(["--dir", str(mine), "-q"]) == 2
    assert "not a demo site" in capsys.readouterr().err
    assert (mine / "notes.txt").exists()
