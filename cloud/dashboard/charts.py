"""Plotly figures (as plain JSON-able dicts) for the dashboard pages.

Figures are built as dicts rather than ``plotly.graph_objects`` so a page costs
microseconds to build; the browser renders them with the plotly.min.js bundled in the
installed ``plotly`` package (served by the app, no CDN).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from cloud.dashboard.ports import DayCount, Heatmap, Replacement, WheelDay, WheelRun
from schemas.config.alerts import SeverityConfig

Figure = dict[str, Any]

# red (bad) → amber → blue (good), with the break at the threshold of the colour scale
_SCALE = [[0.0, "#8e0013"], [0.5, "#d7301f"], [0.69, "#fc8d59"], [0.7, "#fee090"],
          [0.85, "#91bfdb"], [1.0, "#2c7bb6"]]


def severity(score: float, defect: str, threshold: float,
             bands: SeverityConfig | None = None) -> str:
    """Colour class of a score: ok, near (within 10 above the threshold), or under the
    threshold the alerting service's own severity (watch, inspect, stop)."""
    if score >= threshold + 10:
        return "ok"
    if score >= threshold:
        return "near"
    from cloud.alerts.severity import wheel_severity

    return wheel_severity(score, defect, bands or SeverityConfig()).name.lower()


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 14}},
        "margin": {"l": 60, "r": 20, "t": 36, "b": 40},
        "height": 300, "hovermode": "closest",
        "legend": {"orientation": "h", "y": -0.2},
    }
    base.update(extra)
    return base


def _iso(values: list[Any]) -> list[str]:
    """Compact UTC timestamps for the x axes (the pages say times are UTC)."""
    return [_utc_text(v) for v in values]


def _utc_text(v: Any) -> str:
    if getattr(v, "tzinfo", None) is not None:
        v = v.astimezone(UTC)
    return str(v.strftime("%Y-%m-%dT%H:%M:%S"))


def fleet_heatmap(hm: Heatmap, threshold: float) -> Figure:
    """Wheel × run heatmap of scores for one train (click a cell to open the wheel)."""
    return {
        "data": [{
            "type": "heatmap", "z": hm.z, "x": _iso(hm.run_times), "y": hm.wheels,
            "zmin": 0, "zmax": 100,
            "colorscale": _SCALE, "colorbar": {"title": {"text": "score"}},
            "hovertemplate": "%{y}<br>%{x} UTC<br>score %{z}<extra></extra>",
            "xgap": 1, "ygap": 1,
        }],
        "layout": _layout(f"Train {hm.train_id}: score per wheel and run "
                          f"(threshold {threshold:g})",
                          height=max(260, 16 * len(hm.wheels) + 90),
                          margin={"l": 95, "r": 20, "t": 36, "b": 40},
                          yaxis={"autorange": "reversed", "type": "category"}),
    }


def under_threshold(days: list[DayCount], threshold: float) -> Figure:
    """Bar chart: wheels under the threshold per day."""
    return {
        "data": [{"type": "bar", "x": [d.day.isoformat() for d in days],
                  "y": [d.under for d in days], "name": f"wheels under {threshold:g}",
                  "marker": {"color": "#d7301f"}},
                 {"type": "scatter", "mode": "lines", "x": [d.day.isoformat() for d in days],
                  "y": [d.scanned for d in days], "name": "wheels scanned",
                  "line": {"color": "#999", "width": 1}, "yaxis": "y2"}],
        "layout": _layout(f"Wheels under {threshold:g} per day",
                          yaxis={"title": {"text": "wheels under"}, "rangemode": "tozero"},
                          yaxis2={"overlaying": "y", "side": "right", "showgrid": False,
                                  "rangemode": "tozero"}),
    }


def _marks(threshold: float | None, repl: list[Replacement]) -> list[dict[str, Any]]:
    shapes: list[dict[str, Any]] = []
    if threshold is not None:
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": threshold,
                       "y1": threshold, "line": {"color": "#d7301f", "dash": "dash"}})
    for r in repl:
        shapes.append({"type": "line", "yref": "paper", "y0": 0, "y1": 1,
                       "x0": _utc_text(r.at), "x1": _utc_text(r.at),
                       "line": {"color": "#1a9850", "width": 2, "dash": "dot"}})
    return shapes


def _in_range(repl: list[Replacement], xs: list[Any]) -> list[Replacement]:
    if not xs:
        return []
    return [r for r in repl if xs[0] <= r.at <= xs[-1]]


def wheel_score_runs(runs: list[WheelRun], threshold: float,
                     repl: list[Replacement]) -> Figure:
    """Score over the latest runs with the threshold line and replacements marked."""
    xs = [r.capture_time for r in runs]
    return {
        "data": [{"type": "scattergl" if len(runs) > 2000 else "scatter",
                  "mode": "lines+markers", "x": _iso(xs),
                  "y": [round(r.score, 2) for r in runs], "name": "score",
                  "text": [r.run_id for r in runs], "marker": {"size": 4},
                  "hovertemplate": "%{x}<br>run %{text}<br>score %{y}<extra></extra>"}],
        "layout": _layout(f"Score over the latest {len(runs)} runs",
                          yaxis={"range": [0, 101], "title": {"text": "score"}},
                          shapes=_marks(threshold, _in_range(repl, xs))),
    }


def wheel_score_days(days: list[WheelDay], threshold: float,
                     repl: list[Replacement]) -> Figure:
    """Daily lowest and mean score over the whole history."""
    x = [d.day.isoformat() for d in days]
    shapes = _marks(threshold, [r for r in repl if days and
                                days[0].day <= r.at.date() <= days[-1].day])
    return {
        "data": [{"type": "scatter", "mode": "lines", "x": x, "name": "lowest of day",
                  "y": [round(d.score_min, 2) for d in days], "line": {"color": "#d7301f"}},
                 {"type": "scatter", "mode": "lines", "x": x, "name": "mean of day",
                  "y": [round(d.score_mean, 2) for d in days], "line": {"color": "#2c7bb6"}}],
        "layout": _layout("Score per day (whole history)", shapes=shapes,
                          yaxis={"range": [0, 101], "title": {"text": "score"}}),
    }


def _opt(v: float | None) -> float | None:
    return None if v is None else round(float(v), 3)


def wheel_heights(runs: list[WheelRun], repl: list[Replacement]) -> Figure:
    """Tread height (mean, 5th and 95th percentile) and the depth below the mean."""
    x = _iso([r.capture_time for r in runs])
    depth = [None if r.height_mean is None or r.height_p05 is None
             else round(r.height_mean - r.height_p05, 3) for r in runs]
    return {
        "data": [{"type": "scatter", "mode": "lines", "x": x, "name": "mean height",
                  "y": [_opt(r.height_mean) for r in runs]},
                 {"type": "scatter", "mode": "lines", "x": x, "name": "low (p05)",
                  "y": [_opt(r.height_p05) for r in runs]},
                 {"type": "scatter", "mode": "lines", "x": x, "name": "high (p95)",
                  "y": [_opt(r.height_p95) for r in runs], "line": {"dash": "dot"}},
                 {"type": "scatter", "mode": "lines", "x": x, "name": "depth (mean - p05)",
                  "y": depth, "yaxis": "y2"}],
        "layout": _layout("Tread height and defect depth (mm)",
                          shapes=_marks(None, _in_range(repl, [r.capture_time for r in runs])),
                          yaxis={"title": {"text": "height mm"}},
                          yaxis2={"title": {"text": "depth mm"}, "overlaying": "y",
                                  "side": "right", "showgrid": False, "rangemode": "tozero"}),
    }


def wheel_intensity(days: list[WheelDay], runs: list[WheelRun]) -> Figure:
    """Mean intensity per day (history) and per run (latest runs)."""
    return {
        "data": [{"type": "scatter", "mode": "lines", "name": "mean intensity per day",
                  "x": [d.day.isoformat() for d in days],
                  "y": [_opt(d.intensity_mean) for d in days]},
                 {"type": "scatter", "mode": "markers", "name": "per run (latest)",
                  "x": _iso([r.capture_time for r in runs]),
                  "y": [_opt(r.intensity_mean) for r in runs], "marker": {"size": 3}}],
        "layout": _layout("Mean intensity", yaxis={"title": {"text": "intensity"}}),
    }
