"""Points are exact hundredths: rounded half away from zero, and contributions add up to the cent."""

from __future__ import annotations

import pytest
from engine_helpers import T0, D, assert_adds_up, at, ev, model_of, points

from leadscore.engine import Lead, score

LEAD = Lead(id="L", created_at=T0)


@pytest.mark.parametrize(
    ("rule_points", "count", "expected"),
    [
        ("0.125", 1, "0.13"),  # exactly half a cent: away from zero
        ("-0.125", 1, "-0.13"),
        ("0.375", 1, "0.38"),  # half to even would give 0.38 too; 0.125 above tells them apart
        ("2.345", 1, "2.35"),  # 2.345 * 100 is 234.49999999999997 in binary
        ("-2.345", 1, "-2.35"),
        ("1.005", 1, "1.01"),  # 100.49999999999999 in binary
        ("0.1", 3, "0.30"),  # 0.30000000000000004 in binary
        ("0.333", 3, "1.00"),  # 0.999
        ("0.004", 1, "0.00"),
        ("-0.005", 1, "-0.01"),
        ("0.015", 2, "0.03"),  # 2 x 0.015 = 0.03: the product is rounded, not each occurrence
    ],
)
def test_engagement_points_round_half_away_from_zero(rule_points: str, count: int, expected: str) -> None:
    model = model_of(f"engagement:\n  - {{name: r, event: x, points: {rule_points}}}\n")
    result = score(model, LEAD, [ev(f"e{i}", "x", at(0)) for i in range(count)], at(0))
    assert result.engagement == D(expected)
    assert str(result.engagement) == expected  # always two places


def test_decayed_points_are_rounded_once_per_rule() -> None:
    model = model_of(
        """
        decay: {kind: linear, percent: 50, every_days: 1}
        engagement:
          - {name: r, event: x, points: 0.25}
        """
    )
    # Age 1 day: 0.25 x 0.5 = 0.125 -> 0.13. Three such events: 0.375 -> 0.38, not 3 x 0.13 = 0.39.
    assert score(model, LEAD, [ev("a", "x", at(0))], at(1)).engagement == D("0.13")
    events = [ev("a", "x", at(0)), ev("b", "x", at(0)), ev("c", "x", at(0))]
    assert score(model, LEAD, events, at(1)).engagement == D("0.38")


def test_fit_points_are_rounded_per_rule() -> None:
    model = model_of(
        """
        fit:
          - {name: a, points: 0.125, when: {field: x, is_set: true}}
          - {name: b, points: 0.125, when: {field: x, is_set: true}}
        """
    )
    # Each rule gives 0.13; the fit is their sum, 0.26, so that the contributions add up.
    result = score(model, Lead(id="L", fields={"x": 1}), [], T0)
    assert points(result) == {"a": D("0.13"), "b": D("0.13")}
    assert result.fit == D("0.26")


def test_inactivity_penalty_rounds_half_away_from_zero() -> None:
    model = model_of(
        """
        inactivity: {every_days: 1, points: -0.125}
        engagement:
          - {name: r, event: x, points: 1}
        """
    )
    # One period: -0.125 -> -0.13. Three periods: -0.375 -> -0.38.
    assert points(score(model, LEAD, [], at(1)))["inactivity"] == D("-0.13")
    assert points(score(model, LEAD, [], at(3)))["inactivity"] == D("-0.38")


def test_inactivity_floor_and_limits_round_half_away_from_zero() -> None:
    model = model_of(
        """
        inactivity: {every_days: 1, points: -1, floor: -2.345}
        engagement:
          - {name: r, event: x, points: 10}
        limits:
          total: {max: 5.125}
        """
    )
    # Floor -2.345 -> -2.35 after 5 periods (-5).
    assert points(score(model, LEAD, [], at(5)))["inactivity"] == D("-2.35")
    # Total 10 held at 5.125 -> 5.13.
    assert score(model, LEAD, [ev("e", "x", at(0))], at(0)).total == D("5.13")


def test_contributions_add_up_exactly_with_many_awkward_values() -> None:
    model = model_of(
        """
        decay: {kind: exponential, half_life_days: 3}
        inactivity: {every_days: 2, points: -0.7, floor: -3}
        fit:
          - {name: f1, points: 3.333, when: {field: x, is_set: true}}
          - {name: f2, points: 1.111, when: {field: x, is_set: true}}
        engagement:
          - {name: e1, event: x, points: 1.1}
          - {name: e2, event: x, points: 2.2, max_points: 3.3}
          - {name: e3, event: y, points: -0.7}
        limits:
          engagement: {max: 4.99}
        """
    )
    events = [ev(f"x{i}", "x", at(i / 3)) for i in range(7)] + [ev("y", "y", at(2.5))]
    for day in (0, 1, 2.2, 3, 10, 40):
        assert_adds_up(score(model, Lead(id="L", fields={"x": 1}, created_at=T0), events, at(day)))
