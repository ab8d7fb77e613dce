"""Whole points that fit the training rows as well as whole points can, not each coefficient rounded alone.

Rounding each coefficient to the nearest point on its own ignores the others. On a weak signal, where a
lead's total spreads over a handful of points, dozens of correlated rules (a count over 7, 30 and 90 days,
its caps, its facets) each off by up to half a point blur the ranking. Instead, the points are rounded one
rule at a time, each rule's rounding error passed on to the rules still to be rounded in proportion to how
the fit trades them off: Babai's nearest plane on the penalised log-loss, taken as a quadratic around the
fitted coefficients (in Ustun and Rudin's risk scores, the same idea is sequential rounding). A local search
then moves one rule's points at a time by one while the penalised log-loss itself falls (discrete coordinate
descent). The penalty is the one the coefficients were fitted with, so the points stay as near the
regression's as it allows, and no looser a fit is made than the regression's own.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

#: Full passes of the local search; each pass moves a rule by at most one point.
MAX_PASSES = 20


def whole_points(
    x: NDArray[np.float64],
    y: NDArray[np.int64],
    coefficients: NDArray[np.float64],
    strength: float,
    scale: float,
    lower: NDArray[np.float64] | None = None,
    upper: NDArray[np.float64] | None = None,
) -> NDArray[np.int64]:
    """Integer points for ``coefficients`` (``scale`` points per unit of log-odds) on the design ``x``, with
    scikit-learn's L2 penalty at ``C = strength``, each within ``lower`` and ``upper`` where given (the
    inactivity penalty must stay at -1 point or less)."""
    k = len(coefficients)
    low = np.full(k, -np.inf) if lower is None else np.asarray(lower, dtype=np.float64)
    high = np.full(k, np.inf) if upper is None else np.asarray(upper, dtype=np.float64)
    if not (np.isfinite(coefficients).all() and np.isfinite(x).all()):
        raise ValueError("expected finite coefficients and design to round into points")
    whole = all(bool(np.all(b[np.isfinite(b)] == np.rint(b[np.isfinite(b)]))) for b in (low, high))
    if not whole or bool((low > high).any()):
        raise ValueError("expected whole-number bounds with lower <= upper")
    ridge = 1.0 / (strength * scale * scale)
    points = _nearest_plane(x, y, coefficients * scale, ridge, scale, low, high)
    return _descend(x, y, points, ridge / 2.0, scale, low, high)


def _nearest_plane(
    x: NDArray[np.float64],
    y: NDArray[np.int64],
    target: NDArray[np.float64],
    ridge: float,
    scale: float,
    low: NDArray[np.float64],
    high: NDArray[np.float64],
) -> NDArray[np.int64]:
    """Babai's nearest plane for the quadratic loss ``(p - target)' H (p - target)``, where H is the
    penalised log-loss's curvature at ``target`` in points, with the intercept profiled out."""
    margin = x @ target / scale
    weight = _probability(margin + fit_intercept(margin, y))
    weight *= 1.0 - weight
    summed = weight @ x  # the weighted centring, without a centred copy of the design
    curvature = x.T @ (x * weight[:, None]) - np.outer(summed, summed) / max(float(weight.sum()), 1e-12)
    curvature = curvature / (scale * scale) + ridge * np.eye(len(target))
    upper_factor = np.linalg.cholesky(curvature).T  # positive definite: the ridge is
    points = np.zeros(len(target))
    for i in range(len(target) - 1, -1, -1):
        shift = upper_factor[i, i + 1 :] @ (target[i + 1 :] - points[i + 1 :]) / upper_factor[i, i]
        points[i] = np.clip(np.rint(target[i] + shift), low[i], high[i])
    return points.astype(np.int64)


def _descend(
    x: NDArray[np.float64],
    y: NDArray[np.int64],
    points: NDArray[np.int64],
    half_ridge: float,
    scale: float,
    low: NDArray[np.float64],
    high: NDArray[np.float64],
) -> NDArray[np.int64]:
    """Moves of one point on one rule, kept while they lower the penalised log-loss. The loss is convex, so
    its slope bounds what a move can gain: a move is tried only in the downhill direction, and only where
    the slope is steeper than the move's own penalty (elsewhere it cannot gain, so skipping it changes
    nothing); most rules are skipped, and the loss is worked out on the rest."""
    points = points.copy()
    sign = 2.0 * y - 1.0
    margin = x @ points / scale
    intercept = fit_intercept(margin, y)
    columns = [np.flatnonzero(x[:, j]) for j in range(x.shape[1])]
    for _ in range(MAX_PASSES):
        moved = False
        residual = _probability(margin + intercept) - y
        for j, rows in enumerate(columns):
            if not len(rows):
                continue
            step = x[rows, j] / scale
            slope = float(residual[rows] @ step) + 2.0 * half_ridge * points[j]
            delta = -1 if slope > 0 else 1
            if abs(slope) <= half_ridge or not low[j] <= points[j] + delta <= high[j]:
                continue  # a lower bound on the change, slope * delta + half_ridge, is not below 0
            z = margin[rows] + intercept
            s = sign[rows]
            p = points[j] + delta
            change = np.logaddexp(0.0, -s * (z + delta * step)).sum() - np.logaddexp(0.0, -s * z).sum()
            change += half_ridge * (p * p - points[j] * points[j])
            if change < -1e-9:
                points[j] = p
                margin[rows] += delta * step
                residual[rows] = _probability(margin[rows] + intercept) - y[rows]
                moved = True
        intercept = fit_intercept(margin, y, intercept)
        if not moved:
            break
    return points


def fit_intercept(log_odds: NDArray[np.float64], y: NDArray[np.int64], start: float = 0.0) -> float:
    """The unpenalised intercept beside fixed log-odds, which makes their odds match the conversion rate
    (Newton steps on the log-likelihood, each at most 4 log-odds: where every lead sits far out on the
    sigmoid the curvature is nearly 0, and an undamped step flies off to 1e51)."""
    b = start
    for _ in range(100):
        p = _probability(log_odds + b)
        gradient = float((y - p).sum())
        curvature = float((p * (1 - p)).sum())
        if gradient == 0:
            break
        step = gradient / curvature if curvature > 0 else np.sign(gradient) * 4.0
        b += float(np.clip(step, -4.0, 4.0))
        if abs(gradient) < 1e-9:
            break
    return b


def _probability(log_odds: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-np.clip(log_odds, -500, 500)))
