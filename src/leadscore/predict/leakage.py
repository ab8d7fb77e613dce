"""The leakage check: a column that predicts the outcome suspiciously well on its own, or lead fields that
changed after the snapshot, is reported with why, before any model is trained on it.

A column's power on its own is its AUC against the label. Numbers are ranked as they are. Anything else
(text, booleans, missing values) is replaced by the conversion rate of its value in the other half of the
rows, so that an id-like column, unique per row, does not look perfect by memorising itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from leadscore.predict.dataset import Row

SUSPICIOUS_AUC = 0.9


@dataclass(frozen=True)
class Finding:
    column: str
    auc: float | None
    message: str


def auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """The probability that a random positive scores above a random negative (ties count half)."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        for k in range(start, end + 1):
            ranks[order[k]] = (start + end) / 2 + 1
        start = end + 1
    positives = sum(labels)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return 0.5
    rank_sum = sum(r for r, y in zip(ranks, labels, strict=True) if y)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def check(rows: Sequence[Row], threshold: float = SUSPICIOUS_AUC, exclude: Sequence[str] = ()) -> list[Finding]:
    """Every column whose AUC alone is at least ``threshold`` (or at most 1 - ``threshold``), strongest
    first, then a finding for lead fields that changed after their snapshot, if any did."""
    labels = [r.label for r in rows]
    columns = sorted({c for r in rows for c in r.features} - set(exclude))
    findings = []
    for column in columns:
        values = [r.features.get(column) for r in rows]
        score = auc(_scores(values, labels), labels)
        strength = max(score, 1 - score)
        if strength >= threshold:
            findings.append(
                Finding(
                    column,
                    round(score, 4),
                    f"{column} alone gives AUC {score:.3f}: a column known at the snapshot rarely predicts this "
                    "well. Was it filled in after contact, or from the outcome? Exclude it if so.",
                )
            )
    findings.sort(key=lambda f: -max(f.auc or 0.5, 1 - (f.auc or 0.5)))
    changed = sum(r.fields_changed_after for r in rows)
    if changed:
        findings.append(
            Finding(
                "field.*",
                None,
                f"lead fields changed after the snapshot for {changed} of {len(rows)} rows: the store keeps "
                "current fields only, so field.* columns may hold what was learned later.",
            )
        )
    return findings


def _scores(values: list[Any], labels: list[int]) -> list[float]:
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return [float(v) for v in values]
    keys = ["\x00missing" if v is None else f"{type(v).__name__}:{v}" for v in values]
    out = [0.0] * len(values)
    for fold in (0, 1):
        counts: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            if i % 2 != fold:
                counts.setdefault(key, [0, 0])
                counts[key][0] += labels[i]
                counts[key][1] += 1
        prior = sum(labels) / len(labels) if labels else 0.0
        for i, key in enumerate(keys):
            if i % 2 == fold:
                hits, seen = counts.get(key, [0, 0])
                out[i] = (hits + prior) / (seen + 1)  # one pseudo-row at the prior: unseen values get the prior
    return out
