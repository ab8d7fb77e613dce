"""The funnel: how many leads reached each lifecycle stage (lead, MQL, SQL) and then won, and how long it took.

The store records stage transitions at the moment each score was written, which for a backfill is the day
it was loaded, not the day the lead qualified; and a model that was never active has none. So the stages
are replayed instead, like the backtest: the reference engine scores each lead at its creation and at each
event a rule with positive points matched (the moments a stage can rise), up to the end of the data, and
the first moment the lead stood at a stage or above counts as reaching it. A lead with no time at all (no
creation time, no events) is scored once, as the data ends. Won is a converted outcome, from the store.

Time to convert is counted in days from the lead's creation (else its first event), and split by the tier
the caller gives each lead (the review uses its tier at its first evaluated snapshot: what sales saw).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from datetime import datetime

from leadscore.engine.compiled import CompiledModel
from leadscore.engine.scoring import assemble_cents, occurrences_from_rows
from leadscore.engine.types import US_PER_DAY, Lead, to_micros
from leadscore.predict.conversion import NONE
from leadscore.store.protocol import EventRow, Store

WON = "won"


def stages_reached(compiled: CompiledModel, lead: Lead, rows: Sequence[EventRow], until_us: int) -> dict[str, int]:
    """The first moment (µs) the lead stood at each stage or a higher one, up to ``until_us``."""
    names = compiled.model.lifecycle.names()
    rank = {name: i for i, name in enumerate(names)}
    occurrences = occurrences_from_rows(compiled, rows, unique=True)
    # Only an event a rule adds points for can lift a lead to a higher stage; the slot every event matches
    # (``inactivity: {since: any_event}``), after the rules, adds none.
    rising = compiled.positive_flags
    moments = {t for times, up in zip(occurrences, rising, strict=False) if up for t in times if t <= until_us}
    created = _created(lead, rows)
    if created is None:
        moments.add(until_us)  # no time at all (a bare lead list): its stage as the data ends
    elif created <= until_us:
        moments.add(created)
    reached: dict[str, int] = {}
    for at_us in sorted(moments):
        stage = assemble_cents(compiled, lead, occurrences, at_us).stage
        for name in names[: rank.get(stage, -1) + 1]:
            reached.setdefault(name, at_us)
        if len(reached) == len(names):
            break
    return reached


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
