"""Scoring from a row's features with an inactivity penalty, held to the reference engine on the events the
row was built from: the rows give each type's and property value's last event in days to three decimals,
so events close to a window's edge, or to a period's, are where a placement could go wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
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
#: Ages in days: a window's edge or a period's, give or take less than the rows' rounding (86.4 s).
EDGES = [d + s / 86_400 for d in (7, 14, 28, 30, 90) for s in (-60, -43, -1, 0, 1, 43, 60)]
ages = st.one_of(st.floats(0, 200, allow_nan=False), st.sampled_from(EDGES))
events = st.lists(st.tuples(st.sampled_from(TYPES), ages, st.sampled_from(("demo", "newsletter", "Demo"))), max_size=8)


@settings(max_examples=300, deadline=None)
@given(events=events, created_days=st.one_of(st.none(), ages))
def test_scoring_from_features_gives_the_engines_inactivity(
    events: list[tuple[str, float, str]], created_days: float | None
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
    engine = assemble_cents(MODEL, lead, occurrences_from_rows(MODEL, rows, unique=True), AT_US)
    assert score_row(MODEL, row).total == engine.total, (features, engine.lines)
