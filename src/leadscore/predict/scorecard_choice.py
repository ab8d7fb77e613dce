"""How ``fit_scorecard`` picks its rules and their coefficients.

First an L1 penalty (the lasso) picks which candidates become rules (``select_rules``). Then the L2 penalty's
strength and the inactivity penalty are chosen together by cross-validation on the out-of-fold AUC of the
points rounded as they will be shipped, on the picked candidates alone (a relaxed lasso).

Why pick first: on a weak signal, hundreds of binned and windowed candidates (a count over 7, 30 and 90
days, its caps, its recency windows, its property values) each carry a little noise, and an L2 penalty keeps
them all. On leadforge's sparse advanced tier (seed 2, with opportunities) that noise cost more than the rules
earned: the scorecard fitted on all 542 columns kept 193 rules and ranked the newest leads at AUC 0.595, the
one fitted on the columns the lasso kept has 19 rules and 0.619 (docs/benchmarks.md, "A sparse
scorecard"). A card with a few dozen rules is also one a team can read.

The inactivity penalty counts from the lead's last event of any type (``since: any_event``): quiet leads stop
converting whatever their last event was (docs/benchmarks.md, "Late on 2026-12-03"). Its column is the same
for every strength, but whether it lifts the ranking depends on what the rules at that strength already
say about recent activity, so the two are chosen together.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from leadscore.engine.types import US_PER_DAY, to_micros
from leadscore.predict.dataset import WINDOWS_DAYS, Row
from leadscore.predict.metrics import auc
from leadscore.predict.scorecard_bins import Design
from leadscore.predict.scorecard_rounding import whole_points
from leadscore.predict.scorecard_scoring import event_types, last_occurrences

#: Inverse regularisation strengths tried by cross-validation, weakest penalty last.
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
C_TOLERANCE = 0.002
FOLDS = 4
CV_ROWS = 50_000
SEED = 7
#: Strengths of the L1 penalty that picks the rules, strongest first (scikit-learn's C, on the 0/1 and capped
#: count columns as they are).
SELECTION_GRID = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.3, 1.0)
#: Inactivity penalties tried: a period in days, and at most this many periods.
INACTIVITY_EVERY_DAYS = (1, 2, 3, 7, 14, 30)
INACTIVITY_CAPS = (2, 4, 8, 14)

Folds = list[tuple[NDArray[np.intp], NDArray[np.intp]]]


@dataclass(frozen=True)
class InactivityPenalty:
    """Points for every full ``every_days`` since the lead's last event of any type (or its creation), at
    most ``cap`` times: the engine's ``inactivity`` with ``floor = points * cap``. ``rows``
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


@dataclass(frozen=True)
class Selection:
    """Which candidates the lasso kept (their indexes into the design), at which strength, out of how many;
    ``strength`` is None when every candidate was kept."""

    kept: NDArray[np.intp]
    strength: float | None
    candidates: int


def select_rules(rows: Sequence[Row], built: Design, y: NDArray[np.int64]) -> tuple[Design, Selection]:
    """The design cut to the candidates an L1-penalised logistic regression gives weight to, at the strongest
    penalty whose out-of-fold AUC is within one standard error of the best strength's (``_simplest``'s rule,
    on the folds ``fit_points`` uses). The folds judge the lasso's own scores, unrounded: rounding comes
    after, on the kept candidates. Random folds favour weak penalties more than new leads do (on leadforge's
    advanced tier the best fold mean sat at C = 0.1 with 148 rules, which ranked the newest leads worse
    than C = 0.02 with 29), which is why the one-standard-error rule, and not the best mean, chooses."""
    everything = Selection(np.arange(built.matrix.shape[1]), None, built.matrix.shape[1])
    if built.matrix.shape[1] < 2:
        return built, everything
    folds = _folds(y, np.array([r.lead_id for r in rows]))
    x = built.matrix
    options = []
    for strength in SELECTION_GRID:
        aucs = []
        for train, test in folds:
            coefficients = _lasso(x[train], y[train], strength)
            aucs.append(auc(x[test] @ coefficients, y[test]) or 0.5)
        options.append(_Option(strength, None, aucs))
    chosen = _simplest(options)
    for option in options[options.index(chosen) :]:  # a penalty so strong it keeps nothing: the next one
        kept = np.flatnonzero(_lasso(x, y, option.strength))
        if len(kept):
            cut = Design([built.candidates[i] for i in kept], x[:, kept], built.references)
            return cut, Selection(kept, option.strength, x.shape[1])
    return built, everything


def _lasso(x: NDArray[np.float64], y: NDArray[np.int64], strength: float) -> NDArray[np.float64]:
    """The L1 fit's coefficients. liblinear penalises the intercept as one more weight; scaled up, it costs
    next to nothing, as in the L2 fit. Penalised in full, it shrank toward 0 under strong penalties and a
    column that nearly every lead has took its place with a negative weight, ranking the leads backwards
    (out-of-fold AUC 0.43 to 0.47 at C = 0.002 and 0.003 on leadforge's advanced tier)."""
    model = LogisticRegression(
        C=strength, l1_ratio=1.0, solver="liblinear", intercept_scaling=100.0, max_iter=2000, random_state=SEED
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y)
    return np.asarray(model.coef_[0], dtype=np.float64)


def fit_points(rows: Sequence[Row], built: Design, y: NDArray[np.int64], scale: float) -> Fitted:
    """The coefficients to round into points (``scale`` points per unit of log-odds), see the module
    docstring."""
    folds = _folds(y, np.array([r.lead_id for r in rows]))
    elapsed = since_last_event(rows)
    chosen, alone, fitted = _choose(built, y, folds, scale, elapsed)
    if chosen.inactivity is not None and elapsed is not None:
        every, cap = chosen.inactivity
        periods = _periods(elapsed, every, cap)
        coefficients = _logistic(np.column_stack([built.matrix, periods]), y, chosen.strength).coef_[0]
        coefficient = float(coefficients[-1])
        if round(coefficient * scale) < 0:
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
    built: Design, y: NDArray[np.int64], folds: Folds, scale: float, elapsed: NDArray[np.float64] | None
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
    penalties = {}  # the same columns at every strength: the penalty counts from any event
    if elapsed is not None:
        for every, cap in itertools.product(INACTIVITY_EVERY_DAYS, INACTIVITY_CAPS):
            periods = _periods(elapsed, every, cap)
            if periods.min() != periods.max():
                penalties[every, cap] = periods
    options: list[_Option] = []
    fitted: dict[float, NDArray[np.float64]] = {}
    for strength in C_GRID:
        fits = _fold_fits(x, y, folds, strength, scale)
        options.append(_Option(strength, None, [fit.auc for fit in fits]))
        fitted[strength] = _logistic(x, y, strength).coef_[0]
        for (every, cap), periods in penalties.items():
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


def since_last_event(rows: Sequence[Row]) -> NDArray[np.float64] | None:
    """Per row, microseconds from the lead's last event of any type (or else its creation, not after the
    snapshot) to the snapshot, NaN with neither: what ``since: any_event`` counts, as
    ``scorecard_scoring.inactivity_since`` gives it row by row. Each type's last event is placed for all rows
    at once (``last_occurrences``): row by row, it took a third of the fit. None when the rows lack
    ``age_days`` or the last-event columns (rows written before 2026-12-02)."""
    if not rows or "age_days" not in rows[0].features:
        return None
    names = rows[0].features
    types = event_types(names)
    if _untimed_types(names, types):
        return None  # counts of a type whose last event the rows do not give
    at_us = np.array([to_micros(r.snapshot) for r in rows], dtype=np.int64)
    at = at_us.astype(np.float64)  # exact: below 2**53
    ages = [r.features.get("age_days") for r in rows]
    created = at - np.rint(np.array([np.nan if a is None else float(a) for a in ages]) * US_PER_DAY)
    lasts = [last_occurrences(rows, (kind, None), at_us) for kind in types]
    since: NDArray[np.float64] = np.fmax.reduce(lasts) if lasts else np.full(len(rows), np.nan)
    elapsed: NDArray[np.float64] = at - np.where(np.isnan(since), np.minimum(created, at), since)
    return elapsed


def _untimed_types(names: Iterable[str], timed: Sequence[str]) -> list[str]:
    """Event types with a count column among ``names`` but no last-event column (not a facet's count, nor a
    numeric property's sum)."""
    suffix = f".{WINDOWS_DAYS[0]}d"
    bodies = {n[len("events.") : -len(suffix)] for n in names if n.startswith("events.") and n.endswith(suffix)}
    return sorted(b for b in bodies if "=" not in b and not b.endswith(".sum") and b not in timed)


def _periods(elapsed: NDArray[np.float64], every_days: int, cap: int) -> NDArray[np.float64]:
    """Full periods of ``every_days`` elapsed, at most ``cap``: the engine's integer division, in µs."""
    full = np.floor_divide(np.nan_to_num(elapsed, nan=0.0), every_days * US_PER_DAY)
    return np.minimum(np.maximum(full, 0.0), cap)
