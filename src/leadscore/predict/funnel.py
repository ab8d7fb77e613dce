"""The funnel: how many leads reached each lifecycle stage (lead, MQL, SQL) and then won, and how long it took.

The store records stage transitions at the moment each score was written, which for a backfill is the day
it was loaded, not the day the lead qualified; and a model that was never active has none. So the stages
are replayed instead, like the backtest: the reference engine scores each lead at each moment its total can
rise (``rise_moments``), up to the end of the data, and the first moment the lead stood at a stage or above
counts as reaching it. A lead with no time at all (no
creation time, no events) is scored once, as the data ends. Won is a converted outcome, from the store.

Time to convert is counted in days from the lead's creation (else its first event), and split by the tier
the caller gives each lead (the review uses its tier at its first evaluated snapshot: what sales saw).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from leadscore.engine.compiled import CompiledModel
from leadscore.engine.scoring import assemble_cents, occurrences_from_rows
from leadscore.engine.types import US_PER_DAY, Lead, to_micros
from leadscore.predict.conversion import NONE
from leadscore.predict.dataset import Row
from leadscore.store.protocol import EventRow, Store

WON = "won"


def rise_moments(
    compiled: CompiledModel, lead: Lead, rows: Sequence[EventRow], occurrences: Sequence[Sequence[int]]
) -> set[int]:
    """The moments a lead's total can rise: its creation; an event a rule adds points for; any event,
    when the inactivity penalty counts from any event (it starts again there); and an occurrence of a rule
    with negative points leaving its window. Between them the total can only fall, for models without decay
    (``leadscore suggest`` writes none); with decay on a negative rule, it also rises in between."""
    moments = {t for times, up in zip(occurrences, compiled.positive_flags, strict=False) if up for t in times}
    if compiled.activity_index is not None:
        moments.update(r[2] for r in rows)
    for crule, times in zip(compiled.rules, occurrences, strict=False):
        if crule.points < 0 and crule.window_us is not None:
            moments.update(t + crule.window_us for t in times)
    created = _created(lead, rows)
    if created is not None:
        moments.add(created)  # events before it count too: a stage reached then was reached
    return moments


def stages_reached(compiled: CompiledModel, lead: Lead, rows: Sequence[EventRow], until_us: int) -> dict[str, int]:
    """The first moment (µs) the lead stood at each stage or a higher one, up to ``until_us``."""
    names = compiled.model.lifecycle.names()
    rank = {name: i for i, name in enumerate(names)}
    occurrences = occurrences_from_rows(compiled, rows, unique=True)
    moments = {t for t in rise_moments(compiled, lead, rows, occurrences) if t <= until_us}
    if _created(lead, rows) is None:
        moments.add(until_us)  # no time at all (a bare lead list): its stage as the data ends
    reached: dict[str, int] = {}
    for at_us in sorted(moments):
        stage = assemble_cents(compiled, lead, occurrences, at_us).stage
        for name in names[: rank.get(stage, -1) + 1]:
            reached.setdefault(name, at_us)
        if len(reached) == len(names):
            break
    return reached


def peak_totals(
    compiled: CompiledModel, lead: Lead, rows: Sequence[EventRow], snapshots_us: Sequence[int]
) -> list[int]:
    """Per snapshot, the highest total (in cents) the lead had at any moment up to it: what a stage threshold
    is crossed by, since a lead that stood above it for a moment has reached the stage. Exact for models
    without decay (``rise_moments``)."""
    if not snapshots_us:
        return []
    occurrences = occurrences_from_rows(compiled, rows, unique=True)
    last = max(snapshots_us)
    moments = {t for t in rise_moments(compiled, lead, rows, occurrences) if t <= last}
    wanted = set(snapshots_us)
    highest: int | None = None
    by_time: dict[int, int] = {}
    for moment in sorted(moments | wanted):
        total = assemble_cents(compiled, lead, occurrences, moment).total
        highest = total if highest is None else max(highest, total)
        if moment in wanted:
            by_time[moment] = highest
    return [by_time[t] for t in snapshots_us]


def row_peaks(store: Store, compiled: CompiledModel, rows: Sequence[Row]) -> NDArray[np.int64]:
    """Each training row's highest total, in points, up to its snapshot (``peak_totals``), replayed from the
    store's events: what the row's lead crossed a stage threshold with."""
    wanted: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        wanted.setdefault(row.lead_id, []).append(i)
    peaks = np.zeros(len(rows), dtype=np.int64)
    for _, lead, events in store.scan():
        indexes = wanted.get(lead.id)
        if indexes:
            found = peak_totals(compiled, lead, events, [to_micros(rows[i].snapshot) for i in indexes])
            peaks[indexes] = [round(cents / 100) for cents in found]
    return peaks


def funnels(
    store: Store,
    models: Sequence[tuple[str, CompiledModel]],
    tiers: Mapping[str, Mapping[str, str | None]],
    until: datetime,
) -> dict[str, dict[str, object]]:
    """Per model label, the funnel of the leads in ``tiers[label]`` (lead id to tier): the count reaching
    each step, and the median days from creation to each step by tier."""
    until_us = to_micros(until)
    converted: dict[int, list[int]] = {}
    for seq, outcome, at in store.outcomes():
        if outcome == "converted" and (at is None or at <= until_us):
            converted.setdefault(seq, []).extend([at] if at is not None else [])
    won = {seq: min(times, default=None) for seq, times in converted.items()}
    wanted = {lead_id for per_model in tiers.values() for lead_id in per_model}
    days: dict[str, dict[str, dict[str, list[float]]]] = {label: {} for label, _ in models}
    counts: dict[str, dict[str, int]] = {label: {} for label, _ in models}
    for seq, lead, rows in store.scan():
        if lead.id not in wanted:
            continue
        created = _created(lead, rows)
        for label, compiled in models:
            if lead.id not in tiers[label]:
                continue
            reached: dict[str, int | None] = dict(stages_reached(compiled, lead, rows, until_us))
            if seq in won:
                reached[WON] = won[seq]
            tier = tiers[label][lead.id] or NONE
            for step, at_us in reached.items():
                counts[label][step] = counts[label].get(step, 0) + 1
                if at_us is not None and created is not None:
                    spent = max(0, at_us - created) / US_PER_DAY
                    days[label].setdefault(tier, {}).setdefault(step, []).append(spent)
    out: dict[str, dict[str, object]] = {}
    for label, compiled in models:
        steps = [*compiled.model.lifecycle.names(), WON]
        leads = len(tiers[label])
        order = [t for t in compiled.model.tiers.names() if t in days[label]]
        order += sorted(t for t in days[label] if t not in order)
        out[label] = {
            "leads": leads,
            "steps": [
                {"step": s, "leads": counts[label].get(s, 0), "share": counts[label].get(s, 0) / leads if leads else 0}
                for s in steps
            ],
            "days_by_tier": [
                {
                    "tier": tier,
                    "median_days": {s: _median(days[label][tier].get(s)) for s in steps[1:]},
                    "leads": {s: len(days[label][tier].get(s, ())) for s in steps[1:]},
                }
                for tier in order
            ],
        }
    return out


def _median(values: list[float] | None) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _created(lead: Lead, rows: Sequence[EventRow]) -> int | None:
    if lead.created_at is not None:
        return to_micros(lead.created_at)
    return min((r[2] for r in rows), default=None)
