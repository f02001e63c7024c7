"""Whole wheels and labelled data sets: ``make_dataset`` and a small CLI."""

from __future__ import annotations

import argparse
import csv
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from tests.blind.gen import camera as cam_mod
from tests.blind.gen.camera import CAMERAS, CameraSpec
from tests.blind.gen.defects import STAMPS, Stamp
from tests.blind.gen.params import DEFECT_TYPES, sample_defect_params, sample_wheel, size_bin
from tests.blind.gen.surface import benign_dropouts, clean_height, intensity, make_grid

MIN_VISIBLE = 6  # a defect must change at least this many points visibly, else re-placed


def _visible(st: Stamp, noise: float) -> int:
    thr = max(0.1, 3 * noise)
    return int(np.count_nonzero((np.abs(st.dh) > thr) | st.miss))


def _apply(st: Stamp, h: np.ndarray, inten: np.ndarray, miss: np.ndarray) -> None:
    h[st.rows] += st.dh
    inten[st.rows] *= st.gain
    miss[st.rows] |= st.miss


def _defect(rng: np.random.Generator, kind: str, small: bool, grid: Any, w: Any,
            h: np.ndarray) -> tuple[Stamp, dict[str, Any]]:
    params = sample_defect_params(rng, kind, small)
    placements = 0
    while True:
        placements += 1
        st = STAMPS[kind](rng, params, grid, w, h)
        vis = _visible(st, w.noise_mm)
        if vis >= MIN_VISIBLE or placements >= 12:
            break
    centre = st.rows[np.argmin(np.abs(st.rows - st.rows.mean()))] if st.rows.size else 0
    col = int(np.argmin(np.abs(grid.x[centre] - st.x_mm)))
    truth = {"type": kind, "params": params, "small_draw": small,
             "size_bin": size_bin(kind, params), "s_mm": st.s_mm, "x_mm": st.x_mm,
             "line": int(centre), "col": col, "visible_points": vis,
             "placements": placements, "max_dev_mm": float(np.abs(st.dh).max()),
             **{k: float(v) for k, v in st.extra.items()}}
    return st, truth


def build_wheel(rng: np.random.Generator, cam: CameraSpec, kinds: list[str],
                small_frac: float, harsh: bool = False, wobble_mm: float = 0.3
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Height (NaN = missing), intensity, column mm and truth of one wheel."""
    w = sample_wheel(rng, cam.diameter, cam.tread, harsh, wobble_mm)
    grid = make_grid(rng, w, cam.mm_per_line, cam.width, cam.mm_per_col)
    h, tread = clean_height(rng, w, grid)
    inten = intensity(rng, w, grid, tread)
    miss = np.zeros(h.shape, dtype=bool)
    defects = []
    for kind in kinds:
        st, truth = _defect(rng, kind, bool(rng.random() < small_frac), grid, w, h)
        _apply(st, h, inten, miss)
        defects.append(truth)
    benign = benign_dropouts(rng, w, grid, tread)
    h = h + rng.normal(0, w.noise_mm, size=h.shape) + np.where(
        tread, 0, rng.normal(0, 0.15, size=h.shape))
    back_missing = bool(rng.random() < 0.5)
    miss |= benign | (~tread & (back_missing | (rng.random(h.shape) < 0.2)))
    h[miss] = np.nan
    inten[miss] = rng.uniform(0, 8, size=int(miss.sum()))
    truth = {"wheel": asdict(w), "lines": int(h.shape[0]), "width": int(h.shape[1]),
             "tread_points": int(tread.sum()),
             "benign_dropout_frac": float(benign.sum() / max(tread.sum(), 1)),
             "background_missing": back_missing, "defects": defects}
    return h, inten, grid.x, truth


def _kinds(rng: np.random.Generator, bad: bool) -> list[str]:
    if not bad:
        return []
    n = int(rng.choice([1, 1, 1, 2, 3]))
    return [str(k) for k in rng.choice(DEFECT_TYPES, size=n)]


def make_dataset(out_dir: str | Path, n_good: int, n_bad: int, camera: str | CameraSpec,
                 seed: int, size_mix: float = 0.5, prefix: str = "", harsh: bool = False,
                 wobble_mm: float = 0.3) -> list[dict[str, Any]]:
    """Write ``n_good`` + ``n_bad`` scans of ``camera`` into ``out_dir``.

    ``size_mix`` = share of defects drawn from the small end of the catalogue (the rest
    over the full range). Writes ``<name>.dat/.xml``, ``<name>.blind.json`` (truth),
    ``labels.csv`` (``file,label``; files relative to ``out_dir``), ``truth.json`` (all
    records) and ``camera.json`` (spec + calibration string). ``harsh``: benign
    variation at the top of its ranges; ``wobble_mm``: largest lateral runout of the
    tread (0 = none). Returns the records.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cam = CAMERAS[camera] if isinstance(camera, str) else camera
    rng = np.random.default_rng(seed)
    labels = ["bad"] * n_bad + ["good"] * n_good
    rng.shuffle(labels)
    records = []
    for i, label in enumerate(labels):
        wr = np.random.default_rng([seed, i])
        kinds = _kinds(wr, label == "bad")
        h, inten, x, truth = build_wheel(wr, cam, kinds, size_mix, harsh, wobble_mm)
        name = f"{prefix}{cam.name}_{seed}_{i:04d}"
        facts = cam_mod.write(out / f"{name}.dat", cam, h, inten, x, wr)
        rec = {"file": f"{name}.dat", "label": label, "camera": cam.name, "harsh": harsh,
               "calibration": cam.calibration, **facts, **truth}
        (out / f"{name}.blind.json").write_text(json.dumps(rec, indent=1))
        records.append(rec)
    with (out / "labels.csv").open("w", newline="") as f:
        wcsv = csv.writer(f)
        wcsv.writerow(["file", "label"])
        wcsv.writerows([r["file"], r["label"]] for r in records)
    (out / "truth.json").write_text(json.dumps(records))
    (out / "camera.json").write_text(json.dumps({**cam.as_dict(), "calibration": cam.calibration}))
    return records


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.blind.gen.dataset OUT --good N --bad N --camera NAME --seed S``."""
    ap = argparse.ArgumentParser(description="independent WHEELS.md scan generator")
    ap.add_argument("out")
    ap.add_argument("--good", type=int, default=10)
    ap.add_argument("--bad", type=int, default=3)
    ap.add_argument("--camera", default="e55_site", choices=sorted(CAMERAS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size-mix", type=float, default=0.5)
    a = ap.parse_args(argv)
    make_dataset(a.out, a.good, a.bad, a.camera, a.seed, a.size_mix)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
