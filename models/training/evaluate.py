"""Quality metrics and the PNG report of a model on labelled wheels.

A metric that is undefined on the data (AUROC with no bad wheel, defect-type accuracy
with no typed bad wheel) is NaN in :func:`metrics` and ``null`` once written out
(:func:`strict_json`): ``NaN`` is not JSON, and strict parsers refuse the whole file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.serving.scoring import THRESHOLD


@dataclass
class Scored:
    """One evaluated wheel."""

    name: str
    label: int  # 1 = bad
    score: float
    defect: str
    truth: list[tuple[str, str]] = field(default_factory=list)  # (kind, size bin)
    evidence: np.ndarray | None = None


def auroc(good: np.ndarray, bad: np.ndarray) -> float:
    """P(a bad wheel scores lower than a good one), ties count half."""
    if good.size == 0 or bad.size == 0:
        return float("nan")
    allv = np.concatenate([good, bad])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(allv.size)
    ranks[order] = np.arange(1, allv.size + 1)
    for v in np.unique(allv):  # average ranks of ties
        m = allv == v
        if m.sum() > 1:
            ranks[m] = ranks[m].mean()
    r_good = ranks[: good.size].sum()
    return float((r_good - good.size * (good.size + 1) / 2) / (good.size * bad.size))


def strict_json(obj: Any) -> Any:
    """``obj`` with every non-finite float as None and numpy scalars and arrays as
    Python values, ready for ``json.dumps(..., allow_nan=False)``."""
    if isinstance(obj, dict):
        return {k: strict_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [strict_json(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def fa_threshold(good: np.ndarray, fa: float = 0.01) -> float:
    """Score limit with at most ``fa`` of good wheels below it (bad = score < limit)."""
    s = np.sort(good)
    allowed = int(np.floor(fa * s.size))
    return float(s[allowed]) if s.size else float("nan")


def metrics(rows: Sequence[Scored], fa: float = 0.01) -> dict[str, Any]:
    """AUROC, recall at ``fa`` false alarms, confusion at 70, per defect type and size."""
    y = np.array([r.label for r in rows])
    s = np.array([r.score for r in rows], dtype=np.float64)
    good, bad = s[y == 0], s[y == 1]
    lim = fa_threshold(good, fa)
    pred_bad = s < THRESHOLD
    out: dict[str, Any] = {
        "n_good": int(good.size), "n_bad": int(bad.size),
        "auroc": auroc(good, bad),
        "recall_at_1pct_fa": float((bad < lim).mean()) if bad.size else float("nan"),
        "score_limit_at_1pct_fa": lim,
        "false_alarm_at_limit": float((good < lim).mean()) if good.size else float("nan"),
        "confusion_at_70": {
            "tp": int((pred_bad & (y == 1)).sum()), "fn": int((~pred_bad & (y == 1)).sum()),
            "fp": int((pred_bad & (y == 0)).sum()), "tn": int((~pred_bad & (y == 0)).sum())},
    }
    out["recall_at_70"] = out["confusion_at_70"]["tp"] / max(1, int(bad.size))
    out["false_alarm_at_70"] = out["confusion_at_70"]["fp"] / max(1, int(good.size))
    typed = [r for r in rows  # bad wheels with a known and a predicted ("" = none) type
             if r.label == 1 and r.truth and r.defect not in ("", "none")]
    out["class_accuracy_flagged"] = (
        float(np.mean([r.defect in {k for k, _ in r.truth} for r in typed])) if typed
        else float("nan"))
    groups: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        for kind, size in r.truth:
            groups[f"{kind}/{size}"].append(r.score)
            groups[kind].append(r.score)
    out["per_defect"] = {
        k: {"n": len(v), "recall_at_70": float(np.mean(np.array(v) < THRESHOLD)),
            "recall_at_1pct_fa": float(np.mean(np.array(v) < lim)),
            "auroc": auroc(good, np.array(v))}
        for k, v in sorted(groups.items())}
    return out


def report_png(rows: Sequence[Scored], path: str | Path, title: str = "") -> Path:
    """Score histograms, ROC and the worst misses with their heatmaps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from models.serving.heatmap import colourise

    y = np.array([r.label for r in rows])
    s = np.array([r.score for r in rows])
    fig = plt.figure(figsize=(12, 9))
    ax = fig.add_subplot(2, 2, 1)
    bins = np.linspace(0, 100, 41).tolist()
    ax.hist(s[y == 0], bins, alpha=0.6, label="good")
    ax.hist(s[y == 1], bins, alpha=0.6, label="bad")
    ax.axvline(THRESHOLD, color="k", ls="--")
    ax.set(xlabel="score (confidence good)", ylabel="wheels", title=f"scores {title}")
    ax.legend()
    ax = fig.add_subplot(2, 2, 2)
    thr = np.unique(np.concatenate([s, [101.0]]))
    tpr = [(s[y == 1] < t).mean() if (y == 1).any() else 0 for t in thr]
    fpr = [(s[y == 0] < t).mean() if (y == 0).any() else 0 for t in thr]
    ax.plot(fpr, tpr)
    ax.set(xlim=(0, 0.1), ylim=(0, 1.02), xlabel="false alarm rate", ylabel="recall",
           title="ROC (false alarms up to 10 %)")
    ax.axvline(0.01, color="k", ls=":")
    worst = sorted([r for r in rows if r.label == 1], key=lambda r: -r.score)[:2]
    worst += sorted([r for r in rows if r.label == 0], key=lambda r: r.score)[:2]
    for i, r in enumerate(worst):
        ax = fig.add_subplot(4, 2, 5 + i)
        if r.evidence is not None:
            ax.imshow(colourise(r.evidence.T), aspect="auto")
        ax.set_title(f"{'bad' if r.label else 'good'} {r.name[:40]} score {r.score:.1f}",
                     fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out
