"""wheel-sim: write simulated SICK iCon wheel scans, training sets and ride passes.

Examples:

    wheel-sim scan --camera ranger3 --defect crack --out DIR
    wheel-sim dataset --good 150 --bad 10 --out DIR          # + DIR/labels.csv
    wheel-sim pass --site-dir DIR --train T1 --inject T1-L03:chunking --drop T1-R05
    wheel-sim config --site-dir DIR --out DIR/site.toml      # site config for that map

Everything is deterministic for a given --seed (and --start for passes).
Exit codes: 0 ok, 1 failure, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast, get_args

import numpy as np

from edge.simulator.camera import CameraModel, CameraSpec, random_camera
from edge.simulator.catalogue import SizeClass, random_defect, random_defects
from edge.simulator.defects import DEFECT_KINDS, DefectKind
from edge.simulator.scan import simulate_scan, write_sim_scan
from edge.simulator.site import Progress, SiteSimulator
from edge.simulator.wheel import random_wheel
from edge.simulator.wheelmap import demo_trains
from schemas.errors import ConfigError, WheelWatchError

log = logging.getLogger(__name__)
MODELS: tuple[str, ...] = get_args(CameraModel)
DEFAULT_START = "2026-11-27T14:23:00+00:00"


def _time(text: str) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0,
                   help="random seed (default 0): same seed, same files")
    p.add_argument("--width", type=int, help="columns (default: the camera's full width)")
    p.add_argument("--lines", type=int, help="lines per revolution (default: random 400-3000)")
    p.add_argument("--size", choices=get_args(SizeClass), default="any",
                   help="defect sizes: whole range, small end only (hard cases) or large")
    p.add_argument("--camera-id", default="Cam_01", help="camera id in file names (default Cam_01)")
    p.add_argument("--start", type=_time, default=_time(DEFAULT_START),
                   help=f"capture time of the first scan, ISO-8601 (default {DEFAULT_START})")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def _scan_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sc = sub.add_parser("scan", help="write scans of random wheels (+ .truth.json)")
    sc.add_argument("--camera", choices=MODELS, default="ranger_e55", help="camera generation")
    sc.add_argument("--defect", action="append", choices=DEFECT_KINDS, default=[],
                    help="defect to put on each wheel (repeatable; none = good wheel)")
    sc.add_argument("--count", type=int, default=1, help="number of scans (default 1)")
    sc.add_argument("--out", type=Path, required=True, help="output folder")
    _common(sc)
    ds = sub.add_parser("dataset", help="labelled scans for training: DIR/*.dat + DIR/labels.csv")
    ds.add_argument("--good", type=int, required=True, help="number of good wheels")
    ds.add_argument("--bad", type=int, required=True, help="number of bad wheels")
    ds.add_argument("--camera", choices=(*MODELS, "mixed"), default="mixed",
                    help="camera generation, or mixed (default): random per scan")
    ds.add_argument("--kind", action="append", choices=DEFECT_KINDS, default=[],
                    help="defect kinds for bad wheels (repeatable; default: all four)")
    ds.add_argument("--out", type=Path, required=True, help="output folder")
    _common(ds)


def _pass_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ps = sub.add_parser("pass", help="a ride pass: RFID line + a scan per wheel per camera")
    ps.add_argument("--site-dir", type=Path, help="site folder (Cam_01/ Cam_02/ rfid/ truth/)")
    ps.add_argument("--config", type=Path,
                    help="site config TOML: folders, cameras, wheel map (wins over --site-dir)")
    ps.add_argument("--train", action="append", required=True, help="train id (repeatable)")
    ps.add_argument("--trains", type=int, default=2, help="demo map: trains T1..Tn (no --config)")
    ps.add_argument("--wheels-per-side", type=int, default=8, help="demo map: wheels per camera")
    ps.add_argument("--passes", type=int, default=1, help="passes per train (default 1)")
    ps.add_argument("--inject", action="append", default=[], metavar="WHEEL:KIND[:SIZE]",
                    help="put a lasting defect on a wheel before the pass (kept in "
                         "truth/sim_state.json; a wheel that already has one of that kind "
                         "keeps it and gets no second one)")
    ps.add_argument("--drop", action="append", default=[], metavar="WHEEL", help="skip this file")
    ps.add_argument("--truncate", action="append", default=[], metavar="WHEEL",
                    help="cut this wheel's .dat short")
    ps.add_argument("--unknown-tag", action="store_true", help="write a tag not in the wheel map")
    ps.add_argument("--interval", type=float, default=0.8, help="seconds between wheels")
    ps.add_argument("--gap", type=float, default=180.0, help="seconds between passes")
    ps.add_argument("--pace", type=float, default=0.0, help="real seconds to sleep between files")
    ps.add_argument("--growing", type=float, default=0.0, metavar="S",
                    help="let each .dat grow under its final name for S seconds before "
                         "its .xml appears (default: temp name + rename)")
    ps.add_argument("--seed", type=int, default=0, help="site seed: wheel identities")
    ps.add_argument("--width", type=int, help="columns (default: full camera width)")
    ps.add_argument("--start", type=_time, help="time of the first tag read (default: now)")
    ps.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def _config_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cf = sub.add_parser("config", help="print/write a site config TOML for the demo wheel map")
    cf.add_argument("--site-dir", type=Path, required=True, help="site folder")
    cf.add_argument("--site-id", default="demo", help="site id (default demo)")
    cf.add_argument("--trains", type=int, default=2, help="demo map: trains T1..Tn")
    cf.add_argument("--wheels-per-side", type=int, default=8, help="demo map: wheels per camera")
    cf.add_argument("--out", type=Path, help="write here instead of standard output")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``wheel-sim``."""
    ap = argparse.ArgumentParser(prog="wheel-sim", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    _scan_parsers(sub)
    _pass_parser(sub)
    _config_parser(sub)
    return ap


def _progress(quiet: bool, total: int) -> Progress:
    step = max(1, total // 20)

    def report(done: int, _total: int, what: str) -> None:
        if not quiet and (done % step == 0 or done == _total):
            print(f"  {done}/{_total} {what}", file=sys.stderr, flush=True)
    return report


def _camera(model: str, rng: np.random.Generator, tread: float, args: argparse.Namespace
            ) -> CameraSpec:
    m = cast(CameraModel, model if model != "mixed" else MODELS[int(rng.integers(len(MODELS)))])
    return random_camera(m, rng, tread_width_mm=tread, width=args.width, lines_per_rev=args.lines)


def cmd_scan(args: argparse.Namespace) -> int:
    """``wheel-sim scan``."""
    rng = np.random.default_rng(args.seed)
    report = _progress(args.quiet, args.count)
    for i in range(args.count):
        wheel = random_wheel(rng)
        cam = _camera(args.camera, rng, wheel.tread_width_mm, args)
        defects = [random_defect(k, rng, wheel, size=args.size) for k in args.defect]
        scan = simulate_scan(wheel, cam, rng, defects=defects)
        paths = write_sim_scan(scan, args.out, args.camera_id, args.start + timedelta(seconds=i))
        report(i + 1, args.count, f"{paths.dat} {scan.label}")
    return 0


def cmd_dataset(args: argparse.Namespace) -> int:
    """``wheel-sim dataset``: scans plus ``labels.csv`` (``file,label``)."""
    rng = np.random.default_rng(args.seed)
    labels = ["good"] * args.good + ["bad"] * args.bad
    rng.shuffle(labels)
    report = _progress(args.quiet, len(labels))
    rows = []
    for i, label in enumerate(labels):
        wheel = random_wheel(rng)
        cam = _camera(args.camera, rng, wheel.tread_width_mm, args)
        kinds = tuple(args.kind) or None
        defects = random_defects(rng, wheel, kinds=kinds, size=args.size) if label == "bad" else []
        scan = simulate_scan(wheel, cam, rng, defects=defects)
        paths = write_sim_scan(scan, args.out, args.camera_id, args.start + timedelta(seconds=i))
        rows.append((paths.dat.name, scan.label))
        report(i + 1, len(labels), f"{paths.dat.name} {scan.label}")
    with open(args.out / "labels.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows([("file", "label"), *rows])
    return 0


def _parse_inject(text: str) -> tuple[str, DefectKind, SizeClass]:
    parts = text.split(":")
    if len(parts) not in (2, 3) or parts[1] not in DEFECT_KINDS:
        raise ConfigError("--inject", f"expected WHEEL:KIND[:SIZE] with KIND in "
                          f"{', '.join(DEFECT_KINDS)}, got {text!r}")
    size = parts[2] if len(parts) == 3 else "any"
    if size not in get_args(SizeClass):
        raise ConfigError("--inject", f"SIZE must be any, small or large, got {size!r}")
    return parts[0], cast(DefectKind, parts[1]), cast(SizeClass, size)


def _site(args: argparse.Namespace) -> SiteSimulator:
    if args.config is not None:
        from schemas.config import load_config

        return SiteSimulator.from_config(load_config(args.config), seed=args.seed,
                                         width=args.width)
    if args.site_dir is None:
        raise ConfigError("--site-dir", "give --site-dir or --config")
    sim = SiteSimulator(args.site_dir, demo_trains(args.trains, args.wheels_per_side),
                        seed=args.seed)
    if args.width:
        from dataclasses import replace

        sim.cameras = {k: replace(c, spec=replace(c.spec, width=args.width))
                       for k, c in sim.cameras.items()}
    return sim


def cmd_pass(args: argparse.Namespace) -> int:
    """``wheel-sim pass``."""
    sim = _site(args)
    for train in args.train:
        if train not in sim.trains:
            known = ", ".join(sim.trains)
            raise ConfigError("--train", f"unknown train {train!r}; known: {known}")
    for spec in args.inject:
        wheel_id, kind, size = _parse_inject(spec)
        if any(d.kind == kind for d in sim.state.wheel_defects(wheel_id)):
            log.info("%s already has a %s (defects persist): not adding another", wheel_id, kind)
            continue
        sim.inject(wheel_id, kind, size=size)
    start = args.start or datetime.now(UTC)
    for n in range(args.passes):
        for k, train in enumerate(args.train):
            t0 = start + timedelta(seconds=args.gap * (n * len(args.train) + k))
            total = sum(len(v) for v in sim.trains[train].wheels.values())
            rec = sim.run_pass(train, t0, drop=args.drop, truncate=args.truncate,
                               unknown_tag=args.unknown_tag, wheel_interval_s=args.interval,
                               pace_s=args.pace, growing_s=args.growing,
                               progress=_progress(args.quiet, total))
            bad = sum(f.label == "bad" for f in rec.files)
            if not args.quiet:
                print(f"pass {rec.pass_no}: train {train} tag {rec.tag}, {len(rec.files)} scans,"
                      f" {bad} bad", file=sys.stderr)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """``wheel-sim config``: the site config matching ``wheel-sim pass --site-dir``."""
    sim = SiteSimulator(args.site_dir, demo_trains(args.trains, args.wheels_per_side))
    text = sim.config_toml(args.site_id)
    if args.out is None:
        print(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``wheel-sim``."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    handlers = {"scan": cmd_scan, "dataset": cmd_dataset, "pass": cmd_pass,
                "config": cmd_config}
    try:
        if args.cmd in ("scan", "dataset"):
            args.out.mkdir(parents=True, exist_ok=True)
        return handlers[args.cmd](args)
    except ConfigError as exc:
        print(f"wheel-sim: {exc}", file=sys.stderr)
        return 2
    except (WheelWatchError, OSError, ValueError) as exc:
        print(f"wheel-sim: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
