"""Whole points rounded together: on correlated rules (a count and its caps, as the scorecard's are) they
fit the training rows better than each coefficient rounded alone, and rank new rows better; they stay
within the bounds the inactivity penalty needs; and where rounding alone is already best they change
nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from leadscore.predict.metrics import auc
from leadscore.predict.scorecard_rounding import _descend, fit_intercept, whole_points

SCALE = 10 / math.log(2)


def counts(rng: np.random.Generator, rows: int, types: int) -> NDArray[np.float64]:
    """Per event type, the count capped at 1, 2 and 4, and the count with noise: four correlated columns."""
    base = rng.poisson(1.0, (rows, types)).astype(np.float64)
    columns = []
    for j in range(types):
        columns += [np.minimum(base[:, j], cap) for cap in (1, 2, 4)]
        columns.append(base[:, j] + rng.poisson(0.3, rows))
    return np.column_stack(columns)


def labels(rng: np.random.Generator, x: NDArray[np.float64], weights: NDArray[np.float64]) -> NDArray[np.int64]:
    return (rng.random(len(x)) < 1 / (1 + np.exp(1.0 - x @ weights))).astype(np.int64)


def penalised_loss(x: NDArray[np.float64], y: NDArray[np.int64], points: NDArray[np.int64], strength: float) -> float:
    """scikit-learn's objective divided by C, with the best intercept, for ``points`` read as log-odds."""
    w = points / SCALE
    margin = x @ w
    z = margin + fit_intercept(margin, y)
    return float(np.logaddexp(0.0, -(2 * y - 1) * z).sum() + w @ w / (2 * strength))


Design = tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]


@pytest.fixture(scope="module")
def correlated() -> Design:
    rng = np.random.default_rng(3)
    weights = rng.normal(0, 0.05, 160)
    x, x_new = counts(rng, 16_000, 40), counts(rng, 16_000, 40)
    return x, labels(rng, x, weights), x_new, labels(rng, x_new, weights)


@pytest.mark.parametrize("strength", [0.003, 0.3])
def test_points_rounded_together_fit_and_rank_better_than_each_rounded_alone(
    correlated: Design, strength: float
) -> None:
    x, y, x_new, y_new = correlated
    coefficients = LogisticRegression(C=strength, solver="newton-cholesky").fit(x, y).coef_[0]
    alone = np.rint(coefficients * SCALE).astype(np.int64)
    together = whole_points(x, y, coefficients, strength, SCALE)
    assert together.dtype == np.int64
    loss_alone, loss_together = penalised_loss(x, y, alone, strength), penalised_loss(x, y, together, strength)
    exact = penalised_loss(x, y, coefficients * SCALE, strength)
    # a good part of what rounding alone loses against the exact coefficients is won back
    assert loss_together - exact < 0.75 * (loss_alone - exact)
    ranked_together, ranked_alone = auc(x_new @ together, y_new), auc(x_new @ alone, y_new)
    assert ranked_together is not None and ranked_alone is not None
    assert ranked_together > ranked_alone + 0.003
    # the points move, but not far from the coefficients
    assert np.abs(together - coefficients * SCALE).max() < 2


def test_points_stay_within_their_bounds(correlated: Design) -> None:
    x, y, _, _ = correlated
    strength = 0.3
    coefficients = LogisticRegression(C=strength, solver="newton-cholesky").fit(x, y).coef_[0]
    alone = np.rint(coefficients * SCALE)
    lower = np.where(alone > 0, 1.0, -np.inf)  # rules the inactivity penalty counts from stay positive
    upper = np.where(alone <= 0, 0.0, np.inf)
    lower[0], upper[0] = -np.inf, -1.0  # and a penalty stays negative, here even one whose coefficient is not
    together = whole_points(x, y, coefficients, strength, SCALE, lower, upper)
    assert ((together > 0) == (alone > 0))[1:].all()
    assert together[0] <= -1


def test_no_single_move_lowers_the_loss_the_regression_was_fitted_on() -> None:
    """The points end on a local minimum of scikit-learn's own objective at the same C (in points), with
    the intercept refitted: a wrong penalty or curvature would leave moves that lower it."""
    rng = np.random.default_rng(8)
    x = counts(rng, 6_000, 12)
    y = labels(rng, x, rng.normal(0, 0.08, 48))
    for strength in (0.003, 0.3):
        coefficients = LogisticRegression(C=strength, solver="newton-cholesky").fit(x, y).coef_[0]
        points = whole_points(x, y, coefficients, strength, SCALE)
        assert (points != np.rint(coefficients * SCALE)).any()  # the search had something to do
        loss = penalised_loss(x, y, points, strength)
        for j in range(len(points)):
            for delta in (1, -1):
                trial = points.copy()
                trial[j] += delta
                assert penalised_loss(x, y, trial, strength) > loss - 1e-6, (strength, j, delta)


def test_contradictory_bounds_and_missing_values_are_refused() -> None:
    x = np.ones((4, 2))
    y = np.array([0, 1, 0, 1], dtype=np.int64)
    with pytest.raises(ValueError, match="lower <= upper"):
        whole_points(x, y, np.zeros(2), 1.0, SCALE, np.array([1.0, -np.inf]), np.array([-1.0, np.inf]))
    with pytest.raises(ValueError, match="whole-number"):
        whole_points(x, y, np.zeros(2), 1.0, SCALE, np.array([0.5, -np.inf]))
    with pytest.raises(ValueError, match="finite"):
        whole_points(x, y, np.array([np.nan, 0.0]), 1.0, SCALE)


def test_independent_rules_keep_their_rounding() -> None:
    """Columns that do not trade off: each coefficient rounded alone is already the best whole point."""
    rng = np.random.default_rng(5)
    x = (rng.random((8_000, 12)) < 0.3).astype(np.float64)
    y = labels(rng, x, np.linspace(-0.8, 0.8, 12))
    strength = 1.0
    coefficients = LogisticRegression(C=strength, solver="newton-cholesky").fit(x, y).coef_[0]
    together = whole_points(x, y, coefficients, strength, SCALE)
    alone = np.rint(coefficients * SCALE).astype(np.int64)
    assert penalised_loss(x, y, together, strength) <= penalised_loss(x, y, alone, strength) + 1e-9
    assert np.abs(together - alone).max() <= 1


def test_rules_no_row_matches_keep_their_rounding() -> None:
    x = np.zeros((50, 3))
    y = np.array([0, 1] * 25, dtype=np.int64)
    coefficients = np.array([0.14, -0.2, 0.0])
    assert whole_points(x, y, coefficients, 1.0, SCALE).tolist() == [2, -3, 0]


def descend_every_move(
    x: NDArray[np.float64], y: NDArray[np.int64], points: NDArray[np.int64], strength: float
) -> NDArray[np.int64]:
    """The same local search without its shortcut: both moves of every rule worked out in full, the
    intercept held within a pass and refitted after it."""
    points = points.copy()
    half_ridge = 1.0 / (2.0 * strength * SCALE * SCALE)
    sign = 2.0 * y - 1.0
    margin = x @ points / SCALE
    intercept = fit_intercept(margin, y)
    for _ in range(20):
        moved = False
        for j in range(x.shape[1]):
            z = margin + intercept
            now = np.logaddexp(0.0, -sign * z).sum() + half_ridge * points[j] ** 2
            changes = {
                delta: np.logaddexp(0.0, -sign * (z + delta * x[:, j] / SCALE)).sum()
                + half_ridge * (points[j] + delta) ** 2
                - now
                for delta in (1, -1)
            }
            delta = min(changes, key=lambda d: changes[d])
            if changes[delta] < -1e-9:
                points[j] += delta
                margin += delta * x[:, j] / SCALE
                moved = True
        intercept = fit_intercept(margin, y, intercept)
        if not moved:
            break
    return points


def test_the_local_search_skips_only_moves_that_cannot_gain() -> None:
    """Its slope bound (the loss is convex) must never skip a move the full search would make: from the
    same start, far enough from the optimum that many moves are made, both end on the same points."""
    rng = np.random.default_rng(11)
    x = counts(rng, 3_000, 6)
    y = labels(rng, x, rng.normal(0, 0.08, 24))
    infinite = np.full(24, np.inf)
    for strength in (0.01, 0.1, 1.0):
        coefficients = LogisticRegression(C=strength, solver="newton-cholesky").fit(x, y).coef_[0]
        start = np.rint(coefficients * SCALE).astype(np.int64) + rng.integers(-2, 3, 24)
        fast = _descend(x, y, start, 1.0 / (2.0 * strength * SCALE * SCALE), SCALE, -infinite, infinite)
        assert (fast != start).sum() >= 5
        np.testing.assert_array_equal(fast, descend_every_move(x, y, start, strength))
