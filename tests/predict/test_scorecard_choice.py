"""How the scorecard picks its penalty strength and inactivity penalty together: a penalty is kept only
where it lifts the folds' AUC past what they cannot tell apart, and its points are fitted beside the rules'
fixed log-odds with a two-parameter fit that must recover a known slope."""

from __future__ import annotations

import numpy as np
import pytest

from leadscore.predict.scorecard import _offset_slope, _Option, _pick


def option(strength: float, inactivity: tuple[int, int] | None, mean: float, spread: float = 0.002) -> _Option:
    return _Option(strength, inactivity, [mean - spread, mean, mean + spread, mean])


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


@pytest.mark.parametrize("slope", [-0.35, -0.05, 0.2])
def test_the_offset_fit_recovers_a_known_slope(slope: float) -> None:
    rng = np.random.default_rng(11)
    n = 60_000
    offset = rng.normal(0.0, 1.0, n)
    column = rng.integers(0, 9, n).astype(np.float64)
    y = (rng.random(n) < 1 / (1 + np.exp(-(offset + 0.3 + slope * column)))).astype(np.int64)
    assert _offset_slope(offset, column, y) == pytest.approx(slope, abs=0.02)
