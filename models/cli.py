"""``wheel-model``: train, evaluate and score wheel classifiers.

    wheel-model train --data DIR --labels CSV --out DIR [--seed N]
    wheel-model evaluate --model DIR --data DIR --labels CSV [--out JSON] [--report PNG]
    wheel-model score --model DIR FILE...

Files are SICK ``.dat``/``.xml`` scans or per-wheel CSVs (``file,label`` with good|bad,
paths relative to ``--data``). Exit codes: 0 ok, 1 failure, 2 usage / input error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from schemas.calibration import Calibration
from schemas.errors import ContractError, ScanFormatError, ScoringError, WheelWatchError

log = logging.getLogger(__name__)


def _calibration(text: str | None) -> Calibration | None:
    if text is None:
        return None
    try:
        return Calibration.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wheel-model", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    cal_help = ("camera calibration 'mm_per_col,mm_per_row,mm_per_line' for .dat scans "
                "(default: the CSV metadata or a simulator .truth.json beside the scan)")
    t = sub.add_parser("train", help="train and export a model directory")
    t.add_argument("--data", required=True, type=Path, help="folder with the labelled files")
    t.add_argument("--labels", required=True, type=Path, help="CSV file,label (good|bad)")
    t.add_argument("--out", required=True, type=Path, help="model directory to write")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--implants", type=int, default=4, help="implanted defects per good wheel")
    t.add_argument("--calibration", help=cal_help)
    e = sub.add_parser("evaluate", help="metrics JSON and a PNG report on labelled files")
    e.add_argument("--model", required=True, type=Path, help="model directory")
    e.add_argument("--data", required=True, type=Path)
    e.add_argument("--labels", required=True, type=Path)
    e.add_argument("--out", type=Path, help="write the metrics JSON here (default stdout)")
    e.add_argument("--report", type=Path, help="PNG report path (default beside --out)")
    e.add_argument("--calibration", help=cal_help)
    s = sub.add_parser("score", help="one JSON line per file: file, score, defect, location")
    s.add_argument("--model", required=True, type=Path, help="model directory")
    s.add_argument("files", nargs="+", type=Path)
    s.add_argument("--calibration", help=cal_help)
    for sp in (t, e, s):
        sp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def _train(a: argparse.Namespace, cal: Calibration | None) -> int:
    from models.serving.pipeline import PreprocessParams
    from models.training.evaluate import strict_json
    from models.training.train import TrainConfig
    from models.training.workflow import load_samples, train_and_export

    params = PreprocessParams()
    samples, sha = load_samples(a.data, a.labels, params, cal, progress=not a.quiet)
    cfg = TrainConfig(seed=a.seed, implants_per_good=a.implants)
    path, cv = train_and_export(samples, sha, a.out, cfg, params, progress=not a.quiet)
    print(json.dumps(strict_json({"model": str(path), "cross_validation": cv}), default=str))
    return 0


def _evaluate(a: argparse.Namespace, cal: Calibration | None) -> int:
    from models.training.evaluate import strict_json
    from models.training.workflow import evaluate_dir, write_json

    report = a.report or (a.out.with_suffix(".png") if a.out else Path("evaluation.png"))
    out = evaluate_dir(a.model, a.data, a.labels, cal, report, progress=not a.quiet)
    if a.out:
        write_json(out, a.out)
    print(json.dumps(strict_json(out), default=str, indent=None if a.out else 1))
    return 1 if out["errors"] else 0


def _score(a: argparse.Namespace, cal: Calibration | None) -> int:
    from models.scanfile import read_wheel_file
    from models.serving.scorer import Scorer

    scorer = Scorer.load(a.model)
    failed = 0
    for f in a.files:
        try:
            wf = read_wheel_file(f, cal)
            ws = scorer.score(wf.arrays, wf.traits, wf.calibration)
        except WheelWatchError as exc:
            print(f"wheel-model score: {exc}", file=sys.stderr)
            failed += 1
            continue
        line = {"file": str(f), "score": ws.score, "defect": ws.defect,
                "location": ws.to_dict()["location"], "model_version": ws.model_version}
        print(json.dumps(line), flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``wheel-model``."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    a = _parser().parse_args(argv)
    try:
        cal = _calibration(a.calibration)
    except argparse.ArgumentTypeError as exc:
        print(f"wheel-model: --calibration: {exc}", file=sys.stderr)
        return 2
    try:
        return int({"train": _train, "evaluate": _evaluate, "score": _score}[a.cmd](a, cal))
    except (ContractError, ScanFormatError) as exc:
        print(f"wheel-model {a.cmd}: {exc}", file=sys.stderr)
        return 2
    except ScoringError as exc:
        print(f"wheel-model {a.cmd}: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"wheel-model {a.cmd}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
