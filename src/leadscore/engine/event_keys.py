"""Occurrences from events read as keys, for batch rescoring.

Which rules an event matches depends only on its type and, for types whose rules test properties, on its
properties. A store can therefore hand a rescore each event as ``(lead seq, occurred_at µs, key)``, where
the key says just that (see ``Store.scan_keyed``). A lead's events are grouped by key, and each key is
matched to a model's rules once per run rather than once per event: the per-event work is a dictionary
lookup and an append. The occurrences are the same sorted times as ``occurrences_from_rows`` gives.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from leadscore.engine.compiled import MATCH_MEMO_SIZE, CompiledModel
from leadscore.engine.engagement import Occurrence

#: An event as a keyed scan reads it: ``(lead seq, occurred_at µs, key)``. The key is the index of the event's
#: type in the scan's types (-1 for any other type), as an integer or as text, or, for a type whose properties
#: the scan reads, the text of that index, one space and the properties JSON.
KeyedRow = tuple[int, int, int | str]


def scan_types(models: Sequence[CompiledModel]) -> tuple[tuple[str, ...], frozenset[str]]:
    """The event types a keyed scan must tell apart for these models, and those whose properties it reads."""
    types = sorted({kind for model in models for kind in model.rules_by_type})
    return tuple(types), frozenset().union(*(model.typed_with_properties for model in models))


class KeyedOccurrences:
    """One model's rules per event key, remembered for the run (bounded, like ``CompiledModel.match_text``)."""

    def __init__(self, compiled: CompiledModel, types: Sequence[str]) -> None:
        self.compiled = compiled
        self.types = tuple(types)
        self.memo: dict[int | str, tuple[int, ...]] = {}

    def rules_of(self, key: int | str) -> tuple[int, ...]:
        """Indexes of the engagement rules an event with this key matches."""
        compiled = self.compiled
        properties: str | None = None
        if isinstance(key, int):
            code = key
        else:  # "index properties", or a bare "index" from a backend whose keys are all text
            text, space, rest = key.partition(" ")
            code = int(text)
            if space:
                properties = rest
        if code < 0:
            return compiled.any_type
        kind = self.types[code]
        indexes = compiled.indexes_by_type.get(kind)
        if indexes is not None:
            return indexes
        if kind not in compiled.rules_by_type:
            return compiled.any_type
        if properties is None:
            raise ValueError(f"rules on {kind!r} events test properties, and the scan did not read them")
        return compiled.match_text(kind, properties)

    def occurrences(self, rows: Iterable[KeyedRow]) -> list[list[Occurrence]]:
        """Sorted occurrence times per engagement rule, from one lead's rows (each event once, as stored)."""
        by_key: dict[int | str, list[Occurrence]] = {}
        for _, occurred_us, key in rows:
            times = by_key.get(key)
            if times is None:
                by_key[key] = [occurred_us]
            else:
                times.append(occurred_us)
        per_rule: list[list[Occurrence]] = [[] for _ in self.compiled.engagement]
        memo = self.memo
        for key, times in by_key.items():
            indexes = memo.get(key)
            if indexes is None:
                indexes = self.rules_of(key)
                if len(memo) >= MATCH_MEMO_SIZE:
                    memo.clear()
                memo[key] = indexes
            for index in indexes:
                per_rule[index] += times
        for rule_rows in per_rule:
            if len(rule_rows) > 1:
                rule_rows.sort()  # several keys feed one rule (two pricing pages, say): merge their times
        return per_rule
