"""The self-check on a real store, on each backend: the suggested model, run by the reference engine on each
lead's stored events as of its snapshot (as ``leadscore dataset`` scores), gives exactly the total the fit
computed from the row's features, and so does scoring from the features alone, with counts per event type
and per event property value."""

from __future__ import annotations

import numpy as np
from scorecard_crm import OBSERVED_UNTIL, SNAPSHOT_DAYS, load_crm

from leadscore.engine.compiled import CompiledModel
from leadscore.engine.scoring import assemble_cents, occurrences_from_rows
from leadscore.engine.types import to_micros
from leadscore.predict.dataset import Row, Snapshots, training_rows
from leadscore.predict.facets import discover
from leadscore.predict.scorecard import Scorecard, fit_scorecard
from leadscore.predict.scorecard_bins import RECENCY_DAYS
from leadscore.predict.scorecard_scoring import score_rows
from leadscore.store.protocol import Store


def test_the_engine_on_stored_events_gives_the_totals_the_fit_computed(store: Store) -> None:
    load_crm(store)
    rows = list(training_rows(store, [], Snapshots((SNAPSHOT_DAYS,)), 90, OBSERVED_UNTIL))
    card = fit_scorecard(rows)
    groups = {r.candidate.group for r in card.rules}
    windows = {r.candidate.window_days for r in card.rules if r.candidate.is_count}
    # The paths this test is about are taken: an account field, counts, and windows that hold different counts.
    assert {"account.plan", "demo_request"} <= groups and {7, 90} <= windows
    assert any(r.features["events.demo_request.90d"] > r.features["events.demo_request.30d"] for r in rows)

    _assert_engine_agrees(store, card, rows)


def test_points_for_a_property_value_score_the_stored_events_as_the_fit_did(store: Store) -> None:
    """Rows with facets (as ``leadscore suggest`` builds them): a demo form earns points a newsletter form
    does not, through a ``where`` test the engine applies to the stored events, which also hold "Demo",
    "2024" and boolean values that the facet columns do not count."""
    load_crm(store, forms=True)
    facets = discover(store)
    rows = list(training_rows(store, [], Snapshots((SNAPSHOT_DAYS,)), 90, OBSERVED_UNTIL, facets=facets))
    assert ("form_submit", "gated", "true") in facets.counts and ("form_submit", "utm.source", "ads") in facets.counts
    assert ("form_submit", "seconds") in facets.sums
    card = fit_scorecard(rows)
    tests = {r.candidate.where for r in card.rules if r.candidate.where is not None}
    assert ("form", "demo") in tests and tests <= {("form", "demo"), ("form", "Demo"), ("form", "newsletter")}
    demo_forms = [r for r in card.rules if r.candidate.where == ("form", "demo")]
    newsletters = [r for r in card.rules if r.candidate.where == ("form", "newsletter")]
    # Two demo forms in 90 days earn more than two newsletter forms, through rules the engine can run.
    assert sum(r.points * min(2, r.candidate.cap or 1) for r in demo_forms) > sum(
        r.points * min(2, r.candidate.cap or 1) for r in newsletters
    )
    assert all(
        r.candidate.event in ("demo_request", "page_view", "form_submit") for r in card.rules if r.candidate.is_count
    )
    assert "where: {field: form, equals: demo, case_sensitive: true}" in card.to_yaml()
    _assert_engine_agrees(store, card, rows)


def test_an_inactivity_penalty_scores_the_stored_events_as_the_fit_did(store: Store) -> None:
    """Leads convert less the longer they have been quiet: the scorecard says so with the engine's
    ``inactivity``, counted from the lead's last event of any type (``since: any_event``), which the engine
    reads off the stored events, those no rule matches included, and the rows give as the latest of each
    type's last event."""
    load_crm(store, forms=True, recency=True)
    rows = list(training_rows(store, [], Snapshots((SNAPSHOT_DAYS,)), 90, OBSERVED_UNTIL, facets=discover(store)))
    assert "events.form_submit.form=demo.days_since_last" in rows[0].features
    card = fit_scorecard(rows)
    assert card.inactivity is not None and card.inactivity.points < 0, card.to_yaml()
    assert card.model().inactivity is not None
    assert "inactivity: {every_days:" in card.to_yaml() and "since: any_event}" in card.to_yaml()
    _assert_engine_agrees(store, card, rows)


def test_points_for_a_recent_last_event_score_the_stored_events_as_the_fit_did(store: Store) -> None:
    """Odds that fall with the days since the last event are also said by "any <type> in the last W days"
    over windows the rows count nothing for (``RECENCY_DAYS``): the row's last-event time decides them, and
    the engine, reading the stored events, agrees to the cent."""
    load_crm(store, recency=True)
    rows = list(training_rows(store, [], Snapshots((SNAPSHOT_DAYS,)), 90, OBSERVED_UNTIL))
    card = fit_scorecard(rows)
    recent = [r for r in card.rules if r.candidate.window_days in RECENCY_DAYS]
    assert recent, card.to_yaml()
    assert f"window_days: {recent[0].candidate.window_days}" in card.to_yaml()
    _assert_engine_agrees(store, card, rows)


def _assert_engine_agrees(store: Store, card: Scorecard, rows: list[Row]) -> None:
    compiled = CompiledModel(card.model())
    by_lead = {row.lead_id: i for i, row in enumerate(rows)}
    engine = np.full(len(rows), np.nan)
    for _, lead, events in store.scan():
        i = by_lead[lead.id]
        occurrences = occurrences_from_rows(compiled, events, unique=True)
        engine[i] = assemble_cents(compiled, lead, occurrences, to_micros(rows[i].snapshot)).total / 100
    np.testing.assert_array_equal(engine, card.totals)
    np.testing.assert_array_equal(score_rows(compiled, rows), card.totals)
