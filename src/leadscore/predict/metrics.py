"""How well a score ranks and how honest a probability is, on held-out outcomes.

One home for the figures that ``train``, ``backtest``, ``review`` and ``bench/quality.py`` all report, so that
a number means the same thing everywhere. AUC and average precision are scikit-learn's; the rest are short
enough to read here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.metrics import average_precision_score, roc_auc_score

TOP_SHARES = (0.05, 0.10, 0.20)


def _arrays(scores: ArrayLike, labels: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if s.shape != y.shape or s.ndim != 1:
        raise ValueError(f"expected one score per label, got {s.shape} scores and {y.shape} labels")
    return s, y


def auc(scores: ArrayLike, labels: ArrayLike) -> float | None:
    """ROC AUC, or None when only one class is present (it is undefined, not 0.5)."""
    s, y = _arrays(scores, labels)
    if y.min(initial=0) == y.max(initial=0):
        return None
    return float(roc_auc_score(y, s))


def average_precision(scores: ArrayLike, labels: ArrayLike) -> float | None:
    s, y = _arrays(scores, labels)
    if not y.any():
        return None
    return float(average_precision_score(y, s))


def top_order(scores: NDArray[np.float64]) -> NDArray[np.intp]:
    """Highest score first; ties keep input order, so the same inputs always pick the same top."""
    return np.argsort(-scores, kind="stable")


def precision_recall_at(scores: ArrayLike, labels: ArrayLike, share: float) -> tuple[float, float]:
    """Precision and recall among the top ``share`` of leads by score (at least one lead).

    This is the question sales asks: if we call the top 10%, how many of them convert, and what part of
    all conversions do we reach?"""
    s, y = _arrays(scores, labels)
    if not len(s):
        raise ValueError("expected at least one scored lead")
    k = max(1, round(share * len(s)))
    picked = y[top_order(s)[:k]]
    positives = int(y.sum())
    return float(picked.mean()), (float(picked.sum() / positives) if positives else 0.0)


def expected_calibration_error(probabilities: ArrayLike, labels: ArrayLike, bins: int = 10) -> float:
    """Mean gap between predicted and observed conversion over equal-width probability bins, weighted by
    the bin's share of leads."""
    p, y = _arrays(probabilities, labels)
    if not len(p):
        raise ValueError("expected at least one probability")
    which = np.minimum((p * bins).astype(np.int64), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(p[mask].mean() - y[mask].mean())
    return float(total / len(p))


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """95% interval for a conversion rate; honest at small counts and at 0% or 100%, unlike rate ± 2 SE."""
    if trials <= 0:
        return 0.0, 1.0
    rate = successes / trials
    denominator = 1 + z * z / trials
    centre = (rate + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Ranking:
    """The figures reported for every score, rules or predictive, on the same held-out rows."""

    rows: int
    positives: int
    auc: float | None
    average_precision: float | None
    precision_at: dict[str, float]
    recall_at: dict[str, float]

    def as_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "positives": self.positives,
            "auc": self.auc,
            "average_precision": self.average_precision,
            "precision_at": self.precision_at,
            "recall_at": self.recall_at,
        }


def ranking(scores: Sequence[float] | ArrayLike, labels: Sequence[int] | ArrayLike) -> Ranking:
    s, y = _arrays(scores, labels)
    precision: dict[str, float] = {}
    recall: dict[str, float] = {}
    for share in TOP_SHARES:
        key = f"top_{round(share * 100)}pct"
        precision[key], recall[key] = precision_recall_at(s, y, share)
    return Ranking(len(s), int(y.sum()), auc(s, y), average_precision(s, y), precision, recall)


def gains(scores: ArrayLike, labels: ArrayLike, steps: int = 20) -> list[dict[str, float]]:
    """The cumulative gains curve at ``steps`` equal shares of rows, highest score first: the share of all
    conversions found by calling the top ``share`` of leads, and the lift over calling at random.

    A lift of 3 in the top 10% means those leads convert three times as often as leads in general."""
    s, y = _arrays(scores, labels)
    if not len(s):
        raise ValueError("expected at least one scored lead")
    found = np.cumsum(y[top_order(s)])
    positives = int(y.sum())
    out = []
    for step in range(1, steps + 1):
        share = step / steps
        k = max(1, round(share * len(s)))
        gain = float(found[k - 1] / positives) if positives else 0.0
        out.append({"share": share, "gain": gain, "lift": gain / (k / len(s))})
    return out


def calibration(probabilities: ArrayLike, labels: ArrayLike, bins: int = 10) -> list[dict[str, float | int]]:
    """Predicted against observed conversion in equal-width probability bins (the empty ones left out),
    with a 95% interval on the observed rate: the points of a calibration plot."""
    p, y = _arrays(probabilities, labels)
    which = np.minimum((p * bins).astype(np.int64), bins - 1)
    out: list[dict[str, float | int]] = []
    for b in range(bins):
        mask = which == b
        count = int(mask.sum())
        if not count:
            continue
        converted = int(y[mask].sum())
        low, high = wilson_interval(converted, count)
        predicted = float(p[mask].mean())
        edges = {"low_edge": b / bins, "high_edge": (b + 1) / bins}
        observed = {"observed": converted / count, "low": low, "high": high}
        out.append({**edges, "rows": count, "predicted": predicted, **observed})
    return out
