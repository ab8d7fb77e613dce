"""The review's charts, drawn from its figures (``review.figures``) as PNG ``data:`` URIs.

Charts are embedded, not linked, so that the report is one file that opens anywhere, offline, and can be
attached to an email or a ticket. matplotlib draws with the Agg backend, never a display, and each figure
is closed once written so that a long review does not hold them all in memory.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

DPI = 100
GOOD = "#2b7bba"
BAD = "#d1495b"
GREY = "#8a8a8a"


def data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _spans(values: Sequence[float], intervals: Sequence[Mapping[str, Any]]) -> list[list[float]]:
    """Error bar lengths below and above each value, for its 95% interval (never negative: a Wilson bound
    can sit a rounding error past the rate it surrounds)."""
    pairs = list(zip(values, intervals, strict=True))
    return [[max(0.0, v - i["low"]) for v, i in pairs], [max(0.0, i["high"] - v) for v, i in pairs]]


def gains_chart(gains: Mapping[str, Sequence[Mapping[str, float]]]) -> str:
    """Cumulative gains and lift, one line per score, against calling leads at random."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot([0, 1], [0, 1], color=GREY, linestyle="--", label="random")
    right.axhline(1, color=GREY, linestyle="--", label="random")
    for label, points in gains.items():
        shares = [p["share"] for p in points]
        left.plot([0, *shares], [0, *(p["gain"] for p in points)], marker=".", label=label)
        right.plot(shares, [p["lift"] for p in points], marker=".", label=label)
    left.set(title="Cumulative gains", xlabel="share of leads called, best score first", ylabel="share of conversions")
    right.set(title="Lift", xlabel="share of leads called, best score first", ylabel="conversion rate / overall")
    for axes in (left, right):
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    return data_uri(figure)


def calibration_chart(bins: Sequence[Mapping[str, float]], label: str) -> str:
    """Observed against predicted conversion per probability bin; honest probabilities lie on the diagonal."""
    figure, axes = plt.subplots(figsize=(5.5, 4.5))
    axes.plot([0, 1], [0, 1], color=GREY, linestyle="--", label="perfect")
    predicted = [b["predicted"] for b in bins]
    observed = [b["observed"] for b in bins]
    errors = _spans(observed, bins)
    axes.errorbar(predicted, observed, yerr=errors, marker="o", capsize=3, color=GOOD, label=label)
    for x, y, b in zip(predicted, observed, bins, strict=True):
        axes.annotate(str(b["rows"]), (x, y), textcoords="offset points", xytext=(5, -10), fontsize=7, color=GREY)
    axes.set(title="Calibration (rows per bin in grey)", xlabel="predicted probability", ylabel="observed rate")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return data_uri(figure)


def conversion_chart(conversion: Mapping[str, Sequence[Mapping[str, Any]]], label: str) -> str:
    """Conversion by tier, grade, stage and matrix cell, with 95% intervals and row counts."""
    figure, grid = plt.subplots(1, len(conversion), figsize=(3.4 * len(conversion) + 1, 3.8), squeeze=False)
    for axes, (by, groups) in zip(grid[0], conversion.items(), strict=True):
        _rate_bars(axes, groups)
        axes.set_title(f"by {by}")
    grid[0][0].set_ylabel("conversion rate")
    figure.suptitle(label)
    return data_uri(figure)


def _rate_bars(axes: Any, groups: Sequence[Mapping[str, Any]]) -> None:
    names = [str(g["group"]) for g in groups]
    rates = [g["rate"] or 0.0 for g in groups]
    errors = _spans(rates, groups)
    positions = range(len(names))
    axes.bar(positions, rates, yerr=errors, capsize=3, color=GOOD)
    ticks = [f"{name}\nn={g['rows']}" for name, g in zip(names, groups, strict=True)]
    axes.set_xticks(list(positions), ticks, rotation=90 if len(names) > 6 else 0, fontsize=8)
    axes.grid(axis="y", alpha=0.3)


def distribution_chart(distribution: Mapping[str, Any], label: str) -> str:
    """The score's histogram for converted and other leads, each as a share of its own class."""
    figure, axes = plt.subplots(figsize=(5.5, 3.8))
    edges = distribution["edges"]
    for key, colour, name in (("not_converted", GREY, "not converted"), ("converted", GOOD, "converted")):
        counts = distribution[key]
        total = sum(counts) or 1
        axes.stairs([c / total for c in counts], edges, fill=True, alpha=0.5, color=colour, label=name)
    axes.set(title=label, xlabel="score", ylabel="share of the class's leads")
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    return data_uri(figure)


def rule_lift_chart(rules: Sequence[Mapping[str, Any]], label: str) -> str:
    """Each rule's conversion when it scored against when it did not; flagged rules in red."""
    shown = [r for r in rules if r["triggered"]["rows"] and r["not_triggered"]["rows"]]
    figure, axes = plt.subplots(figsize=(8, 0.32 * len(shown) + 1.5))
    for y, rule in enumerate(shown):
        colour = BAD if rule["flag"] else GOOD
        on, off = rule["triggered"], rule["not_triggered"]
        axes.errorbar(
            [on["rate"]],
            [y],
            xerr=_spans([on["rate"]], [on]),
            fmt="o",
            color=colour,
            capsize=3,
        )
        axes.errorbar(
            [off["rate"]],
            [y],
            xerr=_spans([off["rate"]], [off]),
            fmt="|",
            color=GREY,
            capsize=3,
        )
    axes.set_yticks(range(len(shown)), [f"{r['rule']} ({r['points']:+g})" for r in shown], fontsize=8)
    axes.invert_yaxis()
    axes.set(
        title=f"{label}: conversion when the rule scored (dot) or not (bar); red = flagged",
        xlabel="conversion rate, 95% interval",
    )
    axes.grid(axis="x", alpha=0.3)
    return data_uri(figure)


def drift_chart(drift: Mapping[str, Any]) -> str:
    """Per month of snapshot: each score's median and middle half, and the conversion rate."""
    labels = list(drift["scores"])
    figure, grid = plt.subplots(1, len(labels) + 1, figsize=(4.2 * (len(labels) + 1), 3.6), squeeze=False)
    for axes, label in zip(grid[0], labels, strict=False):
        months = drift["scores"][label]
        x = range(len(months))
        axes.fill_between(x, [m["p25"] for m in months], [m["p75"] for m in months], alpha=0.3, color=GOOD)
        axes.plot(x, [m["p50"] for m in months], marker="o", color=GOOD)
        axes.set_xticks(list(x), [m["month"] for m in months], rotation=45, fontsize=8)
        axes.set(title=f"{label}: median, middle half", ylabel="score")
        axes.grid(alpha=0.3)
    last = grid[0][-1]
    _rate_bars(last, drift["conversion"])
    last.set(title="conversion by month", ylabel="conversion rate")
    return data_uri(figure)


def funnel_chart(funnel: Mapping[str, Any], label: str) -> str:
    figure, axes = plt.subplots(figsize=(5.5, 3.4))
    steps = funnel["steps"]
    names = [s["step"] for s in steps]
    axes.barh(range(len(steps)), [s["leads"] for s in steps], color=GOOD)
    axes.set_yticks(range(len(steps)), names)
    axes.invert_yaxis()
    for y, s in enumerate(steps):
        axes.annotate(
            f"{s['leads']} ({s['share']:.0%})",
            (s["leads"], y),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    axes.set(title=f"{label}: funnel", xlabel="leads")
    axes.margins(x=0.25)
    return data_uri(figure)
