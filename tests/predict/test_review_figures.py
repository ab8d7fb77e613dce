"""The review's figures on cases small enough to work out by hand: gains, calibration bins, conversion by
group with its interval, and the rule flags with their suggested points."""

from __future__ import annotations

import math

import numpy as np
import pytest

from leadscore.predict.conversion import NONE, Rate, conversion_by
from leadscore.predict.metrics import calibration, gains, wilson_interval
from leadscore.predict.rule_lift import ALWAYS, DOES_NOT_PREDICT, NEVER, WRONG_WAY, judge, log_odds_per_point


def test_gains_and_lift_by_hand() -> None:
    # Best first: 4 (converted), 3, 2 (converted), 1. Half the conversions are in the top quarter.
    points = gains([2.0, 4.0, 1.0, 3.0], [1, 1, 0, 0], steps=4)
    assert [p["share"] for p in points] == [0.25, 0.5, 0.75, 1.0]
    assert [p["gain"] for p in points] == [0.5, 0.5, 1.0, 1.0]
    assert [p["lift"] for p in points] == pytest.approx([2.0, 1.0, 4 / 3, 1.0])


def test_calibration_bins_by_hand() -> None:
    bins = calibration([0.05, 0.15, 0.12, 0.95], [0, 1, 0, 1])
    assert [(b["low_edge"], b["rows"]) for b in bins] == [(0.0, 1), (0.1, 2), (0.9, 1)]  # empty bins left out
    middle = bins[1]
    assert middle["predicted"] == pytest.approx(0.135) and middle["observed"] == 0.5
    assert (middle["low"], middle["high"]) == wilson_interval(1, 2)


def test_conversion_by_group_keeps_the_bands_order_and_counts() -> None:
    groups = ["hot", "cold", None, "hot", "x", "cold"]
    out = conversion_by(groups, [1, 0, 1, 0, 1, 0], order=["hot", "warm", "cold"])
    assert [(g["group"], g["rows"], g["converted"]) for g in out] == [
        ("hot", 2, 1),
        ("cold", 2, 0),  # warm has no rows and is left out
        (NONE, 1, 1),
        ("x", 1, 1),
    ]
    assert out[0]["rate"] == 0.5 and (out[0]["low"], out[0]["high"]) == wilson_interval(1, 2)
    with pytest.raises(ValueError, match="one group per label"):
        conversion_by(["a"], [1, 0])


def test_rates_are_separated_only_when_their_intervals_do_not_overlap() -> None:
    assert Rate(90, 100).separated_from(Rate(10, 100))
    assert not Rate(5, 10).separated_from(Rate(4, 10))
    assert Rate(0, 0).rate is None


def test_a_rule_that_predicts_the_wrong_way_is_flagged_with_points_on_the_models_scale() -> None:
    on, off = Rate(10, 100), Rate(50, 100)  # a +10 bonus on leads converting at 10% against 50%
    flagged = judge("newsletter", "fit", 10.0, on, off, 10.0, slope=0.05, cap=100.0)
    assert flagged.flag == WRONG_WAY
    log_or = math.log((10.5 / 90.5) / (50.5 / 50.5))
    assert flagged.log_odds_ratio == pytest.approx(log_or)
    assert flagged.suggested_points == round(log_or / 0.05) == -43  # log-odds ratio over log-odds per point
    capped = judge("newsletter", "fit", 10.0, on, off, 10.0, slope=0.05, cap=40.0)
    assert capped.suggested_points == -40.0  # no larger than the model's largest rule
    engagement = judge("newsletter", "engagement", 10.0, on, off, 20.0, slope=0.05, cap=100.0)
    assert engagement.suggested_points == round(10 * log_or / (0.05 * 20))  # it adds 20 on average, not 10
    assert flagged.lift == pytest.approx(0.2)
    penalty = judge("student", "fit", -15.0, Rate(50, 100), Rate(10, 100), -15.0, slope=0.1, cap=40.0)
    assert penalty.flag == WRONG_WAY and penalty.suggested_points is not None and penalty.suggested_points > 0
    good = judge("vp", "fit", 20.0, Rate(50, 100), Rate(10, 100), 20.0, slope=0.1, cap=40.0)
    assert (good.flag, good.suggested_points) == (None, None)


def test_rules_that_cannot_be_told_apart_or_compared() -> None:
    noise = judge("size", "fit", 5.0, Rate(5, 10), Rate(4, 10), 5.0, slope=0.1, cap=40.0)
    assert (noise.flag, noise.suggested_points) == (DOES_NOT_PREDICT, 0.0)
    assert judge("x", "engagement", 5.0, Rate(0, 0), Rate(4, 10), None, 0.1, 40.0).flag == NEVER
    assert judge("x", "fit", 5.0, Rate(4, 10), Rate(0, 0), 5.0, 0.1, 40.0).flag == ALWAYS
    unscaled = judge("n", "fit", 10.0, Rate(10, 100), Rate(50, 100), 10.0, slope=None, cap=40.0)
    assert (unscaled.flag, unscaled.suggested_points) == (WRONG_WAY, 0.0)  # no scale: the total does not rank


def test_log_odds_per_point_recovers_a_known_slope() -> None:
    rng = np.random.default_rng(1)
    totals = rng.uniform(-40, 60, 6000)
    labels = (rng.random(6000) < 1 / (1 + np.exp(-(0.08 * totals - 1)))).astype(int)
    slope = log_odds_per_point(totals.tolist(), labels.tolist())
    assert slope == pytest.approx(0.08, rel=0.1)
    assert log_odds_per_point([1.0, 1.0], [0, 1]) is None
    assert log_odds_per_point([1.0, 2.0], [1, 1]) is None


def test_a_lead_with_no_time_at_all_is_in_the_funnel_at_its_stage_as_the_data_ends() -> None:
    from pathlib import Path

    from leadscore.engine.compiled import CompiledModel
    from leadscore.engine.types import Lead
    from leadscore.model.loader import load_model
    from leadscore.predict.funnel import stages_reached

    example = Path(__file__).resolve().parents[2] / "examples" / "b2b_saas.yaml"
    compiled = CompiledModel(load_model(example))
    bare = Lead("L1", {"title": "Student"})  # no creation time, no events: a row of a bare lead list
    assert stages_reached(compiled, bare, [], until_us=1_000) == {"lead": 1_000}


def test_the_funnel_replays_a_model_whose_inactivity_counts_from_any_event() -> None:
    """The slot every event matches sits after the rules: it adds no points, so it lifts no stage."""
    from leadscore.engine.compiled import CompiledModel
    from leadscore.engine.types import US_PER_DAY, Lead
    from leadscore.model.loader import loads_model
    from leadscore.predict.funnel import stages_reached

    text = """
name: quiet
engagement:
  - {name: demo, event: demo_request, points: 30}
inactivity: {every_days: 7, points: -10, floor: -30, since: any_event}
lifecycle:
  stages:
    - name: lead
    - name: mql
      when: {field: total, gte: 25}
"""
    compiled = CompiledModel(loads_model(text, "<quiet>"))
    assert compiled.activity_index == len(compiled.rules)
    lead = Lead("L1", {})
    rows = [("e1", "newsletter_open", 1 * US_PER_DAY, "{}"), ("e2", "demo_request", 3 * US_PER_DAY, "{}")]
    reached = stages_reached(compiled, lead, rows, until_us=30 * US_PER_DAY)
    assert reached == {"lead": 1 * US_PER_DAY, "mql": 3 * US_PER_DAY}


def test_a_base_every_lead_gets_by_construction_is_not_flagged_but_a_rule_every_lead_met_is() -> None:
    from datetime import UTC, datetime

    from leadscore.engine.compiled import CompiledModel
    from leadscore.model.loader import loads_model
    from leadscore.predict.dataset import Row
    from leadscore.predict.rule_lift import rule_lifts

    text = """
name: m
fit:
  - {name: base, when: {all: []}, points: 30}
  - {name: known, when: {not: {field: country, is_missing: true}}, points: 5}
"""
    compiled = CompiledModel(loads_model(text, "<m>"))
    at = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        Row(f"L{i}", at, i % 2, True, False, {"m.total": 35.0, "m.points.base": 30.0, "m.points.known": 5.0})
        for i in range(10)
    ]
    lifts = rule_lifts(rows, compiled, "m")["rules"]
    assert isinstance(lifts, list)
    assert {r["rule"]: r["flag"] for r in lifts} == {"base": None, "known": ALWAYS}
