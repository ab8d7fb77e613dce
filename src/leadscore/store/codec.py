"""How scores are written down: exact integer hundredths and JSON contributions."""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal

from leadscore.engine.types import Contribution, Score


def cents(value: Decimal) -> int:
    return int(value.scaleb(2))


def score_cents(score: Score) -> tuple[int, int, int]:
    return cents(score.fit), cents(score.engagement), cents(score.total)


def contributions_json(contributions: Iterable[Contribution]) -> str:
    return json.dumps(
        [
            {
                "rule": c.rule,
                "kind": c.kind,
                "points": str(c.points),
                "raw_points": str(c.raw_points),
                "count": c.count,
                "counted": c.counted,
            }
            for c in contributions
        ],
        separators=(",", ":"),
    )
