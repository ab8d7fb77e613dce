"""Decay ages engagement points; a window stops counting old events; rules may override both."""

from __future__ import annotations

import pytest
from engine_helpers import T0, D, assert_adds_up, at, ev, model_of, points

from leadscore.engine import Lead, score
from leadscore.model import ModelError

LEAD = Lead(id="L", created_at=T0)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (0, "20.00"),  # age 0: 20 x 1
        (5, "14.14"),  # 20 x 0.5**0.5 = 14.1421...
        (10, "10.00"),  # one half-life: 20 x 0.5
        (20, "5.00"),  # two half-lives: 20 x 0.25
        (25, "3.54"),  # 20 x 0.5**2.5 = 3.5355...
        (100, "0.02"),  # 20 x 0.5**10 = 0.01953...
    ],
)
def test_exponential_decay_halves_every_half_life(days: float, expected: str) -> None:
    model = model_of(
        "decay: {kind: exponential, half_life_days: 10}\nengagement:\n  - {name: r, event: x, points: 20}\n"
    )
    result = score(model, LEAD, [ev("e", "x", at(0))], at(days))
    assert result.engagement == D(expected)
    assert result.contributions[0].raw_points == D(20)  # before decay


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (0, "40.00"),
        (6.999, "40.00"),  # no full period yet
        (7, "30.00"),  # one full period: loses 25% of 40
        (13.9, "30.00"),  # still one full period: the value steps, it does not slide
        (14, "20.00"),
        (27.99, "10.00"),
        (28, "0.00"),  # four periods: 100%
        (70, "0.00"),  # never below zero
    ],
)
def test_linear_decay_loses_a_percent_per_full_period(days: float, expected: str) -> None:
    model = model_of(
        "decay: {kind: linear, percent: 25, every_days: 7}\nengagement:\n  - {name: r, event: x, points: 40}\n"
    )
    assert score(model, LEAD, [ev("e", "x", at(0))], at(days)).engagement == D(expected)


def test_linear_decay_is_the_stepwise_kind() -> None:
    # There is no separate "stepwise" kind: linear decay loses its percent in steps, once per full period.
    with pytest.raises(ModelError) as caught:
        model_of("decay: {kind: stepwise, every_days: 7}\nengagement:\n  - {name: r, event: x, points: 1}\n")
    assert caught.value.issues[0].field == "decay"


def test_no_decay_keeps_full_points() -> None:
    model = model_of("decay: {kind: none}\nengagement:\n  - {name: r, event: x, points: 20}\n")
    assert score(model, LEAD, [ev("e", "x", at(0))], at(3650)).engagement == D(20)


def test_decay_applies_per_occurrence_and_before_the_cap() -> None:
    model = model_of(
        """
        decay: {kind: exponential, half_life_days: 10}
        engagement:
          - {name: r, event: x, points: 8, max_points: 20}
        """
    )
    events = [ev("a", "x", at(0)), ev("b", "x", at(10)), ev("c", "x", at(20)), ev("d", "x", at(20))]
    # At day 20: 8 x (0.25 + 0.5 + 1 + 1) = 22, capped at 20.
    assert score(model, LEAD, events, at(20)).engagement == D(20)
    # At day 30: 8 x (0.125 + 0.25 + 0.5 + 0.5) = 11, under the cap.
    result = score(model, LEAD, events, at(30))
    assert result.engagement == D(11)
    assert result.contributions[0].raw_points == D(32)  # 4 x 8, before decay and cap


def test_window_alone_drops_events_at_or_older_than_the_window() -> None:
    model = model_of("window_days: 30\nengagement:\n  - {name: r, event: x, points: 5}\n")
    events = [ev("a", "x", at(0)), ev("b", "x", at(20))]
    # At day 29.99 both are younger than 30 days: 10.
    assert score(model, LEAD, events, at(29.99)).engagement == D(10)
    # At day 30 the first is exactly 30 days old and out: 5.
    result = score(model, LEAD, events, at(30))
    assert result.engagement == D(5)
    assert (result.contributions[0].count, result.contributions[0].counted) == (2, 1)
    # At day 50 both are out; the rule is still listed, with 0 points.
    assert points(score(model, LEAD, events, at(50))) == {"r": D(0)}


def test_window_together_with_decay() -> None:
    model = model_of(
        """
        decay: {kind: linear, percent: 50, every_days: 10}
        window_days: 15
        engagement:
          - {name: r, event: x, points: 10}
        """
    )
    events = [ev("a", "x", at(0)), ev("b", "x", at(8)), ev("c", "x", at(12))]
    # At day 16: a is out of the window (age 16); b has age 8 (no full period): 10;
    # c has age 4: 10. Total 20.
    assert score(model, LEAD, events, at(16)).engagement == D(20)
    # At day 20: b has age 12, one period: 5; c has age 8: 10. Total 15.
    assert score(model, LEAD, events, at(20)).engagement == D(15)


def test_rule_decay_and_window_override_the_model() -> None:
    model = model_of(
        """
        decay: {kind: exponential, half_life_days: 10}
        window_days: 30
        engagement:
          - {name: inherits, event: x, points: 16}
          - {name: own_decay, event: x, points: 16, decay: {kind: linear, percent: 10, every_days: 10}}
          - {name: no_decay, event: x, points: 16, decay: {kind: none}}
          - {name: longer_window, event: x, points: 16, window_days: 60}
          - {name: no_window, event: x, points: 16, window_days: null, decay: {kind: none}}
        """
    )
    events = [ev("e", "x", at(0))]
    at_20 = points(score(model, LEAD, events, at(20)))
    # Age 20: inherits 16 x 0.25 = 4; own_decay two periods: 16 x 0.8 = 12.8; no_decay 16;
    # longer_window inherits the decay: 4; no_window 16.
    assert at_20 == {
        "inherits": D(4),
        "own_decay": D("12.8"),
        "no_decay": D(16),
        "longer_window": D(4),
        "no_window": D(16),
    }
    at_40 = points(score(model, LEAD, events, at(40)))
    # Age 40: out of the model's 30-day window for the first three;
    # longer_window: 16 x 0.5**4 = 1; no_window: 16.
    assert at_40 == {"inherits": D(0), "own_decay": D(0), "no_decay": D(0), "longer_window": D(1), "no_window": D(16)}
    assert_adds_up(score(model, LEAD, events, at(40)))


def test_window_applies_after_once() -> None:
    # once picks the earliest occurrence ever; when it has left the window, later ones do not replace it.
    model = model_of("engagement:\n  - {name: r, event: x, points: 30, once: true, window_days: 10}\n")
    events = [ev("a", "x", at(0)), ev("b", "x", at(15))]
    result = score(model, LEAD, events, at(16))
    assert result.engagement == D(0)
    assert (result.contributions[0].count, result.contributions[0].counted) == (2, 0)


def test_negative_rules_decay_towards_zero() -> None:
    model = model_of(
        "decay: {kind: exponential, half_life_days: 5}\nengagement:\n  - {name: r, event: x, points: -40}\n"
    )
    # -40 x 0.5**2 = -10: the score went up from -40 as time passed.
    assert score(model, LEAD, [ev("e", "x", at(0))], at(0)).engagement == D(-40)
    assert score(model, LEAD, [ev("e", "x", at(0))], at(10)).engagement == D(-10)
