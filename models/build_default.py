"""Rebuild the default model shipped in ``models/default/`` (``make model``).

Trained on wheels from the project's simulator (``edge.simulator``): one Ranger E55
camera, ``N_GOOD`` good and ``N_BAD`` bad wheels, seed fixed, so a new site and the demo
work from day one. Same seed -> same weights (the version string carries the time).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from models.scanfile import truth_defects
from models.serving.pipeline import PreprocessParams, grid_of
from models.training.export import data_hash
from models.training.train import Sample, TrainConfig
from models.training.workflow import train_and_export

DEFAULT_DIR = Path(__file__).with_name("default")
N_GOOD, N_BAD, SEED = 120, 8, 20261127


def simulated_samples(n_good: int, n_bad: int, seed: int, params: PreprocessParams,
                      width: int = 600) -> tuple[list[Sample], str]:
    """Good and bad simulated E55 wheels on the grid, and a hash of what was drawn."""
    from edge.simulator import random_camera, random_defects, simulate_scan
    from edge.simulator.wheel import random_wheel

    rng = np.random.default_rng(seed)
    samples, items = [], []
    for i in range(n_good + n_bad):
        label = int(i >= n_good)
        wheel = random_wheel(rng)
        cam = random_camera("ranger_e55", rng, tread_width_mm=wheel.tread_width_mm,
                            width=width, lines_per_rev=int(rng.integers(600, 1400)))
        defects = random_defects(rng, wheel) if label else []
        scan = simulate_scan(wheel, cam, rng, defects=defects)
        grid = grid_of(scan.arrays, scan.traits, scan.calibration, params, wheel.diameter_mm)
        samples.append(Sample(f"sim{i:04d}", label, grid, truth_defects(scan.truth)))
        items.append((f"sim{i:04d}", label, f"seed{seed}-w{width}"))
    return samples, data_hash(items)


def main(argv: list[str] | None = None) -> int:
    """Train on simulated wheels and export to ``--out`` (default models/default)."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, default=DEFAULT_DIR)
    p.add_argument("--good", type=int, default=N_GOOD)
    p.add_argument("--bad", type=int, default=N_BAD)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("-q", "--quiet", action="store_true")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    params = PreprocessParams()
    samples, sha = simulated_samples(a.good, a.bad, a.seed, params)
    cfg = TrainConfig(seed=a.seed % 2**31)
    path, cv = train_and_export(samples, sha, a.out, cfg, params, progress=not a.quiet)
    keras_file = path / "model.keras"
    print(json.dumps({"model": str(path), "auroc_cv": cv["auroc"],
                      "keras_bytes": keras_file.stat().st_size}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
