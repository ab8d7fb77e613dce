"""Reference baselines for ``bench/quality.py``, each fitted on training rows and scored on held-out ones.

- ``logistic_regression``: plain scikit-learn. Text and booleans are one-hot encoded, numbers are kept
  (a missing number becomes 0 plus a "missing" indicator column), every column is scaled to unit
  variance, and ``LogisticRegression`` runs with its defaults (L2, C=1). No tuning.
- ``odoo_naive_bayes``: the method of Odoo CRM's predictive lead scoring (``crm.lead._pls_*`` and the
  ``crm.lead.scoring.frequency`` table), reimplemented from its description:

  * for each field and value, count the won and the lost leads among closed (training) leads, and add
    0.1 to both counts of every value seen (Odoo's guard against zero frequencies; it says +1 weighed too
    much on small data);
  * a field's won total is the sum of its values' won counts, likewise lost, so a field counts only the
    leads that have it set;
  * the prior is won / (won + lost) over the training leads;
  * a lead's won score is prior x the product, over its set fields with a value seen in training, of
    won(value) / won total(field); its lost score likewise; unset fields and unseen values are skipped;
  * its probability is won score / (won score + lost score), kept within 0.01 % and 99.99 %.

  Odoo has no stage, team or tag here: the split is by lead, not by sales team, and leads have no stage
  at the snapshot. Odoo's fields are selections and relations, so it never meets a number; here a number
  is put in one of (at most) ten bins by its training deciles, which is our addition. Odoo also skips a
  value of False or 0 (unset, for its fields); here only a missing value is skipped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

Features = Mapping[str, Any]
ODOO_SMOOTHING = 0.1
ODOO_BINS = 10


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def one_hot(items: Sequence[Features]) -> list[dict[str, float | str]]:
    """Dicts ready for ``DictVectorizer``: text and booleans become ``column=value`` one-hot features,
    numbers stay numbers, and a missing value is its own ``column=<missing>`` feature."""
    out: list[dict[str, float | str]] = []
    for item in items:
        row: dict[str, float | str] = {}
        for column, value in item.items():
            if value is None or (isinstance(value, float) and not math.isfinite(value)):
                row[column] = "<missing>"
            elif _is_number(value):
                row[column] = float(value)
            else:
                row[column] = str(value)
        out.append(row)
    return out


def logistic_regression(train: Sequence[Features], labels: Sequence[int], test: Sequence[Features]) -> NDArray[Any]:
    """Probabilities from a plain one-hot logistic regression fitted on ``train``."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipeline = make_pipeline(
        DictVectorizer(sparse=True), StandardScaler(with_mean=False), LogisticRegression(max_iter=5000)
    )
    pipeline.fit(one_hot(train), np.asarray(labels))
    probabilities: NDArray[Any] = pipeline.predict_proba(one_hot(test))[:, 1]
    return probabilities


def _bin_edges(train: Sequence[Features]) -> dict[str, NDArray[np.float64]]:
    """Decile edges of each column that holds numbers in training; at most ``ODOO_BINS`` bins."""
    numbers: dict[str, list[float]] = {}
    for item in train:
        for column, value in item.items():
            if _is_number(value):
                numbers.setdefault(column, []).append(float(value))
    edges = {}
    for column, values in numbers.items():
        inner = np.unique(np.quantile(np.asarray(values), np.linspace(0, 1, ODOO_BINS + 1)[1:-1]))
        edges[column] = inner
    return edges


def _odoo_values(item: Features, edges: Mapping[str, NDArray[np.float64]]) -> list[tuple[str, str]]:
    """A lead's (field, value) pairs as Odoo compares them: as text; numbers by their bin; unset skipped."""
    out = []
    for column, value in item.items():
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            continue
        if _is_number(value) and column in edges:
            out.append((column, f"bin{int(np.searchsorted(edges[column], float(value), side='right'))}"))
        else:
            out.append((column, str(value)))
    return out


def odoo_naive_bayes(train: Sequence[Features], labels: Sequence[int], test: Sequence[Features]) -> NDArray[Any]:
    """Odoo-style predictive lead scoring probabilities (0 to 1) for ``test``, from won/lost frequencies."""
    edges = _bin_edges(train)
    won: dict[tuple[str, str], float] = {}
    lost: dict[tuple[str, str], float] = {}
    for item, label in zip(train, labels, strict=True):
        for pair in _odoo_values(item, edges):
            if pair not in won:
                won[pair] = lost[pair] = ODOO_SMOOTHING
            if label:
                won[pair] += 1
            else:
                lost[pair] += 1
    won_total: dict[str, float] = {}
    lost_total: dict[str, float] = {}
    for (field, _), count in won.items():
        won_total[field] = won_total.get(field, 0.0) + count
        lost_total[field] = lost_total.get(field, 0.0) + lost[(field, _)]
    positives = sum(1 for label in labels if label)
    prior_won = positives / len(labels)
    out = np.empty(len(test))
    for index, item in enumerate(test):
        # Sums of logs: a product of a hundred frequencies would underflow where Odoo's few fields do not.
        log_won, log_lost = math.log(prior_won), math.log(1 - prior_won)
        for pair in _odoo_values(item, edges):
            if pair in won:
                log_won += math.log(won[pair] / won_total[pair[0]])
                log_lost += math.log(lost[pair] / lost_total[pair[0]])
        probability = 1 / (1 + math.exp(min(700.0, log_lost - log_won)))
        out[index] = min(max(probability, 0.0001), 0.9999)
    return out
