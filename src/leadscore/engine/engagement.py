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
from functools import lru_cache
from typing import NamedTuple

from leadscore.engine.compiled import CompiledEngagementRule, to_cents
from leadscore.engine.types import EPOCH, US_PER_DAY, ContributionKind

Occurrence = int
RAW_MEMO_SIZE = 4096


#: A contribution in integer hundredths: ``(rule, kind, points, raw points, count, counted)``.
Line = tuple[str, ContributionKind, int, int, int, int]


class RuleOutcome(NamedTuple):
    """One rule at one ``as_of``: events matched, occurrences counted, points before and after decay and
    cap (hundredths), the last matched occurrence (for inactivity), and the rule's contribution line, made
    here once rather than on every score that reuses the outcome. A tuple: made once per rule per read."""

    matched: int
    counted: int
    raw_cents: int
    cents: int
    last_us: int | None
    line: Line


#: Day and ISO-week keys as ``(micros + shift) // step``: the week's shift puts Monday at a step boundary
#: (1970-01-01 was a Thursday). They equal the day number, and ``(day + 3) // 7`` of it for weeks.
_STEPS = {"day": (0, US_PER_DAY), "week": (3 * US_PER_DAY, 7 * US_PER_DAY)}


@lru_cache(maxsize=4096)
def _month_of_day(day: int) -> int:
    """A calendar month's key from a day number; a month is the same all day long, so days are remembered."""
    moment = EPOCH + timedelta(days=day)
    return moment.year * 12 + moment.month


def _period_key(period: str, micros: int) -> int:
    steps = _STEPS.get(period)
    if steps is not None:
        return (micros + steps[0]) // steps[1]
    if period == "month":
        return _month_of_day(micros // US_PER_DAY)
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
    cap = crule.max_points
    if cap is not None:
        points = min(points, cap) if crule.positive else max(points, -cap)
    raw_cents = crule.raw_cents.get(counted)
    if raw_cents is None:
        raw_cents = to_cents(crule.points * counted)
        if len(crule.raw_cents) < RAW_MEMO_SIZE:
            crule.raw_cents[counted] = raw_cents
    cents = to_cents(points)
    return RuleOutcome(
        matched, counted, raw_cents, cents, last, (crule.name, "engagement", cents, raw_cents, matched, counted)
    )


def _tally(
    crule: CompiledEngagementRule, occurrences: list[Occurrence], end: int, as_of_us: int
) -> tuple[int, float, int, int]:
    """The same steps as ``RuleAccumulator.push`` over ``occurrences[:end]``, with local variables and the
    decay written out: this is the batch hot path, and the property tests hold the two to the same bits.

    Returns the counted occurrences, the sum of their decay factors, and the last period's key and use.
    Factors are always added one at a time from the oldest, as ``push`` adds them, so the sums agree.
    """
    period = crule.period
    start = as_of_us - crule.window_us if crule.window_us is not None else None
    if period is None:
        # No frequency limit: the window drops a prefix of the sorted occurrences, the rest all count.
        first = bisect_right(occurrences, start, 0, end) if start is not None else 0
        return end - first, _factors(crule, occurrences[first:end], as_of_us), -1, 0
    if period == "ever":
        # ``once``: only the first occurrence can count, in the window or not.
        occurred_us = occurrences[0]
        if start is not None and occurred_us <= start:
            return 0, 0.0, 0, 1
        return 1, 0.0 + crule.factor(as_of_us - occurred_us), 0, 1
    per_period = crule.per_period
    shift, step = _STEPS.get(period, (0, 0))
    month = step == 0
    exponential = crule.decay_kind == "exponential"
    half_us = crule.half_us
    factor = crule.factor
    floor = start if start is not None else _BEFORE_ALL
    key = -1
    used = counted = 0
    factors = 0.0
    for occurred_us in occurrences[:end]:
        this = _month_of_day(occurred_us // US_PER_DAY) if month else (occurred_us + shift) // step
        if this != key:
            key = this
            used = 0
        if used >= per_period:
            continue
        used += 1
        if occurred_us <= floor:
            continue
        counted += 1
        if exponential:
            factors += 0.5 ** ((as_of_us - occurred_us) / half_us)
        else:
            factors += factor(as_of_us - occurred_us)
    return counted, factors, key, used


#: Before any occurrence: ``datetime.min`` is about -6.2e16 µs from the epoch.
_BEFORE_ALL = -(1 << 62)


def _factors(crule: CompiledEngagementRule, occurrences: list[Occurrence], as_of_us: int) -> float:
    """The sum of the decay factors of occurrences that all count, added from the oldest."""
    kind = crule.decay_kind
    if kind == "exponential":
        half_us = crule.half_us
        factors = 0.0
        for occurred_us in occurrences:
            factors += 0.5 ** ((as_of_us - occurred_us) / half_us)
        return factors
    if kind == "linear":
        factor = crule.factor
        factors = 0.0
        for occurred_us in occurrences:
            factors += factor(as_of_us - occurred_us)
        return factors
    return float(len(occurrences))


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
