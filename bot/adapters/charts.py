"""Gate evidence as a picture: the canary's (and stable's) series of one metric over the bake
window, the threshold, the verdict, drawn to PNG bytes with matplotlib's Agg backend (no display;
a Figure of its own per chart, never pyplot's global state, so threads cannot mix charts)."""
from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "inconclusive": "#ef6c00"}


def gate_png(chart: dict) -> bytes:
    """`chart`: {title, metric, step, canary: [v...], stable: [v...], threshold, bound: max|min,
    verdict, evidence}; samples are `step` seconds apart, the last one now."""
    figure = Figure(figsize=(7.2, 3.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    step = float(chart.get("step") or 1)
    for name, colour in (("stable", "#607d8b"), ("canary", "#1565c0")):
        values = chart.get(name) or []
        if values:
            start = -step * (len(values) - 1)
            axes.plot([start + i * step for i in range(len(values))], values, label=name, color=colour,
                      marker="o", markersize=3, linewidth=1.6)
    if chart.get("threshold") is not None:
        axes.axhline(chart["threshold"], color="#424242", linestyle="--", linewidth=1,
                     label=f"{chart.get('bound', 'max')} {chart['threshold']:g}")
    verdict = str(chart.get("verdict", ""))
    axes.set_title(f"{chart.get('title', '')}: {chart.get('metric', '')} {verdict.upper()}", fontsize=10,
                   color=COLOURS.get(verdict, "#212121"))
    axes.set_xlabel("seconds before the verdict")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best", fontsize=8)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
