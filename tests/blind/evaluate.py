"""Blind evaluation of the product's classifier on the independent generator's scans.

Trains with ``wheel-model train`` on one camera (150 good + 10 bad), scores a mixed
test set (both camera generations, calibrated FLOAT, other resolutions, full size
range) with ``wheel-model score`` per camera (each camera has its own calibration) and
computes the figures here from the score lines, independently of the product's
``evaluate``. ``python -m tests.blind.evaluate WORKDIR [--model DIR ...]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.blind.gen import CAMERAS, make_dataset

BIN = Path(sys.executable).parent
TRAIN_CAMERA = "e55_site"
TEST_PLAN: dict[str, tuple[int, int]] = {
    "e55_site": (30, 10), "e55_fine": (30, 10), "e55_coarse": (30, 10), "r3_site": (30, 10),
    "r3_fine": (30, 10), "float_nan": (26, 9), "float_neg": (26, 9), "float_zero": (26, 9),
    "e55_rangeonly": (15, 5),
}


def build_sets(work: Path, seed: int = 100, n_good: int = 150, n_bad: int = 10,
               plan: dict[str, tuple[int, int]] | None = None, size_mix: float = 0.5,
               test: str = "test", harsh: bool = False, wobble_mm: float = 0.3) -> None:
    """Write ``work/train`` (one camera) and ``work/<test>/<camera>`` unless present.

    ``harsh`` / ``size_mix`` shape the test set only (the training set stays typical).
    """
    if not (work / "train" / "labels.csv").exists():
        make_dataset(work / "train", n_good, n_bad, TRAIN_CAMERA, seed, 0.5)
    offset = 1000 if test.startswith("test") else 2000 + 7 * len(test)  # test*: same wheels
    for i, (name, (g, b)) in enumerate((plan or TEST_PLAN).items()):
        if not (work / test / name / "labels.csv").exists():
            make_dataset(work / test / name, g, b, name, seed + offset + i, size_mix,
                         harsh=harsh, wobble_mm=wobble_mm)


def run(cmd: list[str], log: Path) -> subprocess.CompletedProcess[str]:
    """Run a product command, keeping its output in ``log``."""
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    log.write_text(f"$ {' '.join(cmd)}\nrc={res.returncode}\n{res.stdout}\n{res.stderr}")
    return res


def train(work: Path, seed: int = 0) -> Path:
    """``wheel-model train`` on ``work/train`` -> ``work/model``."""
    cal = CAMERAS[TRAIN_CAMERA].calibration
    out = work / "model"
    res = run([str(BIN / "wheel-model"), "train", "--data", str(work / "train"), "--labels",
               str(work / "train" / "labels.csv"), "--out", str(out), "--calibration", cal,
               "--seed", str(seed), "-q"], work / "train.log")
    if res.returncode != 0:
        raise RuntimeError(f"train failed rc={res.returncode}: {res.stderr[-2000:]}")
    return out


def score(model: Path, work: Path, tag: str, test: str = "test") -> list[dict[str, Any]]:
    """``wheel-model score`` per test camera; rows = score line + truth."""
    rows: list[dict[str, Any]] = []
    for cam_dir in sorted((work / test).iterdir()):
        truth = {r["file"]: r for r in json.loads((cam_dir / "truth.json").read_text())}
        cal = json.loads((cam_dir / "camera.json").read_text())["calibration"]
        files = [str(cam_dir / f) for f in sorted(truth)]
        res = run([str(BIN / "wheel-model"), "score", "--model", str(model), "--calibration",
                   cal, "-q", *files], work / f"score_{tag}_{cam_dir.name}.log")
        got = {}
        for line in res.stdout.splitlines():
            if line.startswith("{"):
                d = json.loads(line)
                got[Path(d["file"]).name] = d
        for name, t in truth.items():
            rows.append({"truth": t, "out": got.get(name), "rc": res.returncode})
    (work / f"scores_{tag}.json").write_text(json.dumps(rows))
    return rows


def product_evaluate(model: Path, work: Path, tag: str, test: str = "test") -> dict[str, Any]:
    """The product's own ``wheel-model evaluate`` per camera (metrics JSON each)."""
    out: dict[str, Any] = {}
    for cam_dir in sorted((work / test).iterdir()):
        cal = json.loads((cam_dir / "camera.json").read_text())["calibration"]
        dest = work / f"eval_{tag}_{cam_dir.name}.json"
        res = run([str(BIN / "wheel-model"), "evaluate", "--model", str(model), "--data",
                   str(cam_dir), "--labels", str(cam_dir / "labels.csv"), "--calibration", cal,
                   "--out", str(dest), "-q"], work / f"eval_{tag}_{cam_dir.name}.log")
        out[cam_dir.name] = json.loads(dest.read_text()) if res.returncode == 0 and \
            dest.exists() else {"rc": res.returncode, "error": res.stderr[-500:]}
    return out


def main(argv: list[str] | None = None) -> int:
    """Build sets, train, score (trained + extra models), write ``report_*.json``."""
    from tests.blind.metrics import summarise, text_table

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("work", type=Path)
    ap.add_argument("--model", action="append", default=[], help="extra model dir(s) to score")
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--product-evaluate", action="store_true")
    ap.add_argument("--test", default="test", help="test set folder name under WORK")
    ap.add_argument("--harsh", action="store_true", help="benign variation at range tops")
    ap.add_argument("--size-mix", type=float, default=0.5, help="share of small-end defects")
    ap.add_argument("--wobble-mm", type=float, default=0.3, help="largest lateral runout")
    a = ap.parse_args(argv)
    build_sets(a.work, size_mix=a.size_mix, test=a.test, harsh=a.harsh, wobble_mm=a.wobble_mm)
    models = [] if a.skip_train else [("trained", train(a.work))]
    models += [(Path(m).name, Path(m)) for m in a.model]
    for tag, model in models:
        tag = f"{tag}_{a.test}"
        rows = score(model, a.work, tag, a.test)
        report = summarise(rows)
        if a.product_evaluate:
            report["product_evaluate"] = product_evaluate(model, a.work, tag, a.test)
        (a.work / f"report_{tag}.json").write_text(json.dumps(report, indent=1))
        print(tag, text_table(report), sep="\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
