"""How ``fit_scorecard`` picks its coefficients: the L2 penalty's strength and the inactivity penalty, chosen
together by cross-validation on the out-of-fold AUC of the points rounded as they will be shipped, and the
chosen penalty fitted with the rules so that the column the fit used is the one the engine will count.

The inactivity penalty counts from the rules that end up positive, so a strong L2 penalty that keeps only a
few rules leaves it little to count from, while a weaker one with a penalty may rank better than either:
the two cannot be chosen one after the other.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from leadscore.engine.types import US_PER_DAY, to_micros
from leadscore.predict.dataset import Row
from leadscore.predict.facets import last_column
from leadscore.predict.metrics import auc
from leadscore.predict.scorecard_bins import Design
from leadscore.predict.scorecard_rounding import whole_points
from leadscore.predict.scorecard_scoring import EventKey, last_occurrences

#: Inverse regularisation strengths tried by cross-validation, weakest penalty last.
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
C_TOLERANCE = 0.002
FOLDS = 4
CV_ROWS = 50_000
SEED = 7
#: Inactivity penalties tried: a period in days, and at most this many periods.
INACTIVITY_EVERY_DAYS = (1, 2, 3, 7, 14, 30)
INACTIVITY_CAPS = (2, 4, 8, 14)
INACTIVITY_REFITS = 3

Elapsed = Callable[[list[EventKey]], NDArray[np.float64] | None]
Folds = list[tuple[NDArray[np.intp], NDArray[np.intp]]]


@dataclass(frozen=True)
class InactivityPenalty:
    """Points for every full ``every_days`` since the last event a positive rule counts (or the lead's
    creation), at most ``cap`` times: the engine's ``inactivity`` with ``floor = points * cap``. ``rows``
    and ``converted``: the training rows that reached the cap."""

    every_days: int
    points: int
    cap: int
    coefficient: float
    rows: int
    converted: int


@dataclass(frozen=True)
class Fitted:
    """The rules' coefficients at the chosen strength, and the inactivity penalty kept beside them (with its
    column on the training rows: periods reached, 0 without a penalty)."""

    strength: float
    coefficients: NDArray[np.float64]
    inactivity: InactivityPenalty | None
    periods: NDArray[np.float64]


def fit_points(rows: Sequence[Row], built: Design, y: NDArray[np.int64], scale: float) -> Fitted:
    """The coefficients to round into points (``scale`` points per unit of log-odds), see the module
    docstring."""
    folds = _folds(y, np.array([r.lead_id for r in rows]))
    elapsed = _elapsed_cache(rows)
    chosen, alone, fitted = _choose(built, y, folds, scale, elapsed)
    if chosen.inactivity is not None:
        every, cap = chosen.inactivity
        keys = _positive_keys(built, np.rint(fitted[chosen.strength] * scale).astype(np.int64))
        settled = _settled(built, y, scale, chosen.strength, keys, elapsed, every, cap)
        if settled is not None and round(float(settled[1][-1]) * scale) < 0:
            periods, coefficients = settled
            coefficient = float(coefficients[-1])
            reached = periods >= cap
            penalty = InactivityPenalty(
                every, round(coefficient * scale), cap, coefficient, int(reached.sum()), int(y[reached].sum())
            )
            return Fitted(chosen.strength, coefficients[:-1], penalty, periods)
    return Fitted(alone.strength, fitted[alone.strength], None, np.zeros(len(y)))


def _logistic(x: NDArray[np.float64], y: NDArray[np.int64], strength: float) -> LogisticRegression:
    model = LogisticRegression(C=strength, max_iter=200, solver="newton-cholesky")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a near-converged fit ranks the same
        model.fit(x, y)
    return model


def _folds(y: NDArray[np.int64], groups: NDArray[np.str_]) -> Folds:
    """Cross-validation folds over row indexes, a lead's snapshots in one fold. Above ``CV_ROWS`` rows they
    cover a seeded sample of the leads: choosing a penalty needs no more."""
    index = np.arange(len(y))
    if len(groups) > CV_ROWS:
        leads = np.unique(groups)
        share = CV_ROWS / len(groups)
        picked = np.random.default_rng(SEED).choice(leads, max(1, round(share * len(leads))), replace=False)
        index = np.flatnonzero(np.isin(groups, picked))
    y, groups = y[index], groups[index]
    if len(np.unique(groups)) == len(groups):  # one row per lead: the quick split will do
        split = StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(index, y)
    else:
        split = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=SEED).split(index, y, groups)
    return [(index[train], index[test]) for train, test in split]


@dataclass(frozen=True)
class _FoldFit:
    """One fold's fit: its rounded points' scores on the fold's held-out rows and their AUC, and the unrounded
    log-odds it gives its own training rows (what a penalty is screened against)."""

    scores: NDArray[np.float64]
    auc: float
    log_odds: NDArray[np.float64]


def _fold_fits(
    x: NDArray[np.float64], y: NDArray[np.int64], folds: Folds, strength: float, scale: float
) -> list[_FoldFit]:
    """Each fold's fit, judged with the points rounded as they will be shipped."""
    fits = []
    for train, test in folds:
        model = _logistic(x[train], y[train], strength)
        scores = x[test] @ whole_points(x[train], y[train], model.coef_[0], strength, scale)
        log_odds = x[train] @ model.coef_[0] + model.intercept_[0]
        fits.append(_FoldFit(scores, auc(scores, y[test]) or 0.5, log_odds))
    return fits


def _standard_error(values: Sequence[float] | NDArray[np.float64]) -> float:
    return float(np.std(values, ddof=1)) / math.sqrt(len(values))


@dataclass(frozen=True)
class _Option:
    """A penalty strength, with or without an inactivity period and cap, and its out-of-fold AUCs."""

    strength: float
    inactivity: tuple[int, int] | None
    aucs: list[float]

    @property
    def mean(self) -> float:
        return float(np.mean(self.aucs))

    @property
    def error(self) -> float:
        return _standard_error(self.aucs)


def _choose(
    built: Design, y: NDArray[np.int64], folds: Folds, scale: float, elapsed: Elapsed
) -> tuple[_Option, _Option, dict[float, NDArray[np.float64]]]:
    """The penalty strength and inactivity penalty to fit with; the strength chosen among the options
    without an inactivity penalty, which is fitted when the chosen one does not hold; and each strength's
    coefficients on all the rows.

    Every strength is cross-validated with the points rounded as they will be shipped; each period and cap
    is screened on the same folds by fitting only its own points beside each fold's fit (a two-parameter
    fit, no refit of the rules). The choice is the strongest penalty whose best option's mean AUC is within
    one standard error of the best option's (and at least ``C_TOLERANCE``): a ranking the folds cannot tell
    from the best, with smaller points. When that strength without an inactivity penalty is within reach
    too, none is kept (see ``_pick``), and the strength is chosen by the same rule among the options
    without one. On weak signals the fold means wander by more than a fixed margin, and the best mean alone
    can pick the weakest penalty for hundreds of rules that fit noise."""
    x = built.matrix
    options: list[_Option] = []
    fitted: dict[float, NDArray[np.float64]] = {}
    for strength in C_GRID:
        fits = _fold_fits(x, y, folds, strength, scale)
        options.append(_Option(strength, None, [fit.auc for fit in fits]))
        fitted[strength] = _logistic(x, y, strength).coef_[0]
        times = elapsed(_positive_keys(built, np.rint(fitted[strength] * scale).astype(np.int64)))
        if times is None:
            continue
        for every, cap in itertools.product(INACTIVITY_EVERY_DAYS, INACTIVITY_CAPS):
            periods = _periods(times, every, cap)
            if periods.min() == periods.max():
                continue
            screened = _screen(fits, folds, y, periods, scale, strength)
            if screened is not None:
                options.append(_Option(strength, (every, cap), screened))
    chosen, alone = _pick(options)
    return chosen, alone, fitted


def _pick(options: Sequence[_Option]) -> tuple[_Option, _Option]:
    """``_choose``'s choice among the cross-validated options, listed strongest penalty first. Many penalties
    are screened, and the best of many noisy options looks better than it is: the chosen one must also
    beat the same strength without a penalty, fold by fold, by more than both ``C_TOLERANCE`` and that
    gain's own standard error."""
    alone = _simplest([o for o in options if o.inactivity is None])
    strength = _simplest(options).strength
    at_strength = [o for o in options if o.strength == strength]
    plain = next(o for o in at_strength if o.inactivity is None)
    if plain.mean >= _floor(options):
        return alone, alone
    chosen = max(at_strength, key=lambda o: o.mean)
    gains = np.array(chosen.aucs) - np.array(plain.aucs)
    if float(gains.mean()) <= max(C_TOLERANCE, _standard_error(gains)):
        return alone, alone
    return chosen, alone


def _floor(options: Sequence[_Option]) -> float:
    best = max(options, key=lambda o: o.mean)
    return best.mean - max(C_TOLERANCE, best.error)


def _simplest(options: Sequence[_Option]) -> _Option:
    """The first option (strongest penalty first) within one standard error of the best."""
    floor = _floor(options)
    return next(o for o in options if o.mean >= floor)


def _screen(
    fits: Sequence[_FoldFit],
    folds: Folds,
    y: NDArray[np.int64],
    periods: NDArray[np.float64],
    scale: float,
    strength: float,
) -> list[float] | None:
    """Out-of-fold AUCs with an inactivity penalty's rounded points added to each fold's, the penalty fitted
    on the fold's training rows beside its fixed log-odds; None when some fold finds no negative points."""
    aucs = []
    for fit, (train, test) in zip(fits, folds, strict=True):
        per_period = round(_offset_slope(fit.log_odds, periods[train], y[train], strength) * scale)
        if per_period >= 0:
            return None
        aucs.append(auc(fit.scores + per_period * periods[test], y[test]) or 0.5)
    return aucs


def _offset_slope(
    offset: NDArray[np.float64], column: NDArray[np.float64], y: NDArray[np.int64], strength: float
) -> float:
    """The coefficient of ``column`` in a logistic fit of ``y`` on it and an intercept, beside a fixed
    ``offset``, with the rules' L2 penalty on it (``strength`` is scikit-learn's C, the intercept is not
    penalised): damped Newton steps on the two parameters. 0 for a constant column."""
    if column.min() == column.max():
        return 0.0
    theta = np.zeros(2)
    design_ = np.column_stack([np.ones(len(column)), column])
    ridge = np.diag([1e-9, 1.0 / strength])
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(offset + design_ @ theta, -500, 500)))
        gradient = design_.T @ (y - p) - ridge @ theta
        hessian = (design_ * (p * (1 - p))[:, None]).T @ design_ + ridge
        step = np.clip(np.linalg.solve(hessian, gradient), -4.0, 4.0)
        theta += step
        if float(np.abs(step).max()) < 1e-8:
            break
    return float(theta[1])


def _positive_keys(built: Design, points: NDArray[np.int64]) -> list[EventKey]:
    """What the engine counts inactivity from: the events of the rules with positive points."""
    keys = [(c.event, c.where) for c, p in zip(built.candidates, points, strict=True) if c.is_count and p > 0]
    return list(dict.fromkeys((event, where) for event, where in keys if event is not None))


def _elapsed_cache(rows: Sequence[Row]) -> Elapsed:
    """Per row, microseconds from what inactivity counts from to the snapshot (NaN: no penalty), per set of
    keys, as ``scorecard_scoring.inactivity_since`` gives it: the last event of the keys, or else the
    lead's creation (not after the snapshot). Each key's times are worked out once and kept: a column per
    event type or property value a count rule reads, at most as many as the design has. None when the rows
    lack ``age_days`` or a last-event column the keys need (rows written before 2026-12-02)."""
    by_keys: dict[tuple[EventKey, ...], NDArray[np.float64] | None] = {}
    by_key: dict[EventKey, NDArray[np.float64]] = {}
    timed = bool(rows) and "age_days" in rows[0].features
    at_us = np.array([to_micros(r.snapshot) for r in rows], dtype=np.int64)
    ages = [r.features.get("age_days") for r in rows]
    at = at_us.astype(np.float64)  # exact: below 2**53
    created = at - np.rint(np.array([np.nan if a is None else float(a) for a in ages]) * US_PER_DAY)
    fallback = np.minimum(created, at)  # NaN without an age: no penalty

    def elapsed(keys: list[EventKey]) -> NDArray[np.float64] | None:
        key = tuple(keys)
        if key not in by_keys:
            known = timed and all(last_column(*k) in rows[0].features for k in keys)
            if not known:
                by_keys[key] = None
            else:
                for k in keys:
                    if k not in by_key:
                        by_key[k] = last_occurrences(rows, k, at_us)
                lasts = [by_key[k] for k in keys]
                since = np.fmax.reduce(lasts) if lasts else np.full(len(rows), np.nan)
                by_keys[key] = at - np.where(np.isnan(since), fallback, since)
        return by_keys[key]

    return elapsed


def _periods(elapsed: NDArray[np.float64], every_days: int, cap: int) -> NDArray[np.float64]:
    """Full periods of ``every_days`` elapsed, at most ``cap``: the engine's integer division, in µs."""
    full = np.floor_divide(np.nan_to_num(elapsed, nan=0.0), every_days * US_PER_DAY)
    return np.minimum(np.maximum(full, 0.0), cap)


def _settled(
    built: Design,
    y: NDArray[np.int64],
    scale: float,
    strength: float,
    keys: list[EventKey],
    elapsed: Elapsed,
    every: int,
    cap: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """The penalty's column and the coefficients refitted beside it, the column counted from the events of
    the rules the refit leaves positive, as the engine will count it. Adding the column can change which
    rules are positive, so ``keys`` is a first guess, tried again with the refit's own until they agree. A
    rule with a point or two can flip sign back and forth; after ``INACTIVITY_REFITS`` tries the rules are
    kept as last refitted, the column is counted from their positive rules, and only the penalty's own
    coefficient is fitted again beside them. None when the column is constant or cannot be counted."""

    def column(keys: list[EventKey]) -> NDArray[np.float64] | None:
        times = elapsed(keys)
        periods = _periods(times, every, cap) if times is not None else None
        return periods if periods is not None and periods.min() != periods.max() else None

    x = built.matrix
    for _ in range(max(1, INACTIVITY_REFITS)):
        periods = column(keys)
        if periods is None:
            return None
        model = _logistic(np.column_stack([x, periods]), y, strength)
        coefficients = model.coef_[0]
        refit = _positive_keys(built, np.rint(coefficients[:-1] * scale).astype(np.int64))
        if refit == keys:
            return periods, coefficients
        keys = refit
    periods = column(keys)
    if periods is None:
        return None
    rules = coefficients[:-1]
    slope = _offset_slope(x @ rules + model.intercept_[0], periods, y, strength)
    return periods, np.append(rules, slope)
