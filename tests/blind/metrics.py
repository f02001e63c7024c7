"""Figures computed here from ``wheel-model score`` lines and the generator's truth."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

BINS = ("small", "medium", "large")


def auroc(bad_scores: np.ndarray, good_scores: np.ndarray) -> float:
    """P(a bad wheel scores lower than a good one), ties count half."""
    if not len(bad_scores) or not len(good_scores):
        return float("nan")
    b = np.asarray(bad_scores, float)[:, None]
    g = np.asarray(good_scores, float)[None, :]
    return float(np.mean((b < g) + 0.5 * (b == g)))


def threshold_at_fa(good_scores: np.ndarray, max_fa: float = 0.01) -> float:
    """Largest t such that 'score < t = bad' flags at most ``max_fa`` of good wheels."""
    g = np.sort(np.asarray(good_scores, float))
    k = int(np.floor(max_fa * len(g)))  # allowed false alarms
    return float(g[k]) if k < len(g) else float("inf")


def _scores(rows: list[dict[str, Any]], label: str) -> np.ndarray:
    return np.array([r["out"]["score"] for r in rows
                     if r["out"] is not None and r["truth"]["label"] == label], float)


def _block(bad: np.ndarray, good: np.ndarray, t1: float) -> dict[str, Any]:
    return {"n_bad": len(bad), "auroc_vs_all_good": round(auroc(bad, good), 4),
            "recall_at_1pct_fa": round(float(np.mean(bad < t1)), 4) if len(bad) else None,
            "recall_at_70": round(float(np.mean(bad < 70)), 4) if len(bad) else None}


def _largest_bin(t: dict[str, Any]) -> str:
    return max((d["size_bin"] for d in t["defects"]), key=BINS.index)


def _miss_line(r: dict[str, Any]) -> dict[str, Any]:
    t, o = r["truth"], r["out"]
    return {"file": t["file"], "camera": t["camera"], "score": o["score"],
            "pred": {k: o.get(k) for k in ("defect", "location")},
            "wheel": {k: round(t["wheel"][k], 3) for k in
                      ("diameter_mm", "tread_mm", "crown_mm", "runout_mm", "wear_mm",
                       "noise_mm", "intensity")},
            "defects": [{"type": d["type"], "bin": d["size_bin"], "line": d["line"],
                         "col": d["col"], "x_mm": round(d["x_mm"], 1),
                         "max_dev_mm": round(d["max_dev_mm"], 3), "visible": d["visible_points"],
                         **{k: round(v, 2) for k, v in d["params"].items()}}
                        for d in t["defects"]]}


def summarise(rows: list[dict[str, Any]], max_fa: float = 0.01) -> dict[str, Any]:
    """Overall, per camera, per defect type, per size bin; worst misses / false alarms."""
    ok = [r for r in rows if r["out"] is not None]
    good, bad = _scores(ok, "good"), _scores(ok, "bad")
    t1 = threshold_at_fa(good, max_fa)
    overall = {"n": len(rows), "failed": len(rows) - len(ok), "n_good": len(good),
               "n_bad": len(bad), "auroc": round(auroc(bad, good), 4),
               "threshold_1pct_fa": t1, "recall_at_1pct_fa": round(float(np.mean(bad < t1)), 4),
               "fa_at_threshold": round(float(np.mean(good < t1)), 4),
               "confusion_at_70": {"tp": int((bad < 70).sum()), "fn": int((bad >= 70).sum()),
                                   "fp": int((good < 70).sum()), "tn": int((good >= 70).sum())}}
    groups: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in ok:
        t, s = r["truth"], r["out"]["score"]
        groups["camera:" + t["camera"]][t["label"]].append(s)
        if t["label"] != "bad":
            continue
        for kind in {d["type"] for d in t["defects"]}:
            groups["type:" + kind]["bad"].append(s)
        groups["bin:" + _largest_bin(t)]["bad"].append(s)
        if len(t["defects"]) == 1:
            d = t["defects"][0]
            groups[f"single:{d['type']}:{d['size_bin']}"]["bad"].append(s)
    per: dict[str, Any] = {}
    for key in sorted(groups):
        g = np.array(groups[key]["good"]) if key.startswith("camera:") else good
        per[key] = _block(np.array(groups[key]["bad"]), g, t1)
        if key.startswith("camera:"):
            per[key]["fa_at_70"] = round(float(np.mean(g < 70)), 4) if len(g) else None
            per[key]["fa_at_threshold"] = round(float(np.mean(g < t1)), 4) if len(g) else None
    bad_rows = sorted((r for r in ok if r["truth"]["label"] == "bad"),
                      key=lambda r: -r["out"]["score"])
    good_rows = sorted((r for r in ok if r["truth"]["label"] == "good"),
                       key=lambda r: r["out"]["score"])
    return {"overall": overall, "groups": per,
            "worst_misses": [_miss_line(r) for r in bad_rows[:15]],
            "worst_false_alarms": [_miss_line(r) for r in good_rows[:8]],
            "failed_files": [r["truth"]["file"] for r in rows if r["out"] is None]}


def text_table(report: dict[str, Any]) -> str:
    """A short human-readable view of :func:`summarise` output."""
    o = report["overall"]
    c = o["confusion_at_70"]
    lines = [f"n={o['n']} (good {o['n_good']}, bad {o['n_bad']}, failed {o['failed']}) "
             f"AUROC={o['auroc']:.4f} recall@1%FA={o['recall_at_1pct_fa']:.3f} "
             f"(limit {o['threshold_1pct_fa']:.1f}) @70: tp={c['tp']} fn={c['fn']} fp={c['fp']} "
             f"tn={c['tn']}"]
    for key, g in report["groups"].items():
        extra = f" fa@70={g['fa_at_70']}" if "fa_at_70" in g else ""
        lines.append(f"  {key:28s} n_bad={g['n_bad']:3d} auroc={g['auroc_vs_all_good']:.4f} "
                     f"rec@1%FA={g['recall_at_1pct_fa']} rec@70={g['recall_at_70']}{extra}")
    return "\n".join(lines)
