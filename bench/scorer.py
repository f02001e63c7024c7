"""Scorer start-up and per-wheel latency: ONNX Runtime serving vs the Keras model.

Cases: cold load in a fresh process (import + Scorer.load) against importing
TensorFlow and loading model.keras; per-wheel scoring (preprocessing + model, one core)
of Ranger E55 scans from the edge simulator at 1100 px x 600 lines and 1536 px x 1000
lines, and of one wheel of the independent test generator (1033 px x 1106 lines),
against the same preprocessing + Keras predict. The issue's target is <= 20 ms per wheel.
Times are CPU seconds of the measuring process (the machine is shared): the median of
single calls, so a burst of other work does not skew a row.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "default"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
       "TF_CPP_MIN_LOG_LEVEL": "3"}
Wheel = tuple[dict[str, np.ndarray], Any, Any]


def _cold(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=ENV, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _simulated(width: int, lines: int, seed: int) -> Wheel:
    """A good E55 wheel from the edge simulator (what the edge publishes)."""
    from edge.simulator.camera import ranger_e55
    from edge.simulator.scan import simulate_scan
    from edge.simulator.wheel import random_wheel

    rng = np.random.default_rng(seed)
    scan = simulate_scan(random_wheel(rng), ranger_e55(width=width, lines_per_rev=lines), rng)
    return scan.arrays, scan.traits, scan.calibration


def _independent() -> Wheel:
    """One wheel of the independent generator (tests/models/indep_gen.py)."""
    sys.path.insert(0, str(ROOT))
    from tests.models.indep_gen import Setting, make_wheel

    w = make_wheel(np.random.default_rng(1), Setting(lines=(1100, 1100),
                                                    mm_per_col=(0.15, 0.15)))
    return w.arrays, w.traits, w.calibration


def _per_wheel(fn: Callable[[], Any], n: int = 15) -> float:
    """Median CPU seconds of this process per call (robust to other jobs)."""
    fn()
    times = []
    for _ in range(n):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return float(np.median(times))


def _cases() -> list[tuple[str, Wheel]]:
    return [("E55 1100px x 600 lines", _simulated(1100, 600, 3)),
            ("E55 1536px x 1000 lines", _simulated(1536, 1000, 3)),
            ("indep-gen E55 1033px x 1106 lines", _independent())]


def run() -> list[dict[str, Any]]:
    """Benchmark rows (seconds)."""
    load = _cold("import time; t=time.process_time(); from models.serving.scorer import Scorer;"
                 f" Scorer.load({str(MODEL)!r}); print(time.process_time()-t)")
    keras_load = _cold("import time; t=time.process_time(); import keras;"
                       f" keras.saving.load_model({str(MODEL / 'model.keras')!r});"
                       " print(time.process_time()-t)")
    from models.serving.pipeline import prepare
    from models.serving.scorer import Scorer
    from models.serving.scoring import standardise, transform

    scorer = Scorer.load(MODEL)
    import keras

    model = keras.saving.load_model(MODEL / "model.keras")
    rows: list[dict[str, Any]] = [
        {"case": "cold start", "metric": "import+load", "value": round(load, 3),
         "unit": "cpu s", "baseline": round(keras_load, 3),
         "ratio": round(keras_load / load, 1),
         "note": "baseline: import keras/TF + load model.keras"}]
    for name, (arrays, traits, cal) in _cases():
        def keras_score(a: Any = arrays, t: Any = traits, c: Any = cal) -> None:
            p = prepare(a, t, c, scorer.params, intensity=False)
            model(standardise(transform(p.features.values[None, :]), scorer.calibration))

        prep_t = _per_wheel(lambda a=arrays, t=traits, c=cal:
                            prepare(a, t, c, scorer.params, intensity=False))
        onnx_t = _per_wheel(lambda a=arrays, t=traits, c=cal: scorer.score(a, t, c))
        keras_t = _per_wheel(keras_score)
        rows += [
            {"case": name, "metric": "score", "value": round(onnx_t, 4), "unit": "cpu s",
             "baseline": round(keras_t, 4), "ratio": round(keras_t / onnx_t, 2),
             "note": "baseline: same preprocessing + Keras; target 0.020"},
            {"case": name, "metric": "preprocess only", "value": round(prep_t, 4),
             "unit": "cpu s"}]
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
