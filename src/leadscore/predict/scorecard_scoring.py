"""Scores rows through the reference engine from their features alone, for held-out rows that carry no
events: the lead is rebuilt from its ``field.<name>`` columns, its account from the ``account.<name>``
ones, and each event type's occurrences from its ``events.<type>.<7,30,90>d`` counts (or, for a rule whose
``where`` is one case-sensitive ``equals`` on an event property, from the facet counts
``events.<type>.<key>=<value>.<7,30,90>d``).

That is exact for the models ``fit_scorecard`` writes, and refused for any other: an engagement rule may
only count an event type or one of its facets (no other ``where``, no ``once`` or ``limit``), without
decay, over a 7, 30 or 90-day window, and the model may have no inactivity penalty. Under those rules a
score depends on the counts in those windows and on nothing else about when the events happened, so
placing ``c7`` occurrences one day before the snapshot, ``c30 - c7`` fifteen days before and ``c90 - c30``
sixty days before gives the engine exactly the score it gives the real events.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from leadscore.engine.compiled import CompiledModel
from leadscore.engine.engagement import Occurrence
from leadscore.engine.predicates import as_number
from leadscore.engine.scoring import ScoreCents, assemble_cents
from leadscore.engine.types import US_PER_DAY, Account, Lead, to_micros
from leadscore.model.conditions import FieldTest
from leadscore.model.rules import EngagementRule, NoDecay
from leadscore.model.scoring_model import ScoringModel
from leadscore.predict.dataset import WINDOWS_DAYS, Row
from leadscore.predict.facets import count_column

#: Where the synthetic occurrences of each window go, in days before the snapshot.
_PLACES = {7: 1, 30: 15, 90: 60}


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
    if model.inactivity is not None:
        raise ValueError(f"{model.key}: an inactivity penalty needs event times, which rows do not carry")
    for crule in compiled.engagement:
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
        if window not in WINDOWS_DAYS:
            raise ValueError(
                f"{model.key}: engagement rule {rule.name!r} needs a window of 7, 30 or 90 days, as rows count"
            )


def lead_of(row: Row) -> Lead:
    """The lead from its ``field.<name>`` columns, and its account from the ``account.<name>`` ones."""
    fields = {k[len("field.") :]: v for k, v in row.features.items() if k.startswith("field.") and v is not None}
    known = {k[len("account.") :]: v for k, v in row.features.items() if k.startswith("account.") and v is not None}
    account = Account(row.account_id or "", known) if row.account_id is not None or known else None
    return Lead(row.lead_id, fields, account=account)


Counted = list[tuple[str, tuple[str, str] | None]]


def counted_events(compiled: CompiledModel) -> Counted:
    """Per engagement rule, the event type and the facet it counts: the same for every row, so worked out
    once per model."""
    return [(crule.rule.event, facet_of(crule.rule)) for crule in compiled.engagement]


def occurrences_of_row(compiled: CompiledModel, row: Row, counted: Counted | None = None) -> list[list[Occurrence]]:
    """Per engagement rule, occurrences placed so that each window holds the row's count of the events the
    rule matches (a rule with a ``where`` is handed only those: the engine's test on them would pass)."""
    at_us = to_micros(row.snapshot)
    per_count: dict[tuple[str, tuple[str, str] | None], list[Occurrence]] = {}
    out: list[list[Occurrence]] = []
    for key in counted if counted is not None else counted_events(compiled):
        if key not in per_count:
            counts = [int(row.features.get(count_column(*key, w)) or 0) for w in WINDOWS_DAYS]
            if any(a > b for a, b in itertools.pairwise(counts)):
                raise ValueError(f"row for {row.lead_id}: counts of {key[0]} shrink as the window grows: {counts}")
            times: list[Occurrence] = []
            previous = 0
            for window, count in zip(WINDOWS_DAYS, counts, strict=True):
                times += [at_us - _PLACES[window] * US_PER_DAY] * (count - previous)
                previous = count
            per_count[key] = sorted(times)
        out.append(per_count[key])
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
