"""Incremental scoring: a per-lead state that folds in one event at a time, in any order.

The state keeps, per engagement rule, the sorted occurrence times (µs) of the
events that matched it, and nothing about events that matched no rule. That is the least a state can
hold and still answer any ``as_of`` exactly after out-of-order events: ``once`` and frequency limits
depend on which earlier events exist, so none can be forgotten.

For speed it also keeps, for the last ``as_of`` read, each rule's running accumulator: an event that
sorts after everything already folded (the usual case) costs O(1) per rule it matches; an event that
arrives out of order makes that one rule fold its occurrences again on the next read.
"""

from __future__ import annotations

from bisect import insort
from datetime import datetime

from leadscore.engine.compiled import CompiledModel
from leadscore.engine.engagement import Occurrence, RuleAccumulator, RuleOutcome, accumulate
from leadscore.engine.scoring import LeadPart, ScoreCents, assemble_outcomes, fit_part, match_event, to_score
from leadscore.engine.types import Event, Lead, Score, to_micros


class LeadState:
    """One lead under one model; ``score(as_of)`` equals a full recompute over the folded events."""

    __slots__ = (
        "_accumulators",
        "_as_of_us",
        "_dirty",
        "_fit",
        "_results",
        "compiled",
        "lead",
        "occurrence_count",
        "occurrences",
        "seen",
    )

    def __init__(self, compiled: CompiledModel, lead: Lead) -> None:
        self.compiled = compiled
        self.lead = lead
        #: Per rule; None until the rule's first occurrence. Most leads match a few of a model's rules, and
        #: every list is one more object for the garbage collector to walk while states stay warm.
        self.occurrences: list[list[Occurrence] | None] = [None] * len(compiled.engagement)
        self.seen: set[str] = set()
        self.occurrence_count = 0
        self._fit: LeadPart | None = None
        self._as_of_us: int | None = None
        self._accumulators: list[RuleAccumulator | None] = [None] * len(compiled.engagement)
        self._results: list[RuleOutcome | None] = [None] * len(compiled.engagement)
        #: Rules whose outcome at the cached ``as_of`` must be worked out again: one or two per event,
        #: so a score after a fold revisits only those, not every rule. A list: smaller than a set.
        self._dirty: list[int] = []

    def fold(self, event: Event) -> bool:
        """Adds one event; returns False when it cannot change any score (seen before, or no rule matched)."""
        if event.id in self.seen:
            return False
        indexes = match_event(self.compiled, event)
        if not indexes:
            return False
        self.seen.add(event.id)
        occurrence = to_micros(event.occurred_at)
        self.occurrence_count += len(indexes)
        as_of_us = self._as_of_us
        occurrences = self.occurrences
        for index in indexes:
            rows = occurrences[index]
            if rows is None:
                occurrences[index] = [occurrence]
            elif occurrence >= rows[-1]:
                rows.append(occurrence)  # in order, the usual case: no search
            else:
                insort(rows, occurrence)
            if as_of_us is None or occurrence > as_of_us:
                continue  # nothing cached, or the event is after the cached as_of and cannot change it
            if index not in self._dirty:
                self._dirty.append(index)
            accumulator = self._accumulators[index]
            if accumulator is None:
                continue
            if accumulator.last is None or occurrence >= accumulator.last:
                accumulator.push(occurrence)
            else:
                self._accumulators[index] = None  # out of order: refold this rule on the next read
        return True

    def update_lead(self, lead: Lead) -> None:
        """New lead or account attributes change fit rules only; the occurrences stay."""
        self.lead = lead
        self._fit = None

    def score(self, as_of: datetime) -> Score:
        return to_score(self.compiled.key, self.lead.id, as_of, self.score_cents(to_micros(as_of)))

    def score_cents(self, as_of_us: int) -> ScoreCents:
        """The score in hundredths, for writers that encode it without making Decimals."""
        compiled = self.compiled
        if as_of_us != self._as_of_us:
            self._as_of_us = as_of_us
            self._accumulators = [None] * len(compiled.engagement)
            self._results = [None] * len(compiled.engagement)
            self._dirty = [index for index, rows in enumerate(self.occurrences) if rows]
        results = self._results
        if self._dirty:
            engagement = compiled.engagement
            for index in self._dirty:
                rows = self.occurrences[index]
                if not rows or rows[0] > as_of_us:
                    results[index] = None
                    continue
                accumulator = self._accumulators[index]
                if accumulator is None:
                    accumulator = self._accumulators[index] = accumulate(engagement[index], rows, as_of_us)
                results[index] = accumulator.outcome()
            self._dirty.clear()
        if self._fit is None:
            self._fit = fit_part(compiled, self.lead)
        return assemble_outcomes(compiled, self.lead, self._fit, results, as_of_us)
