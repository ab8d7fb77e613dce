"""Engagement points for one rule at ``as_of``, from that rule's occurrences.

An occurrence is ``(occurred_at_us, event_id)``. Every path (full recompute, incremental fold, batch
rescore) ends here with the same sorted occurrences, which is what makes them agree exactly.
The order of operations is documented in docs/scoring.md.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import timedelta

from leadscore.engine.compiled import CompiledEngagementRule, decay_factor, to_cents
from leadscore.engine.types import EPOCH, US_PER_DAY

Occurrence = tuple[int, str]


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    count: int
    counted: int
    raw_cents: int
    cents: int


def _period_key(period: str, micros: int) -> int:
    day = micros // US_PER_DAY
    if period == "day":
        return day
    if period == "week":
        return (day + 3) // 7  # 1970-01-01 was a Thursday; ISO weeks start on Monday.
    if period == "month":
        moment = EPOCH + timedelta(microseconds=micros)
        return moment.year * 12 + moment.month
    return 0  # "ever"


def select(crule: CompiledEngagementRule, occurrences: list[Occurrence]) -> list[Occurrence]:
    """The occurrences that score: first ``once`` or the frequency limit, then the window's start."""
    if crule.period is None:
        return occurrences
    kept: list[Occurrence] = []
    used: dict[int, int] = {}
    limit = crule.per_period
    for occurrence in occurrences:
        key = _period_key(crule.period, occurrence[0])
        seen = used.get(key, 0)
        if seen < limit:
            used[key] = seen + 1
            kept.append(occurrence)
    return kept


def evaluate(crule: CompiledEngagementRule, occurrences: list[Occurrence], as_of_us: int) -> RuleOutcome:
    """Points of one rule; ``occurrences`` must be sorted and free of duplicate event ids."""
    end = bisect_right(occurrences, as_of_us, key=_first)
    upto = occurrences[:end] if end < len(occurrences) else occurrences
    selected = select(crule, upto)
    if crule.window_us is not None:
        start = as_of_us - crule.window_us
        selected = [o for o in selected if o[0] > start]
    factors = 0.0
    decay = crule.decay
    if decay.kind == "none":
        factors = float(len(selected))
    else:
        for occurred_us, _ in selected:
            factors += decay_factor(decay, as_of_us - occurred_us)
    points = crule.points * factors
    cap = crule.rule.max_points
    if cap is not None:
        points = min(points, cap) if crule.points > 0 else max(points, -cap)
    raw_cents = to_cents(crule.points * len(selected))
    return RuleOutcome(count=end, counted=len(selected), raw_cents=raw_cents, cents=to_cents(points))


def last_engagement_us(positive: tuple[int, ...], occurrences: list[list[Occurrence]], as_of_us: int) -> int | None:
    """The latest occurrence of any positive engagement rule at or before ``as_of``."""
    latest: int | None = None
    for index in positive:
        rows = occurrences[index]
        end = bisect_right(rows, as_of_us, key=_first)
        if end and (latest is None or rows[end - 1][0] > latest):
            latest = rows[end - 1][0]
    return latest


def _first(occurrence: Occurrence) -> int:
    return occurrence[0]
