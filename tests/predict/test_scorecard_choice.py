"""How the scorecard picks its penalty strength and inactivity penalty together: a penalty is kept only
where it lifts the folds' AUC past what they cannot tell apart, and past the same strength without one;
its points are screened beside the rules' fixed log-odds with a two-parameter fit that must recover a
known slope; the penalty fitted counts from the lead's last event of any type; and the lasso that picks the
rules keeps the fields that move the odds and drops most that do not, never leaving the card empty."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from scorecard_crm import OBSERVED_UNTIL, SNAPSHOT_DAYS, load_crm

from leadscore.predict import scorecard_choice as choice
from leadscore.predict.dataset import Row, Snapshots, training_rows
from leadscore.predict.facets import discover
from leadscore.predict.scorecard import fit_scorecard
from leadscore.predict.scorecard_bins import design
from leadscore.predict.scorecard_choice import (
    _offset_slope,
    _Option,
    _periods,
    _pick,
    fit_points,
    select_rules,
    since_last_event,
)
from leadscore.store.protocol import Store

SNAPSHOT = datetime(2026, 3, 1, tzinfo=UTC)


def option(
    strength: float, inactivity: tuple[int, int] | None, mean: float, spread: float = 0.002, tilt: float = 0.0
) -> _Option:
    """Four fold AUCs around ``mean``; ``tilt`` moves the first two folds down and the last two up."""
    return _Option(strength, inactivity, [mean - spread - tilt, mean - tilt, mean + spread + tilt, mean + tilt])


def test_a_penalty_that_lifts_a_weaker_strength_past_the_rest_is_chosen_with_that_strength() -> None:
    """The strongest penalty keeps few rules and little to count inactivity from; a weaker one with a
    penalty ranks clearly better, so both the weaker strength and the penalty are chosen. Without a
    penalty, the strongest would have been chosen."""
    options = [
        option(0.001, None, 0.600),
        option(0.001, (7, 2), 0.602),
        option(0.01, None, 0.598),
        option(0.01, (3, 4), 0.615),
        option(0.01, (7, 2), 0.611),
    ]
    chosen, alone = _pick(options)
    assert (chosen.strength, chosen.inactivity) == (0.01, (3, 4))
    assert (alone.strength, alone.inactivity) == (0.001, None)


def test_no_penalty_when_the_plain_fit_at_the_chosen_strength_is_within_reach() -> None:
    options = [option(0.001, None, 0.6100), option(0.001, (7, 2), 0.6115), option(0.01, None, 0.6090)]
    chosen, alone = _pick(options)
    assert chosen is alone
    assert (chosen.strength, chosen.inactivity) == (0.001, None)


def test_folds_that_disagree_widen_what_counts_as_within_reach() -> None:
    """With a fold spread of 0.04, a penalty's 0.008 gain is noise: the plain fit is kept."""
    options = [option(0.001, None, 0.600, 0.04), option(0.001, (7, 2), 0.608, 0.04)]
    chosen, _ = _pick(options)
    assert chosen.inactivity is None


def test_without_a_penalty_the_strength_is_the_one_chosen_among_fits_without_one() -> None:
    """The best option is a penalty at 0.01 whose folds disagree so much that 0.001 without a penalty is
    within reach of it: no penalty is kept, and the strength is then chosen among the fits without one, as
    if no penalty had been tried: 0.001 is not within reach of 0.01's tight plain fit, so 0.01."""
    options = [
        option(0.001, None, 0.600),
        option(0.01, None, 0.606),
        option(0.01, (7, 2), 0.620, spread=0.05),
    ]
    chosen, alone = _pick(options)
    assert chosen is alone
    assert (chosen.strength, chosen.inactivity) == (0.01, None)


def test_a_penalty_must_beat_its_own_strength_fold_by_fold() -> None:
    """The penalty's folds are steady (0.61 each) and clear the floor on their mean, but against the plain
    fit at the same strength they gain on two folds and lose on the other two: a mean gain of 0.01 with a
    standard error of 0.012 is not a gain, so no penalty is kept."""
    plain = _Option(0.01, None, [0.62, 0.62, 0.58, 0.58])
    steady = _Option(0.01, (3, 4), [0.61, 0.61, 0.61, 0.61])
    chosen, alone = _pick([option(0.001, None, 0.590), plain, steady])
    assert chosen is alone
    assert (chosen.strength, chosen.inactivity) == (0.001, None)
    # Against a plain fit whose folds do not swing, the same penalty is kept.
    steady_plain = _Option(0.01, None, [0.60, 0.60, 0.60, 0.60])
    kept, _ = _pick([option(0.001, None, 0.590), steady_plain, steady])
    assert (kept.strength, kept.inactivity) == (0.01, (3, 4))


@pytest.mark.parametrize("slope", [-0.35, -0.05, 0.2])
def test_the_offset_fit_recovers_a_known_slope(slope: float) -> None:
    rng = np.random.default_rng(11)
    n = 60_000
    offset = rng.normal(0.0, 1.0, n)
    column = rng.integers(0, 9, n).astype(np.float64)
    y = (rng.random(n) < 1 / (1 + np.exp(-(offset + 0.3 + slope * column)))).astype(np.int64)
    free = _offset_slope(offset, column, y, strength=1e6)
    assert free == pytest.approx(slope, abs=0.02)
    # The rules' L2 penalty shrinks it, as it does in the full fit, more the stronger it is.
    shrunk = [abs(_offset_slope(offset, column, y, strength=c)) for c in (1e-3, 1e-4, 1e-5)]
    assert abs(free) > shrunk[0] > shrunk[1] > shrunk[2] > 0


def test_the_offset_fit_stays_finite_on_a_constant_or_separating_column() -> None:
    offset = np.zeros(1000)
    y = np.arange(1000) % 2
    assert _offset_slope(offset, np.full(1000, 3.0), y, strength=0.01) == 0.0
    separating = y.astype(np.float64)  # the column is the outcome itself
    slope = _offset_slope(offset, separating, y, strength=0.01)
    assert 0 < slope < 10


def test_the_penalty_fitted_counts_from_the_last_event_of_any_type(store: Store) -> None:
    """On leads that convert less the longer they have been quiet, a penalty is fitted, and its column is
    the periods since each lead's last event of any type (its creation, with none)."""
    load_crm(store, forms=True, recency=True)
    rows = list(training_rows(store, [], Snapshots((SNAPSHOT_DAYS,)), 90, OBSERVED_UNTIL, facets=discover(store)))
    built = design(rows, 20)
    y = np.array([r.label for r in rows], dtype=np.int64)
    fitted = fit_points(rows, built, y, 10 / math.log(2))
    assert fitted.inactivity is not None and fitted.inactivity.points < 0
    elapsed = since_last_event(rows)
    assert elapsed is not None
    every, cap = fitted.inactivity.every_days, fitted.inactivity.cap
    assert np.array_equal(fitted.periods, _periods(elapsed, every, cap))
    assert len(fitted.coefficients) == built.matrix.shape[1]


def noisy_rows(n: int = 6000, signals: int = 3, noise: int = 60, seed: int = 11) -> list[Row]:
    """``signals`` yes/no fields that each double the odds, and ``noise`` that play no part."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        features: dict[str, Any] = {f"field.s{j}": str(rng.choice(["no", "yes"])) for j in range(signals)}
        features |= {f"field.n{j}": str(rng.choice(["no", "yes"])) for j in range(noise)}
        logit = -2.0 + math.log(2) * sum(features[f"field.s{j}"] == "yes" for j in range(signals))
        label = int(rng.random() < 1 / (1 + math.exp(-logit)))
        rows.append(Row(f"L{i}", SNAPSHOT, label, True, False, features, None))
    return rows


def test_the_lasso_keeps_the_fields_that_move_the_odds_and_few_that_do_not() -> None:
    """Sixty fields of noise beside three of signal: an L2 fit gives all 63 points; the lasso keeps the
    three, and drops most of the noise."""
    rows = noisy_rows()
    built = design(rows, 20)
    y = np.array([r.label for r in rows], dtype=np.int64)
    cut, selection = select_rules(rows, built, y)
    kept = {c.group for c in cut.candidates}
    assert {"s0", "s1", "s2"} <= kept
    assert len(kept - {"s0", "s1", "s2"}) <= 6
    assert selection.candidates == 63 and selection.strength is not None
    assert [built.candidates[i] for i in selection.kept] == cut.candidates
    np.testing.assert_array_equal(cut.matrix, built.matrix[:, selection.kept])


def test_a_penalty_too_strong_to_keep_anything_gives_way_to_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the folds cannot tell the strengths apart, the strongest is chosen; where it keeps no rule at
    all on the whole rows, the next strength that keeps one is taken, never an empty card."""
    rows = noisy_rows(n=3000, signals=1, noise=5)
    built = design(rows, 20)
    y = np.array([r.label for r in rows], dtype=np.int64)
    monkeypatch.setattr(choice, "SELECTION_GRID", (1e-6, 1e-5, 0.1))
    monkeypatch.setattr(choice, "_simplest", lambda options: options[0])
    cut, selection = select_rules(rows, built, y)
    assert selection.strength == 0.1 and len(cut.candidates) >= 1


def test_the_card_says_how_many_candidates_the_lasso_kept() -> None:
    rows = noisy_rows()
    card = fit_scorecard(rows, name="noisy")
    assert card.selection is not None and card.selection.strength is not None
    text = card.to_yaml()
    assert f"picked from {card.selection.candidates:,} candidate bins" in text
    assert f"kept {len(card.selection.kept):,} of them" in text
    assert len(card.rules) <= len(card.selection.kept)
