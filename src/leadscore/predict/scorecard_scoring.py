"""Scores rows through the reference engine from their features alone, for held-out rows that carry no
events: the lead is rebuilt from its ``field.<name>`` columns, its account from the ``account.<name>``
ones, and each event type's occurrences from its ``events.<type>.<7,30,90>d`` counts.

That is exact for the models ``fit_scorecard`` writes, and refused for any other: an engagement rule may
only count an event type (no ``where``, ``once`` or ``limit``), without decay, over a 7, 30 or 90-day
window, and the model may have no inactivity penalty. Under those rules a score depends on the counts in
those windows and on nothing else about when the events happened, so placing ``c7`` occurrences one day
before the snapshot, ``c30 - c7`` fifteen days before and ``c90 - c30`` sixty days before gives the engine
exactly the score it gives the real events.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from leadscore.engine.compiled import CompiledModel
from leadscore.engine.engagement import Occurrence
from leadscore.engine.scoring import ScoreCents, assemble_cents
from leadscore.engine.types import US_PER_DAY, Account, Lead, to_micros
from leadscore.model.rules import NoDecay
from leadscore.model.scoring_model import ScoringModel
from leadscore.predict.dataset import WINDOWS_DAYS, Row

#: Where the synthetic occurrences of each window go, in days before the snapshot.
_PLACES = {7: 1, 30: 15, 90: 60}


def check_scorable(compiled: CompiledModel) -> None:
    """Raises ``ValueError`` naming the first part of the model a row's features cannot reproduce."""
    model = compiled.model
    if model.inactivity is not None:
        raise ValueError(f"{model.key}: an inactivity penalty needs event times, which rows do not carry")
    for crule in compiled.engagement:
        rule = crule.rule
        window = crule.window_us / US_PER_DAY if crule.window_us is not None else None
        if rule.where is not None or crule.period is not None or not isinstance(crule.decay, NoDecay):
            raise ValueError(
                f"{model.key}: engagement rule {rule.name!r} needs event properties, times or decay; rows carry "
                "counts per event type only"
            )
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


def occurrences_of_row(compiled: CompiledModel, row: Row) -> list[list[Occurrence]]:
    """Per engagement rule, occurrences placed so that each window holds the row's count for its event type."""
    at_us = to_micros(row.snapshot)
    per_type: dict[str, list[Occurrence]] = {}
    out: list[list[Occurrence]] = []
    for crule in compiled.engagement:
        kind = crule.rule.event
        if kind not in per_type:
            counts = [int(row.features.get(f"events.{kind}.{w}d") or 0) for w in WINDOWS_DAYS]
            if any(a > b for a, b in itertools.pairwise(counts)):
                raise ValueError(f"row for {row.lead_id}: counts of {kind} shrink as the window grows: {counts}")
            times: list[Occurrence] = []
            previous = 0
            for window, count in zip(WINDOWS_DAYS, counts, strict=True):
                times += [at_us - _PLACES[window] * US_PER_DAY] * (count - previous)
                previous = count
            per_type[kind] = sorted(times)
        out.append(per_type[kind])
    return out


def score_row(compiled: CompiledModel, row: Row) -> ScoreCents:
    """The engine's score of one row at its snapshot; ``check_scorable`` first."""
    return assemble_cents(compiled, lead_of(row), occurrences_of_row(compiled, row), to_micros(row.snapshot))


def score_rows(model: ScoringModel | CompiledModel, rows: Sequence[Row]) -> NDArray[np.float64]:
    """Each row's total in points, by the reference engine; see the module docstring for which models."""
    compiled = model if isinstance(model, CompiledModel) else CompiledModel(model)
    check_scorable(compiled)
    return np.array([score_row(compiled, row).total / 100 for row in rows], dtype=np.float64)
