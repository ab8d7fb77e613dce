"""Event properties as features: what a lead did, not only how often.

A count per event type cannot tell a demo form from a newsletter form, or a 20-minute session from a
bounce. Facets add, per event type and window (7, 30, 90 days):

- for a text property with a handful of values (``form``, ``session_type``, ``activity_type``): the count of
  events with each common value, ``events.form_submit.form=demo.30d``;
- for a numeric property (``session_duration_seconds``, ``page_views``): its sum,
  ``events.page_view.session_duration_seconds.sum.30d``.

Which properties qualify is read once from a sample of the stored events (``discover``) and then fixed:
training rows and live scoring must have the same columns, so the artifact stores its facets as data.
Properties with many values (urls, ids) are left out: counts per id teach a model nothing it can reuse.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from leadscore.engine.types import US_PER_DAY
from leadscore.store.protocol import EventRow, Store

SAMPLE_EVENTS = 200_000
MAX_VALUES = 12
MIN_SHARE = 0.01
MIN_EVENTS = 20


def count_column(kind: str, where: tuple[str, str] | None, days: int) -> str:
    """The row column counting ``kind`` events over ``days`` (those whose property ``where[0]`` is
    ``where[1]``, a facet count): the one name training rows, the scorecard and its scoring all use."""
    return f"events.{kind}.{days}d" if where is None else f"events.{kind}.{where[0]}={where[1]}.{days}d"


def last_column(kind: str, where: tuple[str, str] | None = None) -> str:
    """The row column holding the days since the lead's last ``kind`` event (with property ``where[0]``
    equal to ``where[1]``, for a facet), missing when there is none: what an inactivity penalty counts from."""
    return f"events.{kind}.days_since_last" if where is None else f"events.{kind}.{where[0]}={where[1]}.days_since_last"


@dataclass(frozen=True)
class Facets:
    sums: tuple[tuple[str, str], ...] = ()  # (event type, numeric property)
    counts: tuple[tuple[str, str, str], ...] = ()  # (event type, text property, value)

    def __bool__(self) -> bool:
        return bool(self.sums or self.counts)

    def as_dict(self) -> dict[str, Any]:
        return {"sums": [list(s) for s in self.sums], "counts": [list(c) for c in self.counts]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Facets:
        if not data:
            return cls()
        return cls(
            tuple((str(t), str(k)) for t, k in data.get("sums", [])),
            tuple((str(t), str(k), str(v)) for t, k, v in data.get("counts", [])),
        )

    def features(self, past: Sequence[EventRow], at_us: int, windows: Sequence[int]) -> dict[str, float | None]:
        """The facet columns of one lead at ``at_us`` from its events up to then (an event counts in a
        window when it is less than that many days old, as the per-type counts do)."""
        out: dict[str, float] = {}
        for kind, key in self.sums:
            for days in windows:
                out[f"events.{kind}.{key}.sum.{days}d"] = 0.0
        for kind, key, value in self.counts:
            for days in windows:
                out[count_column(kind, (key, value), days)] = 0
        if not self:
            return {}
        count_types = {k for k, _, _ in self.counts}
        wanted_types = {k for k, _ in self.sums} | count_types
        longest = max(windows) * US_PER_DAY
        sums = {(k, p) for k, p in self.sums}
        counts = {(k, p, v) for k, p, v in self.counts}
        last: dict[tuple[str, str, str], int] = {}
        for _, kind, when, text in past:
            if kind not in wanted_types or when > at_us:
                continue
            recent = when > at_us - longest
            if not recent and kind not in count_types:
                continue
            properties = orjson.loads(text) if text and text != "{}" else {}
            if not isinstance(properties, dict):
                continue
            inside = [days for days in windows if when > at_us - days * US_PER_DAY]
            for key, raw in properties.items():
                number = _number(raw)
                if recent and number is not None and (kind, key) in sums:
                    for days in inside:
                        out[f"events.{kind}.{key}.sum.{days}d"] += number
                label = _label(raw)
                if label is not None and (kind, key, label) in counts:
                    last[kind, key, label] = max(when, last.get((kind, key, label), when))
                    for days in inside:
                        out[count_column(kind, (key, label), days)] += 1
        lasts: dict[str, float | None] = {}
        for kind, key, value in self.counts:
            latest = last.get((kind, key, value))
            since = (at_us - latest) / US_PER_DAY if latest is not None else None  # unrounded: see dataset
            lasts[last_column(kind, (key, value))] = since
        return {**out, **lasts}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _label(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def discover(store: Store, sample: int = SAMPLE_EVENTS) -> Facets:
    """The facets of the store's events, from its first ``sample`` events in lead order."""
    return facets_of(_sample(store, sample))


def _sample(store: Store, sample: int) -> Iterable[tuple[str, str]]:
    seen = 0
    for _, _, rows in store.scan():
        for _, kind, _, text in rows:
            yield kind, text
            seen += 1
        if seen >= sample:
            return


def facets_of(events: Iterable[tuple[str, str]]) -> Facets:
    """Numeric properties (every value a number) are summed; text properties with 2 to ``MAX_VALUES``
    values are counted per value that is on at least ``MIN_SHARE`` of the type's events (and
    ``MIN_EVENTS``)."""
    per_type: Counter[str] = Counter()
    numeric: dict[tuple[str, str], bool] = {}
    values: dict[tuple[str, str], Counter[str]] = {}
    for kind, text in events:
        per_type[kind] += 1
        if not text or text == "{}":
            continue
        properties = orjson.loads(text)
        if not isinstance(properties, dict):
            continue
        for key, raw in properties.items():
            slot = (kind, key)
            is_number = _number(raw) is not None
            numeric[slot] = numeric.get(slot, True) and is_number
            label = None if is_number else _label(raw)
            if label is not None:
                found = values.setdefault(slot, Counter())
                if len(found) <= MAX_VALUES or label in found:
                    found[label] += 1
    sums = sorted(slot for slot, only_numbers in numeric.items() if only_numbers)
    counts = []
    for (kind, key), found in sorted(values.items()):
        if numeric.get((kind, key)) or not 2 <= len(found) <= MAX_VALUES:
            continue
        floor = max(MIN_EVENTS, MIN_SHARE * per_type[kind])
        counts += [(kind, key, v) for v, n in sorted(found.items()) if n >= floor]
    return Facets(tuple(sums), tuple(counts))
