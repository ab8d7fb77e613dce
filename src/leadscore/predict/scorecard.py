"""``fit_scorecard``: integer points per field bin and per event count, learned from training rows.

The points are a logistic regression's coefficients on the bins of ``scorecard_bins``, scaled so that
every ``points_to_double`` points double the odds of converting, and rounded. A ``base`` rule that every
lead matches carries the intercept, placed so that ``even_odds_at`` points are even odds: a total reads
as a chance, and a rule's points as how much it moves that chance. The regularisation and the inactivity
penalty are chosen together by cross-validation on the training rows, grouped by lead, on the out-of-fold
AUC of the rounded points: what is shipped is integers, so that is what is judged.

Before a scorecard is returned, its model file is read back and the reference engine scores every training
row with it (a sample of 20,000 on more); each total must equal the fit's own sum of integer points
(``_self_check``).

The thresholds (MQL, SQL, and the tiers that mirror them) are picked on the training rows' own totals to hit
an MQL share of leads or an MQL precision, and an SQL share.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from leadscore.engine.types import US_PER_DAY, to_micros
from leadscore.model.loader import loads_model
from leadscore.model.scoring_model import ScoringModel
from leadscore.predict.dataset import Row
from leadscore.predict.facets import last_column
from leadscore.predict.metrics import auc
from leadscore.predict.scorecard_bins import Candidate, design
from leadscore.predict.scorecard_scoring import EventKey, inactivity_since, score_rows
from leadscore.predict.scorecard_yaml import to_yaml
from leadscore.predict.train import MIN_PER_CLASS, TooFewOutcomes

POINTS_TO_DOUBLE = 10.0
EVEN_ODDS_AT = 50.0
MQL_SHARE = 0.20
SQL_SHARE = 0.05
#: Inverse regularisation strengths tried by cross-validation, weakest penalty last.
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
C_TOLERANCE = 0.002
FOLDS = 4
CV_ROWS = 50_000
SELF_CHECK_ROWS = 20_000
SEED = 7
#: Inactivity penalties tried: a period in days, and at most this many periods.
INACTIVITY_EVERY_DAYS = (1, 2, 3, 7, 14, 30)
INACTIVITY_CAPS = (2, 4, 8, 14)
INACTIVITY_REFITS = 3
#: A threshold chosen for precision must keep at least this many training rows above it.
MIN_ROWS_ABOVE = 20


@dataclass(frozen=True)
class ScorecardRule:
    """A candidate with its points, the coefficient they were rounded from, and the training rows behind
    it: those in the bin, or for a count those who reached the cap."""

    candidate: Candidate
    points: int
    coefficient: float
    rows: int
    converted: int


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
class Threshold:
    """A minimum total, and what it selects on the training rows."""

    points: int
    share: float
    precision: float


@dataclass(frozen=True, eq=False)
class Scorecard:
    """What was learned, and what the model file says: ``to_yaml`` writes it, ``model`` reads that back."""

    name: str
    base: int
    rules: tuple[ScorecardRule, ...]
    mql: Threshold
    sql: Threshold
    points_to_double: float
    even_odds_at: float
    rows: int
    positives: int
    training_auc: float | None
    regularisation: float
    min_support: int
    #: Per lead field with rules: its reference bin in words, its training rows and how many converted.
    references: dict[str, tuple[str, int, int]]
    totals: NDArray[np.int64] = field(repr=False)  # each training row's total, by the fit's own sums
    inactivity: InactivityPenalty | None = None

    def model(self) -> ScoringModel:
        return loads_model(self.to_yaml(), f"<{self.name}>")

    def to_yaml(self) -> str:
        return to_yaml(self)


def check_outcomes(labels: NDArray[np.int64], minimum: int) -> None:
    """The same rule as ``leadscore train``: at least ``minimum`` rows of each class."""
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives < minimum or negatives < minimum:
        raise TooFewOutcomes(
            f"the training rows hold {positives:,} converted and {negatives:,} not converted rows; at least "
            f"{minimum:,} of each are needed to learn from (load more outcomes, widen the snapshots, or lower "
            "--min-outcomes)"
        )


def fit_scorecard(
    rows: Sequence[Row],
    *,
    name: str = "suggested",
    mql_share: float | None = None,
    mql_precision: float | None = None,
    sql_share: float = SQL_SHARE,
    points_to_double: float = POINTS_TO_DOUBLE,
    even_odds_at: float = EVEN_ODDS_AT,
    min_outcomes: int = MIN_PER_CLASS,
    min_support: int | None = None,
    exclude: Sequence[str] = (),
) -> Scorecard:
    """A scorecard fitted on ``rows`` (see the module docstring). ``min_support`` is the fewest rows a bin
    or a count cap needs (default 0.5% of the rows, at least 20); ``exclude`` names columns to leave out."""
    if mql_share is not None and mql_precision is not None:
        raise ValueError("expected an MQL share or an MQL precision, not both")
    if points_to_double < 2:
        raise ValueError(f"expected at least 2 points to double the odds, got {points_to_double:g}")
    labels = np.array([r.label for r in rows], dtype=np.int64)
    check_outcomes(labels, min_outcomes)
    support = min_support if min_support is not None else max(20, math.ceil(0.005 * len(rows)))
    built = design(rows, support, exclude)
    if not built.candidates:
        raise ValueError(f"no lead field or event count has {support} rows in a bin: nothing to give points to")
    x = built.matrix
    groups = np.array([r.lead_id for r in rows])
    scale = points_to_double / math.log(2)
    folds = _folds(labels, groups)
    elapsed = _elapsed_cache(rows)
    chosen, alone = _choose(rows, built.candidates, x, labels, folds, scale, elapsed)
    inactivity, periods, refitted = _inactivity(rows, built.candidates, x, labels, scale, chosen, elapsed)
    strength = chosen.strength if inactivity is not None else alone.strength
    coefficients = refitted if refitted is not None else _logistic(x, labels, strength).coef_[0]
    points = np.rint(coefficients * scale).astype(np.int64)
    summed = x @ points + (periods * inactivity.points if inactivity is not None else 0)
    base = round(even_odds_at + scale * _intercept(summed / scale, labels))
    totals = (summed + base).astype(np.int64)
    rules = tuple(
        _rule(candidate, int(p), float(c), x[:, i], labels)
        for i, (candidate, p, c) in enumerate(zip(built.candidates, points, coefficients, strict=True))
        if p != 0
    )
    mql = (
        _threshold_for_precision(totals, labels, mql_precision)
        if mql_precision is not None
        else _threshold_for_share(totals, labels, MQL_SHARE if mql_share is None else mql_share)
    )
    sql = _threshold_for_share(totals, labels, sql_share)
    if sql.points <= mql.points:
        sql = _threshold_at(totals, labels, mql.points + 1)
    fields = {r.candidate.group for r in rules if not r.candidate.is_count}
    references = {
        group: (label, int(inside.sum()), int(labels[inside].sum()))
        for group, (label, inside) in built.references.items()
        if group in fields
    }
    card = Scorecard(
        name=name,
        base=base,
        rules=rules,
        mql=mql,
        sql=sql,
        points_to_double=points_to_double,
        even_odds_at=even_odds_at,
        rows=len(rows),
        positives=int(labels.sum()),
        training_auc=auc(totals, labels),
        regularisation=strength,
        min_support=support,
        references=references,
        totals=totals,
        inactivity=inactivity,
    )
    _self_check(card, rows)
    return card


def _self_check(card: Scorecard, rows: Sequence[Row]) -> None:
    """The model file, read back and run by the reference engine, must give the training rows the totals
    the fit computed; anything else is a bug here, not in the data. Above ``SELF_CHECK_ROWS`` rows, a
    seeded sample of them is checked (every bin has ``min_support`` rows, so each is still exercised)."""
    index = np.arange(len(rows))
    if len(rows) > SELF_CHECK_ROWS:
        index = np.sort(np.random.default_rng(SEED).choice(index, SELF_CHECK_ROWS, replace=False))
    engine = score_rows(card.model(), [rows[int(i)] for i in index])
    wrong = np.flatnonzero(engine != card.totals[index])
    if len(wrong):
        first = int(index[wrong[0]])
        raise AssertionError(
            f"the suggested model scores {len(wrong)} training rows differently from the fit, e.g. lead "
            f"{rows[first].lead_id}: engine {engine[wrong[0]]:g}, fit {int(card.totals[first])}"
        )


def _logistic(x: NDArray[np.float64], y: NDArray[np.int64], strength: float) -> LogisticRegression:
    model = LogisticRegression(C=strength, max_iter=200, solver="newton-cholesky")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a near-converged fit ranks the same
        model.fit(x, y)
    return model


Folds = list[tuple[NDArray[np.intp], NDArray[np.intp]]]


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
        scores = x[test] @ np.rint(model.coef_[0] * scale)
        log_odds = x[train] @ model.coef_[0] + model.intercept_[0]
        fits.append(_FoldFit(scores, auc(scores, y[test]) or 0.5, log_odds))
    return fits


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
        return float(np.std(self.aucs, ddof=1)) / math.sqrt(len(self.aucs))


def _choose(
    rows: Sequence[Row],
    candidates: Sequence[Candidate],
    x: NDArray[np.float64],
    y: NDArray[np.int64],
    folds: Folds,
    scale: float,
    elapsed: Callable[[list[EventKey]], NDArray[np.float64] | None],
) -> tuple[_Option, _Option]:
    """The penalty strength and inactivity penalty to fit with, and the strength chosen among the options
    without an inactivity penalty, which is fitted when the chosen one does not hold.

    Both are chosen together: the inactivity penalty counts from the rules that end up positive, so a strong
    penalty that keeps only a few rules leaves it little to count from, while a weaker one with a penalty
    may rank better than either. Every strength is cross-validated with the points rounded as they will be
    shipped; each period and cap is screened on the same folds by fitting only its own points beside each
    fold's fit (a two-parameter fit, no refit of the rules). The choice is the strongest penalty whose best
    option's mean AUC is within one standard error of the best option's (and at least ``C_TOLERANCE``): a
    ranking the folds cannot tell from the best, with smaller points. When that strength without an
    inactivity penalty is within reach too, none is kept (see ``_pick``), and the strength is chosen by the
    same rule among the options without one. On weak signals the fold means wander by more than a fixed
    margin, and the best mean alone can pick the weakest penalty for hundreds of rules that fit noise."""
    options: list[_Option] = []
    for strength in C_GRID:
        fits = _fold_fits(x, y, folds, strength, scale)
        plain = _Option(strength, None, [fit.auc for fit in fits])
        options.append(plain)
        if not rows or "age_days" not in rows[0].features:
            continue
        points = np.rint(_logistic(x, y, strength).coef_[0] * scale).astype(np.int64)
        times = elapsed(_positive_keys(candidates, points))
        if times is None:
            continue
        for every, cap in itertools.product(INACTIVITY_EVERY_DAYS, INACTIVITY_CAPS):
            periods = _periods(times, every, cap)
            if periods.min() == periods.max():
                continue
            screened = _screen(fits, folds, y, periods, scale, strength)
            if screened is not None:
                options.append(_Option(strength, (every, cap), screened))
    return _pick(options)


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
    if float(gains.mean()) <= max(C_TOLERANCE, float(gains.std(ddof=1)) / math.sqrt(len(gains))):
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


def _positive_keys(candidates: Sequence[Candidate], points: NDArray[np.int64]) -> list[EventKey]:
    """What the engine counts inactivity from: the events of the rules with positive points."""
    keys = [(c.event, c.where) for c, p in zip(candidates, points, strict=True) if c.is_count and p > 0]
    return list(dict.fromkeys((event, where) for event, where in keys if event is not None))


def _elapsed_us(rows: Sequence[Row], keys: Sequence[EventKey]) -> NDArray[np.float64]:
    """Per row, microseconds from what inactivity counts from to the snapshot (NaN: no penalty)."""
    out = np.full(len(rows), np.nan)
    for i, row in enumerate(rows):
        since = inactivity_since(row, keys)
        if since is not None:
            out[i] = to_micros(row.snapshot) - since
    return out


def _elapsed_cache(rows: Sequence[Row]) -> Callable[[list[EventKey]], NDArray[np.float64] | None]:
    """``_elapsed_us`` per set of keys, worked out once each; None when the rows lack a last-event column."""
    by_keys: dict[tuple[EventKey, ...], NDArray[np.float64] | None] = {}

    def elapsed(keys: list[EventKey]) -> NDArray[np.float64] | None:
        key = tuple(keys)
        if key not in by_keys:
            known = bool(rows) and all(last_column(*k) in rows[0].features for k in keys)
            by_keys[key] = _elapsed_us(rows, keys) if known else None
        return by_keys[key]

    return elapsed


def _periods(elapsed: NDArray[np.float64], every_days: int, cap: int) -> NDArray[np.float64]:
    """Full periods of ``every_days`` elapsed, at most ``cap``: the engine's integer division, in µs."""
    full = np.floor_divide(np.nan_to_num(elapsed, nan=0.0), every_days * US_PER_DAY)
    return np.minimum(np.maximum(full, 0.0), cap)


def _inactivity(
    rows: Sequence[Row],
    candidates: Sequence[Candidate],
    x: NDArray[np.float64],
    y: NDArray[np.int64],
    scale: float,
    chosen: _Option,
    elapsed: Callable[[list[EventKey]], NDArray[np.float64] | None],
) -> tuple[InactivityPenalty | None, NDArray[np.float64], NDArray[np.float64] | None]:
    """The chosen inactivity penalty, fitted with the rules, or None when none was chosen or it does not hold.
    Returns the penalty, its column, and the rules' coefficients fitted beside it."""
    nothing = (None, np.zeros(len(rows)), None)
    if chosen.inactivity is None:
        return nothing
    every, cap = chosen.inactivity
    points = np.rint(_logistic(x, y, chosen.strength).coef_[0] * scale).astype(np.int64)
    settled = _settled(
        candidates, x, y, scale, chosen.strength, _positive_keys(candidates, points), elapsed, every, cap
    )
    if settled is None or round(float(settled[1][-1]) * scale) >= 0:
        return nothing
    periods, fitted_coefficients = settled
    coefficient = float(fitted_coefficients[-1])
    reached = periods >= cap
    per_period = round(coefficient * scale)
    penalty = InactivityPenalty(every, per_period, cap, coefficient, int(reached.sum()), int(y[reached].sum()))
    return penalty, periods, fitted_coefficients[:-1]


def _settled(
    candidates: Sequence[Candidate],
    x: NDArray[np.float64],
    y: NDArray[np.int64],
    scale: float,
    strength: float,
    keys: list[EventKey],
    elapsed: Callable[[list[EventKey]], NDArray[np.float64] | None],
    every: int,
    cap: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """The penalty's column and the coefficients refitted beside it, the column counted from the events of
    the rules the refit leaves positive, as the engine will count it. Adding the column can change which
    rules are positive, so ``keys`` is a first guess, tried again with the refit's own until they agree. A
    rule with a point or two can flip sign back and forth; after ``INACTIVITY_REFITS`` tries the rules are
    kept as last refitted, the column is counted from their positive rules, and only the penalty's own
    coefficient is fitted again beside them."""
    for _ in range(max(1, INACTIVITY_REFITS)):
        times = elapsed(keys)
        if times is None:
            return None
        periods = _periods(times, every, cap)
        if periods.min() == periods.max():
            return None
        model = _logistic(np.column_stack([x, periods]), y, strength)
        coefficients = model.coef_[0]
        refit = _positive_keys(candidates, np.rint(coefficients[:-1] * scale).astype(np.int64))
        if refit == keys:
            return periods, coefficients
        keys = refit
    times = elapsed(keys)
    if times is None:
        return None
    periods = _periods(times, every, cap)
    if periods.min() == periods.max():
        return None
    rules = coefficients[:-1]
    slope = _offset_slope(x @ rules + model.intercept_[0], periods, y, strength)
    return periods, np.append(rules, slope)


def _intercept(log_odds: NDArray[np.float64], y: NDArray[np.int64]) -> float:
    """The intercept that makes the rounded points' odds match the training conversion rate (Newton steps on
    the log-likelihood, each at most 4 log-odds: where every lead sits far out on the sigmoid the curvature
    is nearly 0, and an undamped step flies off to 1e51)."""
    b = 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(log_odds + b, -500, 500)))
        gradient = float((y - p).sum())
        curvature = float((p * (1 - p)).sum())
        if gradient == 0:
            break
        step = gradient / curvature if curvature > 0 else np.sign(gradient) * 4.0
        b += float(np.clip(step, -4.0, 4.0))
        if abs(gradient) < 1e-9:
            break
    return b


def _rule(
    candidate: Candidate, points: int, coefficient: float, column: NDArray[np.float64], labels: NDArray[np.int64]
) -> ScorecardRule:
    reached = column >= (candidate.cap or 1)
    return ScorecardRule(candidate, points, coefficient, int(reached.sum()), int(labels[reached].sum()))


def _threshold_at(totals: NDArray[np.int64], labels: NDArray[np.int64], points: int) -> Threshold:
    above = totals >= points
    count = int(above.sum())
    return Threshold(points, count / len(totals), float(labels[above].mean()) if count else 0.0)


def _candidates(totals: NDArray[np.int64], labels: NDArray[np.int64]) -> list[Threshold]:
    return [_threshold_at(totals, labels, int(t)) for t in np.unique(totals)]


def _threshold_for_share(totals: NDArray[np.int64], labels: NDArray[np.int64], share: float) -> Threshold:
    """The threshold whose share of rows at or above it is closest to ``share`` (the higher one on a tie)."""
    if not 0 < share < 1:
        raise ValueError(f"expected a share between 0 and 1, got {share:g}")
    options = _candidates(totals, labels)
    return min(reversed(options), key=lambda t: abs(t.share - share))


def _threshold_for_precision(totals: NDArray[np.int64], labels: NDArray[np.int64], precision: float) -> Threshold:
    """The lowest threshold (the most MQLs) whose training precision reaches ``precision``."""
    if not 0 < precision < 1:
        raise ValueError(f"expected a precision between 0 and 1, got {precision:g}")
    options = [t for t in _candidates(totals, labels) if round(t.share * len(totals)) >= MIN_ROWS_ABOVE]
    for option in options:
        if option.precision >= precision:
            return option
    best = max(options, key=lambda t: t.precision, default=None)
    reached = f"; the best is {best.precision:.1%} at {best.points} points" if best else ""
    raise ValueError(
        f"no threshold reaches an MQL precision of {precision:.1%} with {MIN_ROWS_ABOVE} or more training rows "
        f"above it{reached}"
    )
