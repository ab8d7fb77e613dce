"""Small builders shared by the engine tests: times, events, models from YAML, and score checks."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from leadscore.engine import Event, Score
from leadscore.model import ScoringModel, loads_model

#: Monday 1 January 2024, 00:00 UTC: day 0 of every hand-computed scenario.
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def at(days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
    """``T0`` plus a duration."""
    return T0 + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def model_of(text: str) -> ScoringModel:
    """A model from dedented YAML; a name is added when the text has none."""
    body = textwrap.dedent(text)
    if not body.startswith("name:"):
        body = "name: test\n" + body
    return loads_model(body, "test.yaml")


def ev(event_id: str, kind: str, when: datetime, lead_id: str = "L", **properties: Any) -> Event:
    return Event(id=event_id, lead_id=lead_id, type=kind, occurred_at=when, properties=properties)


def D(text: str | int) -> Decimal:
    return Decimal(text)


def points(score: Score) -> dict[str, Decimal]:
    """Each contribution's points by rule name."""
    return {c.rule: c.points for c in score.contributions}


def assert_adds_up(score: Score) -> None:
    """Contributions add up exactly to total, and each part to fit and engagement."""
    by_kind: dict[str, Decimal] = {}
    for c in score.contributions:
        part = c.rule.removeprefix("limits.") if c.kind == "limit" else c.kind
        part = "engagement" if part == "inactivity" else part
        by_kind[part] = by_kind.get(part, Decimal(0)) + c.points
    assert sum((c.points for c in score.contributions), Decimal(0)) == score.total
    assert by_kind.get("fit", Decimal(0)) == score.fit
    assert by_kind.get("engagement", Decimal(0)) == score.engagement
    assert score.fit + score.engagement + by_kind.get("total", Decimal(0)) == score.total
    for value in (score.fit, score.engagement, score.total, *(c.points for c in score.contributions)):
        assert value == value.quantize(Decimal("0.01"))
