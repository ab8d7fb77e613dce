"""``fit_scorecard``: integer points per field bin and per event count, learned from training rows.

The points are a logistic regression's coefficients on the bins of ``scorecard_bins`` that a lasso picked
(``scorecard_choice.select_rules``), scaled so that
every ``points_to_double`` points double the odds of converting, and rounded together, not each alone
(``scorecard_rounding``). A ``base`` rule that every lead matches carries the intercept, placed so that
``even_odds_at`` points are even odds: a total reads as a chance, and a rule's points as how much it
moves that chance. The regularisation and the inactivity penalty are chosen together by cross-validation
on the training rows, grouped by lead, on the out-of-fold AUC of the points rounded as they will be
shipped: what is shipped is integers, so that is what is judged (``scorecard_choice``).

Before a scorecard is returned, its model file is read back and the reference engine scores every training
row with it (a sample of 20,000 on more); each total must equal the fit's own sum of integer points
(``_self_check``).

The thresholds (MQL, SQL, and the tiers that mirror them) are picked on the training rows' own totals to hit
an MQL share of leads or an MQL precision, and an SQL share. A lead reaches a stage the first moment its
total stands at the threshold, not only at a snapshot, so where the events' times are known (``leadscore
suggest`` replays the store: ``funnel.peak_totals``), ``on_peaks`` picks them again on each row's highest
total up to its snapshot: the share asked for is then the share of rows whose lead reached the stage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from leadscore.model.loader import loads_model
from leadscore.model.scoring_model import ScoringModel
from leadscore.predict.dataset import Row
from leadscore.predict.metrics import auc
from leadscore.predict.scorecard_bins import Candidate, Design, design
from leadscore.predict.scorecard_choice import SEED, Fitted, InactivityPenalty, Selection, fit_points, select_rules
from leadscore.predict.scorecard_rounding import fit_intercept, whole_points
from leadscore.predict.scorecard_scoring import score_rows
from leadscore.predict.scorecard_yaml import to_yaml
from leadscore.predict.train import MIN_PER_CLASS, TooFewOutcomes

POINTS_TO_DOUBLE = 10.0
EVEN_ODDS_AT = 50.0
MQL_SHARE = 0.20
SQL_SHARE = 0.05
SELF_CHECK_ROWS = 20_000
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
class Threshold:
    """A minimum total, and what it selects on the training rows: those at or above it at their snapshot,
    and, when picked on peaks (``on_peaks``), those whose lead reached it at some moment up to then."""

    points: int
    share: float
    precision: float
    reached: float | None = None
    reached_precision: float | None = None

    @property
    def reached_words(self) -> str | None:
        """What a threshold picked on peaks selects, in words for the model file and the CLI."""
        if self.reached is None or self.reached_precision is None:
            return None
        return (
            f"reached by {self.reached:.1%} of training rows' leads by their snapshot, "
            f"{self.reached_precision:.1%} of them converted"
        )


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
    #: Which candidates the lasso kept; None on a card made by hand.
    selection: Selection | None = None

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
    built, selection = select_rules(rows, built, labels)
    x = built.matrix
    scale = points_to_double / math.log(2)
    fitted = fit_points(rows, built, labels, scale)
    coefficients = fitted.coefficients
    points, inactivity = _whole_points(built, labels, fitted, scale)
    summed = x @ points + (fitted.periods * inactivity.points if inactivity is not None else 0)
    base = round(even_odds_at + scale * fit_intercept(summed / scale, labels))
    totals = (summed + base).astype(np.int64)
    rules = tuple(
        _rule(candidate, int(p), float(c), x[:, i], labels)
        for i, (candidate, p, c) in enumerate(zip(built.candidates, points, coefficients, strict=True))
        if p != 0
    )
    mql, sql = _stages(totals, labels, mql_share, mql_precision, sql_share)
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
        regularisation=fitted.strength,
        min_support=support,
        references=references,
        totals=totals,
        inactivity=inactivity,
        selection=selection,
    )
    _self_check(card, rows)
    return card


def on_peaks(
    card: Scorecard,
    peaks: NDArray[np.int64],
    labels: NDArray[np.int64],
    *,
    mql_share: float | None = None,
    mql_precision: float | None = None,
    sql_share: float = SQL_SHARE,
) -> Scorecard:
    """The card with its MQL and SQL thresholds picked again on ``peaks``, each training row's highest total
    (in points, the rows' order, with their ``labels``) up to its snapshot: a stage is reached by crossing,
    so a share of leads asked for is a share reaching it. Each threshold also says what it selects at the
    snapshots."""
    if len(peaks) != len(labels) or len(peaks) != len(card.totals):
        raise ValueError(f"expected a peak and a label per training row ({len(card.totals)}), got {len(peaks)}")
    below = np.flatnonzero(peaks < card.totals)
    if len(below):
        i = int(below[0])
        raise AssertionError(
            f"the replayed peaks of {len(below)} training rows are below their totals at the snapshot, e.g. row "
            f"{i}: {int(peaks[i])} against {int(card.totals[i])}; the stored events disagree with the rows"
        )
    mql, sql = _stages(peaks, labels, mql_share, mql_precision, sql_share)

    def both(picked: Threshold) -> Threshold:
        standing = _threshold_at(card.totals, labels, picked.points)
        return replace(standing, reached=picked.share, reached_precision=picked.precision)

    return replace(card, mql=both(mql), sql=both(sql))


def _stages(
    totals: NDArray[np.int64],
    labels: NDArray[np.int64],
    mql_share: float | None,
    mql_precision: float | None,
    sql_share: float,
) -> tuple[Threshold, Threshold]:
    """The MQL threshold for a share or a precision, and the SQL one for a share, always above it."""
    mql = (
        _threshold_for_precision(totals, labels, mql_precision)
        if mql_precision is not None
        else _threshold_for_share(totals, labels, MQL_SHARE if mql_share is None else mql_share)
    )
    sql = _threshold_for_share(totals, labels, sql_share)
    if sql.points <= mql.points:
        sql = _threshold_at(totals, labels, mql.points + 1)
    return mql, sql


def _whole_points(
    built: Design, labels: NDArray[np.int64], fitted: Fitted, scale: float
) -> tuple[NDArray[np.int64], InactivityPenalty | None]:
    """The rules' points, and the inactivity penalty's, rounded together (``scorecard_rounding``); the
    penalty stays at -1 point or less, as the engine requires."""
    coefficients, inactivity = fitted.coefficients, fitted.inactivity
    if inactivity is None:
        return whole_points(built.matrix, labels, coefficients, fitted.strength, scale), None
    k = built.matrix.shape[1]
    lower = np.full(k + 1, -np.inf)
    upper = np.append(np.full(k, np.inf), -1.0)
    x = np.column_stack([built.matrix, fitted.periods])
    extended = np.append(coefficients, inactivity.coefficient)
    both = whole_points(x, labels, extended, fitted.strength, scale, lower, upper)
    return both[:-1], replace(inactivity, points=int(both[-1]))


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
        f"selected by it{reached}"
    )
