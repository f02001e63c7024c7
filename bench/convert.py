"""Benchmark: read an iCon scan and convert it to the per-wheel CSV.

Cases: a 2560x2000 Ranger3 scan (Range, Intensity, Scatter, Mark 5xINT) and a
1536x1000 Ranger E scan (Mark 2xINT, Intensity, Range), generated with realistic
arrays (crowned tread, noise, dropouts, background columns) by ``write_scan`` in a
temporary folder; plus the read of a 2560x3000 Ranger3 scan.

Baseline, same process, same table: ``pandas.DataFrame(columns).to_csv(index=False)``.
Our convert, our CSV write and the baseline run interleaved, ``REPEATS`` rounds (the
order rotates each round), so a burst of load on the shared machine hits both sides
alike; figures are medians, ``ratio`` is the median of the per-round ratios (baseline
time / our time), and each row records the min/max of its runs (``*_min``/``*_max``
keys, summarised in the note). Peak memory is the growth of the resident set (VmHWM
after resetting it through /proc/self/clear_refs) during the step.
"""

from __future__ import annotations

import gc
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.convert import convert_scan, scan_columns, write_csv
from edge.sick import encode_status, read_scan, write_scan

RANGER3_TRAITS = {"fov z2": "13311", "origin x": "0", "scale x": "1",
                  "origin z": "0", "scale z": "0.0625"}
RANGER_E_TRAITS = {"fov z2": "8191", "origin x": "0", "scale x": "1",
                   "origin z": "510.875", "scale z": "-0.0625"}


def realistic_arrays(lines: int, width: int, *, ranger3: bool, seed: int = 0
                     ) -> dict[str, np.ndarray]:
    """Range/Intensity(/Scatter)/Mark of a wheel: crowned tread, noise, 2 % dropouts."""
    rng = np.random.default_rng(seed)
    col = np.linspace(-1.0, 1.0, width, dtype=np.float32)
    tread = np.abs(col) < 0.7
    profile = 4000 + 600 * (1 - (col / 0.7) ** 2) + 40 * np.sin(np.arange(lines) / 50)[:, None]
    rng_vals = profile + rng.normal(0, 6, (lines, width))
    rng_vals = np.clip(rng_vals, 1, 8169).astype(np.uint16)
    rng_vals[:, ~tread] = 0
    rng_vals[rng.random((lines, width)) < 0.02] = 0
    inten = np.where(tread, rng.normal(120, 25, (lines, width)), rng.normal(8, 3, (lines, width)))
    arrays = {"Range": rng_vals, "Intensity": np.clip(inten, 0, 255).astype(np.uint8)}
    mark = np.zeros((lines, 5 if ranger3 else 2), dtype=np.int32)
    mark[:, 0] = np.cumsum(rng.integers(3, 5, lines)).astype(np.int32)
    mark[:, 1] = encode_status(enable=True, low16=np.arange(lines) * 7)
    if ranger3:
        arrays["Scatter"] = rng.integers(0, 40, (lines, width)).astype(np.uint8)
        mark[:, 2] = np.arange(lines, dtype=np.int32) * 250
        arrays["Mark"] = mark
        return arrays
    return {"Mark": mark, "Intensity": arrays["Intensity"], "Range": arrays["Range"]}


def _write(folder: Path, name: str, lines: int, width: int, ranger3: bool) -> Path:
    arrays = realistic_arrays(lines, width, ranger3=ranger3)
    dat, _ = write_scan(
        folder / f"{name}.dat", arrays,
        component_name="Ranger3Range" if ranger3 else "Hi3D 1",
        component_valuetype="Hi3D" if ranger3 else "DCM", traits_tag="sensorrangetraits",
        traits=RANGER3_TRAITS if ranger3 else RANGER_E_TRAITS,
    )
    return dat


def _rss_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def measure(fn: Callable[[], Any], collect: bool = True) -> tuple[float, float | None]:
    """(seconds, peak resident growth in MB or None) of one call of ``fn``."""
    if collect:
        gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
        start = _rss_kb("VmRSS")
    except OSError:
        start = None
    t0 = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - t0
    peak = _rss_kb("VmHWM")
    return elapsed, (peak - start) / 1024 if start is not None and peak else None


def _median_time(fn: Callable[[], Any], repeat: int) -> float:
    gc.collect()
    return statistics.median(measure(fn, collect=False)[0] for _ in range(repeat))


#: Interleaved rounds of (our convert, our CSV write, pandas baseline) per case.
REPEATS = 5


def interleaved(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Seconds of ``repeats`` runs of each function, run in rounds whose order rotates
    (round i starts with function i mod n): shared-machine noise hits all alike."""
    names = list(fns)
    times: dict[str, list[float]] = {n: [] for n in names}
    for i in range(repeats):
        k = i % len(names)
        for name in names[k:] + names[:k]:
            gc.collect()
            times[name].append(measure(fns[name], collect=False)[0])
    return times


@dataclass(frozen=True)
class Paired:
    """Our figures and the baseline's from the same interleaved rounds, and per-round
    ratios (how many times better we are)."""

    ours: list[float]
    base: list[float]
    ratios: list[float]
    unit: str = "s"

    @classmethod
    def times(cls, ours: list[float], base: list[float]) -> Paired:
        """Seconds (lower is better): ratio = baseline / ours per round."""
        return cls(ours, base, [b / a for a, b in zip(ours, base, strict=True)])

    def fields(self) -> dict[str, Any]:
        """value/baseline/ratio (medians) and the min/max of each."""
        out: dict[str, Any] = {"repeats": len(self.ratios)}
        for key, vals in (("value", self.ours), ("baseline", self.base),
                          ("ratio", self.ratios)):
            out |= {key: statistics.median(vals), f"{key}_min": min(vals),
                    f"{key}_max": max(vals)}
        return out

    def note(self) -> str:
        """Spread of the runs, for the table."""
        return (f"median of {len(self.ratios)} interleaved runs; ours {min(self.ours):.3g}-"
                f"{max(self.ours):.3g} {self.unit}, baseline {min(self.base):.3g}-"
                f"{max(self.base):.3g} {self.unit}, ratio {min(self.ratios):.3g}-"
                f"{max(self.ratios):.3g}")


def _pandas_baseline(columns: dict[str, np.ndarray], path: Path) -> None:
    import pandas as pd

    pd.DataFrame(columns).to_csv(path, index=False)


def _peak_step(kind: str, dat: str, out: str) -> float | None:
    """In a fresh process: peak RSS growth (MB) of one convert or one baseline write."""
    if kind == "convert":
        return measure(lambda: convert_scan(dat, out))[1]
    columns = scan_columns(read_scan(dat))
    return measure(lambda: _pandas_baseline(columns, Path(out) / "baseline.csv"))[1]


def _peak_mb(kind: str, dat: Path, out: Path) -> float | None:
    """Run :func:`_peak_step` in a spawned child so freed memory of earlier steps
    kept by this process's allocators cannot hide the peak."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_peak_step, (kind, str(dat), str(out)))


def _case(folder: Path, case: str, dat: Path, peak: bool = True,
          repeats: int = REPEATS) -> list[dict[str, Any]]:
    out = folder / "out"
    read_ms = _median_time(lambda: read_scan(dat), 20) * 1e3
    touch_s = _median_time(lambda: [np.array(a) for a in read_scan(dat).arrays.values()], 5)
    columns = scan_columns(read_scan(dat))
    base_path = folder / "baseline.csv"
    t = interleaved({"convert": lambda: convert_scan(dat, out),
                     "write": lambda: write_csv(columns, folder / "ours.csv"),
                     "baseline": lambda: _pandas_baseline(columns, base_path)}, repeats)
    conv = Paired.times(t["convert"], t["baseline"])
    write = Paired.times(t["write"], t["baseline"])
    csv_mb = (out / f"{dat.stem}.csv").stat().st_size / 1e6
    base_mb = base_path.stat().st_size / 1e6
    base_path.unlink()
    ours, base = [csv_mb / x for x in t["convert"]], [base_mb / x for x in t["baseline"]]
    mbps = Paired(ours, base, [o / b for o, b in zip(ours, base, strict=True)], "MB/s")
    convert_peak, base_peak = (
        (_peak_mb("convert", dat, out), _peak_mb("baseline", dat, folder)) if peak
        else (None, None)
    )
    return [
        {"case": case, "metric": "read_scan", "value": read_ms, "unit": "ms",
         "note": "mmap, lazy"},
        {"case": case, "metric": "read+copy arrays", "value": touch_s * 1e3, "unit": "ms"},
        {"case": case, "metric": "convert", "unit": "s", **conv.fields(),
         "note": "read+sha256+polars CSV+meta vs pandas to_csv alone; " + conv.note()},
        {"case": case, "metric": "CSV write only", "unit": "s", **write.fields(),
         "note": "polars vs pandas to_csv; " + write.note()},
        {"case": case, "metric": "CSV throughput", "unit": "MB/s", **mbps.fields(),
         "note": "CSV MB / convert s vs / pandas s; " + mbps.note()},
        {"case": case, "metric": "CSV size", "value": csv_mb, "unit": "MB",
         "baseline": base_mb, "note": "same table"},
        {"case": case, "metric": "peak memory", "value": convert_peak, "unit": "MB",
         "baseline": base_peak, "note": "RSS growth, fresh process"},
    ]


#: (case name, lines, width, Ranger3?) converted and compared with the baseline.
CASES: tuple[tuple[str, int, int, bool], ...] = (
    ("ranger3 2560x2000", 2000, 2560, True),
    ("ranger_e 1536x1000", 1000, 1536, False),
)
#: (lines, width) of the Ranger3 scan whose read time is measured.
BIG_READ = (3000, 2560)


def run(cases: tuple[tuple[str, int, int, bool], ...] = CASES,
        big_read: tuple[int, int] = BIG_READ, peak: bool = True, repeats: int = REPEATS
        ) -> list[dict[str, Any]]:
    """All convert measurements as benchmark rows (``peak``: measure peak memory in
    spawned processes; ``repeats``: interleaved rounds per case)."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-convert-") as tmp:
        folder = Path(tmp)
        for case, lines, width, r3 in cases:
            dat = _write(folder, f"Cam_0{1 if r3 else 2}_20261127_142301_512", lines, width, r3)
            rows += _case(folder, case, dat, peak, repeats)
            for p in [*folder.glob("*.*"), *folder.glob("out/*")]:
                p.unlink()
        lines, width = big_read
        dat = _write(folder, "Cam_01_20261127_150000_000", lines, width, True)
        read_ms = _median_time(lambda: read_scan(dat), 20) * 1e3
        rows.append({"case": f"ranger3 {width}x{lines}", "metric": "read_scan",
                     "value": read_ms, "unit": "ms",
                     "note": f"{dat.stat().st_size / 1e6:.0f} MB .dat"})
    return rows
