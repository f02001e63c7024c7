"""End-to-end steps used by the CLI, ``make model`` and the retraining notebook."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.scanfile import read_labels, read_wheel_file, truth_defects
from models.serving.pipeline import PreprocessParams, grid_of
from models.serving.scorer import Scorer
from models.serving.scoring import standardise
from models.training.evaluate import Scored, metrics, report_png, strict_json
from models.training.export import data_hash, export
from models.training.train import Sample, TrainConfig, train
from schemas.calibration import Calibration
from schemas.errors import WheelWatchError

log = logging.getLogger(__name__)


def _bar(total: int, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, unit="wheel")


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_samples(data: str | Path, labels: str | Path, params: PreprocessParams,
                 calibration: Calibration | None = None, progress: bool = True
                 ) -> tuple[list[Sample], str]:
    """Read every labelled file onto the grid; returns samples and the data hash."""
    root = Path(data)
    rows = read_labels(labels)
    samples: list[Sample] = []
    items: list[tuple[str, int, bytes | str]] = []
    with _bar(len(rows), "reading", progress) as bar:
        for name, label in rows:
            wf = read_wheel_file(root / name, calibration)
            grid = grid_of(wf.arrays, wf.traits, wf.calibration, params)
            samples.append(Sample(name, label, grid, truth_defects(wf.truth)))
            dat = (root / name).with_suffix(".dat") if name.endswith(".xml") else root / name
            items.append((name, label, _digest(dat)))
            bar.update(1)
    return samples, data_hash(items)


def train_and_export(samples: Sequence[Sample], data_sha: str, out: str | Path,
                     cfg: TrainConfig, params: PreprocessParams | None = None,
                     progress: bool = True) -> tuple[Path, dict[str, Any]]:
    """Train, cross-validate, export; returns the model dir and the CV metrics."""
    params = params or PreprocessParams()
    t0 = time.monotonic()
    with _bar(len(samples), "training set", progress) as bar:
        model, cal, rep = train(samples, params, cfg, progress=bar.update)
    orig = rep["original"]
    ts = rep["ts"]
    cv_rows = [Scored(samples[ts.group[i]].name, int(ts.label[i]),  # held-out score and
                      float(rep["cv_score"][i]), "", samples[ts.group[i]].truth)  # truth
               for i in np.flatnonzero(orig)]
    cv_metrics = metrics(cv_rows)
    cv_metrics["train_seconds"] = round(time.monotonic() - t0, 1)
    cv_metrics["n_training_rows"] = int(ts.t.shape[0])
    check = standardise(ts.t, cal)
    path = export(model, cal, out, params=params, cfg=cfg, data_sha256=data_sha,
                  metrics={"cross_validation": cv_metrics}, check_inputs=check,
                  extra={"n_good": int(sum(s.label == 0 for s in samples)),
                         "n_bad": int(sum(s.label == 1 for s in samples))})
    return path, cv_metrics


def evaluate_dir(model: str | Path, data: str | Path, labels: str | Path,
                 calibration: Calibration | None = None, report: str | Path | None = None,
                 progress: bool = True) -> dict[str, Any]:
    """Score every labelled file; metrics dict (+ PNG report if ``report``)."""
    scorer = Scorer.load(model)
    rows: list[Scored] = []
    errors: list[str] = []
    for name, label in (bar := _bar_iter(read_labels(labels), progress)):
        try:
            wf = read_wheel_file(Path(data) / name, calibration)
            ws = scorer.score(wf.arrays, wf.traits, wf.calibration)
        except WheelWatchError as exc:
            errors.append(f"{name}: {exc}")
            continue
        rows.append(Scored(name, label, ws.score, ws.defect, truth_defects(wf.truth),
                           ws._evidence))
    del bar
    out = metrics(rows)
    out |= {"model_version": scorer.version, "errors": errors}
    if report is not None:
        out["report_png"] = str(report_png(rows, report, scorer.version))
    return out


def _bar_iter(rows: list[tuple[str, int]], enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(rows, desc="scoring", disable=not enabled, unit="wheel")


def write_json(obj: Any, path: str | Path) -> None:
    """Pretty JSON file (undefined metrics as null: :func:`strict_json`)."""
    Path(path).write_text(json.dumps(strict_json(obj), indent=1, default=str,
                                     allow_nan=False) + "\n")
