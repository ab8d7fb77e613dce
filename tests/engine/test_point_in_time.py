"""Scores at a point in time: later events ignored, re-sent events counted once, naive times refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from engine_helpers import T0, D, at, ev, model_of, points

from leadscore.engine import Event, Lead, LeadState, compile_model, score
from leadscore.engine.scoring import occurrences_from_rows, occurrences_of
from leadscore.engine.types import to_micros

LEAD = Lead(id="L", created_at=T0)
MODEL = model_of(
    """
    inactivity: {every_days: 30, points: -5}
    engagement:
      - {name: visit, event: visit, points: 2}
      - {name: demo, event: demo, points: 45, once: true}
    """
)


def test_events_after_as_of_are_ignored() -> None:
    events = [ev("v1", "visit", at(1)), ev("d", "demo", at(5)), ev("v2", "visit", at(10))]
    # At day 5, exactly when the demo happened: it counts (at or before as_of). 2 + 45 = 47.
    assert score(MODEL, LEAD, events, at(5)).total == D(47)
    # One microsecond earlier it does not: 2.
    early = score(MODEL, LEAD, events, at(5) - timedelta(microseconds=1))
    assert points(early) == {"visit": D(2)}
    assert early.contributions[0].count == 1
    assert early.last_engagement_at == at(1)
    # Before any event: only the lead itself, created on day 0.
    assert score(MODEL, LEAD, events, at(0)).contributions == ()


def test_a_future_once_does_not_hide_a_past_one() -> None:
    events = [ev("late", "demo", at(20)), ev("early", "demo", at(2))]
    assert score(MODEL, LEAD, events, at(10)).total == D(45)


def test_an_as_of_in_another_timezone_means_the_same_instant() -> None:
    events = [ev("v", "visit", at(1)), ev("d", "demo", at(1, hours=10))]
    tokyo = timezone(timedelta(hours=9))
    same_instant = datetime(2024, 1, 2, 19, 0, tzinfo=tokyo)  # 10:00 UTC on day 1
    assert score(MODEL, LEAD, events, same_instant).total == D(47)
    assert score(MODEL, LEAD, events, same_instant).as_of is same_instant


def test_a_resent_event_counts_once() -> None:
    visit = ev("v1", "visit", at(1))
    once = score(MODEL, LEAD, [visit], at(3))
    assert score(MODEL, LEAD, [visit, visit, visit], at(3)) == once
    assert once.engagement == D(2)


def test_a_repeated_id_keeps_the_first_event_seen() -> None:
    first = ev("x", "visit", at(1))
    again = ev("x", "visit", at(2))
    # The copy that came first wins, even though it is not the earliest.
    assert score(MODEL, LEAD, [again, first], at(5)).last_engagement_at == at(2)
    assert score(MODEL, LEAD, [first, again], at(5)).last_engagement_at == at(1)


def test_a_repeated_id_that_first_matched_no_rule_scores_the_same_in_batch_and_incrementally() -> None:
    # The id is first seen on an event no rule matches, then on one that a rule matches.
    events = [ev("x", "page_view", at(1)), ev("x", "visit", at(2))]
    state = LeadState(compile_model(MODEL), LEAD)
    for event in events:
        state.fold(event)
    assert state.score(at(3)) == score(MODEL, LEAD, events, at(3))


def test_stored_rows_give_the_same_occurrences_as_events() -> None:
    compiled = compile_model(MODEL)
    events = [ev("x", "page_view", at(1)), ev("x", "visit", at(2)), ev("d", "demo", at(3)), ev("d", "demo", at(4))]
    rows = [(e.id, e.type, to_micros(e.occurred_at), json.dumps(dict(e.properties))) for e in events]
    assert occurrences_from_rows(compiled, rows) == occurrences_of(compiled, events)


def test_lead_state_folds_events_one_at_a_time() -> None:
    state = LeadState(compile_model(MODEL), LEAD)
    events = [ev("d", "demo", at(4)), ev("v", "visit", at(1)), ev("n", "newsletter", at(2))]
    assert [state.fold(e) for e in events] == [True, True, False]  # no rule for newsletters
    assert state.fold(events[0]) is False  # seen before
    assert state.occurrence_count == 2
    assert state.score(at(3)) == score(MODEL, LEAD, events, at(3))
    assert state.score(at(3)).total == D(2)


def test_lead_state_update_changes_fit_and_keeps_events() -> None:
    model = model_of(
        """
        fit:
          - {name: vp, points: 12, when: {field: title, contains: vp}}
        engagement:
          - {name: visit, event: visit, points: 2}
        """
    )
    state = LeadState(compile_model(model), Lead(id="L"))
    state.fold(ev("v", "visit", at(1)))
    assert state.score(at(2)).total == D(2)
    state.update_lead(Lead(id="L", fields={"title": "VP"}))
    assert state.score(at(2)).total == D(14)


@pytest.mark.parametrize(
    "build",
    [
        lambda: score(MODEL, LEAD, [], datetime(2024, 1, 1)),
        lambda: score(MODEL, LEAD, [Event("v", "L", "visit", datetime(2024, 1, 1))], at(1)),
        lambda: score(MODEL, Lead(id="L", created_at=datetime(2024, 1, 1)), [], at(40)),
        lambda: LeadState(compile_model(MODEL), LEAD).score(datetime(2024, 1, 1)),
        lambda: LeadState(compile_model(MODEL), LEAD).fold(Event("v", "L", "visit", datetime(2024, 1, 1))),
    ],
    ids=["as_of", "occurred_at", "created_at", "state_as_of", "state_occurred_at"],
)
def test_naive_datetimes_are_refused(build: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="expected a timezone-aware datetime, got naive 2024-01-01T00:00:00"):
        build()
