"""Runs every scenario in scenarios/: a model, a lead, its events and the scores expected by hand."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from engine_helpers import assert_adds_up, points

from leadscore.engine import Account, Event, Lead, LeadState, compile_model, score
from leadscore.model import ScoringModel

SCENARIOS = Path(__file__).parent / "scenarios"


def _aware(value: Any) -> datetime:
    assert isinstance(value, datetime), f"expected a timestamp, got {value!r}"
    assert value.tzinfo is not None, f"scenario times must carry a timezone: {value}"
    return value


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _lead(data: dict[str, Any]) -> Lead:
    account = data.get("account")
    return Lead(
        id=data["id"],
        fields=data.get("fields", {}),
        created_at=_aware(data["created_at"]) if "created_at" in data else None,
        account=Account(id=account["id"], fields=account.get("fields", {})) if account else None,
    )


def _events(data: list[dict[str, Any]], lead_id: str) -> list[Event]:
    return [Event(e["id"], lead_id, e["type"], _aware(e["at"]), e.get("properties", {})) for e in data]


@pytest.mark.parametrize("name", sorted(p.name for p in SCENARIOS.glob("*.yaml")))
def test_scenario(name: str) -> None:
    doc = yaml.safe_load((SCENARIOS / name).read_text(encoding="utf-8"))
    compiled = compile_model(ScoringModel.model_validate(doc["model"]))
    lead = _lead(doc["lead"])
    events = _events(doc["events"], lead.id)
    assert doc["expected"], "a scenario expects at least one score"
    for expected in doc["expected"]:
        as_of = _aware(expected["as_of"])
        result = score(compiled, lead, events, as_of)
        where = f"{name} at {as_of.isoformat()}"
        assert result.fit == _decimal(expected["fit"]), where
        assert result.engagement == _decimal(expected["engagement"]), where
        assert result.total == _decimal(expected["total"]), where
        assert (result.tier, result.grade, result.level) == (expected["tier"], expected["grade"], expected["level"])
        assert result.stage == expected["stage"], where
        if "stage_reason" in expected:
            assert result.stage_reason == expected["stage_reason"], where
        assert points(result) == {rule: _decimal(p) for rule, p in expected["contributions"].items()}, where
        assert_adds_up(result)
        # Folding the same events one at a time, in reverse, gives the very same score.
        state = LeadState(compiled, lead)
        for event in reversed(events):
            state.fold(event)
        assert state.score(as_of) == result, where


def test_there_are_scenarios() -> None:
    assert len(list(SCENARIOS.glob("*.yaml"))) >= 4
