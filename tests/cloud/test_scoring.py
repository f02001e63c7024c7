"""The scorer adapter over a model directory made by ``wheel-model train`` (tiny data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cloud.scoring import ModelScorer
from schemas.errors import ScoringError


@pytest.fixture(scope="module")
def model_and_scans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from edge.simulator.cli import main as sim
    from models.cli import main as wheel_model

    data = tmp_path_factory.mktemp("scans")
    assert sim(["dataset", "--good", "8", "--bad", "3", "--camera", "ranger_e55", "--width",
                "300", "--lines", "400", "--seed", "11", "--out", str(data), "-q"]) == 0
    model = tmp_path_factory.mktemp("m") / "model"
    assert wheel_model(["train", "--data", str(data), "--labels", str(data / "labels.csv"),
                        "--out", str(model), "--seed", "1", "--implants", "1", "-q"]) == 0
    return model, data


def test_scores_per_wheel_csv_with_exported_model(model_and_scans: tuple[Path, Path],
                                                  tmp_path: Path) -> None:
    from edge.convert import convert_scan
    from models.serving.scorer import Scorer
    from schemas.calibration import Calibration, merge_traits
    from schemas.wheel_csv import read_wheel_csv

    model_dir, data = model_and_scans
    scorer = ModelScorer.load(model_dir)
    reference = Scorer.load(model_dir)
    assert scorer.version == reference.version
    dats = sorted(data.glob("*.dat"))[:3]
    results = []
    for dat in dats:
        truth = (dat.parent / f"{dat.stem}.truth.json").read_text()
        import json
        cal = Calibration(**json.loads(truth)["calibration"])
        res = convert_scan(dat, tmp_path / dat.stem, calibration=cal)
        r = scorer.score(res.csv_path, res.meta_path)
        in_memory = scorer.score_bytes(res.csv_path.read_bytes(), res.meta_path.read_bytes())
        assert in_memory == r  # the pipeline's path: same result without files
        wd = read_wheel_csv(res.csv_path, res.meta_path)
        direct = reference.score(wd.arrays, merge_traits(wd.meta.traits), wd.meta.calibration)
        assert r.score == pytest.approx(direct.score)  # same model, same preprocessing
        assert r.defect == direct.defect and r.model_version == reference.version
        assert set(r.location) == {"line", "column", "along_mm", "across_mm"}
        assert r.stats["valid_fraction"] > 0 and "max_defect_depth_mm" in r.stats
        results.append(r.score)
    assert all(0 <= s <= 100 for s in results)


def test_missing_model_dir_is_a_scoring_error(tmp_path: Path) -> None:
    with pytest.raises(ScoringError):
        ModelScorer.load(tmp_path / "nope")


def test_pipeline_writes_the_model_verdict(model_and_scans: tuple[Path, Path],
                                           tmp_path: Path) -> None:
    import json

    from edge.convert import convert_scan
    from schemas.calibration import Calibration
    from tests.cloud.support import delivery, make_file, make_rig

    model_dir, data = model_and_scans
    bad = [line.split(",")[0] for line in (data / "labels.csv").read_text().splitlines()
           if line.endswith(",bad")]
    dat = data / bad[0]
    cal = Calibration(**json.loads((dat.parent / f"{dat.stem}.truth.json").read_text())
                      ["calibration"])
    res = convert_scan(dat, tmp_path / "csv", calibration=cal)
    scorer = ModelScorer.load(model_dir)
    rig = make_rig(tmp_path / "rig", scorer=scorer)  # type: ignore[arg-type]
    f = make_file(res.csv_path.read_bytes(), json.loads(res.meta_path.read_text()),
                  chunk_bytes=200_000)
    h = rig.chunk_handler()
    for i, (d, a) in enumerate(f.messages()):
        h(delivery(d, a, str(i)))
    rows = rig.warehouse_rows("wheel_scores")
    assert len(rows) == 1 and rows[0]["model_version"] == scorer.version
    expected = scorer.score(res.csv_path, res.meta_path)
    assert rows[0]["score"] == pytest.approx(expected.score)
    assert rows[0]["defect"] == expected.defect and rows[0]["loc_line"] is not None
    # a labelled-bad wheel from the model's own training data: called bad, and the
    # model's heatmap is stored beside the scan for the crew's alert
    assert expected.defect != "none"
    from cloud.bootstrap import blob_fetcher, heatmap_lookup
    from cloud.domain_events import WheelScored
    rig.worker.dispatcher.dispatch()
    ev = rig.sink.of(WheelScored)[0]
    uri = heatmap_lookup(rig.worker.p.blobs)(ev)
    assert uri is not None and uri.endswith(".heatmap.png")
    assert blob_fetcher(rig.worker.p.blobs)(uri).startswith(b"\x89PNG")


def test_wheel_cloud_run_end_to_end(model_and_scans: tuple[Path, Path], tmp_path: Path) -> None:
    """The production entry point: ``wheel-cloud run`` with the exported model and the
    alerting service wired by bootstrap, stopped by SIGTERM."""
    import json
    import os
    import signal
    import subprocess
    import sys

    from cloud import bootstrap as b
    from cloud.cli import main as cli
    from edge.convert import convert_scan
    from schemas.calibration import Calibration
    from schemas.config import load_config
    from tests.cloud.e2e import write_config
    from tests.cloud.support import make_file, wait_for

    model_dir, data = model_and_scans
    path = write_config(tmp_path, "embedded")
    path.write_text(path.read_text().replace("[cloud]\n", f'[cloud]\nmodel_dir = "{model_dir}"\n'))
    assert cli(["provision", "--config", str(path)]) == 0
    cfg = load_config(path)
    dat = sorted(data.glob("*.dat"))[0]
    cal = Calibration(**json.loads((dat.parent / f"{dat.stem}.truth.json").read_text())
                      ["calibration"])
    res = convert_scan(dat, tmp_path / "csv", calibration=cal)
    f = make_file(res.csv_path.read_bytes(), json.loads(res.meta_path.read_text()),
                  chunk_bytes=100_000)
    transport = b.build_transport(cfg)
    for d, a in f.messages():
        transport.publish(cfg.cameras[0].topic, d, a)
    transport.close()
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-m", "cloud.cli", "run", "--config", str(path)],
                            cwd=repo, env=dict(os.environ, PYTHONPATH=str(repo)))
    try:
        _, sessions = b.build_db(cfg)
        tracker = b.tracker(sessions, b.utc_now)
        assert wait_for(lambda: (t := tracker.get(f.file_id)) is not None
                        and t.state == "written", timeout=120)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    rows = b.build_warehouse(cfg).query("SELECT model_version FROM {ds}.wheel_scores")
    assert [r["model_version"] for r in rows] == [ModelScorer.load(model_dir).version]


def _unpacked(res: Any, path: Path, with_arrays: bool) -> Any:
    """The edge's bundle of a converted scan, unpacked by the cloud."""
    import hashlib
    from datetime import UTC, datetime

    from cloud.reassembly import unpack
    from edge.bundle import make_bundle
    from schemas.messages import ChunkAttributes

    b = make_bundle(res.csv_data, res.meta_data, path, res.arrays if with_arrays else None)
    payload = b.path.read_bytes()
    attrs = ChunkAttributes(
        site="s", camera="Cam_01", file_id=res.file_id, wheel_id="W1", train_id="T1",
        run_id="r1", capture_time=datetime(2026, 1, 1, tzinfo=UTC), chunk_index=0,
        chunk_count=1, sha256=hashlib.sha256(payload).hexdigest(),
        payload_bytes=len(payload), raw_bytes=b.raw_bytes)
    return unpack(payload, attrs, 10**9)


def test_sidecar_scores_as_the_csv_without_parsing_it(
        model_and_scans: tuple[Path, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    import cloud.scoring
    from edge.convert import convert_scan
    from schemas.calibration import Calibration

    model_dir, data = model_and_scans
    scorer = ModelScorer.load(model_dir)
    for dat in sorted(data.glob("*.dat"))[:3]:
        cal = Calibration(**json.loads((dat.parent / f"{dat.stem}.truth.json").read_text())
                          ["calibration"])
        res = convert_scan(dat, tmp_path / dat.stem, calibration=cal, in_memory_max_rows=10**6)
        csv_only = _unpacked(res, tmp_path / f"{dat.stem}.c.tar.zst", with_arrays=False)
        sidecar = _unpacked(res, tmp_path / f"{dat.stem}.a.tar.zst", with_arrays=True)
        assert csv_only.arrays is None and sidecar.arrays is not None
        via_csv = scorer.score_bytes(csv_only.csv, csv_only.meta_json)  # no sidecar: CSV

        def no_parse(*_a: Any, **_k: Any) -> Any:
            raise AssertionError("the CSV was parsed")
        monkeypatch.setattr(cloud.scoring, "read_wheel_csv", no_parse)
        with pytest.raises(AssertionError, match="the CSV was parsed"):
            scorer.score_bytes(csv_only.csv, csv_only.meta_json)
        via_arrays = scorer.score_bytes(sidecar.csv, sidecar.meta_json, sidecar.arrays)
        monkeypatch.undo()
        assert via_arrays == via_csv
        assert via_arrays.stats == via_csv.stats and via_arrays.heatmap_png == via_csv.heatmap_png


def test_pipeline_scores_a_sidecar_bundle_without_the_csv_parser(
        model_and_scans: tuple[Path, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    import cloud.scoring
    from tests.cloud.support import delivery, make_file, make_rig, make_sample, sidecar_of

    model_dir, _ = model_and_scans
    csv, meta = make_sample(tmp_path / "sample", lines=400, width=300)
    scorer = ModelScorer.load(model_dir)
    expected = scorer.score_bytes(csv, json.dumps(meta).encode())
    rig = make_rig(tmp_path / "rig", scorer=scorer)  # type: ignore[arg-type]
    f = make_file(csv, meta, chunk_bytes=300_000, extra=sidecar_of(csv, meta))

    def no_parse(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("the CSV was parsed")
    monkeypatch.setattr(cloud.scoring, "read_wheel_csv", no_parse)
    h = rig.chunk_handler()
    for i, (d, a) in enumerate(f.messages()):
        h(delivery(d, a, str(i)))
    assert rig.worker.tracker.get(f.file_id).state == "written"
    [row] = rig.warehouse_rows("wheel_scores")
    # closed here, not by its linger thread: a daemon thread inside DuckDB's close while
    # the interpreter exits aborts the process (when this is the run's last test)
    rig.worker.p.warehouse.close()
    assert row["score"] == pytest.approx(expected.score) and row["defect"] == expected.defect
    stored = {p.name.split("__")[1]: p for p in rig.blob_files()}
    assert stored[f"{f.file_id}.csv"].read_bytes() == csv  # the CSV is what is stored
    assert f"{f.file_id}.meta.json" in stored and not [n for n in stored if ".npy" in n]
