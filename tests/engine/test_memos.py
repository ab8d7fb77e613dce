"""The engine remembers answers per text (a fit test per field value, an event type's rules per properties
JSON). Remembering must never change an answer: not when one compiled model scores many leads in turn, and
not when a memo fills up and is cleared."""

from __future__ import annotations

import json
from typing import Any

import pytest
from engine_helpers import T0, model_of
from test_fit_rules import CASES, fit_model

from leadscore.engine import Event, Lead, compile_model, predicates, score
from leadscore.engine import compiled as compiled_module
from leadscore.engine.scoring import match_event, occurrences_from_rows
from leadscore.engine.types import to_micros


@pytest.mark.parametrize("memo_size", [1, 2, 4096])
def test_a_compiled_fit_test_gives_each_value_its_own_answer(monkeypatch: pytest.MonkeyPatch, memo_size: int) -> None:
    monkeypatch.setattr(predicates, "VALUE_MEMO_SIZE", memo_size)
    by_condition: dict[str, list[tuple[Any, bool]]] = {}
    for condition, value, applies in CASES:
        by_condition.setdefault(condition, []).append((value, applies))
    for condition, cases in by_condition.items():
        compiled = compile_model(fit_model(condition, "x"))  # compiled once, then reused lead after lead
        for _ in range(2):  # the second round answers from the memo (or after it was cleared)
            for value, applies in cases:
                lead = Lead(id="L", fields={} if value is None else {"x": value})
                assert (score(compiled, lead, [], T0).fit != 0) is applies, (condition, value)


@pytest.mark.parametrize("memo_size", [1, 3, 65_536])
def test_remembered_property_matches_equal_fresh_ones(monkeypatch: pytest.MonkeyPatch, memo_size: int) -> None:
    monkeypatch.setattr(compiled_module, "MATCH_MEMO_SIZE", memo_size)
    model = model_of(
        """
        engagement:
          - {name: pricing, event: page_view, where: {field: url, contains: /pricing}, points: 5}
          - {name: any_view, event: page_view, points: 1}
          - {name: demo, event: form_submit, where: {field: form, equals: demo}, points: 40}
        """
    )
    kinds = [
        ("page_view", {"url": "/pricing"}),
        ("page_view", {"url": "/blog"}),
        ("form_submit", {"form": "demo"}),
        ("form_submit", {"form": "Demo "}),
        ("form_submit", {"form": "trial"}),
        ("page_view", {"url": "/PRICING/enterprise"}),
    ]
    rows = [(f"e{i}", kind, to_micros(T0) - i, json.dumps(props)) for i, (kind, props) in enumerate(kinds * 5)]
    remembered = compile_model(model)
    first = occurrences_from_rows(remembered, rows)
    again = occurrences_from_rows(remembered, rows)  # answered from the memo, or after clears
    fresh = [occurrences_from_rows(compile_model(model), [row]) for row in rows]
    expected = [sorted(t for one in fresh for t in one[index]) for index in range(3)]
    assert first == again == expected
    assert [len(r) for r in expected] == [10, 15, 10]
    assert len(remembered.match_memo) <= memo_size


@pytest.mark.parametrize("memo_size", [1, 3, 65_536])
def test_remembered_matches_of_events_in_memory_equal_fresh_ones(
    monkeypatch: pytest.MonkeyPatch, memo_size: int
) -> None:
    # Events folded from memory are matched per (type, properties) when every value is text. 1, 1.0 and
    # True are equal as keys but not to the rules, so properties holding them must never share an answer.
    monkeypatch.setattr(compiled_module, "MATCH_MEMO_SIZE", memo_size)
    model = model_of(
        """
        engagement:
          - {name: flagged, event: signup, where: {field: flag, equals: true}, points: 5}
          - {name: one, event: signup, where: {field: flag, equals: 1}, points: 1}
          - {name: pricing, event: page_view, where: {field: url, contains: /pricing}, points: 2}
        """
    )
    kinds: list[tuple[str, dict[str, Any]]] = [
        ("signup", {"flag": True}),
        ("signup", {"flag": 1}),
        ("signup", {"flag": 1.0}),
        ("signup", {"flag": "yes"}),
        ("signup", {"flag": "1"}),
        ("signup", {"flag": ["a"]}),
        ("page_view", {"url": "/pricing"}),
        ("page_view", {"url": "/blog"}),
        ("page_view", {"url": "/PRICING", "ref": "ad"}),
    ]
    events = [Event(f"e{i}", "L", kind, T0, props) for i, (kind, props) in enumerate(kinds * 3)]
    remembered = compile_model(model)
    matched = [match_event(remembered, event) for event in events]
    fresh = [match_event(compile_model(model), event) for event in events]
    assert matched == fresh
    assert fresh[:9] == [(0,), (1,), (1,), (0,), (0, 1), (), (2,), (), (2,)]
    assert len(remembered.mapping_memo) <= memo_size
