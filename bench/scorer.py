"""Scorer start-up and per-wheel latency: ONNX Runtime serving vs the Keras model.

Cases: cold load in a fresh process (import + Scorer.load) against importing
TensorFlow and loading model.keras; per-wheel scoring of a 1100 x 600 Ranger E55 scan
(preprocessing + model) on one core, against the same preprocessing + Keras predict.
Times are CPU seconds of the measuring process (the machine is shared).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

MODEL = Path(__file__).resolve().parents[1] / "models" / "default"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
       "TF_CPP_MIN_LOG_LEVEL": "3"}


def _cold(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=ENV, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _wheel() -> tuple[dict[str, np.ndarray], dict[str, str], Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.models.indep_gen import Setting, make_wheel

    w = make_wheel(np.random.default_rng(1), Setting(lines=(1100, 1100),
                                                    mm_per_col=(0.15, 0.15)))
    return w.arrays, w.traits, w.calibration


def _per_wheel(fn: Any, n: int = 10) -> float:
    """CPU seconds of this process per call (robust to other jobs on a shared machine)."""
    fn()
    t0 = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - t0) / n


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
    arrays, traits, cal = _wheel()
    prep_t = _per_wheel(lambda: prepare(arrays, traits, cal, scorer.params))
    onnx_t = _per_wheel(lambda: scorer.score(arrays, traits, cal))
    import keras

    model = keras.saving.load_model(MODEL / "model.keras")

    def keras_score() -> None:
        p = prepare(arrays, traits, cal, scorer.params)
        model(standardise(transform(p.features.values[None, :]), scorer.calibration))

    keras_t = _per_wheel(keras_score)
    return [
        {"case": "cold start", "metric": "import+load", "value": round(load, 3), "unit": "cpu s",
         "baseline": round(keras_load, 3), "ratio": round(keras_load / load, 1),
         "note": "baseline: import keras/TF + load model.keras"},
        {"case": "1100x600 E55 wheel", "metric": "score", "value": round(onnx_t, 4),
         "unit": "cpu s", "baseline": round(keras_t, 4), "ratio": round(keras_t / onnx_t, 2),
         "note": "baseline: same preprocessing + Keras"},
        {"case": "1100x600 E55 wheel", "metric": "preprocess only", "value": round(prep_t, 4),
         "unit": "cpu s"},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
