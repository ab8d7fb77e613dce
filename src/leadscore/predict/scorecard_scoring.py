"""Scores rows through the reference engine from their features alone, for held-out rows that carry no
events: the lead is rebuilt from its ``field.<name>`` columns, its account from the ``account.<name>``
ones, and each event type's occurrences from its ``events.<type>.<7,30,90>d`` counts (or, for a rule whose
``where`` is one case-sensitive ``equals`` on an event property, from the facet counts
``events.<type>.<key>=<value>.<7,30,90>d``).

That is exact for the models ``fit_scorecard`` writes, and refused for any other: an engagement rule may
only count an event type or one of its facets (no other ``where``, no ``once`` or ``limit``), without
decay, over a 7, 30 or 90-day window, or over any window when it counts at most one event (``max_points``
no more than its points: "any <type> in the last W days"). Under those rules a score depends on the counts
in the 7, 30 and 90-day windows and on the time of the last event, and on nothing else about when the events
happened, so placing ``c7`` occurrences one day before the snapshot, ``c30 - c7`` fifteen days before and
``c90 - c30`` sixty days before, the most recent at the last event's time when a rule needs it, gives the
engine exactly the score it gives the real events.

A rule counting at most one event over another window needs the time of the last event it matched; an
inactivity penalty needs it too, and the lead's creation when there is none. Rows carry both
(``events.<type>.days_since_last`` and its facet twin, ``age_days``), in unrounded days, which give back
the microsecond. The most recent placed occurrence moves to that time (kept inside the window its counts put
it in), so the engine finds it in the same windows as the fit did, and counts a penalty from it as the fit
counted. With ``since: any_event`` (what ``fit_scorecard`` writes), the penalty counts from the slot every
event matches, which gets one occurrence at the latest of the lead's types' last events (``last_event``):
rows carry a last-event column for every type of the store. Rows whose days were rounded (written by hand,
or by an older ``leadscore dataset``, to three decimals) are scored as the fit saw them, but an event within
the rounding of a window's edge may fall on the other side of it for the engine.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from leadscore.engine.compiled import CompiledEngagementRule, CompiledModel
from leadscore.engine.engagement import Occurrence
from leadscore.engine.predicates import as_number
from leadscore.engine.scoring import ScoreCents, assemble_cents
from leadscore.engine.types import US_PER_DAY, Account, Lead, from_micros, to_micros
from leadscore.model.conditions import FieldTest
from leadscore.model.rules import EngagementRule, NoDecay
from leadscore.model.scoring_model import ScoringModel
from leadscore.predict.dataset import WINDOWS_DAYS, Row
from leadscore.predict.facets import count_column, last_column

_ABSENT = object()
_NEEDS_LAST = "an inactivity penalty or a rule over a window other than 7, 30 or 90 days needs"
LAST_SUFFIX = ".days_since_last"

#: Where the synthetic occurrences of each window go, in days before the snapshot.
_PLACES = {7: 1, 30: 15, 90: 60}

#: An event type, and the property value a facet rule requires of it.
EventKey = tuple[str, tuple[str, str] | None]


class Counted(NamedTuple):
    """Per engagement rule, the events it counts; and those whose last one's time decides the score."""

    keys: list[EventKey]
    timed: set[EventKey]


def exact_facet(key: str, value: str) -> bool:
    """Whether a case-sensitive ``equals`` test on ``key`` matches exactly the events a facet column
    ``<key>=<value>`` counts: not for a value that reads as a number or a boolean (``equals`` also matches
    2024 or ``true`` as JSON, which the column does not count), one with surrounding spaces or an ``=``
    (no column is named so, or its name is ambiguous), or a key a rule would read as a path."""
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", key) or not value or value != value.strip() or "=" in value:
        return False
    return as_number(value) is None and value.casefold() not in ("true", "false", "none")


def facet_of(rule: EngagementRule) -> tuple[str, str] | None:
    """The (key, value) a rule's ``where`` requires, when it is one case-sensitive ``equals`` that a facet
    count column counts exactly (``exact_facet``); raises ``ValueError`` for any other ``where``."""
    test = rule.where
    if test is None:
        return None
    if (
        isinstance(test, FieldTest)
        and test.operator == "equals"
        and test.case_sensitive
        and isinstance(test.equals, str)
        and exact_facet(test.field, test.equals)
    ):
        return test.field, test.equals
    raise ValueError(
        f"engagement rule {rule.name!r} needs event properties beyond one case-sensitive 'equals' test, the only "
        "test rows carry counts for"
    )


def check_scorable(compiled: CompiledModel) -> None:
    """Raises ``ValueError`` naming the first part of the model a row's features cannot reproduce."""
    model = compiled.model
    for crule in compiled.rules:
        rule = crule.rule
        window = crule.window_us / US_PER_DAY if crule.window_us is not None else None
        if crule.period is not None or not isinstance(crule.decay, NoDecay):
            raise ValueError(
                f"{model.key}: engagement rule {rule.name!r} needs event times or decay; rows carry counts per "
                "event type and property value only"
            )
        try:
            facet_of(rule)
        except ValueError as error:
            raise ValueError(f"{model.key}: {error}") from None
        if window is None or (off_grid(crule) and not counts_one(crule)):
            raise ValueError(
                f"{model.key}: engagement rule {rule.name!r} needs a window of 7, 30 or 90 days, as rows count, "
                "or to count at most one event (max_points no more than its points)"
            )


def off_grid(crule: CompiledEngagementRule) -> bool:
    """Whether the rule counts over a window the rows hold no counts for."""
    return crule.window_us is not None and crule.window_us / US_PER_DAY not in WINDOWS_DAYS


def counts_one(crule: CompiledEngagementRule) -> bool:
    """Whether the rule's points stop at its first event: then only the last event's time matters to it."""
    return crule.max_points is not None and crule.max_points <= abs(crule.points)


def timed_keys(compiled: CompiledModel, counted: list[EventKey]) -> set[EventKey]:
    """The events whose last one's time decides the score: all of them under an inactivity penalty, else
    those a rule counts over a window the counts do not give (only their last-event columns are needed)."""
    if compiled.model.inactivity is not None:
        return set(counted)
    return {key for key, crule in zip(counted, compiled.rules, strict=True) if off_grid(crule)}


def lead_of(row: Row) -> Lead:
    """The lead from its ``field.<name>`` columns, its account from the ``account.<name>`` ones, and its
    creation from ``age_days``."""
    fields = {k[len("field.") :]: v for k, v in row.features.items() if k.startswith("field.") and v is not None}
    known = {k[len("account.") :]: v for k, v in row.features.items() if k.startswith("account.") and v is not None}
    account = Account(row.account_id or "", known) if row.account_id is not None or known else None
    created = created_us(row)
    return Lead(row.lead_id, fields, account=account, created_at=from_micros(created) if created is not None else None)


def created_us(row: Row) -> int | None:
    age = row.features.get("age_days")
    return to_micros(row.snapshot) - round(float(age) * US_PER_DAY) if age is not None else None


def _counts(row: Row, key: EventKey) -> list[int]:
    counts = [int(row.features.get(count_column(*key, w)) or 0) for w in WINDOWS_DAYS]
    if any(a > b for a, b in itertools.pairwise(counts)):
        raise ValueError(f"row for {row.lead_id}: counts of {key[0]} shrink as the window grows: {counts}")
    return counts


def last_occurrence(row: Row, key: EventKey, counts: list[int]) -> Occurrence | None:
    """When the last event ``key`` counts happened, from the row's ``days_since_last`` column, kept inside
    the window the counts put it in (a row written with rounded days may put it a little outside)."""
    column = last_column(*key)
    if column not in row.features:
        raise ValueError(f"row for {row.lead_id}: no {column} column, which {_NEEDS_LAST}")
    days = row.features[column]
    at_us = to_micros(row.snapshot)
    if days is None:
        if counts[-1]:
            raise ValueError(f"row for {row.lead_id}: {column} is missing but {key[0]} has counts {counts}")
        return None
    placed = at_us - round(float(days) * US_PER_DAY)
    newer = 0  # the window just inside the one holding the last event: it holds none
    for window, count in zip(WINDOWS_DAYS, counts, strict=True):
        if count:
            return min(max(placed, at_us - window * US_PER_DAY + 1), at_us - newer * US_PER_DAY)
        newer = window
    return min(placed, at_us - newer * US_PER_DAY)


def last_occurrences(rows: Sequence[Row], key: EventKey, at_us: NDArray[np.int64]) -> NDArray[np.float64]:
    """``last_occurrence`` for all rows at once, in µs (NaN: none), refusing the same rows: the scorecard's
    fit asks for it per event type, and a loop over rows took a third of the fit. Times below 2**53 µs (year
    2255) are exact in a float."""
    names = [count_column(*key, w) for w in WINDOWS_DAYS]
    table = [[f.get(name) or 0 for name in names] for f in (r.features for r in rows)]
    counts = np.array(table, dtype=np.float64).reshape(len(rows), len(names)).astype(np.int64)  # int(): truncates
    shrinks = np.flatnonzero((counts[:, :-1] > counts[:, 1:]).any(axis=1))
    if len(shrinks):
        i = int(shrinks[0])
        shrinking = f"counts of {key[0]} shrink as the window grows: {counts[i].tolist()}"
        raise ValueError(f"row for {rows[i].lead_id}: {shrinking}")
    column = last_column(*key)
    values = [r.features.get(column, _ABSENT) for r in rows]
    if any(v is _ABSENT for v in values):
        lead = rows[values.index(_ABSENT)].lead_id
        raise ValueError(f"row for {lead}: no {column} column, which {_NEEDS_LAST}")
    days = np.array([np.nan if v is None else float(v) for v in values])
    unexplained = np.flatnonzero(np.isnan(days) & (counts[:, -1] > 0))
    if len(unexplained):
        i = int(unexplained[0])
        raise ValueError(f"row for {rows[i].lead_id}: {column} is missing but {key[0]} has counts {counts[i].tolist()}")
    known = ~np.isnan(days)
    placed = at_us - np.rint(np.where(known, days, 0.0) * US_PER_DAY).astype(np.int64)
    # Kept inside the window the counts put the last event in: after the window just inside it (which holds
    # none) and no older than its own start; with no counts at all, before the widest window.
    windows = np.array(WINDOWS_DAYS, dtype=np.int64) * US_PER_DAY
    counted = counts > 0
    first = np.where(counted.any(axis=1), counted.argmax(axis=1), len(WINDOWS_DAYS))
    inside = np.concatenate([[0], windows])[first]
    start = np.concatenate([windows, [np.iinfo(np.int64).max // 4]])[first]
    last = np.minimum(np.maximum(placed, at_us - start + 1), at_us - inside)
    return np.where(known, last.astype(np.float64), np.nan)


def event_types(names: Iterable[str]) -> list[str]:
    """The event types whose last event rows carry (``events.<type>.days_since_last``, not a facet's): every
    type of the store, as ``dataset`` writes them."""
    found = []
    for name in names:
        if name.startswith("events.") and name.endswith(LAST_SUFFIX) and "=" not in name:
            found.append(name[len("events.") : -len(LAST_SUFFIX)])
    return sorted(found)


def last_event(row: Row) -> Occurrence | None:
    """When the lead's last event of any type happened (``inactivity: {since: any_event}`` counts from it):
    the latest of its types' last events, each placed as ``last_occurrence`` places it."""
    lasts = [
        t
        for kind in event_types(row.features)
        if (t := last_occurrence(row, (kind, None), _counts(row, (kind, None)))) is not None
    ]
    return max(lasts) if lasts else None


def inactivity_since(row: Row) -> Occurrence | None:
    """What the engine counts ``since: any_event`` inactivity from for this row: the last event of any type,
    or else the lead's creation (not after the snapshot); None: no penalty."""
    last = last_event(row)
    if last is not None:
        return last
    created = created_us(row)
    return min(created, to_micros(row.snapshot)) if created is not None else None


def counted_events(compiled: CompiledModel) -> Counted:
    """Per engagement rule, the event type and the facet it counts, and which need their last event's time:
    the same for every row, so worked out once per model."""
    keys = [(crule.rule.event, facet_of(crule.rule)) for crule in compiled.rules]
    return Counted(keys, timed_keys(compiled, keys))


def occurrences_of_row(compiled: CompiledModel, row: Row, counted: Counted | None = None) -> list[list[Occurrence]]:
    """Per engagement rule, occurrences placed so that each window holds the row's count of the events the
    rule matches (a rule with a ``where`` is handed only those: the engine's test on them would pass)."""
    at_us = to_micros(row.snapshot)
    counted = counted if counted is not None else counted_events(compiled)
    per_count: dict[EventKey, list[Occurrence]] = {}
    out: list[list[Occurrence]] = []
    for key in counted.keys:
        if key not in per_count:
            counts = _counts(row, key)
            times: list[Occurrence] = []
            previous = 0
            for window, count in zip(WINDOWS_DAYS, counts, strict=True):
                times += [at_us - _PLACES[window] * US_PER_DAY] * (count - previous)
                previous = count
            times.sort()
            if key in counted.timed and (last := last_occurrence(row, key, counts)) is not None:
                # Every placed occurrence after it moves to it: its window still holds them all.
                times = [*(min(t, last) for t in times[:-1]), last]
            per_count[key] = times
        out.append(per_count[key])
    if compiled.activity_index is not None:
        last = last_event(row)
        out.append([last] if last is not None else [])
    return out


def score_row(compiled: CompiledModel, row: Row, counted: Counted | None = None) -> ScoreCents:
    """The engine's score of one row at its snapshot; ``check_scorable`` first."""
    occurrences = occurrences_of_row(compiled, row, counted)
    return assemble_cents(compiled, lead_of(row), occurrences, to_micros(row.snapshot))


def score_rows(model: ScoringModel | CompiledModel, rows: Sequence[Row]) -> NDArray[np.float64]:
    """Each row's total in points, by the reference engine; see the module docstring for which models."""
    compiled = model if isinstance(model, CompiledModel) else CompiledModel(model)
    check_scorable(compiled)
    counted = counted_events(compiled)
    return np.array([score_row(compiled, row, counted).total / 100 for row in rows], dtype=np.float64)
