"""How scores are written down: exact integer hundredths and JSON contributions."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson

from leadscore.engine.compiled import cents_to_decimal
from leadscore.engine.engagement import Line
from leadscore.engine.scoring import ScoreCents
from leadscore.engine.types import Contribution, Score, to_micros

#: A score as stored: model, lead seq, as_of, fit, engagement, total (cents), tier, grade, level, stage,
#: stage reason, contributions JSON, last engagement (µs).
ScoreRow = tuple[str, int, int, int, int, int, str, str, str, str, str, str, int | None]


def cents(value: Decimal) -> int:
    return int(value.scaleb(2))


def score_cents(score: Score) -> tuple[int, int, int]:
    return cents(score.fit), cents(score.engagement), cents(score.total)


def contributions_json(contributions: Iterable[Contribution]) -> str:
    """``[[rule, kind, points, raw_points, count, counted], ...]``, points as exact decimal text."""
    return orjson.dumps(
        [[c.rule, c.kind, str(c.points), str(c.raw_points), c.count, c.counted] for c in contributions]
    ).decode()


@lru_cache(maxsize=16_384)
def cents_text(cents: int) -> str:
    """Hundredths as the exact decimal text a ``Contribution`` writes (``500`` -> ``"5.00"``)."""
    return str(cents_to_decimal(cents))


#: Bound on the remembered JSON of contribution lines; cleared when full, like the engine's memos.
LINE_MEMO_SIZE = 65_536
_line_texts: dict[Line, str] = {}


def lines_json(lines: Iterable[Line]) -> str:
    """``contributions_json`` for contributions in hundredths: the same text, without making Decimals.

    Lines repeat from lead to lead and from score to score (every fit rule's line, a capped rule's line),
    and a line's text is a pure function of the line, so each line's JSON is remembered and the array is
    joined from them: the same bytes as dumping the whole list at once."""
    texts = _line_texts
    parts = []
    for line in lines:
        text = texts.get(line)
        if text is None:
            rule, kind, points, raw, n, counted = line
            text = orjson.dumps([rule, kind, cents_text(points), cents_text(raw), n, counted]).decode()
            if len(texts) >= LINE_MEMO_SIZE:
                texts.clear()
            texts[line] = text
        parts.append(text)
    return "[" + ",".join(parts) + "]"


def contributions_from_json(text: str) -> list[dict[str, Any]]:
    return [
        {"rule": r, "kind": k, "points": p, "raw_points": raw, "count": n, "counted": counted}
        for r, k, p, raw, n, counted in orjson.loads(text)
    ]


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


def encode_cents(model: str, seq: int, as_of_us: int, score: ScoreCents) -> ScoreRow:
    """``encode_score`` for a score still in hundredths, as batch rescoring and scoring on ingest write it."""
    return (
        model,
        seq,
        as_of_us,
        score.fit,
        score.engagement,
        score.total,
        score.tier,
        score.grade,
        score.level,
        score.stage,
        score.stage_reason,
        lines_json(score.lines),
        score.last_us,
    )
