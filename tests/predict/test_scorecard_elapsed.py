"""The scorecard's time since the lead's last event of any type, worked out for all rows at once, equals the
per-row reference (``scorecard_scoring.inactivity_since``, which the engine agreement tests hold to the
engine) to the microsecond, at window edges and with rows that hold no events, no age or odd counts. A
facet's columns are not a type of their own."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadscore.engine.types import to_micros
from leadscore.predict.dataset import WINDOWS_DAYS, Row
from leadscore.predict.facets import count_column, last_column
from leadscore.predict.scorecard_choice import since_last_event
from leadscore.predict.scorecard_scoring import EventKey, inactivity_since

KEYS: list[EventKey] = [("demo", None), ("view", None), ("form", None), ("form", ("form", "demo"))]
AT = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
#: Days: a window's edge give or take less than a rounding's worth, and anywhere up to 200.
EDGES = [w + s / 86_400 for w in (0, *WINDOWS_DAYS) for s in (-1, 0, 1e-3, 1)]
days = st.one_of(st.floats(0, 200, allow_nan=False), st.sampled_from([d for d in EDGES if d >= 0]))


@st.composite
def key_columns(draw: st.DrawFn, key: EventKey) -> dict[str, object]:
    """A key's counts (growing with the window, or none) and its days since the last event, as rows hold
    them: missing when there are no counts, or present with none (the event is older than 90 days)."""
    steps = draw(st.lists(st.integers(0, 3), min_size=3, max_size=3))
    counts = list(np.cumsum(steps)) if draw(st.booleans()) else [0, 0, 0]
    columns: dict[str, object] = {count_column(*key, w): int(c) for w, c in zip(WINDOWS_DAYS, counts, strict=True)}
    last = draw(days)
    columns[last_column(*key)] = last if counts[-1] or draw(st.booleans()) else None
    return columns


@st.composite
def rows(draw: st.DrawFn) -> list[Row]:
    out = []
    for n in range(draw(st.integers(1, 6))):
        # A negative age (created after the snapshot) counts from the snapshot itself.
        features: dict[str, object] = {"age_days": draw(st.one_of(st.none(), days, st.floats(-5, 0)))}
        for key in KEYS:
            features |= draw(key_columns(key))
        out.append(Row(f"L{n}", AT, n % 2, True, False, features, None))
    return out


def reference(rows: list[Row]) -> np.ndarray:
    out = np.full(len(rows), np.nan)
    for i, row in enumerate(rows):
        since = inactivity_since(row)
        if since is not None:
            out[i] = to_micros(row.snapshot) - since
    return out


@settings(max_examples=300, deadline=None)
@given(rows=rows())
def test_all_rows_at_once_give_the_per_row_reference(rows: list[Row]) -> None:
    got = since_last_event(rows)
    assert got is not None
    np.testing.assert_array_equal(got, reference(rows))


def row(features: dict[str, object]) -> Row:
    return Row("L1", AT, 0, True, False, {"age_days": 3.0, **features}, None)


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (
            {"events.demo.7d": 2, "events.demo.30d": 1, "events.demo.90d": 1, "events.demo.days_since_last": 1.0},
            r"counts of demo shrink as the window grows: \[2, 1, 1\]",
        ),
        (
            {"events.demo.7d": 0, "events.demo.30d": 1, "events.demo.90d": 1, "events.demo.days_since_last": None},
            r"events\.demo\.days_since_last is missing but demo has counts \[0, 1, 1\]",
        ),
    ],
)
def test_rows_that_contradict_themselves_are_refused_as_the_reference_refuses_them(
    features: dict[str, object], message: str
) -> None:
    bad = [row(features)]
    with pytest.raises(ValueError, match=message):
        inactivity_since(bad[0])
    with pytest.raises(ValueError, match=message):
        since_last_event(bad)


def test_without_the_columns_a_penalty_needs_there_is_nothing_to_count() -> None:
    """Rows written before the last-event columns, or without an age: no penalty can be fitted on them."""
    old = [row({"events.demo.7d": 1, "events.demo.30d": 1, "events.demo.90d": 1})]
    assert since_last_event(old) is None
    ageless = [Row("L1", AT, 0, True, False, {"events.demo.days_since_last": 1.0}, None)]
    assert since_last_event(ageless) is None


def test_rows_without_any_event_type_count_from_creation() -> None:
    """A store with no events at all: the engine counts the penalty from each lead's creation, and so does
    the fit (a lead without an age gets none)."""
    rows = [
        Row("L1", AT, 0, True, False, {"age_days": 2.5}, None),
        Row("L2", AT, 1, True, False, {"age_days": None}, None),
    ]
    got = since_last_event(rows)
    assert got is not None
    np.testing.assert_array_equal(got, reference(rows))
    assert got[0] == 2.5 * 86_400_000_000 and np.isnan(got[1])


def test_a_sum_or_a_facet_count_is_not_an_event_type_without_its_last_event() -> None:
    """Only a plain type's counts without its last-event column make the rows too old to count from; a
    numeric property's sum and a facet's counts have no last event of their own."""
    columns: dict[str, object] = {
        "events.demo.7d": 1,
        "events.demo.30d": 1,
        "events.demo.90d": 1,
        "events.demo.days_since_last": 2.0,
        "events.demo.seconds.sum.7d": 30.0,
        "events.demo.form=demo.7d": 1,
    }
    got = since_last_event([row(columns)])
    assert got is not None and got[0] == 2.0 * 86_400_000_000
