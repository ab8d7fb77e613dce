"""Incremental scoring: a per-lead state that folds in one event at a time, in any order.

The state keeps, per engagement rule, the sorted occurrences ``(occurred_at_us, event_id)`` of the
events that matched it, and nothing about events that matched no rule. That is the least a state can
hold and still answer any ``as_of`` exactly after out-of-order events: ``once`` and frequency limits
depend on which earlier events exist, so none can be forgotten.
"""

from __future__ import annotations

from bisect import insort
from datetime import datetime

from leadscore.engine.compiled import CompiledModel
from leadscore.engine.engagement import Occurrence
from leadscore.engine.scoring import assemble, match_event
from leadscore.engine.types import Event, Lead, Score, to_micros


class LeadState:
    """One lead under one model; ``score(as_of)`` equals a full recompute over the folded events."""

    __slots__ = ("compiled", "lead", "occurrences", "seen")

    def __init__(self, compiled: CompiledModel, lead: Lead) -> None:
        self.compiled = compiled
        self.lead = lead
        self.occurrences: list[list[Occurrence]] = [[] for _ in compiled.engagement]
        self.seen: set[str] = set()

    def fold(self, event: Event) -> bool:
        """Adds one event; returns False when it cannot change any score (seen before, or no rule matched)."""
        if event.id in self.seen:
            return False
        indexes = match_event(self.compiled, event)
        if not indexes:
            return False
        self.seen.add(event.id)
        occurrence = (to_micros(event.occurred_at), event.id)
        for index in indexes:
            insort(self.occurrences[index], occurrence)
        return True

    def update_lead(self, lead: Lead) -> None:
        """New lead or account attributes change fit rules only; the occurrences stay."""
        self.lead = lead

    def score(self, as_of: datetime) -> Score:
        return assemble(self.compiled, self.lead, self.occurrences, to_micros(as_of), as_of)

    @property
    def occurrence_count(self) -> int:
        return sum(len(rows) for rows in self.occurrences)
