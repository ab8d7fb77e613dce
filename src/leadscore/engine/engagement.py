"""Engagement points for one rule at ``as_of``, from that rule's occurrences.

An occurrence is the time of a matching event in integer microseconds: every step reads only times, so two
events at the same moment are interchangeable. A rule's points are a left-to-right fold of its sorted
occurrences through ``RuleAccumulator``. Full recompute, batch rescore and the incremental fold all run
that same fold, which is why they agree to the last bit; the incremental path only gets to skip the
prefix it has already folded. The order of operations is documented in docs/scoring.md.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import timedelta
from typing import NamedTuple

from leadscore.engine.compiled import CompiledEngagementRule, to_cents
from leadscore.engine.types import EPOCH, US_PER_DAY

Occurrence = int


class RuleOutcome(NamedTuple):
    """One rule at one ``as_of``: events matched, occurrences counted, points before and after decay and
    cap (hundredths), and the last matched occurrence (for inactivity). A tuple: made once per rule per read."""

    matched: int
    counted: int
    raw_cents: int
    cents: int
    last_us: int | None


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


class RuleAccumulator:
    """One rule's running tally at a fixed ``as_of``, fed occurrences in sorted order.

    Per occurrence: count it; apply ``once`` or the frequency limit (sorted input means only the current
    period's count matters); then the window; then add its decay factor.
    """

    __slots__ = ("as_of_us", "count", "counted", "crule", "factors", "last", "period_key", "period_used", "start")

    def __init__(self, crule: CompiledEngagementRule, as_of_us: int) -> None:
        self.crule = crule
        self.as_of_us = as_of_us
        self.start = as_of_us - crule.window_us if crule.window_us is not None else None
        self.count = 0
        self.counted = 0
        self.factors = 0.0
        self.last: Occurrence | None = None
        self.period_key = -1
        self.period_used = 0

    def push(self, occurred_us: Occurrence) -> None:
        """Adds the next occurrence; it must not sort before any pushed before and be at or before as_of."""
        self.count += 1
        self.last = occurred_us
        crule = self.crule
        if crule.period is not None:
            key = _period_key(crule.period, occurred_us)
            if key != self.period_key:
                self.period_key = key
                self.period_used = 0
            if self.period_used >= crule.per_period:
                return
            self.period_used += 1
        if self.start is not None and occurred_us <= self.start:
            return
        self.counted += 1
        self.factors += crule.factor(self.as_of_us - occurred_us)

    def outcome(self) -> RuleOutcome:
        return _outcome(self.crule, self.count, self.counted, self.factors, self.last)


def _outcome(
    crule: CompiledEngagementRule, matched: int, counted: int, factors: float, last: Occurrence | None
) -> RuleOutcome:
    """Points from the tally: the sum of decay factors times the points, then the cap, then rounding."""
    points = crule.points * factors
    cap = crule.rule.max_points
    if cap is not None:
        points = min(points, cap) if crule.points > 0 else max(points, -cap)
    return RuleOutcome(matched, counted, to_cents(crule.points * counted), to_cents(points), last)


def _tally(
    crule: CompiledEngagementRule, occurrences: list[Occurrence], end: int, as_of_us: int
) -> tuple[int, float, int, int]:
    """The same steps as ``RuleAccumulator.push`` over ``occurrences[:end]``, with local variables and the
    decay written out: this is the batch hot path, and the property tests hold the two to the same bits.

    Returns the counted occurrences, the sum of their decay factors, and the last period's key and use.
    """
    period = crule.period
    start = as_of_us - crule.window_us if crule.window_us is not None else None
    if period is None and start is None:
        # No limit and no window, the usual rule: every occurrence counts, only its decay is computed.
        kind = crule.decay_kind
        factors = 0.0
        if kind == "exponential":
            half_us = crule.half_us
            for index in range(end):
                factors += 0.5 ** ((as_of_us - occurrences[index]) / half_us)
        elif kind == "linear":
            for index in range(end):
                factors += crule.factor(as_of_us - occurrences[index])
        else:
            factors = float(end)
        return end, factors, -1, 0
    per_period = crule.per_period
    factor = crule.factor
    key = -1
    used = counted = 0
    factors = 0.0
    for index in range(end):
        occurred_us = occurrences[index]
        if period is not None:
            this = _period_key(period, occurred_us)
            if this != key:
                key = this
                used = 0
            if used >= per_period:
                continue
            used += 1
        if start is not None and occurred_us <= start:
            continue
        counted += 1
        factors += factor(as_of_us - occurred_us)
    return counted, factors, key, used


def accumulate(crule: CompiledEngagementRule, occurrences: list[Occurrence], as_of_us: int) -> RuleAccumulator:
    """An accumulator holding the occurrences at or before ``as_of`` (sorted, ids unique), to push more."""
    accumulator = RuleAccumulator(crule, as_of_us)
    end = bisect_right(occurrences, as_of_us)
    if end:
        counted, factors, key, used = _tally(crule, occurrences, end, as_of_us)
        accumulator.count = end
        accumulator.counted = counted
        accumulator.factors = factors
        accumulator.last = occurrences[end - 1]
        accumulator.period_key = key
        accumulator.period_used = used
    return accumulator


def evaluate(crule: CompiledEngagementRule, occurrences: list[Occurrence], as_of_us: int) -> RuleOutcome:
    """Points of one rule at ``as_of``, from its sorted occurrences."""
    end = bisect_right(occurrences, as_of_us)
    if not end:
        return _outcome(crule, 0, 0, 0.0, None)
    counted, factors, _, _ = _tally(crule, occurrences, end, as_of_us)
    return _outcome(crule, end, counted, factors, occurrences[end - 1])
