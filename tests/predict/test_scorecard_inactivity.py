"""Scoring from a row's features with an inactivity penalty, or with "any <type> in the last W days" rules
over windows the counts do not give, held to the reference engine on the events the row was built from:
events close to a window's edge, or to a period's, are where a placement could go wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadscore.engine.compiled import CompiledModel
from leadscore.engine.scoring import assemble_cents, occurrences_from_rows
from leadscore.engine.types import US_PER_DAY, Lead, from_micros, to_micros
from leadscore.model.loader import loads_model
from leadscore.predict.dataset import Row, features_at
from leadscore.predict.facets import Facets
from leadscore.predict.scorecard_scoring import score_row

AT_US = to_micros(datetime(2026, 3, 1, tzinfo=UTC))
TYPES = ("demo", "view", "form")
FACETS = Facets(counts=(("form", "form", "demo"), ("form", "form", "newsletter")))
MODEL = CompiledModel(
    loads_model(
        """
name: quiet
decay: {kind: none}
inactivity: {every_days: 7, points: -3, floor: -12}
engagement:
  - {name: demo_week, event: demo, points: 4, max_points: 8, window_days: 7}
  - {name: demo_quarter, event: demo, points: 2, max_points: 10, window_days: 90}
  - {name: view_month, event: view, points: -1, max_points: 3, window_days: 30}
  - {name: demo_form, event: form, where: {field: form, equals: demo, case_sensitive: true}, points: 6,
     max_points: 6, window_days: 30}
"""
    )
)
#: "Any <type> in the last W days" (a rule counting at most one event) over windows rows have no counts for,
#: beside counts over theirs, with and without an inactivity penalty.
RECENT = """
decay: {kind: none}
engagement:
  - {name: demo_any_3d, event: demo, points: 7, max_points: 7, window_days: 3}
  - {name: demo_any_21d, event: demo, points: 5, max_points: 5, window_days: 21}
  - {name: demo_quarter, event: demo, points: 2, max_points: 10, window_days: 90}
  - {name: view_any_14d, event: view, points: -4, max_points: 4, window_days: 14}
  - {name: view_any_60d, event: view, points: 3, max_points: 3, window_days: 60}
  - {name: view_week, event: view, points: 1, max_points: 2, window_days: 7}
  - {name: demo_form_any_45d, event: form, where: {field: form, equals: demo, case_sensitive: true}, points: 6,
     max_points: 6, window_days: 45}
"""
RECENT_MODELS = [
    CompiledModel(loads_model("name: recent" + RECENT)),
    CompiledModel(loads_model("name: recent_quiet\ninactivity: {every_days: 10, points: -2, floor: -6}" + RECENT)),
]
#: Ages in days: a window's edge or a period's, give or take less than the rows' rounding (86.4 s).
EDGES = [d + s / 86_400 for d in (3, 7, 14, 21, 28, 30, 45, 60, 90) for s in (-60, -43, -1, 0, 1, 43, 60)]
ages = st.one_of(st.floats(0, 200, allow_nan=False), st.sampled_from(EDGES))
events = st.lists(st.tuples(st.sampled_from(TYPES), ages, st.sampled_from(("demo", "newsletter", "Demo"))), max_size=8)


@settings(max_examples=300, deadline=None)
@given(events=events, created_days=st.one_of(st.none(), ages))
def test_scoring_from_features_gives_the_engines_inactivity(
    events: list[tuple[str, float, str]], created_days: float | None
) -> None:
    _assert_row_scores_as_engine(MODEL, events, created_days)


@pytest.mark.parametrize("model", RECENT_MODELS, ids=lambda m: m.model.name)
@settings(max_examples=300, deadline=None)
@given(events=events, created_days=st.one_of(st.none(), ages))
def test_scoring_from_features_gives_the_engines_any_in_the_last_days(
    model: CompiledModel, events: list[tuple[str, float, str]], created_days: float | None
) -> None:
    _assert_row_scores_as_engine(model, events, created_days)


def _assert_row_scores_as_engine(
    model: CompiledModel, events: list[tuple[str, float, str]], created_days: float | None
) -> None:
    rows = []
    for n, (kind, days, form) in enumerate(events):
        properties = {"form": form} if kind == "form" else {}
        rows.append((f"e{n}", kind, AT_US - round(days * US_PER_DAY), orjson.dumps(properties).decode()))
    rows.sort(key=lambda r: r[2])
    created_us = AT_US - round(created_days * US_PER_DAY) if created_days is not None else None
    lead = Lead("L1", {}, created_at=from_micros(created_us) if created_us is not None else None)
    features = features_at(lead, rows, AT_US, created_us, [], TYPES, FACETS)
    row = Row("L1", from_micros(AT_US), 0, True, False, features, None)
    engine = assemble_cents(model, lead, occurrences_from_rows(model, rows, unique=True), AT_US)
    assert score_row(model, row).total == engine.total, (features, engine.lines)
