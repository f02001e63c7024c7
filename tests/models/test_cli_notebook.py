"""wheel-model train / evaluate / score on tiny simulated scan files, and the notebook."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from edge.simulator.cli import main as sim

    out = tmp_path_factory.mktemp("scans")
    assert sim(["dataset", "--good", "10", "--bad", "3", "--camera", "ranger_e55",
                "--width", "400", "--lines", "500", "--seed", "4", "--out", str(out),
                "-q"]) == 0
    return out


@pytest.fixture(scope="module")
def trained(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("m") / "model"
    rc = main(["train", "--data", str(tiny_dataset), "--labels",
               str(tiny_dataset / "labels.csv"), "--out", str(out), "--seed", "1",
               "--implants", "2", "-q"])
    assert rc == 0
    return out


def test_train_evaluate_score(trained: Path, tiny_dataset: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert (trained / "metadata.json").exists()
    capsys.readouterr()
    rc = main(["evaluate", "--model", str(trained), "--data", str(tiny_dataset), "--labels",
               str(tiny_dataset / "labels.csv"), "--out", str(tmp_path / "m.json"), "-q"])
    assert rc == 0
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["n_good"] == 10 and m["n_bad"] == 3 and 0.5 <= m["auroc"] <= 1
    assert set(m["confusion_at_70"]) == {"tp", "fn", "fp", "tn"}
    assert any("/" in k for k in m["per_defect"])  # per type and size bin from the truth
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    files = sorted(str(p) for p in tiny_dataset.glob("*.dat"))[:2]
    assert main(["score", "--model", str(trained), *files]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["file"] for x in lines] == files
    assert all({"score", "defect", "location"} <= set(x) for x in lines)


def test_cli_errors_have_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("file,label\na.dat,maybe\n")
    rc = main(["train", "--data", str(tmp_path), "--labels", str(labels), "--out",
               str(tmp_path / "o"), "-q"])
    assert rc == 2 and "expected 'file,good|bad'" in capsys.readouterr().err
    assert main(["score", "--model", str(tmp_path), "x.dat"]) == 1
    assert main(["score", "--model", str(tmp_path), "--calibration", "1,2", "x.dat"]) == 2


def test_retrain_notebook_runs(trained: Path, tiny_dataset: Path, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    env = {"RETRAIN_DATA": str(tiny_dataset), "RETRAIN_CURRENT_MODEL": str(trained),
           "RETRAIN_OUT": str(tmp_path / "versions"), "RETRAIN_EPOCHS": "10",
           "RETRAIN_IMPLANTS": "1", "RETRAIN_FOLDS": "2", "RETRAIN_SEED": "2"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    nb = nbformat.read(REPO / "notebooks" / "retrain.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO)}}).execute()
    decision = json.loads((tmp_path / "versions" / "last_decision.json").read_text())
    assert decision["current"] is not None and isinstance(decision["promoted"], bool)
    if decision["promoted"]:
        assert (Path(decision["exported_to"]) / "model.onnx").exists()


def test_per_wheel_csv_scores_like_its_scan(trained: Path, tiny_dataset: Path,
                                            tmp_path: Path) -> None:
    from edge.convert import convert_scan
    from models.scanfile import read_wheel_file
    from models.serving.scorer import Scorer
    from schemas.wheel_csv import read_wheel_csv

    dat = sorted(tiny_dataset.glob("*.dat"))[0]
    wf = read_wheel_file(dat)
    res = convert_scan(dat, tmp_path, calibration=wf.calibration)
    scorer = Scorer.load(trained)
    from_scan = scorer.score(wf.arrays, wf.traits, wf.calibration)
    from_csv = scorer.score_wheel_data(read_wheel_csv(res.csv_path))
    assert from_csv.score == from_scan.score and from_csv.location == from_scan.location
