"""Export a trained model as a versioned directory the serving runtime loads.

    <dir>/model.keras     the Keras model (for retraining / inspection)
    <dir>/model.onnx      the same network for ONNX Runtime (serving)
    <dir>/metadata.json   version, created, training data hash, input contract,
                          preprocessing parameters, score calibration, threshold 70,
                          metrics on the evaluation set, ONNX-vs-Keras check
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from models.serving.pipeline import PreprocessParams
from models.serving.scorer import METADATA, ONNX_FILE
from models.serving.scoring import CLASSES, MODEL_FEATURES, THRESHOLD, Calibration
from models.training.evaluate import strict_json
from models.training.train import TrainConfig

ONNX_TOLERANCE = 1e-4
INPUT_CONTRACT = {
    "arrays": "dict name -> (lines, width) array as stored: 'Range' (+ 'Intensity') or "
              "'Range X'/'Range R' (FLOAT mm); 0 / NaN / <= -1e5 = missing",
    "traits": "camera traits {name: value} (scale z, origin z, ...), schemas.calibration",
    "calibration": "schemas.calibration.Calibration (mm_per_col, mm_per_row, line pitch)",
    "reader": "schemas.wheel_csv.read_wheel_csv or edge.sick.read_scan",
}


def data_hash(items: Iterable[tuple[str, int, bytes | str]]) -> str:
    """sha256 over (name, label, content digest) of every training file, sorted."""
    h = hashlib.sha256()
    for name, label, digest in sorted(items, key=lambda x: x[0]):
        h.update(f"{name}\t{label}\t{digest!s}\n".encode())
    return h.hexdigest()


def to_onnx(model: Any, path: Path) -> None:
    """Convert the Keras MLP to ONNX (opset 17) with input 'features', output 'probs'."""
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec((None, len(MODEL_FEATURES)), tf.float32, name="features"),)

    @tf.function(input_signature=spec)  # type: ignore[misc]
    def fn(x: Any) -> dict[str, Any]:
        return {"probs": model(x, training=False)}

    proto, _ = tf2onnx.convert.from_function(fn, input_signature=spec, opset=17)
    path.write_bytes(proto.SerializeToString())


def onnx_matches(model: Any, path: Path, x: np.ndarray) -> float:
    """Largest |ONNX - Keras| class probability over ``x`` (standardised features)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    a = np.asarray(sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32)})[0])
    b = np.asarray(model(x.astype(np.float32), training=False))
    return float(np.abs(a - b).max())


def export(model: Any, cal: Calibration, out_dir: str | Path, *, params: PreprocessParams,
           cfg: TrainConfig, data_sha256: str, metrics: dict[str, Any],
           check_inputs: np.ndarray, extra: dict[str, Any] | None = None) -> Path:
    """Write the model directory; raises if ONNX and Keras disagree beyond tolerance."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    to_onnx(model, out / ONNX_FILE)
    diff = onnx_matches(model, out / ONNX_FILE, check_inputs)
    if diff > ONNX_TOLERANCE:
        raise RuntimeError(f"ONNX export differs from Keras by {diff:.2e} > {ONNX_TOLERANCE}")
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    created = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    meta = {
        "version": f"{created:%Y%m%d.%H%M%S}-{data_sha256[:8]}-s{cfg.seed}",
        "created": created.isoformat(timespec="seconds"),
        "training_data_sha256": data_sha256,
        "framework": "keras/tensorflow -> onnx (tf2onnx opset 17)",
        "onnx": ONNX_FILE,
        "keras": "model.keras",
        "onnx_max_abs_diff": diff,
        "input_contract": INPUT_CONTRACT,
        "classes": list(CLASSES),
        "preprocessing": params.to_dict(),
        "calibration": cal.to_dict(),
        "threshold": THRESHOLD,
        "training": asdict(cfg),
        "metrics": strict_json(metrics),
        **(extra or {}),
    }
    text = json.dumps(meta, indent=1, default=_jsonable, allow_nan=False)
    (out / METADATA).write_text(text + "\n")
    return out


def _jsonable(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)
