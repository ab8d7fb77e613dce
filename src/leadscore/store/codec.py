"""How scores are written down: exact integer hundredths and JSON contributions."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache

import orjson

from leadscore.engine.types import Contribution, Score, to_micros

#: A score as stored: model, lead seq, as_of, fit, engagement, total (cents), tier, grade, level, stage,
#: stage reason, contributions JSON, last engagement (µs).
ScoreRow = tuple[str, int, int, int, int, int, str, str, str, str, str, str, int | None]


def cents(value: Decimal) -> int:
    return int(value.scaleb(2))


def score_cents(score: Score) -> tuple[int, int, int]:
    return cents(score.fit), cents(score.engagement), cents(score.total)


@lru_cache(maxsize=65_536)
def _fragment(contribution: Contribution) -> str:
    # Most contributions repeat from one write to the next (a rule's outcome rarely changes), so the
    # encoded text is cached by value: contributions are frozen dataclasses.
    return orjson.dumps(
        {
            "rule": contribution.rule,
            "kind": contribution.kind,
            "points": str(contribution.points),
            "raw_points": str(contribution.raw_points),
            "count": contribution.count,
            "counted": contribution.counted,
        }
    ).decode()


def contributions_json(contributions: Iterable[Contribution]) -> str:
    return "[" + ",".join(_fragment(c) for c in contributions) + "]"


def encode_score(seq: int, score: Score) -> ScoreRow:
    fit, engagement, total = score_cents(score)
    last = to_micros(score.last_engagement_at) if score.last_engagement_at else None
    return (
        score.model,
        seq,
        to_micros(score.as_of),
        fit,
        engagement,
        total,
        score.tier,
        score.grade,
        score.level,
        score.stage,
        score.stage_reason,
        contributions_json(score.contributions),
        last,
    )
