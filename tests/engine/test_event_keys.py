"""A keyed scan's rows (``Store.scan_keyed``) must give the same occurrences as the events themselves: the
key holds the type, and the properties only for the types some rule tests properties of."""

from __future__ import annotations

import json

import pytest
from engine_helpers import T0
from hypothesis import given
from hypothesis import strategies as st
from test_properties import PROPERTIES, Stream, models, streams

from leadscore.engine import Event, compile_model
from leadscore.engine.event_keys import KeyedOccurrences, KeyedRow, scan_types
from leadscore.engine.scoring import occurrences_of
from leadscore.engine.types import to_micros
from leadscore.model import ScoringModel


def _keyed(events: list[Event], types: tuple[str, ...], properties_for: frozenset[str], text: bool) -> list[KeyedRow]:
    """The rows a store would read, keys made as ``store.keyed_scan.event_key`` makes them in SQL."""
    rows: list[KeyedRow] = []
    for event in events:
        index = types.index(event.type) if event.type in types else -1
        key: int | str = index
        if event.type in properties_for:
            key = f"{index} {json.dumps(dict(event.properties))}"
        elif text:
            key = str(index)
        rows.append((1, to_micros(event.occurred_at), key))
    return rows


@PROPERTIES
@given(model=models(), stream=streams(), text=st.booleans())
def test_keyed_rows_give_the_same_occurrences_as_events(model: ScoringModel, stream: Stream, text: bool) -> None:
    compiled = compile_model(model)
    types, properties_for = scan_types([compiled])
    keyed = KeyedOccurrences(compiled, types)
    rows = _keyed(stream.distinct, types, properties_for, text)
    expected = occurrences_of(compiled, stream.distinct)
    assert keyed.occurrences(rows) == expected
    assert keyed.occurrences(list(reversed(rows))) == expected  # again, from the memo, in any order


def test_a_key_without_the_properties_its_rules_need_is_refused(example_model: object) -> None:
    compiled = compile_model(
        ScoringModel.model_validate(
            {
                "name": "m",
                "engagement": [{"name": "demo", "event": "form", "where": {"field": "f", "equals": "d"}, "points": 5}],
            }
        )
    )
    keyed = KeyedOccurrences(compiled, ("form",))
    with pytest.raises(ValueError, match="test properties"):
        keyed.occurrences([(1, to_micros(T0), 0)])
    assert keyed.occurrences([(1, to_micros(T0), '0 {"f": "d"}'), (1, to_micros(T0), -1)]) == [[to_micros(T0)]]
