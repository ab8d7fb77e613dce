"""The rules a suggested scorecard may give points to, and the 0/1 or count column each one adds.

A lead field (``field.<name>``) or account field (``account.<name>``) becomes bins: each category with
enough support, one ``other`` bin for the rare ones, and a ``missing`` bin, or for numbers a range per
quantile. The largest bin of each field is the reference: it
gets no rule, so its leads score 0 for that field and every other bin's points say "compared with it".

An event type becomes capped counts over the 7, 30 and 90 days up to the snapshot. A rule with ``points``
per occurrence, ``window_days: W``, no decay and ``max_points: points * k`` adds ``points * min(n, k)``,
where n is the count the ``events.<type>.<W>d`` column holds. Several caps k on one type and window make
any shape of points against the count, flat after the largest cap. A facet count,
``events.<type>.<key>=<value>.<W>d`` (see ``facets``), becomes the same rules with ``where: {field: <key>,
equals: <value>, case_sensitive: true}``: a demo form is worth more than a newsletter form. Sums of a numeric
property have no rule to say them, and are left out.

How long ago a type's last event happened says more than the 7/30/90-day counts can: an opportunity opened
three weeks ago has had time to close, one opened yesterday has not. So each type (and facet) also gets "any
<type> in the last W days" for the windows of ``RECENCY_DAYS``: one rule counting at most one event, which
the row's ``days_since_last`` column decides exactly. Together with the 7/30/90-day ones they bin the
recency of the last event.

A column is computed by the engine itself: a bin's condition is compiled with the engine's predicates and
tested on each distinct value, so what the fit learned from is exactly what the emitted model scores.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from leadscore.engine.compiled import lead_access
from leadscore.engine.predicates import as_number, compile_condition, is_missing
from leadscore.engine.types import US_PER_DAY, Account, Lead, to_micros
from leadscore.model.rules import FitRule
from leadscore.predict.dataset import WINDOWS_DAYS, Row
from leadscore.predict.facets import count_column, last_column
from leadscore.predict.scorecard_scoring import exact_facet, last_occurrences

#: Caps tried on each event count; one is kept when enough leads reach it.
CAPS = (1, 2, 3, 5, 10, 20, 50)
#: Windows of the "any <type> in the last W days" rules, besides the counts' 7, 30 and 90 days.
RECENCY_DAYS = (3, 14, 21, 45, 60)
QUANTILE_BINS = 8
MAX_CATEGORIES = 30
#: A field is numeric when this share of its values read as numbers.
NUMERIC_SHARE = 0.95
#: A count column this correlated with one of the same event type already kept adds nothing to read.
NEAR_COPY = 0.98


@dataclass(frozen=True)
class Candidate:
    """One rule the fit may give points to: a bin of a lead field, or an event count over a window, capped."""

    name: str
    group: str  # the lead field or event type the rule reads
    label: str  # what a lead in it is or did, in words
    when: dict[str, Any] | None = None  # a fit rule's condition, as YAML data
    event: str | None = None
    window_days: int | None = None
    cap: int | None = None
    where: tuple[str, str] | None = None  # for a facet count: the event property and the value it must hold

    @property
    def is_count(self) -> bool:
        return self.event is not None


@dataclass(frozen=True)
class Design:
    """The candidates and their columns on the training rows (one row per training row)."""

    candidates: list[Candidate]
    matrix: NDArray[np.float64]
    #: Per lead field, its reference bin (the largest, with no rule) in words, and which rows are in it.
    references: dict[str, tuple[str, NDArray[np.bool_]]]


def design(rows: Sequence[Row], min_support: int, exclude: Sequence[str] = ()) -> Design:
    """Every candidate with at least ``min_support`` rows in it, minus constant and duplicate columns."""
    dropped = set(exclude)
    names = sorted({k for r in rows for k in r.features if k not in dropped})
    found: list[tuple[Candidate, NDArray[np.float64]]] = []
    references: dict[str, tuple[str, NDArray[np.bool_]]] = {}
    for column in names:
        field = rule_field(column)
        if field is not None:
            bins = _field_bins(field, [r.features.get(column) for r in rows], min_support)
            if bins:
                reference = max(range(len(bins)), key=lambda i: bins[i][1].sum())
                references[field] = (bins[reference][0].label, bins[reference][1] > 0)
                found += [item for i, item in enumerate(bins) if i != reference]
    at_us = np.array([to_micros(r.snapshot) for r in rows], dtype=np.int64)
    counted = _count_columns(names)
    for at, (kind, where, window) in enumerate(counted):
        column = count_column(kind, where, window)
        counts = np.array([r.features.get(column) or 0 for r in rows], dtype=np.float64)
        found += _capped_counts(kind, where, window, counts, min_support)
        key_done = at + 1 == len(counted) or counted[at + 1][:2] != (kind, where)  # after its own counts
        if key_done and last_column(kind, where) in names:  # its last event not left out
            found += _recency(kind, where, rows, at_us, min_support)
    kept: list[Candidate] = []
    columns: list[NDArray[np.float64]] = []
    seen: set[bytes] = set()
    for candidate, values in found:
        key = values.tobytes()
        if values.min(initial=0.0) == values.max(initial=0.0) or key in seen:
            continue
        if candidate.is_count and _near_copy(
            values, [c for k, c in zip(kept, columns, strict=True) if k.group == candidate.group and k.is_count]
        ):
            continue
        seen.add(key)
        kept.append(_unique_name(candidate, {c.name for c in kept}))
        columns.append(values)
    matrix = np.column_stack(columns) if columns else np.zeros((len(rows), 0))
    return Design(kept, matrix, references)


def _near_copy(values: NDArray[np.float64], others: list[NDArray[np.float64]]) -> bool:
    """A count that moves with one already kept (a 30-day count when nearly every event is that recent)
    would split that one's points in two, and each half rounds on its own."""
    return any(float(np.corrcoef(values, other)[0, 1]) > NEAR_COPY for other in others)


def rule_field(column: str) -> str | None:
    """The field a fit rule names to read a row's column: ``field.<name>`` is the lead's ``<name>`` and
    ``account.<name>`` the account's, as rules write it. A lead field named ``id`` or ``account.<x>`` cannot be
    named in a rule (``id`` reads the lead's id), so it is not used."""
    if column.startswith("account."):
        return column
    if column.startswith("field."):
        name = column[len("field.") :]
        return None if name in ("id", "email") or name.startswith("account.") else name
    return None


def subject(field: str, value: Any) -> Lead:
    """A lead holding one value, where a fit rule on ``field`` reads it."""
    if field.startswith("account."):
        return Lead("", {}, account=Account("", {field[len("account.") :]: value}))
    return Lead("", {field: value})


def _count_columns(names: Sequence[str]) -> list[tuple[str, tuple[str, str] | None, int]]:
    """(event type, property test, window) per count column, each type's plain counts before its facets and
    longest window first: when two columns count the same events, the first one is kept."""
    found: dict[str, list[int]] = {}
    for name in names:
        match = re.fullmatch(r"events\.(.+)\.(\d+)d", name)
        if match and int(match.group(2)) in WINDOWS_DAYS:
            found.setdefault(match.group(1), []).append(int(match.group(2)))
    out: list[tuple[str, tuple[str, str] | None, int]] = []
    for body, windows in found.items():
        counted = _counted_events(body, found)
        if counted is not None:
            out += [(counted[0], counted[1], window) for window in windows]
    return sorted(out, key=lambda item: (item[0], item[1] is not None, item[1] or ("", ""), -item[2]))


def _counted_events(body: str, bodies: Mapping[str, Any]) -> tuple[str, tuple[str, str] | None] | None:
    """What a column counts: (type, None) for a plain event type, (type, (key, value)) for a facet count, or
    ``None`` for a column no rule can say exactly. A column is a facet when what follows one of the event
    types (a body with counts of its own) holds ``=`` or ends in ``.sum``; a sum, or a count that
    ``exact_facet`` refuses, is left out: a column misread would score other events than it counted."""
    at = body.find(".")
    while at != -1:
        kind, rest = body[:at], body[at + 1 :]
        if kind in bodies and ("=" in rest or rest.endswith(".sum")):
            key, equals, value = rest.partition("=")
            return (kind, (key, value)) if equals and exact_facet(key, value) else None
        at = body.find(".", at + 1)
    return body, None


def _capped_counts(
    kind: str, where: tuple[str, str] | None, window: int, counts: NDArray[np.float64], min_support: int
) -> list[tuple[Candidate, NDArray[np.float64]]]:
    out = []
    what, stem = _described(kind, where)
    for cap in CAPS:
        if int((counts >= cap).sum()) < min_support:
            break
        label = f"each {what} in the last {window} days, counting at most {cap}"
        name = f"{stem}_{window}d" + (f"_upto_{cap}" if cap > 1 else "_any")
        candidate = Candidate(name, kind, label, event=kind, window_days=window, cap=cap, where=where)
        out.append((candidate, np.minimum(counts, cap)))
    return out


def _described(kind: str, where: tuple[str, str] | None) -> tuple[str, str]:
    """What a count's rules count, in words for their labels and as the stem of their names."""
    if where is None:
        return kind, slug(kind)
    return f"{kind} with {where[0]} {where[1]}", f"{slug(kind)}_{slug(where[0])}_{slug(where[1])}"


def _recency(
    kind: str, where: tuple[str, str] | None, rows: Sequence[Row], at_us: NDArray[np.int64], min_support: int
) -> list[tuple[Candidate, NDArray[np.float64]]]:
    """Per window of ``RECENCY_DAYS``, "any <type> in the last W days": 1 when the last event is in it (the
    engine's window holds what happened after ``as_of - W``). Nothing for rows without a usable last-event
    column: their counts alone are used."""
    try:
        last = last_occurrences(rows, (kind, where), at_us)
    except ValueError:
        return []
    ago = at_us.astype(np.float64) - last  # NaN: no such event
    what, stem = _described(kind, where)
    out = []
    for window in RECENCY_DAYS:
        column = (ago < window * US_PER_DAY).astype(np.float64)  # NaN compares False
        if column.sum() < min_support:
            continue
        label = f"any {what} in the last {window} days"
        candidate = Candidate(f"{stem}_{window}d_any", kind, label, event=kind, window_days=window, cap=1, where=where)
        out.append((candidate, column))
    return out


def _field_bins(field: str, values: list[Any], min_support: int) -> list[tuple[Candidate, NDArray[np.float64]]]:
    present = [v for v in values if not is_missing(v)]
    if not present:
        return []
    numbers = [as_number(v) for v in present if not isinstance(v, bool)]
    readable = [n for n in numbers if n is not None]
    if len(readable) >= NUMERIC_SHARE * len(present) and len(set(readable)) > 1:
        bins = _number_bins(field, readable, min_support)
    else:
        bins = _category_bins(field, present, min_support)
    bins.append(("missing", f"{field} is missing", {"field": field, "is_missing": True}))
    out = []
    for suffix, label, when in bins:
        test = _predicate(when)
        memo: dict[Any, float] = {}
        column = np.array([_cached_test(test, field, v, memo) for v in values], dtype=np.float64)
        if column.sum() >= min_support:
            out.append((Candidate(slug(f"{field}_{suffix}"), field, label, when=when), column))
    return out


def _predicate(when: dict[str, Any]) -> Any:
    rule = FitRule.model_validate({"name": "bin", "points": 1, "when": when})
    return compile_condition(rule.when, lead_access, {})


def _cached_test(test: Any, field: str, value: Any, memo: dict[Any, float]) -> float:
    try:
        key = (type(value).__name__, value)
        hit = memo.get(key)
    except TypeError:  # an unhashable value (a list, say): test it each time
        return float(test(subject(field, value)))
    if hit is None:
        hit = memo[key] = float(test(subject(field, value)))
    return hit


def category_key(value: Any) -> tuple[str, Any]:
    """Values the engine's ``equals`` takes as the same: text ignoring case and outer spaces, numbers."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", float(value))
    text = value if isinstance(value, str) else str(value)
    return ("text", text.casefold().strip())


#: A bin: the end of its rule's name, what it holds in words, and its condition.
Bin = tuple[str, str, dict[str, Any]]


def _category_bins(field: str, present: list[Any], min_support: int) -> list[Bin]:
    by_key: dict[tuple[str, Any], Counter[Any]] = {}
    for value in present:
        shown = value.strip() if isinstance(value, str) else value
        try:
            by_key.setdefault(category_key(value), Counter())[shown] += 1
        except TypeError:
            continue
    sizes = sorted(((sum(c.values()), k) for k, c in by_key.items() if k[1] != ""), key=lambda s: -s[0])
    kept = [by_key[k].most_common(1)[0][0] for n, k in sizes[:MAX_CATEGORIES] if n >= min_support]
    bins: list[Bin] = [(f"is_{value}", f"{field} is {value!r}", {"field": field, "equals": value}) for value in kept]
    if len(kept) < len(sizes) or len(sizes) < len(by_key):
        other: dict[str, Any] = {"field": field, "is_set": True}
        if kept:
            other = {"all": [other, {"not": {"field": field, "in": kept}}]}
        bins.append(("other_values", f"{field} is another value", other))
    return bins


def _number_bins(field: str, numbers: list[float], min_support: int) -> list[Bin]:
    ordered = sorted(numbers)
    count = len(ordered)
    cuts: list[float] = []
    last = 0  # index of the first value above the last kept cut
    for step in range(1, QUANTILE_BINS):
        position = step * count // QUANTILE_BINS
        value = ordered[position]
        start = _first_index(ordered, value)
        if start - last >= min_support and count - start >= min_support and (not cuts or value > cuts[-1]):
            below = ordered[start - 1]
            cuts.append(nice_cut(below, value))
            last = start
    if not cuts:
        return []
    bins: list[Bin] = [(f"under_{_text(cuts[0])}", f"{field} < {_text(cuts[0])}", {"field": field, "lt": cuts[0]})]
    for low, high in itertools.pairwise(cuts):
        when = {"all": [{"field": field, "gte": low}, {"field": field, "lt": high}]}
        bins.append((f"{_text(low)}_to_{_text(high)}", f"{_text(low)} <= {field} < {_text(high)}", when))
    bins.append((f"{_text(cuts[-1])}_plus", f"{field} >= {_text(cuts[-1])}", {"field": field, "gte": cuts[-1]}))
    return bins


def _first_index(ordered: list[float], value: float) -> int:
    low, high = 0, len(ordered)
    while low < high:
        middle = (low + high) // 2
        if ordered[middle] < value:
            low = middle + 1
        else:
            high = middle
    return low


def nice_cut(below: float, value: float) -> float:
    """The roundest number in (``below``, ``value``]: it splits the training values exactly as ``value`` does,
    and reads better (300, not 287). Round means a multiple of the largest power of ten, or half of one."""
    magnitude = max(abs(below), abs(value), 1e-12)
    power = 10.0 ** (math.floor(math.log10(magnitude)) + 1)
    for _ in range(30):
        for step in (power, power / 2):
            candidate = round((math.floor(below / step) + 1) * step, 12)
            if below < candidate <= value:
                return int(candidate) if float(candidate).is_integer() else candidate
        power /= 10
    return value


def _text(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def slug(text: str) -> str:
    """A rule name the model accepts: letters, digits, ``_``, ``.`` and ``-``."""
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]+", "_", text.casefold()).strip("_")
    return cleaned[:60] or "rule"


def _unique_name(candidate: Candidate, taken: set[str]) -> Candidate:
    name, n = candidate.name, 2
    while name in taken or name == "base":
        name = f"{candidate.name}_{n}"
        n += 1
    if name == candidate.name:
        return candidate
    return replace(candidate, name=name)
