"""The Keras network: a small MLP over the physical features (TensorFlow backend)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from models.serving.scoring import CLASSES

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def build_mlp(n_features: int, hidden: tuple[int, int]) -> Any:
    """features (standardised) -> softmax over CLASSES."""
    import keras

    inp = keras.Input((n_features,), name="features")
    x = keras.layers.Dense(hidden[0], activation="relu")(inp)
    x = keras.layers.Dropout(0.1)(x)
    x = keras.layers.Dense(hidden[1], activation="relu")(x)
    out = keras.layers.Dense(len(CLASSES), activation="softmax", name="probs")(x)
    return keras.Model(inp, out, name="wheel_mlp")


def fit_mlp(x: np.ndarray, y: np.ndarray, w: np.ndarray, cfg: Any) -> Any:
    """Train deterministically (seeded) with class-balanced sample weights."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(cfg.seed)
    tf.config.experimental.enable_op_determinism()
    good = y[:, 0] > 0.5
    w = w.astype(np.float32).copy()
    w[good] *= (~good).sum() / max(good.sum(), 1)
    model = build_mlp(x.shape[1], cfg.hidden)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="categorical_crossentropy")
    model.fit(x.astype(np.float32), y.astype(np.float32), sample_weight=w, epochs=cfg.epochs,
              batch_size=64, verbose=0, shuffle=True)
    return model
