"""The targets of issue 4 checked on one dataset's figures, and the tables ``bench/quality.py`` prints."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score

BASELINES = ("lr_flat", "lr_rows", "nb_fields", "nb_rows")
PREDICTIVE_MARGIN = 0.005  # the predictive model's AUC may trail the best baseline's by this much
SCORECARD_MARGIN = 0.02  # the scorecard's AUC may trail the predictive model's by this much
MAX_ECE = 0.03


def _auc(scores: dict[str, dict[str, Any]], key: str) -> float | None:
    one = scores.get(key, {})
    return one.get("auc") if one.get("available") else None


def best_baseline(scores: dict[str, dict[str, Any]]) -> str | None:
    """The reference baseline with the highest AUC, among those available."""
    available = {k: a for k in BASELINES if (a := _auc(scores, k)) is not None}
    return max(available, key=lambda k: available[k]) if available else None


def paired_auc_interval(
    a: NDArray[Any], b: NDArray[Any], labels: NDArray[np.int64], draws: int = 400, seed: int = 0
) -> tuple[float, float]:
    """A 95% interval for AUC(a) - AUC(b) on the same leads, resampling the leads (paired bootstrap)."""
    rng = np.random.default_rng(seed)
    differences = []
    for _ in range(draws):
        pick = rng.integers(0, len(labels), len(labels))
        y = labels[pick]
        if y.min() == y.max():
            continue
        differences.append(roc_auc_score(y, a[pick]) - roc_auc_score(y, b[pick]))
    low, high = np.quantile(np.asarray(differences), [0.025, 0.975])
    return float(low), float(high)


def _target(measured: float | None, needed: float | None, difference: dict[str, Any] | None) -> dict[str, Any]:
    met = None if measured is None or needed is None else measured >= needed
    out: dict[str, Any] = {"measured": measured, "needed": None if needed is None else round(needed, 4), "met": met}
    if difference is not None:
        out["difference_ci95"] = difference["ci95"]
    return out


def targets(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target as {measured, needed, met}; met is None when a score it needs is not available. A target
    comparing two AUCs carries the paired bootstrap interval of their difference, when it was computed."""
    scores = result["scores"]
    differences: dict[str, dict[str, Any]] = result.get("differences", {})
    predictive = _auc(scores, "predictive")
    best = best_baseline(scores)
    out: dict[str, dict[str, Any]] = {}
    if best is not None:
        needed = (_auc(scores, best) or 0.0) - PREDICTIVE_MARGIN
        out["predictive_vs_best_baseline"] = _target(predictive, needed, differences.get(f"predictive - {best}"))
        out["predictive_vs_best_baseline"]["best_baseline"] = best
    needed_card = None if predictive is None else predictive - SCORECARD_MARGIN
    card = _target(_auc(scores, "scorecard"), needed_card, differences.get("scorecard - predictive"))
    out["scorecard_within_0.02"] = card
    ece = scores.get("predictive", {}).get("ece")
    out["predictive_ece"] = {"measured": ece, "needed": MAX_ECE, "met": None if ece is None else ece <= MAX_ECE}
    flat = _auc(scores, "lr_flat")
    if result["name"].startswith("leadforge") and flat is not None:
        rows = _target(_auc(scores, "lr_rows"), flat, differences.get("lr_rows - lr_flat"))
        out["pit_rows_lr_vs_flat_lr"] = rows
        out["predictive_vs_flat_lr"] = _target(predictive, flat, differences.get("predictive - lr_flat"))
    return out


def _figure(value: float | None, width: int = 7) -> str:
    return f"{value:>{width}.3f}" if value is not None else f"{'-':>{width}}"


def print_dataset(result: dict[str, Any], scores: Sequence[tuple[str, str, Callable[..., Any]]]) -> None:
    share = result["positives"] / result["rows"]
    print(
        f"\n{result['name']}: {result['rows']:,} rows, {share:.1%} converted, {result['features']} learner columns; "
        f"split {result['split']}; test {result['test_rows']:,} rows ({result['test_positives']:,} converted)"
    )
    print(f"  prepare: {result['prepare_seconds']}")
    print(f"  {'score':<46}{'AUC':>7}{'AP':>7}{'P@10%':>7}{'ECE':>7}{'sec':>7}")
    for key, label, _ in scores:
        one = result["scores"][key]
        if not one["available"]:
            why = f"failed: {one['error'][:60]}" if "error" in one else "not available (plug-in missing)"
            print(f"  {label:<46}  {why}")
            continue
        line = f"  {label:<46}{_figure(one['auc'])}{_figure(one['average_precision'])}"
        line += f"{_figure(one['precision_top_10pct'])}{_figure(one['ece'])}{one['seconds']:>7.1f}"
        if "auc_sd" in one and result["runs"]:
            line += f"   AUC {one['auc_min']:.3f}-{one['auc_max']:.3f}"
        print(line)
    for name, target in result["targets"].items():
        met = {True: "met", False: "NOT met", None: "n/a"}[target["met"]]
        measured = _figure(target["measured"], 0)
        interval = target.get("difference_ci95")
        spread = f", difference 95% CI {interval[0]:+.3f} to {interval[1]:+.3f}" if interval else ""
        print(f"  target {name}: {measured} (needed {target['needed']}{spread}) {met}")


def print_summary(results: list[dict[str, Any]], scores: Sequence[tuple[str, str, Callable[..., Any]]]) -> None:
    if not results:
        return
    keys = [key for key, _, _ in scores]
    print("\nAUC on held-out leads")
    print(f"{'dataset':<42}" + "".join(f"{k:>14}" for k in keys))
    for result in results:
        print(f"{result['name']:<42}" + "".join(_figure(_auc(result["scores"], k), 14) for k in keys))
    print("\ntargets met (yes / no / n.a.)")
    names = sorted({n for r in results for n in r["targets"]})
    for name in names:
        marks = [r["targets"][name]["met"] for r in results if name in r["targets"]]
        counts = {v: sum(1 for m in marks if m is v) for v in (True, False, None)}
        print(f"  {name:<32} {counts[True]} / {counts[False]} / {counts[None]}")


MARKDOWN_COLUMNS = (
    ("rules_example", "rules, example"),
    ("rules_dataset", "rules, own"),
    ("scorecard", "scorecard"),
    ("predictive", "predictive"),
    ("lr_flat", "LR flat file"),
    ("lr_flat_known", "LR flat, no close date"),
    ("lr_rows", "LR rows"),
    ("nb_fields", "NB fields"),
    ("nb_rows", "NB rows"),
)
TARGET_COLUMNS = (
    ("predictive_vs_best_baseline", "predictive ≥ best baseline - 0.005"),
    ("scorecard_within_0.02", "scorecard ≥ predictive - 0.02"),
    ("predictive_ece", "ECE ≤ 0.03"),
    ("pit_rows_lr_vs_flat_lr", "LR rows ≥ LR flat task"),
    ("predictive_vs_flat_lr", "predictive ≥ LR flat task"),
)


def _short_name(name: str) -> str:
    return name.replace("leadforge ", "").replace(" n20000", "").replace(" +opportunities", " +opp")


def _cell(one: dict[str, Any], figure: str) -> str:
    if not one.get("available"):
        return "failed" if "error" in one else "n/a"
    value = one.get(figure)
    return f"{value:.3f}" if value is not None else "-"


def _matrix(results: list[dict[str, Any]], figure: str) -> list[str]:
    lines = ["| dataset | " + " | ".join(label for _, label in MARKDOWN_COLUMNS) + " |"]
    lines.append("|---|" + "---:|" * len(MARKDOWN_COLUMNS))
    for result in results:
        cells = [_cell(result["scores"][key], figure) for key, _ in MARKDOWN_COLUMNS]
        lines.append(f"| {_short_name(result['name'])} | " + " | ".join(cells) + " |")
    return lines


def _target_cell(target: dict[str, Any] | None) -> str:
    if target is None:
        return "-"
    if target["met"] is None:
        return "n/a"
    mark = "yes" if target["met"] else "**no**"
    measured = target["measured"]
    text = f"{mark} {measured:.3f} vs {target['needed']:.3f}"
    interval = target.get("difference_ci95")
    return text + (f" [{interval[0]:+.3f}, {interval[1]:+.3f}]" if interval else "")


def markdown(results: list[dict[str, Any]]) -> str:
    """The tables of docs/benchmarks.md: AUC, average precision, precision in the top 10% and ECE per
    dataset and score, then each target per dataset."""
    lines: list[str] = []
    for title, figure in (
        ("AUC", "auc"),
        ("Average precision", "average_precision"),
        ("Precision in the top 10%", "precision_top_10pct"),
        ("Expected calibration error (10 bins; probabilities only)", "ece"),
    ):
        lines += ["", f"#### {title}", "", *_matrix(results, figure)]
    lines += ["", "#### Targets, per dataset", ""]
    lines.append("| dataset | " + " | ".join(label for _, label in TARGET_COLUMNS) + " |")
    lines.append("|---|" + "---|" * len(TARGET_COLUMNS))
    for result in results:
        cells = [_target_cell(result["targets"].get(key)) for key, _ in TARGET_COLUMNS]
        lines.append(f"| {_short_name(result['name'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
