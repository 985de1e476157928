"""The digest's chart: confirmed turnout per branch against the legal threshold.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display,
no global figure state), so it is safe to render in a worker thread.
"""

from __future__ import annotations

import io
import math

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

BELOW = "#c0392b"  # red: the branches to work on
AT_OR_ABOVE = "#2e86c1"
THRESHOLD = "#222222"
ROW_INCHES = 0.26  # per branch, so 87 branches keep readable labels
BASE_INCHES = 1.6  # title, axis and legend
WIDTH_INCHES = 9.0
DPI = 100


def render_chart(rows: list[tuple[str, float]], threshold: float, title: str) -> bytes:
    """A PNG: one horizontal bar per (branch, turnout 0..1), lowest at the top.

    Bars below `threshold` are red and hatched (distinct without colour too),
    the threshold is a dashed vertical line, and each bar is labelled with
    its percentage.
    """
    ordered = sorted(rows, key=lambda row: (row[1], row[0]))
    height = BASE_INCHES + ROW_INCHES * max(len(ordered), 3)
    figure = Figure(figsize=(WIDTH_INCHES, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()

    labels = [branch or "(no branch)" for branch, _ in ordered]
    values = [rate for _, rate in ordered]
    below = [rate < threshold for rate in values]
    positions = list(range(len(ordered)))
    bars = axes.barh(
        positions,
        values,
        height=0.7,
        color=[BELOW if low else AT_OR_ABOVE for low in below],
    )
    for bar, low in zip(bars, below, strict=True):
        if low:
            bar.set_hatch("///")
            bar.set_edgecolor("white")
    for position, rate in zip(positions, values, strict=True):
        # A white backing keeps a label legible where it crosses the threshold line.
        axes.text(
            rate + 0.01,
            position,
            _percent(rate),
            va="center",
            fontsize=7,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.8},
        )

    axes.axvline(threshold, color=THRESHOLD, linestyle="--", linewidth=1.2)
    axes.set_yticks(positions, labels, fontsize=8)
    axes.set_ylim(max(len(ordered), 1) - 0.5, -0.5)  # lowest turnout at the top
    axes.set_xlim(0, 1.08)
    axes.xaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    axes.set_xlabel("confirmed turnout (members marked voted / members)")
    axes.grid(axis="x", alpha=0.3)
    axes.set_axisbelow(True)
    axes.set_title(title, fontsize=11, loc="left")
    if not ordered:
        axes.text(0.5, 0, "No members imported yet", ha="center", va="center")
    # Outside the axes: inside, it would cover the longest bars at the bottom.
    figure.legend(
        handles=[
            Patch(facecolor=BELOW, hatch="///", edgecolor="white", label="below threshold"),
            Patch(facecolor=AT_OR_ABOVE, label="at or above threshold"),
            Line2D([], [], color=THRESHOLD, linestyle="--", label=f"threshold {threshold:.0%}"),
        ],
        loc="outside lower center",
        ncols=3,
        fontsize=8,
        frameon=False,
    )

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _percent(rate: float) -> str:
    """Rounded down, so a bar short of a 50% threshold is never labelled 50%."""
    return f"{math.floor(rate * 100 + 1e-9)}%"
