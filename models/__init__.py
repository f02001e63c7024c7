"""WheelWatch wheel classifier: physics preprocessing, Keras training, ONNX serving.

- ``models.serving`` (no TensorFlow, no edge): ``Scorer.load(dir).score(arrays, traits,
  calibration) -> WheelScore``; the preprocessing shared with training lives here.
- ``models.training`` (Keras/TensorFlow): implants, training, cross-validated score
  calibration, evaluation, export of a versioned model directory.
- ``models.cli`` (``wheel-model train|evaluate|score``), ``models.build_default``
  (``make model`` -> ``models/default/``).
"""
