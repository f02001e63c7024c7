"""Inference runtime (numpy + scipy + onnxruntime; never TensorFlow, never edge).

    from models.serving import Scorer
    scorer = Scorer.load("models/default")        # metadata.json + model.onnx
    ws = scorer.score(arrays, traits, calibration)  # or scorer.score_wheel_data(read_wheel_csv(p))
    ws.score (0-100, confidence good; < scorer.threshold = 70 is bad), ws.defect,
    ws.location (line, column, along_mm, across_mm), ws.heatmap_png(), ws.to_dict()
"""

from models.serving.scorer import Location, Scorer, WheelScore

__all__ = ["Location", "Scorer", "WheelScore"]
