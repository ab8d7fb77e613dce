"""Conversion rates of groups of rows (a tier, a grade, a month), each with its count and a 95% interval.

A rate is only as good as the number of rows behind it: 2 conversions out of 3 hot leads is not 67% in any
useful sense. Every rate is reported with its rows, its conversions and a Wilson interval, so a reader
can see which differences are real.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from leadscore.predict.metrics import wilson_interval

#: How a missing group (no tier, an unparsable month) is shown.
NONE = "(none)"


@dataclass(frozen=True)
class Rate:
    converted: int
    rows: int

    @property
    def rate(self) -> float | None:
        return self.converted / self.rows if self.rows else None

    def as_dict(self) -> dict[str, float | int | None]:
        low, high = wilson_interval(self.converted, self.rows)
        return {"rows": self.rows, "converted": self.converted, "rate": self.rate, "low": low, "high": high}

    def separated_from(self, other: Rate) -> bool:
        """Whether the two 95% intervals do not overlap: a cautious test that the rates differ."""
        low, high = wilson_interval(self.converted, self.rows)
        other_low, other_high = wilson_interval(other.converted, other.rows)
        return high < other_low or other_high < low


def rate_of(labels: Iterable[int]) -> Rate:
    values = list(labels)
    return Rate(sum(values), len(values))


def conversion_by(
    groups: Sequence[str | None], labels: Sequence[int], order: Sequence[str] = ()
) -> list[dict[str, object]]:
    """One entry per group, ``{"group", "rows", "converted", "rate", "low", "high"}``: the groups named in
    ``order`` first, in that order (those with no rows left out), then the others sorted."""
    if len(groups) != len(labels):
        raise ValueError(f"expected one group per label, got {len(groups)} groups and {len(labels)} labels")
    counts: dict[str, list[int]] = {}
    for group, label in zip(groups, labels, strict=True):
        tally = counts.setdefault(NONE if group is None else str(group), [0, 0])
        tally[0] += label
        tally[1] += 1
    ranked = [g for g in order if g in counts] + sorted(g for g in counts if g not in order)
    return [{"group": g, **Rate(counts[g][0], counts[g][1]).as_dict()} for g in ranked]
