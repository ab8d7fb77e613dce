"""When a score's labels (tier, grade, level, stage) next change with no new event: decay, windows and
inactivity move scores as time passes, and the scheduler re-scores a lead only when that time comes.

The labels are evaluated with the reference engine at the score's jumps (an occurrence leaving its window,
a linear-decay step, an inactivity step) and on a doubling grid between them, then the first change is
narrowed down by bisection to ``PRECISION_US``. A change that reverts before the next sample is missed:
that needs a negative rule and a positive one decaying at different rates, with a band boundary between.
"""

from __future__ import annotations

from bisect import bisect_right

from leadscore.engine.compiled import CompiledModel
from leadscore.engine.engagement import Occurrence
from leadscore.engine.scoring import LeadPart, assemble_cents
from leadscore.engine.types import US_PER_DAY, Lead, to_micros

PRECISION_US = 60_000_000  # a minute
HORIZON_US = 365 * US_PER_DAY
_MOST_JUMPS = 64


def _labels(
    compiled: CompiledModel, lead: Lead, occurrences: list[list[Occurrence]], at_us: int, fit: LeadPart
) -> tuple[str, str, str, str]:
    score = assemble_cents(compiled, lead, occurrences, at_us, fit=fit)
    return score.tier, score.grade, score.level, score.stage


def _jumps(
    compiled: CompiledModel, occurrences: list[list[Occurrence]], after_us: int, until_us: int, created_us: int | None
) -> list[int]:
    jumps: set[int] = set()
    for crule in compiled.engagement:
        for occurred in occurrences[crule.index]:
            if occurred > after_us:
                break
            if crule.window_us is not None and after_us < occurred + crule.window_us + 1 <= until_us:
                jumps.add(occurred + crule.window_us + 1)
            if crule.decay_kind == "linear":
                step = round(getattr(crule.decay, "every_days", 1) * US_PER_DAY)
                jumps.add(occurred + ((after_us - occurred) // step + 1) * step)
    inactivity = compiled.model.inactivity
    if inactivity is not None:
        every = round(inactivity.every_days * US_PER_DAY)
        # Steps count from the last positive engagement (or the lead's creation): both are sampled.
        for rows in occurrences:
            end = bisect_right(rows, after_us)
            if end:
                last = rows[end - 1]
                jumps.add(last + ((after_us - last) // every + 1) * every)
        if created_us is not None and created_us <= after_us:
            jumps.add(created_us + ((after_us - created_us) // every + 1) * every)
    return sorted(j for j in jumps if after_us < j <= until_us)[:_MOST_JUMPS]


def next_change(
    compiled: CompiledModel,
    lead: Lead,
    occurrences: list[list[Occurrence]],
    as_of_us: int,
    fit: LeadPart,
    horizon_us: int = HORIZON_US,
) -> int:
    """The first moment after ``as_of`` (to a minute) at which a label differs, or ``as_of + horizon``."""
    until = as_of_us + horizon_us
    start = _labels(compiled, lead, occurrences, as_of_us, fit)
    grid = {as_of_us + (PRECISION_US << k) for k in range(64) if as_of_us + (PRECISION_US << k) < until}
    created = to_micros(lead.created_at) if lead.created_at is not None else None
    samples = sorted(grid | set(_jumps(compiled, occurrences, as_of_us, until, created)) | {until})
    low = as_of_us
    for moment in samples:
        if _labels(compiled, lead, occurrences, moment, fit) != start:
            high = moment
            while high - low > PRECISION_US:
                middle = (low + high) // 2
                if _labels(compiled, lead, occurrences, middle, fit) != start:
                    high = middle
                else:
                    low = middle
            return high
        low = moment
    return until
