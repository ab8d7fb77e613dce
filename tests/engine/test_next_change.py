"""The next moment a score's labels change with no new event: found to the minute, against the engine."""

from __future__ import annotations

from datetime import timedelta

from engine_helpers import T0, ev, model_of

from leadscore.engine import Lead, compile_model
from leadscore.engine.compiled import CompiledModel
from leadscore.engine.next_change import PRECISION_US, next_change
from leadscore.engine.scoring import assemble_cents, fit_part, occurrences_of
from leadscore.engine.types import US_PER_DAY, to_micros

MODEL = """
tiers: [{name: hot, min: 40}, {name: warm, min: 10}, {name: cold}]
levels: [{name: "1"}]  # one engagement level: only the tier can change here
engagement:
  - {name: demo, event: form_submit, points: 50, decay: {kind: exponential, half_life_days: 30}}
  - {name: visit, event: page_view, points: 20, decay: {kind: none}, window_days: 10}
"""


def _labels_at(compiled: CompiledModel, lead: Lead, occurrences: list[list[int]], at_us: int) -> tuple[str, str]:
    score = assemble_cents(compiled, lead, occurrences, at_us)
    return score.tier, score.stage


def test_exponential_decay_crosses_a_tier_at_the_found_minute() -> None:
    compiled = compile_model(model_of(MODEL))
    lead = Lead("L")
    occurrences = occurrences_of(compiled, [ev("d", "form_submit", T0)])
    now = to_micros(T0)
    found = next_change(compiled, lead, occurrences, now, fit_part(compiled, lead))
    # 50 points halve every 30 days: below 40 (hot) after 30 * log2(50 / 40) = 9.66 days.
    assert abs(found - now - 9.657 * US_PER_DAY) < US_PER_DAY / 100
    assert _labels_at(compiled, lead, occurrences, found - PRECISION_US) == ("hot", "lead")
    assert _labels_at(compiled, lead, occurrences, found)[0] == "warm"


def test_an_occurrence_leaving_its_window_is_a_change() -> None:
    compiled = compile_model(model_of(MODEL))
    lead = Lead("L")
    occurrences = occurrences_of(compiled, [ev("v", "page_view", T0)])
    now = to_micros(T0 + timedelta(days=3))
    found = next_change(compiled, lead, occurrences, now, fit_part(compiled, lead))
    leaves = to_micros(T0 + timedelta(days=10))
    assert leaves <= found <= leaves + PRECISION_US
    assert _labels_at(compiled, lead, occurrences, found)[0] == "cold"


def test_nothing_to_change_checks_again_after_the_horizon() -> None:
    compiled = compile_model(model_of(MODEL))
    lead = Lead("L")
    now = to_micros(T0)
    assert next_change(compiled, lead, occurrences_of(compiled, []), now, fit_part(compiled, lead), US_PER_DAY) == (
        now + US_PER_DAY
    )


def test_inactivity_since_any_event_steps_from_an_event_no_rule_matches() -> None:
    # 20 points, 5 off per full 2 days since the last event of any type: warm until 2 periods (10 points)
    # bring it to 10 and a third to 5, cold, 6 days after the newsletter open on day 1 (no rule names it).
    text = """
tiers: [{name: hot, min: 40}, {name: warm, min: 10}, {name: cold}]
levels: [{name: "1"}]
inactivity: {every_days: 2, points: -5, since: any_event}
engagement:
  - {name: visit, event: page_view, points: 20, decay: {kind: none}}
"""
    compiled = compile_model(model_of(text))
    lead = Lead("L")
    occurrences = occurrences_of(
        compiled, [ev("v", "page_view", T0), ev("n", "newsletter_open", T0 + timedelta(days=1))]
    )
    now = to_micros(T0 + timedelta(days=1))
    found = next_change(compiled, lead, occurrences, now, fit_part(compiled, lead))
    step = to_micros(T0 + timedelta(days=7))
    assert step <= found <= step + PRECISION_US
    assert _labels_at(compiled, lead, occurrences, found - PRECISION_US)[0] == "warm"
    assert _labels_at(compiled, lead, occurrences, found)[0] == "cold"
